//! The `elasticsearch` probe: Unstructured's Elastic API key (`es_api_key`)
//! can read the index `index_name` on the first of `hosts`: the cluster
//! health, then `GET /<index>/_count` ([`sonde_saas::search`]).
//!
//! The key is sent as `Authorization: ApiKey <es_api_key>` by the host: a
//! `bearer` mapping with the scheme `ApiKey` (see docs/probes-saas.md: COMMON.md's
//! `header` kind may not set `Authorization`, so the host needs that
//! scheme member). The `auth` object takes `basic` (user and password)
//! instead.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/elasticsearch (config keys)
//! - https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-create-api-key.html (ApiKey header)
//! - https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-health.html
//! - https://www.elastic.co/guide/en/elasticsearch/reference/current/search-count.html

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sonde_saas::search;
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls};

/// Unstructured's Elasticsearch source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = auth)]
struct Config {
    #[serde(flatten)]
    index: search::Index,
    /// The Elastic API key (its encoded form). Kept by the host.
    #[allow(dead_code)]
    es_api_key: Option<Secret>,
    /// `rows`: the documents the index must hold (a number, or `{min, max}`).
    expect: Option<Expect>,
    /// The `auth` object instead of `es_api_key`.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the cluster's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn auth(schema: &mut schemars::Schema) {
    sonde_saas::root_auth(schema, json!({"kind": "bearer", "scheme": "ApiKey", "token": "/es_api_key"}));
    search::target(schema);
}

struct Elasticsearch;

impl Probe for Elasticsearch {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "elasticsearch";
    const DESCRIPTION: &'static str = "An Elasticsearch index counts its documents";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        c.index.endpoints()
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        search::check(&c.index, c.expect.as_ref(), Self::SOURCE_TYPE)
    }
}

sonde_sdk::export_probe!(Elasticsearch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Elasticsearch>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Elasticsearch>("elasticsearch") >= 4);
    }

    #[test]
    fn schema_maps_the_api_key_and_targets_the_first_host() {
        let schema = sonde_sdk::testing::config_schema::<Elasticsearch>();
        assert_eq!(schema["x-sonde-auth"]["scheme"], "ApiKey");
        assert_eq!(schema["x-sonde-auth-target"], "{/hosts/0}");
        assert_eq!(schema["properties"]["es_api_key"]["writeOnly"], true);
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn reads_the_documented_index_not_found_body() {
        // https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-get-index.html (404 for a missing index)
        let body = json!({"error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index [nope]",
            "index": "nope"}], "type": "index_not_found_exception", "reason": "no such index [nope]", "index": "nope"},
            "status": 404});
        assert_eq!(sonde_saas::vendor::code(&body).as_deref(), Some("index_not_found_exception"));
    }
}
