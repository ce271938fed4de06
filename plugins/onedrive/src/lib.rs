//! The `onedrive` probe: Unstructured's Entra ID app can read the folder
//! `path` of the OneDrive of user `user_pname`, through Microsoft Graph with
//! an app-only token the host fetches ([`sonde_saas::graph`]).
//!
//! Two calls to `https://graph.microsoft.com/v1.0` (`Files.Read.All`):
//! 1. `GET /users/<user_pname>/drive`: 404 (no such user, or no OneDrive
//!    provisioned for them) is "drive does not exist";
//! 2. `GET /users/<user_pname>/drive/root[:/<path>]`: 404 is "path does
//!    not exist"; the folder's `childCount` is the check's `items`.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/onedrive (config keys)
//! - https://learn.microsoft.com/en-us/graph/api/drive-get
//! - https://learn.microsoft.com/en-us/graph/api/driveitem-get
//! - https://learn.microsoft.com/en-us/graph/errors

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_saas::{address, graph};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Tls};

/// Unstructured's OneDrive source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = graph::auth)]
struct Config {
    /// The user principal name (usually the e-mail address) whose OneDrive
    /// is read.
    #[schemars(length(min = 1))]
    user_pname: String,
    /// The folder to read, from the drive's root (`my-folder/sub`).
    #[serde(default)]
    path: String,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    /// `rows`: how many items the folder must hold.
    expect: Option<Expect>,
    #[serde(flatten)]
    app: graph::App,
    /// The `auth` object instead of `client_cred`.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies Graph's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

/// Graph's address of the user's drive.
fn drive(user: &str) -> String {
    format!("users/{}/drive", address::escape(user))
}

struct Onedrive;

impl Probe for Onedrive {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "onedrive";
    const DESCRIPTION: &'static str = "A user's OneDrive folder reads through Microsoft Graph";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![address::endpoint(&c.app.base()?)?])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = c.app.base().map_err(CheckError::InvalidConfig)?;
        let drive_path = drive(&c.user_pname);
        let info = graph::get(&base, &format!("{drive_path}?$select=id,driveType"), "drive")?;
        let children = graph::folder_children(&base, &drive_path, &c.path)?;
        sonde_saas::expect_rows(c.expect.as_ref(), Self::SOURCE_TYPE, children)?;
        Ok(Healthy::new()
            .items(children)
            .detail("user", c.user_pname.as_str())
            .detail("drive_type", info["driveType"].as_str().unwrap_or_default())
            .detail("path", c.path.as_str()))
    }
}

sonde_sdk::export_probe!(Onedrive);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Onedrive>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Onedrive>("onedrive") >= 4);
    }

    #[test]
    fn the_users_drive_is_addressed_by_escaped_upn() {
        // https://learn.microsoft.com/en-us/graph/api/drive-get#http-request
        assert_eq!(drive("ada@contoso.com"), "users/ada%40contoso.com/drive");
    }

    #[test]
    fn reads_the_documented_item_not_found_body() {
        // https://learn.microsoft.com/en-us/graph/errors#error-resource-type
        let body = json!({"error": {"code": "itemNotFound", "message": "The resource could not be found.",
            "innerError": {"request-id": "1", "date": "2024-01-01T00:00:00"}}});
        assert_eq!(sonde_saas::vendor::code(&body).as_deref(), Some("itemNotFound"));
    }

    #[test]
    fn schema_needs_the_user() {
        let schema = sonde_sdk::testing::config_schema::<Onedrive>();
        let required: Vec<&str> =
            schema["required"].as_array().expect("as documented").iter().filter_map(|v| v.as_str()).collect();
        assert!(required.contains(&"user_pname") && required.contains(&"tenant"));
        assert_eq!(schema["x-sonde-auth"]["kind"], "oauth2");
    }
}
