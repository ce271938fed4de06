//! The `jira` probe: Unstructured's Jira credentials log in, and each of
//! `projects`, `boards` and `issues` exists for that user.
//!
//! Calls under `url`:
//! 1. `GET /rest/api/2/myself`: 401 is "authentication failed" (Jira Cloud
//!    answers some other calls with a 404 for bad credentials, so this comes
//!    first);
//! 2. `GET /rest/api/2/project/<id or key>` for each of `projects`: 404 is
//!    "project does not exist";
//! 3. `GET /rest/agile/1.0/board/<id>` for each of `boards`: "board does not exist";
//! 4. `GET /rest/api/2/issue/<id>?fields=summary` for each of `issues`:
//!    "issue does not exist" (up to 20 look-ups in all).
//!
//! Auth (root mapping, [`sonde_saas::atlassian`]): Basic from `username` and
//! `password` (a Cloud API token or a Data Center password); else Bearer
//! from `token` (a Data Center PAT).
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/jira (config keys)
//! - https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-myself/#api-rest-api-2-myself-get
//! - https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-projects/#api-rest-api-2-project-projectidorkey-get
//! - https://developer.atlassian.com/cloud/jira/software/rest/api-group-board/#api-rest-agile-1-0-board-boardid-get
//! - https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-issueidorkey-get
//! - https://developer.atlassian.com/cloud/jira/platform/rate-limiting/ (429, Retry-After)

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_saas::{Flag, MAX_LOOKUPS, address, atlassian, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, messages, stage};

/// Unstructured's Jira source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The Jira site (`https://example.atlassian.net`, or a Data Center
    /// base URL): the auth target.
    #[schemars(extend("x-sonde-auth-target" = true), length(min = 1))]
    url: String,
    /// The user name (Cloud: the e-mail), for Basic.
    #[allow(dead_code)]
    username: Option<String>,
    /// The password, or a Cloud API token. Kept by the host.
    #[allow(dead_code)]
    password: Option<Secret>,
    /// A Data Center personal access token. Kept by the host.
    #[allow(dead_code)]
    token: Option<Secret>,
    /// Project IDs or keys to read.
    #[serde(default)]
    projects: Vec<String>,
    /// Board IDs to read.
    #[serde(default)]
    boards: Vec<String>,
    /// Issue IDs or keys to read.
    #[serde(default)]
    issues: Vec<String>,
    /// Unstructured's: not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    status_filters: Vec<String>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    download_attachments: Option<Flag>,
    /// Unstructured's: Cloud or Data Center (the same paths serve both).
    #[allow(dead_code)]
    cloud: Option<Flag>,
    /// The `auth` object instead of the keys above.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the site's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn auth(schema: &mut schemars::Schema) {
    atlassian::auth(schema, &["password"], Some("token"));
}

struct Jira;

impl Probe for Jira {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "jira";
    const DESCRIPTION: &'static str = "Jira logs in and its projects exist";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.url, "url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let url = address::base(&c.url, "url").map_err(CheckError::InvalidConfig)?;
        let me =
            web::ok_json(&web::get(&address::join(&url, &["rest", "api", "2", "myself"], &[]))?, "user")?;
        let who = atlassian::who(&me).ok_or_else(|| {
            Problem::staged(
                messages::AUTHENTICATION_FAILED,
                stage::AUTH,
                "Jira answered myself without a user",
            )
        })?;
        if c.projects.len() + c.boards.len() + c.issues.len() > MAX_LOOKUPS {
            return Err(CheckError::invalid_config(format!(
                "projects, boards and issues name more than {MAX_LOOKUPS} resources; the check looks each up"
            )));
        }
        let api = |path: &[&str], id: &str, query: &[(&str, &str)]| {
            let mut segments = path.to_vec();
            segments.push(id);
            address::join(&url, &segments, query)
        };
        let projects = atlassian::each_exists("project", &c.projects, |id| {
            api(&["rest", "api", "2", "project"], id, &[])
        })?;
        let boards = atlassian::each_exists("board", &c.boards, |id| {
            api(&["rest", "agile", "1.0", "board"], id, &[])
        })?;
        let issues = atlassian::each_exists("issue", &c.issues, |id| {
            api(&["rest", "api", "2", "issue"], id, &[("fields", "summary")])
        })?;
        Ok(Healthy::new().items(projects + boards + issues).detail("user", who))
    }
}

sonde_sdk::export_probe!(Jira);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Jira>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Jira>("jira") >= 4);
    }

    #[test]
    fn reads_the_documented_project_not_found_body() {
        // https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-projects/#api-rest-api-2-project-projectidorkey-get
        // (404: "Returned if the project is not found or the user does not have permission to view it"),
        // body as Jira's ErrorCollection (https://developer.atlassian.com/cloud/jira/platform/rest/v2/intro/#status-codes):
        let body = json!({"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}});
        assert_eq!(
            sonde_saas::vendor::message(&body).as_deref(),
            Some("No project could be found with key 'NOPE'.")
        );
    }

    #[test]
    fn schema_maps_basic_then_bearer() {
        let schema = sonde_sdk::testing::config_schema::<Jira>();
        assert_eq!(schema["x-sonde-auth"][0]["password"], "/password");
        assert_eq!(schema["x-sonde-auth"][1]["token"], "/token");
        assert_eq!(schema["properties"]["url"]["x-sonde-auth-target"], true);
    }
}
