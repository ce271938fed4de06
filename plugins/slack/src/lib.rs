//! The `slack` probe: Unstructured's Slack `token` authenticates, and each of
//! `channels` exists for it.
//!
//! Calls to `https://slack.com/api` with `Authorization: Bearer <token>`
//! added by the host (methods widened to POST):
//! 1. `POST /auth.test`: Slack answers 200 even for a bad token, with
//!    `"ok": false`; `invalid_auth`, `not_authed`, `account_inactive`,
//!    `token_revoked` and `token_expired` are "authentication failed", any
//!    other error is "unexpected protocol" naming the code;
//! 2. `GET /conversations.info?channel=<id>` for each channel (up to 20):
//!    `channel_not_found` is "channel does not exist", `missing_scope`
//!    "permission denied" (with the scope `needed`).
//!
//! A 429 (with `Retry-After`) is "rate limited".
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/slack (config keys)
//! - https://api.slack.com/methods/auth.test
//! - https://api.slack.com/methods/conversations.info
//! - https://api.slack.com/web#evaluating_responses (`ok`, `error`)
//! - https://api.slack.com/docs/rate-limits (429, Retry-After)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{MAX_LOOKUPS, address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, messages, stage};

/// The codes of an `"ok": false` answer that mean the token is no good.
const AUTH_ERRORS: &[&str] =
    &["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"];

/// Unstructured's Slack source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// Channel IDs to read.
    #[schemars(length(min = 1))]
    channels: Vec<String>,
    /// Unstructured's: read messages from this time. Not needed for the check.
    #[serde(rename = "start-date")]
    #[allow(dead_code)]
    start_date: Option<String>,
    /// Unstructured's: read messages until this time. Not needed for the check.
    #[serde(rename = "end-date")]
    #[allow(dead_code)]
    end_date: Option<String>,
    /// The app's token. Kept by the host.
    #[allow(dead_code)]
    token: Option<Secret>,
    /// The `auth` object instead of `token`.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// Slack's API base URL (the auth target).
    #[serde(default = "default_api_url")]
    #[schemars(extend("x-sonde-auth-target" = true))]
    api_url: String,
    /// How the host verifies Slack's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_api_url() -> String {
    "https://slack.com".into()
}

fn auth(schema: &mut schemars::Schema) {
    sonde_saas::root_auth(
        schema,
        json!({"kind": "bearer", "token": "/token", "methods": ["GET", "HEAD", "POST"]}),
    );
    sonde_saas::widen_methods(schema, &["GET", "HEAD", "POST"]);
}

/// The failure an `"ok": false` answer means, `noun` for `*_not_found`.
fn not_ok(answer: &Value, noun: &str) -> Option<Problem> {
    if answer["ok"].as_bool() != Some(false) {
        return None;
    }
    let code = answer["error"].as_str().unwrap_or("unknown");
    let detail = format!("Slack answered \"ok\": false, \"error\": {code:?}");
    let problem = match code {
        c if AUTH_ERRORS.contains(&c) => {
            Problem::staged(messages::AUTHENTICATION_FAILED, stage::AUTH, detail)
        }
        "missing_scope" => Problem::staged(messages::PERMISSION_DENIED, stage::PERMISSION, detail)
            .with_member("needed", answer["needed"].clone()),
        c if c.ends_with("_not_found") => {
            Problem::staged(messages::does_not_exist(noun), stage::RESOURCE, detail)
        }
        _ => Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail),
    };
    Some(problem.with_member("vendor_code", code))
}

/// The JSON of a Slack answer that is `"ok": true`.
fn ok(resp: &sonde_sdk::api::Response, noun: &str) -> Result<Value, CheckError> {
    let answer = web::ok_json(resp, noun)?;
    match not_ok(&answer, noun) {
        Some(problem) => Err(problem.into()),
        None => Ok(answer),
    }
}

struct Slack;

impl Probe for Slack {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "slack";
    const DESCRIPTION: &'static str = "A Slack token authenticates and its channels exist";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.api_url, "api_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.api_url, "api_url").map_err(CheckError::InvalidConfig)?;
        let who =
            ok(&web::post_json(&address::join(&base, &["api", "auth.test"], &[]), &json!({}), &[])?, "team")?;
        for channel in c.channels.iter().take(MAX_LOOKUPS) {
            let url = address::join(&base, &["api", "conversations.info"], &[("channel", channel)]);
            ok(&web::get(&url)?, "channel")?;
        }
        Ok(Healthy::new()
            .items(c.channels.len().min(MAX_LOOKUPS) as u64)
            .detail("team", who["team"].as_str().unwrap_or_default())
            .detail("user", who["user"].as_str().unwrap_or_default()))
    }
}

sonde_sdk::export_probe!(Slack);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Slack>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Slack>("slack") >= 4);
    }

    #[test]
    fn reads_the_documented_auth_test_answers() {
        // https://api.slack.com/methods/auth.test#examples
        let good = json!({"ok": true, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace",
            "user": "grace", "team_id": "T12345678", "user_id": "W12345678"});
        assert!(not_ok(&good, "team").is_none());
        let bad = json!({"ok": false, "error": "invalid_auth"});
        assert_eq!(not_ok(&bad, "team").map(|p| p.message), Some(messages::AUTHENTICATION_FAILED.into()));
    }

    #[test]
    fn reads_the_documented_conversations_info_errors() {
        // https://api.slack.com/methods/conversations.info#errors
        let missing = json!({"ok": false, "error": "channel_not_found"});
        assert_eq!(not_ok(&missing, "channel").map(|p| p.message), Some("channel does not exist".into()));
        let scope = json!({"ok": false, "error": "missing_scope", "needed": "channels:read", "provided": "chat:write"});
        let p = not_ok(&scope, "channel").expect("as documented");
        assert_eq!(p.message, messages::PERMISSION_DENIED);
        assert_eq!(p.members().expect("as documented")["needed"], "channels:read");
        let other = json!({"ok": false, "error": "fatal_error"});
        assert_eq!(not_ok(&other, "channel").map(|p| p.message), Some(messages::UNEXPECTED_PROTOCOL.into()));
    }

    #[test]
    fn schema_widens_methods_to_post() {
        let schema = sonde_sdk::testing::config_schema::<Slack>();
        assert_eq!(schema["x-sonde-auth"]["methods"], json!(["GET", "HEAD", "POST"]));
        assert_eq!(schema["properties"]["api_url"]["default"], "https://slack.com");
        assert!(schema["properties"].get("start-date").is_some());
    }
}
