//! The `sharepoint` probe: Unstructured's Entra ID app can read the document
//! library `library` (and folder `path`) of the SharePoint site `site`,
//! through Microsoft Graph with an app-only token the host fetches
//! ([`sonde_saas::graph`]).
//!
//! Three calls to `https://graph.microsoft.com/v1.0` (`Sites.Read.All`):
//! 1. `GET /sites/<host>:/<site path>` (or `/sites/<host>` for the root
//!    site): 404 is "site does not exist";
//! 2. `GET /sites/<site id>/drives`: the library is the drive whose `name`
//!    is `library` ("Documents" when absent); none is "library does not exist";
//! 3. `GET /drives/<drive id>/root[:/<path>]`: 404 is "path does not
//!    exist"; the folder's `childCount` is the check's `items`.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/sharepoint (config keys)
//! - https://learn.microsoft.com/en-us/graph/api/site-getbypath
//! - https://learn.microsoft.com/en-us/graph/api/drive-list
//! - https://learn.microsoft.com/en-us/graph/api/driveitem-get
//! - https://learn.microsoft.com/en-us/graph/errors

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sonde_saas::{address, graph, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Tls};
use url::Url;

/// Unstructured's SharePoint source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = graph::auth)]
struct Config {
    /// The site's URL, e.g. `https://contoso.sharepoint.com/sites/Marketing`.
    #[schemars(length(min = 1))]
    site: String,
    /// The document library's display name.
    #[serde(default = "default_library")]
    library: String,
    /// A folder within the library; its root when absent.
    #[serde(default)]
    path: String,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    /// Unstructured's user for name-and-password sign-in, which the host
    /// does not support (see the crate docs): ignored.
    #[allow(dead_code)]
    user_pname: Option<String>,
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

fn default_library() -> String {
    "Documents".into()
}

/// Graph's address of the site at `site`: `<host>:/<path>`, or `<host>`.
fn site_address(site: &str) -> Result<String, String> {
    let url = Url::parse(site).map_err(|e| format!("site is not a valid URL: {e}"))?;
    let host = url.host_str().ok_or("site has no host")?;
    // Url keeps the path percent-encoded already, as Graph wants it.
    let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    Ok(if segments.is_empty() { host.to_string() } else { format!("{host}:/{}", segments.join("/")) })
}

/// The ID of the drive named `library` in a drive-list answer.
fn library_id<'a>(drives: &'a Value, library: &str) -> Option<&'a str> {
    drives["value"]
        .as_array()?
        .iter()
        .find(|d| d["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(library)))
        .and_then(|d| d["id"].as_str())
}

struct Sharepoint;

impl Probe for Sharepoint {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "sharepoint";
    const DESCRIPTION: &'static str = "A SharePoint site's document library reads through Microsoft Graph";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![address::endpoint(&c.app.base()?)?])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = c.app.base().map_err(CheckError::InvalidConfig)?;
        let site = site_address(&c.site).map_err(CheckError::InvalidConfig)?;
        let site = graph::get(&base, &format!("sites/{site}?$select=id,displayName,webUrl"), "site")?;
        let site_id = site["id"].as_str().ok_or_else(|| web::unexpected("the site has no id"))?;
        let drives =
            graph::get(&base, &format!("sites/{}/drives?$select=id,name", address::escape(site_id)), "site")?;
        let drive = library_id(&drives, &c.library).ok_or_else(|| {
            web::missing("library", format!("the site's libraries are {:?}", graph::names(&drives, "name")))
        })?;
        let children = graph::folder_children(&base, &format!("drives/{}", address::escape(drive)), &c.path)?;
        sonde_saas::expect_rows(c.expect.as_ref(), Self::SOURCE_TYPE, children)?;
        Ok(Healthy::new()
            .items(children)
            .detail("site", site["displayName"].as_str().unwrap_or_default())
            .detail("library", c.library.as_str())
            .detail("path", c.path.as_str()))
    }
}

sonde_sdk::export_probe!(Sharepoint);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Sharepoint>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Sharepoint>("sharepoint") >= 4);
    }

    #[test]
    fn site_urls_become_graph_site_addresses() {
        // https://learn.microsoft.com/en-us/graph/api/site-getbypath#http-request
        assert_eq!(
            site_address("https://contoso.sharepoint.com/sites/Mark eting/").expect("as documented"),
            "contoso.sharepoint.com:/sites/Mark%20eting"
        );
        assert_eq!(
            site_address("https://contoso.sharepoint.com").expect("as documented"),
            "contoso.sharepoint.com"
        );
    }

    #[test]
    fn finds_the_library_in_a_drive_list() {
        // https://learn.microsoft.com/en-us/graph/api/drive-list#response-1
        let drives = json!({"value": [{"id": "942CAEB0-13AE-491B-85E4-7557CDC0F25F", "driveType": "documentLibrary",
            "name": "Shared Documents", "owner": {"user": {"id": "AE2A1EE9-81A7-423C-ABE4-B945F47509BB",
            "displayName": "Ryan Gregg"}}}]});
        assert_eq!(library_id(&drives, "shared documents"), Some("942CAEB0-13AE-491B-85E4-7557CDC0F25F"));
        assert_eq!(library_id(&drives, "Documents"), None);
    }

    #[test]
    fn schema_maps_the_client_secret_and_refuses_a_password() {
        let schema = sonde_sdk::testing::config_schema::<Sharepoint>();
        assert_eq!(schema["x-sonde-auth"]["client_secret"], "/client_cred");
        assert_eq!(schema["properties"]["graph_url"]["x-sonde-auth-target"], true);
        assert!(schema["properties"].get("password").is_none());
        assert_eq!(schema["additionalProperties"], false);
    }
}
