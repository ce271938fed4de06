//! The `couchbase` probe: Unstructured's Couchbase user can read the bucket
//! `bucket`, and its `scope` and `collection` exist.
//!
//! Unstructured's `connection_string` (`couchbases://…`) names the SDK's
//! key-value service, which no HTTP call reaches; the check uses the
//! cluster's REST API instead, at Sonde's `rest_url` (the auth target,
//! `https://<node>:18091`), with Basic from `username` and `password`:
//! 1. `GET /pools/default/buckets/<bucket>`: 404 is "bucket does not
//!    exist", 401 "authentication failed", 403 "permission denied";
//!    `basicStats.itemCount` is the check's `items`;
//! 2. `GET /pools/default/buckets/<bucket>/scopes`: a `scope` or
//!    `collection` not listed is "scope does not exist" or "collection does
//!    not exist".
//!
//! Couchbase Capella does not expose this REST API to database users; a
//! Capella cluster is not covered by this probe.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/couchbase (config keys)
//! - https://docs.couchbase.com/server/current/rest-api/rest-buckets-summary.html (bucket info, 401/404)
//! - https://docs.couchbase.com/server/current/rest-api/listing-scopes-and-collections.html (scopes and collections)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls};

/// Unstructured's Couchbase source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The user.
    #[allow(dead_code)]
    username: Option<String>,
    /// The user's password. Kept by the host.
    #[allow(dead_code)]
    password: Option<Secret>,
    /// The bucket.
    #[schemars(length(min = 1))]
    bucket: String,
    /// Unstructured's SDK connection string; not reachable over HTTP (see
    /// `rest_url`).
    #[allow(dead_code)]
    connection_string: Option<String>,
    /// The scope in the bucket.
    #[serde(default = "default_name")]
    scope: String,
    /// The collection in the scope.
    #[serde(default = "default_name")]
    collection: String,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    batch_size: Option<u64>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    collection_id: Option<String>,
    /// Sonde's: the cluster's REST API (`https://<node>:18091`): where the
    /// check reads and the host sends the credentials.
    #[schemars(extend("x-sonde-auth-target" = true), length(min = 1))]
    rest_url: String,
    /// `rows`: the items the bucket must hold (its `basicStats.itemCount`).
    expect: Option<Expect>,
    /// The `auth` object instead of `username` and `password`.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the node's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_name() -> String {
    "_default".into()
}

fn auth(schema: &mut schemars::Schema) {
    sonde_saas::root_auth(schema, json!({"kind": "basic", "user": "/username", "password": "/password"}));
}

/// Which of scope and collection a scopes answer lacks, if any.
fn missing_keyspace(scopes: &Value, scope: &str, collection: &str) -> Option<&'static str> {
    let found = scopes["scopes"].as_array()?.iter().find(|s| s["name"] == scope);
    let Some(found) = found else { return Some("scope") };
    let collections = found["collections"].as_array().map(Vec::as_slice).unwrap_or_default();
    (!collections.iter().any(|c| c["name"] == collection)).then_some("collection")
}

struct Couchbase;

impl Probe for Couchbase {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "couchbase";
    const DESCRIPTION: &'static str = "A Couchbase bucket, scope and collection exist";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.rest_url, "rest_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.rest_url, "rest_url").map_err(CheckError::InvalidConfig)?;
        let bucket = address::join(&base, &["pools", "default", "buckets", &c.bucket], &[]);
        let info = web::ok_json(&web::get(&bucket)?, "bucket")?;
        let scopes = address::join(&base, &["pools", "default", "buckets", &c.bucket, "scopes"], &[]);
        let scopes = web::ok_json(&web::get(&scopes)?, "bucket")?;
        if let Some(noun) = missing_keyspace(&scopes, &c.scope, &c.collection) {
            return Err(web::missing(
                noun,
                format!("{}.{}.{} is not listed", c.bucket, c.scope, c.collection),
            ));
        }
        let mut healthy =
            Healthy::new().detail("keyspace", format!("{}.{}.{}", c.bucket, c.scope, c.collection));
        if let Some(items) = info.pointer("/basicStats/itemCount").and_then(Value::as_u64) {
            sonde_saas::expect_rows(c.expect.as_ref(), Self::SOURCE_TYPE, items)?;
            healthy = healthy.items(items);
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(Couchbase);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Couchbase>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Couchbase>("couchbase") >= 4);
    }

    #[test]
    fn finds_scope_and_collection_in_a_documented_answer() {
        // https://docs.couchbase.com/server/current/rest-api/listing-scopes-and-collections.html (example response)
        let scopes = json!({"uid": "8", "scopes": [
            {"name": "inventory", "uid": "8", "collections": [{"name": "airline", "uid": "8", "maxTTL": 0}]},
            {"name": "_default", "uid": "0", "collections": [{"name": "_default", "uid": "0", "maxTTL": 0}]}]});
        assert_eq!(missing_keyspace(&scopes, "inventory", "airline"), None);
        assert_eq!(missing_keyspace(&scopes, "inventory", "route"), Some("collection"));
        assert_eq!(missing_keyspace(&scopes, "tenant", "x"), Some("scope"));
    }

    #[test]
    fn reads_the_documented_bucket_item_count() {
        // https://docs.couchbase.com/server/current/rest-api/rest-buckets-summary.html (basicStats)
        let info = json!({"name": "travel-sample", "bucketType": "membase", "basicStats": {"quotaPercentUsed": 10.5,
            "opsPerSec": 0, "diskFetches": 0, "itemCount": 63288, "diskUsed": 1, "dataUsed": 1, "memUsed": 1}});
        assert_eq!(info.pointer("/basicStats/itemCount").and_then(Value::as_u64), Some(63288));
    }
}
