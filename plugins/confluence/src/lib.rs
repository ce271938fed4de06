//! The `confluence` probe: Unstructured's Confluence credentials log in, and
//! each of `spaces` exists for that user.
//!
//! Calls under `url` (`/wiki/rest/api` on Cloud, `/rest/api` on Data Center):
//! 1. `GET …/user/current`: 401, or an anonymous user, is "authentication
//!    failed";
//! 2. `GET …/space/<key>` for each of `spaces` (up to 20): 404 is "space
//!    does not exist"; without `spaces`, `GET …/space?limit=1` (some space
//!    must be visible, or the connector reads nothing: "space does not
//!    exist").
//!
//! Auth (root mapping, [`sonde_saas::atlassian`]): Basic from `username` and
//! `token` (Cloud API token) or `password`; else Bearer from `token` (a Data
//! Center PAT). A mapping applies only when every key it names is present.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/confluence (config keys)
//! - https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-users/#api-wiki-rest-api-user-current-get
//! - https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-space/#api-wiki-rest-api-space-spacekey-get
//! - https://developer.atlassian.com/server/confluence/rest/v900/api-group-space/ (Data Center)
//! - https://developer.atlassian.com/cloud/confluence/rate-limiting/ (429, Retry-After)

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_saas::{Flag, address, atlassian, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, messages, stage};
use url::Url;

/// Unstructured's Confluence source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The Confluence site (`https://example.atlassian.net`, or a Data
    /// Center base URL): the auth target.
    #[schemars(extend("x-sonde-auth-target" = true), length(min = 1))]
    url: String,
    /// Space keys (not names) to read.
    #[serde(default)]
    spaces: Vec<String>,
    /// The user name or e-mail, for Basic.
    #[allow(dead_code)]
    username: Option<String>,
    /// A Cloud API token (with `username`), or a Data Center personal
    /// access token (alone). Kept by the host.
    #[allow(dead_code)]
    token: Option<Secret>,
    /// The user's password (with `username`). Kept by the host.
    #[allow(dead_code)]
    password: Option<Secret>,
    /// Confluence Cloud (`/wiki` API paths) or Data Center.
    cloud: Option<Flag>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    max_num_of_spaces: Option<u64>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    max_num_of_docs_from_each_space: Option<u64>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    extract_images: Option<Flag>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    extract_files: Option<Flag>,
    /// The `auth` object instead of the keys above.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the site's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn auth(schema: &mut schemars::Schema) {
    atlassian::auth(schema, &["token", "password"], Some("token"));
}

/// The REST API root: `<url>/wiki/rest/api` on Cloud (unless `url` already
/// ends in `/wiki`), `<url>/rest/api` on Data Center.
fn api_root(url: &Url, cloud: bool) -> Url {
    let wiki = cloud && !url.path().trim_end_matches('/').ends_with("/wiki");
    address::join(url, if wiki { &["wiki", "rest", "api"] } else { &["rest", "api"] }, &[])
}

struct Confluence;

impl Probe for Confluence {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "confluence";
    const DESCRIPTION: &'static str = "Confluence logs in and its spaces exist";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.url, "url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let url = address::base(&c.url, "url").map_err(CheckError::InvalidConfig)?;
        let root = api_root(&url, c.cloud.as_ref().is_some_and(Flag::is_true));
        let user = web::ok_json(&web::get(&address::join(&root, &["user", "current"], &[]))?, "user")?;
        let who = atlassian::who(&user).ok_or_else(|| {
            Problem::staged(
                messages::AUTHENTICATION_FAILED,
                stage::AUTH,
                "Confluence answered as for an anonymous user",
            )
        })?;
        let healthy = Healthy::new().detail("user", who);
        if c.spaces.is_empty() {
            let page =
                web::ok_json(&web::get(&address::join(&root, &["space"], &[("limit", "1")]))?, "space")?;
            if page["size"].as_u64().unwrap_or(0) == 0 {
                return Err(web::missing("space", "the user can see no space"));
            }
            return Ok(healthy);
        }
        let seen =
            atlassian::each_exists("space", &c.spaces, |key| address::join(&root, &["space", key], &[]))?;
        Ok(healthy.items(seen))
    }
}

sonde_sdk::export_probe!(Confluence);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Confluence>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Confluence>("confluence") >= 4);
    }

    #[test]
    fn cloud_paths_go_under_wiki() {
        let site = Url::parse("https://example.atlassian.net").expect("as documented");
        assert_eq!(api_root(&site, true).as_str(), "https://example.atlassian.net/wiki/rest/api");
        let wiki = Url::parse("https://example.atlassian.net/wiki").expect("as documented");
        assert_eq!(api_root(&wiki, true).as_str(), "https://example.atlassian.net/wiki/rest/api");
        let dc = Url::parse("https://wiki.example.com/confluence").expect("as documented");
        assert_eq!(api_root(&dc, false).as_str(), "https://wiki.example.com/confluence/rest/api");
    }

    #[test]
    fn reads_the_documented_space_not_found_body() {
        // https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-space/#api-wiki-rest-api-space-spacekey-get
        // (404: "Returned if there is no space with the given key, or the calling user does not have
        // permission to view the space"), body as Confluence's error entity:
        let body = json!({"statusCode": 404, "data": {"authorized": true, "valid": true, "errors": [],
            "successful": false}, "message": "No space with key : NOPE"});
        assert_eq!(sonde_saas::vendor::message(&body).as_deref(), Some("No space with key : NOPE"));
    }
}
