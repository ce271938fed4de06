//! The `dropbox` probe: Unstructured's Dropbox app (`app_key`, `app_secret`,
//! `refresh_token`) can read the folder `remote_url` (`dropbox://a/b`,
//! under the app's folder).
//!
//! The host refreshes the access token at `https://api.dropboxapi.com/oauth2/token`
//! (`grant_type=refresh_token` with the app key and secret; see
//! docs/probes-saas.md: this grant is beyond COMMON.md's `oauth2`). Dropbox's
//! reads are POSTs (methods widened). One call, the connector's own listing:
//! `POST https://api.dropboxapi.com/2/files/list_folder` with
//! `{"path": "/a/b", "limit": 1}` (`""` for the app folder's root). A 409
//! `path/not_found`, or `path/not_folder` (a file), is "folder does not
//! exist"; 401 (`invalid_access_token`, `expired_access_token`) is
//! "authentication failed"; 429 "rate limited". `has_more` or an entry tells
//! whether the folder holds anything (`details.empty`).
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/dropbox (config keys)
//! - https://www.dropbox.com/developers/documentation/http/documentation#files-list_folder
//! - https://www.dropbox.com/developers/documentation/http/documentation#oauth2-token (refresh grant)
//! - https://www.dropbox.com/developers/documentation/http/documentation#error-handling (401, 409, 429 bodies)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Secret, Tls};

/// Unstructured's Dropbox source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The folder: `dropbox://<path>` under the app's folder (`dropbox://`
    /// for the app folder itself).
    #[schemars(regex(pattern = r"^dropbox://"))]
    remote_url: String,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    /// The app's refresh token. Kept by the host.
    #[allow(dead_code)]
    refresh_token: Option<Secret>,
    /// The app key (the OAuth client ID).
    #[allow(dead_code)]
    app_key: Option<String>,
    /// The app secret. Kept by the host.
    #[allow(dead_code)]
    app_secret: Option<Secret>,
    /// The `auth` object instead (a short-lived access token as `bearer`).
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// Dropbox's RPC API base URL (the auth target).
    #[serde(default = "default_api_url")]
    #[schemars(extend("x-sonde-auth-target" = true))]
    api_url: String,
    /// How the host verifies Dropbox's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_api_url() -> String {
    "https://api.dropboxapi.com".into()
}

fn auth(schema: &mut schemars::Schema) {
    let mapping = json!({"kind": "oauth2", "token_url": "https://api.dropboxapi.com/oauth2/token",
        "client_id": "/app_key", "client_secret": "/app_secret", "refresh_token": "/refresh_token",
        "methods": ["POST"]});
    sonde_saas::root_auth(schema, mapping);
    sonde_saas::widen_methods(schema, &["GET", "HEAD", "POST"]);
}

/// The Dropbox path of `dropbox://a/b` (`/a/b`; empty for the root).
fn dropbox_path(remote_url: &str) -> Result<String, String> {
    let path = remote_url.strip_prefix("dropbox://").ok_or("remote_url must start with dropbox://")?;
    let path = path.trim_matches('/');
    Ok(if path.is_empty() { String::new() } else { format!("/{path}") })
}

/// Whether a 409's body is list_folder's `path/not_found` or
/// `path/not_folder` (ListFolderError's LookupError).
fn no_such_folder(body: &Value) -> bool {
    body["error_summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("path/not_found") || s.starts_with("path/not_folder"))
}

struct Dropbox;

impl Probe for Dropbox {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "dropbox";
    const DESCRIPTION: &'static str = "A Dropbox folder reads with the app's refresh token";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.api_url, "api_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.api_url, "api_url").map_err(CheckError::InvalidConfig)?;
        let path = dropbox_path(&c.remote_url).map_err(CheckError::InvalidConfig)?;
        let url = address::join(&base, &["2", "files", "list_folder"], &[]);
        let resp = web::post_json(&url, &json!({"path": path, "limit": 1}), &[])?;
        if resp.status == 409 && resp.json().is_ok_and(|b| no_such_folder(&b)) {
            let detail = resp.json().ok().and_then(|b| b["error_summary"].as_str().map(str::to_string));
            return Err(web::missing("folder", format!("{path:?}: {}", detail.unwrap_or_default())));
        }
        let listing = web::ok_json(&resp, "folder")?;
        let empty = listing["entries"].as_array().is_none_or(Vec::is_empty) && listing["has_more"] != true;
        Ok(Healthy::new().detail("path", path).detail("empty", empty))
    }
}

sonde_sdk::export_probe!(Dropbox);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Dropbox>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Dropbox>("dropbox") >= 4);
    }

    #[test]
    fn remote_url_gives_the_dropbox_path() {
        assert_eq!(dropbox_path("dropbox://").expect("as documented"), "");
        assert_eq!(dropbox_path("dropbox://a/b/").expect("as documented"), "/a/b");
        assert!(dropbox_path("box://a").is_err());
    }

    #[test]
    fn reads_the_documented_list_folder_errors() {
        // https://www.dropbox.com/developers/documentation/http/documentation#files-list_folder
        // (ListFolderError path: LookupError not_found / not_folder / malformed_path)
        let missing = json!({"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}});
        assert!(no_such_folder(&missing));
        let file = json!({"error_summary": "path/not_folder/..", "error": {".tag": "path", "path": {".tag": "not_folder"}}});
        assert!(no_such_folder(&file));
        let malformed = json!({"error_summary": "path/malformed_path/..", "error": {".tag": "path"}});
        assert!(!no_such_folder(&malformed));
    }
}
