//! The `gcs` probe: the service account in Unstructured's
//! `service_account_key` can list objects under `remote_url`
//! (`gs://bucket[/folder]`), which is what the connector reads.
//!
//! One call, `GET https://storage.googleapis.com/storage/v1/b/<bucket>/o?maxResults=1&prefix=<folder>/`
//! (objects.list, needs `storage.objects.list`), with a token the host gets
//! from the key by the JWT bearer grant, scope `devstorage.read_only`. A 404
//! is "bucket does not exist", 401 "authentication failed", 403 "permission
//! denied", 429 "rate limited".
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/google-cloud (config keys)
//! - https://cloud.google.com/storage/docs/json_api/v1/objects/list
//! - https://cloud.google.com/storage/docs/json_api/v1/status-codes (error bodies)
//! - https://developers.google.com/identity/protocols/oauth2/service-account#httprest (token)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sonde_saas::{address, google, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Secret, Tls};

const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";

/// Unstructured's Google Cloud Storage source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The bucket and optional folder: `gs://<bucket>[/<folder>]`.
    #[schemars(regex(pattern = r"^gs://[^/]+(/.*)?$"))]
    remote_url: String,
    /// The service account's key file (its JSON, as one string). Kept by
    /// the host, which gets a read-only token with it.
    #[allow(dead_code)]
    service_account_key: Option<Secret>,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    /// The `auth` object instead of `service_account_key` (any kind the
    /// host supports, e.g. `jwt_bearer` with another token URL).
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// The Cloud Storage JSON API base URL (the auth target).
    #[serde(default = "default_api_url")]
    #[schemars(extend("x-sonde-auth-target" = true))]
    api_url: String,
    /// How the host verifies the API's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_api_url() -> String {
    "https://storage.googleapis.com".into()
}

fn auth(schema: &mut schemars::Schema) {
    google::auth(schema, SCOPE);
}

/// The bucket and the object prefix (`folder/`, or empty) of `gs://…`.
fn bucket_and_prefix(remote_url: &str) -> Result<(&str, String), String> {
    let rest = remote_url.strip_prefix("gs://").ok_or("remote_url must start with gs://")?;
    let (bucket, folder) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("remote_url names no bucket".into());
    }
    let folder = folder.trim_matches('/');
    Ok((bucket, if folder.is_empty() { String::new() } else { format!("{folder}/") }))
}

/// The first object's name in an objects.list answer, if any.
fn first_object(list: &Value) -> Option<&str> {
    list.pointer("/items/0/name").and_then(Value::as_str)
}

struct Gcs;

impl Probe for Gcs {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "gcs";
    const DESCRIPTION: &'static str = "A Google Cloud Storage bucket lists with a service account";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.api_url, "api_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.api_url, "api_url").map_err(CheckError::InvalidConfig)?;
        let (bucket, prefix) = bucket_and_prefix(&c.remote_url).map_err(CheckError::InvalidConfig)?;
        let query = [("maxResults", "1"), ("prefix", prefix.as_str()), ("fields", "items(name,updated)")];
        let url = address::join(&base, &["storage", "v1", "b", bucket, "o"], &query);
        let list = web::ok_json(&web::get(&url)?, "bucket")?;
        let mut healthy = Healthy::new().detail("bucket", bucket).detail("prefix", prefix.as_str());
        if let Some(name) = first_object(&list) {
            healthy = healthy.detail("first_object", name);
        }
        Ok(healthy.detail("listed", u64::from(first_object(&list).is_some())))
    }
}

sonde_sdk::export_probe!(Gcs);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Gcs>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Gcs>("gcs") >= 4);
    }

    #[test]
    fn remote_url_gives_bucket_and_prefix() {
        assert_eq!(bucket_and_prefix("gs://b").expect("as documented"), ("b", String::new()));
        assert_eq!(bucket_and_prefix("gs://b/a/c/").expect("as documented"), ("b", "a/c/".into()));
        assert!(bucket_and_prefix("s3://b").is_err());
        assert!(bucket_and_prefix("gs:///x").is_err());
    }

    #[test]
    fn reads_an_objects_list_answer() {
        // https://cloud.google.com/storage/docs/json_api/v1/objects/list#response
        let list = json!({"kind": "storage#objects", "items": [{"name": "a/report.pdf", "updated": "2024-05-01T10:00:00.000Z"}]});
        assert_eq!(first_object(&list), Some("a/report.pdf"));
        assert_eq!(first_object(&json!({"kind": "storage#objects"})), None);
    }

    #[test]
    fn schema_maps_the_key_to_the_host() {
        let schema = sonde_sdk::testing::config_schema::<Gcs>();
        assert_eq!(schema["x-sonde-auth"]["service_account"], "/service_account_key");
        assert_eq!(schema["x-sonde-auth"]["scope"], SCOPE);
        assert_eq!(schema["properties"]["api_url"]["x-sonde-auth-target"], true);
        assert_eq!(schema["properties"]["service_account_key"]["writeOnly"], true);
    }
}
