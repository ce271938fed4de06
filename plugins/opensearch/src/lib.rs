//! The `opensearch` probe: Unstructured's OpenSearch credentials can read
//! the index `index_name` on the first of `hosts`: the cluster health, then
//! `GET /<index>/_count` ([`sonde_saas::search`]).
//!
//! Auth (root mappings): Basic from `username` and `password`; else AWS
//! Signature Version 4 (service `es`, Amazon OpenSearch Service) from
//! `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token`.
//! SigV4 needs the region, for which Unstructured has no key: Sonde adds
//! `aws_region` (required with the AWS keys).
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/opensearch (config keys)
//! - https://opensearch.org/docs/latest/api-reference/cluster-api/cluster-health/
//! - https://opensearch.org/docs/latest/api-reference/count/
//! - https://docs.aws.amazon.com/opensearch-service/latest/developerguide/request-signing.html (SigV4, service `es`)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sonde_saas::{Flag, search};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls};

/// Unstructured's OpenSearch source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = auth)]
struct Config {
    #[serde(flatten)]
    index: search::Index,
    /// The user, for Basic.
    #[allow(dead_code)]
    username: Option<String>,
    /// The user's password. Kept by the host.
    #[allow(dead_code)]
    password: Option<Secret>,
    /// An AWS access key ID, for SigV4.
    aws_access_key_id: Option<String>,
    /// The AWS secret access key. Kept by the host.
    #[allow(dead_code)]
    aws_secret_access_key: Option<Secret>,
    /// An AWS STS session token. Kept by the host.
    #[allow(dead_code)]
    aws_session_token: Option<Secret>,
    /// Sonde's: the AWS region of the domain (`us-east-1`), for SigV4.
    #[schemars(regex(pattern = r"^[a-z0-9-]+$"))]
    aws_region: Option<String>,
    /// Unstructured's: not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    fields: Vec<String>,
    /// Unstructured's: whether the cluster needs TLS; the check follows
    /// the scheme of `hosts` (https, or http to loopback).
    #[allow(dead_code)]
    use_ssl: Option<Flag>,
    /// `rows`: the documents the index must hold (a number, or `{min, max}`).
    expect: Option<Expect>,
    /// The `auth` object instead of the keys above.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the cluster's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn auth(schema: &mut schemars::Schema) {
    let mappings = json!([
        {"kind": "basic", "user": "/username", "password": "/password"},
        {"kind": "aws_sigv4", "access_key_id": "/aws_access_key_id", "secret_access_key": "/aws_secret_access_key",
         "session_token": "/aws_session_token", "region": "/aws_region", "service": "es"},
    ]);
    sonde_saas::root_auth(schema, mappings);
    search::target(schema);
}

struct Opensearch;

impl Probe for Opensearch {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "opensearch";
    const DESCRIPTION: &'static str = "An OpenSearch index counts its documents";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        c.index.endpoints()
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        if c.aws_access_key_id.is_some() && c.aws_region.is_none() {
            return Err(CheckError::invalid_config(
                "aws_region is required with aws_access_key_id: SigV4 signs for a region",
            ));
        }
        search::check(&c.index, c.expect.as_ref(), Self::SOURCE_TYPE)
    }
}

sonde_sdk::export_probe!(Opensearch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Opensearch>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Opensearch>("opensearch") >= 4);
    }

    #[test]
    fn schema_maps_basic_then_sigv4() {
        let schema = sonde_sdk::testing::config_schema::<Opensearch>();
        assert_eq!(schema["x-sonde-auth"][0]["kind"], "basic");
        assert_eq!(schema["x-sonde-auth"][1]["service"], "es");
        assert_eq!(schema["x-sonde-auth-target"], "{/hosts/0}");
    }

    #[test]
    fn aws_keys_need_a_region() {
        let config = json!({"hosts": ["https://search-d.us-east-1.es.amazonaws.com"], "index_name": "i",
            "aws_access_key_id": "AKIDEXAMPLE"});
        let err = sonde_sdk::testing::check::<Opensearch>(config).expect_err("refused");
        assert!(matches!(err, CheckError::InvalidConfig(m) if m.contains("aws_region")));
    }
}
