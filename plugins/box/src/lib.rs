//! The `box` probe: Unstructured's Box app (`box_app_config`, the JWT app's
//! configuration file) can read the folder `remote_url` (`box://a/b`).
//!
//! The host gets the token by the JWT bearer grant at
//! `https://api.box.com/oauth2/token`, from the app configuration as Box's
//! developer console downloads it (see docs/probes-saas.md: the host must
//! read that file as it reads a Google service-account key). Then, under
//! `https://api.box.com/2.0`, Box has no look-up by path, so the probe walks
//! it from the root folder `0`:
//! 1. `GET /folders/<id>/items?fields=id,type,name&limit=1000` per path
//!    segment; a segment that is not a sub-folder is "folder does not exist";
//! 2. `GET /folders/<id>?fields=id,name,item_collection`: its
//!    `item_collection.total_count` is the check's `items`.
//!
//! 401 is "authentication failed", 403 "permission denied", 404
//! (`not_found`) "folder does not exist", 429 "rate limited".
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/box (config keys)
//! - https://developer.box.com/guides/authentication/jwt/without-sdk/ (the JWT assertion and its claims)
//! - https://developer.box.com/reference/get-folders-id-items/
//! - https://developer.box.com/reference/get-folders-id/
//! - https://developer.box.com/reference/resources/client-error/ (error body)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls};

/// Unstructured's Box source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The folder: `box://<path/to/folder>` (`box://` for the root).
    #[schemars(regex(pattern = r"^box://"))]
    remote_url: String,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    /// The JWT app's configuration file (its JSON, as one string). Kept by
    /// the host, which signs the assertion with its key.
    #[allow(dead_code)]
    box_app_config: Option<Secret>,
    /// `rows`: how many items the folder must hold.
    expect: Option<Expect>,
    /// The `auth` object instead of `box_app_config` (a developer token as
    /// `bearer`, say).
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// Box's API base URL (the auth target).
    #[serde(default = "default_api_url")]
    #[schemars(extend("x-sonde-auth-target" = true))]
    api_url: String,
    /// How the host verifies Box's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_api_url() -> String {
    "https://api.box.com".into()
}

fn auth(schema: &mut schemars::Schema) {
    let mapping = json!({"kind": "jwt_bearer", "token_url": "https://api.box.com/oauth2/token",
        "box_app_config": "/box_app_config"});
    sonde_saas::root_auth(schema, mapping);
}

/// The folder names of `box://a/b/`.
fn segments(remote_url: &str) -> Result<Vec<&str>, String> {
    let path = remote_url.strip_prefix("box://").ok_or("remote_url must start with box://")?;
    Ok(path.split('/').filter(|s| !s.is_empty()).collect())
}

/// The ID of the sub-folder `name` in a folder-items answer.
fn child_folder<'a>(items: &'a Value, name: &str) -> Option<&'a str> {
    items["entries"]
        .as_array()?
        .iter()
        .find(|e| e["type"] == "folder" && e["name"].as_str() == Some(name))
        .and_then(|e| e["id"].as_str())
}

struct BoxProbe;

impl Probe for BoxProbe {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "box";
    const DESCRIPTION: &'static str = "A Box folder lists with the app's credentials";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.api_url, "api_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.api_url, "api_url").map_err(CheckError::InvalidConfig)?;
        let mut id = "0".to_string();
        for name in segments(&c.remote_url).map_err(CheckError::InvalidConfig)? {
            let query = [("fields", "id,type,name"), ("limit", "1000")];
            let url = address::join(&base, &["2.0", "folders", &id, "items"], &query);
            let items = web::ok_json(&web::get(&url)?, "folder")?;
            id = child_folder(&items, name)
                .ok_or_else(|| web::missing("folder", format!("no folder {name:?} in folder {id}")))?
                .to_string();
        }
        let url = address::join(&base, &["2.0", "folders", &id], &[("fields", "id,name,item_collection")]);
        let folder = web::ok_json(&web::get(&url)?, "folder")?;
        let mut healthy = Healthy::new().detail("folder_id", id.as_str());
        if let Some(total) = folder.pointer("/item_collection/total_count").and_then(Value::as_u64) {
            sonde_saas::expect_rows(c.expect.as_ref(), Self::SOURCE_TYPE, total)?;
            healthy = healthy.items(total);
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(BoxProbe);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<BoxProbe>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<BoxProbe>("box") >= 4);
    }

    #[test]
    fn remote_url_gives_the_folder_names() {
        assert_eq!(segments("box://").expect("as documented"), Vec::<&str>::new());
        assert_eq!(segments("box://a/b c/").expect("as documented"), vec!["a", "b c"]);
        assert!(segments("dropbox://a").is_err());
    }

    #[test]
    fn finds_a_sub_folder_in_a_documented_items_answer() {
        // https://developer.box.com/reference/get-folders-id-items/ (Items: entries of folder/file mini objects)
        let items = json!({"entries": [
            {"id": "12345", "etag": "1", "type": "folder", "sequence_id": "3", "name": "Contracts"},
            {"id": "12346", "etag": "1", "type": "file", "sequence_id": "3", "name": "Contracts"}],
            "limit": 1000, "offset": 0, "total_count": 2});
        assert_eq!(child_folder(&items, "Contracts"), Some("12345"));
        assert_eq!(child_folder(&items, "Other"), None);
    }
}
