//! The `databricks_volumes` probe: Unstructured's Databricks credentials can
//! list the Unity Catalog volume `catalog.schema.volume` (at `volume_path`)
//! in the workspace `host`.
//!
//! Auth (root mappings): OAuth machine-to-machine, the host's
//! client-credentials grant at `<host>/oidc/v1/token` with scope `all-apis`
//! from `client_id` and `client_secret`; else a personal access `token` as
//! Bearer. One call:
//! `GET <host>/api/2.0/fs/directories/Volumes/<catalog>/<schema>/<volume>[/<volume_path>]?page_size=100`
//! (Files API, list directory contents): 404 (`NOT_FOUND`) is "volume does
//! not exist" (or "directory does not exist" with a `volume_path`), 401
//! "authentication failed", 403 (`PERMISSION_DENIED`) "permission denied",
//! 429 "rate limited". The entries of the first page are `details.entries`.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/databricks-volumes (config keys)
//! - https://docs.databricks.com/api/workspace/files/listdirectorycontents
//! - https://docs.databricks.com/en/dev-tools/auth/oauth-m2m.html (token endpoint, scope all-apis)
//! - https://docs.databricks.com/en/dev-tools/auth/pat.html
//! - https://docs.databricks.com/api/workspace/introduction (error body: error_code, message)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Secret, Tls};

/// Unstructured's Databricks Volumes source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The workspace URL, without a trailing slash (the auth target).
    #[schemars(extend("x-sonde-auth-target" = true), length(min = 1))]
    host: String,
    /// The catalog of the volume.
    #[schemars(length(min = 1))]
    catalog: String,
    /// The schema of the volume.
    #[serde(default = "default_schema")]
    schema: String,
    /// The volume.
    #[schemars(length(min = 1))]
    volume: String,
    /// A directory within the volume.
    #[serde(default)]
    volume_path: String,
    /// The service principal's client ID, for OAuth M2M.
    #[allow(dead_code)]
    client_id: Option<String>,
    /// The service principal's OAuth secret. Kept by the host.
    #[allow(dead_code)]
    client_secret: Option<Secret>,
    /// A personal access token. Kept by the host.
    #[allow(dead_code)]
    token: Option<Secret>,
    /// The `auth` object instead of the keys above.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the workspace's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_schema() -> String {
    "default".into()
}

fn auth(schema: &mut schemars::Schema) {
    let mappings = json!([
        {"kind": "oauth2", "token_url": "{/host}/oidc/v1/token", "client_id": "/client_id",
         "client_secret": "/client_secret", "scope": "all-apis"},
        {"kind": "bearer", "token": "/token"},
    ]);
    sonde_saas::root_auth(schema, mappings);
}

/// The path segments of the directory under `/api/2.0/fs/directories`.
fn directory(c: &Config) -> Vec<&str> {
    let mut segments = vec!["api", "2.0", "fs", "directories", "Volumes", &c.catalog, &c.schema, &c.volume];
    segments.extend(c.volume_path.split('/').filter(|s| !s.is_empty()));
    segments
}

/// The number of entries in a list-directory-contents page.
fn entries(page: &Value) -> usize {
    page["contents"].as_array().map_or(0, Vec::len)
}

struct DatabricksVolumes;

impl Probe for DatabricksVolumes {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "databricks_volumes";
    const DESCRIPTION: &'static str = "A Databricks Unity Catalog volume directory lists";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.host, "host")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.host, "host").map_err(CheckError::InvalidConfig)?;
        let url = address::join(&base, &directory(&c), &[("page_size", "100")]);
        let noun = if c.volume_path.trim_matches('/').is_empty() { "volume" } else { "directory" };
        let page = web::ok_json(&web::get(&url)?, noun)?;
        Ok(Healthy::new()
            .detail("volume", format!("{}.{}.{}", c.catalog, c.schema, c.volume))
            .detail("entries", entries(&page)))
    }
}

sonde_sdk::export_probe!(DatabricksVolumes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<DatabricksVolumes>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<DatabricksVolumes>("databricks_volumes") >= 4);
    }

    #[test]
    fn reads_a_documented_directory_page() {
        // https://docs.databricks.com/api/workspace/files/listdirectorycontents (response sample)
        let page = json!({"contents": [{"file_size": 0, "is_directory": true, "last_modified": 0,
            "name": "string", "path": "/Volumes/main/default/v/string"}], "next_page_token": "string"});
        assert_eq!(entries(&page), 1);
        assert_eq!(entries(&json!({})), 0);
    }

    #[test]
    fn the_directory_is_under_volumes() {
        let c: Config = serde_json::from_value(json!({"host": "https://adb-1.azuredatabricks.net",
            "catalog": "main", "volume": "v", "volume_path": "a/b/"}))
        .expect("as documented");
        assert_eq!(directory(&c)[4..], ["Volumes", "main", "default", "v", "a", "b"]);
    }
}
