//! The `zendesk` probe: Unstructured's `email` and `api-token` log in to
//! `<subdomain>.zendesk.com`, and the items the connector reads
//! (`item-type`: tickets or articles) can be counted.
//!
//! Basic auth with `<email>/token` as the user and the API token as the
//! password, added by the host. Calls:
//! 1. `GET /api/v2/users/me.json`: 401 (`{"error": "Couldn't authenticate
//!    you"}`) is "authentication failed"; Zendesk may also answer an
//!    anonymous user (`"id": null`), which is the same failure;
//! 2. `GET /api/v2/tickets/count.json` (`count.value`), or
//!    `GET /api/v2/help_center/articles.json?per_page=1` (`count`), as
//!    the check's `items`; a 403 is "permission denied".
//!
//! A 429 (with `Retry-After`) is "rate limited".
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/zendesk (config keys)
//! - https://developer.zendesk.com/api-reference/introduction/security-and-auth/#api-token (the `/token` user)
//! - https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
//! - https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#count-tickets
//! - https://developer.zendesk.com/api-reference/help_center/help-center-api/articles/#list-articles
//! - https://developer.zendesk.com/api-reference/introduction/rate-limits/ (429, Retry-After)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Problem, Secret, Tls, messages, stage};

/// Unstructured's Zendesk source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The `<subdomain>` of `<subdomain>.zendesk.com`.
    #[schemars(length(min = 1), regex(pattern = r"^[A-Za-z0-9-]+$"))]
    subdomain: String,
    /// The e-mail of the user the API token belongs to.
    #[allow(dead_code)]
    email: Option<String>,
    /// The API token (not an OAuth token). Kept by the host.
    #[serde(rename = "api-token")]
    #[allow(dead_code)]
    api_token: Option<Secret>,
    /// `tickets` (the default) or `articles`.
    #[serde(rename = "item-type", default)]
    item_type: ItemType,
    /// Unstructured's: not needed for the check.
    #[serde(rename = "batch-size")]
    #[allow(dead_code)]
    batch_size: Option<u64>,
    /// `rows`: how many tickets or articles there must be.
    expect: Option<Expect>,
    /// The `auth` object instead of `email` and `api-token` (an OAuth
    /// token as `bearer`, say).
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies Zendesk's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

#[derive(Deserialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ItemType {
    #[default]
    Tickets,
    Articles,
}

fn auth(schema: &mut schemars::Schema) {
    sonde_saas::root_auth(
        schema,
        json!({"kind": "basic", "user": "{/email}/token", "password": "/api-token"}),
    );
    sonde_saas::root_target(schema, "https://{/subdomain}.zendesk.com");
}

fn base(c: &Config) -> Result<url::Url, String> {
    address::base(&format!("https://{}.zendesk.com", c.subdomain), "subdomain")
}

/// How many items a count answer gives, by item type.
fn count(answer: &Value, item: ItemType) -> Option<u64> {
    match item {
        ItemType::Tickets => answer.pointer("/count/value").and_then(Value::as_u64),
        ItemType::Articles => answer["count"].as_u64(),
    }
}

struct Zendesk;

impl Probe for Zendesk {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "zendesk";
    const DESCRIPTION: &'static str = "Zendesk logs in with an API token and counts tickets or articles";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![address::endpoint(&base(c)?)?])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = base(&c).map_err(CheckError::InvalidConfig)?;
        let me =
            web::ok_json(&web::get(&address::join(&base, &["api", "v2", "users", "me.json"], &[]))?, "user")?;
        if me.pointer("/user/id").is_none_or(Value::is_null) {
            let detail = "Zendesk answered users/me with the anonymous user";
            return Err(Problem::staged(messages::AUTHENTICATION_FAILED, stage::AUTH, detail).into());
        }
        let url = match c.item_type {
            ItemType::Tickets => address::join(&base, &["api", "v2", "tickets", "count.json"], &[]),
            ItemType::Articles => {
                address::join(&base, &["api", "v2", "help_center", "articles.json"], &[("per_page", "1")])
            }
        };
        let answer = web::ok_json(&web::get(&url)?, "help center")?;
        let items = count(&answer, c.item_type).ok_or_else(|| web::unexpected("the answer has no count"))?;
        sonde_saas::expect_rows(c.expect.as_ref(), Self::SOURCE_TYPE, items)?;
        Ok(Healthy::new()
            .items(items)
            .detail("role", me.pointer("/user/role").cloned().unwrap_or(Value::Null)))
    }
}

sonde_sdk::export_probe!(Zendesk);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Zendesk>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn reads_the_documented_counts() {
        // https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#count-tickets (example response)
        let tickets = json!({"count": {"refreshed_at": "2020-04-06T02:18:17Z", "value": 102}});
        assert_eq!(count(&tickets, ItemType::Tickets), Some(102));
        // https://developer.zendesk.com/api-reference/help_center/help-center-api/articles/#list-articles
        let articles = json!({"articles": [{"id": 35467, "title": "Printing"}], "count": 8, "next_page": null,
            "page": 1, "page_count": 8, "per_page": 1});
        assert_eq!(count(&articles, ItemType::Articles), Some(8));
    }

    #[test]
    fn reads_the_documented_401_body() {
        // https://developer.zendesk.com/api-reference/introduction/security-and-auth/
        let body = json!({"error": "Couldn't authenticate you"});
        assert_eq!(sonde_saas::vendor::message(&body).as_deref(), Some("Couldn't authenticate you"));
    }

    #[test]
    fn schema_targets_the_subdomain_and_maps_the_token_user() {
        let schema = sonde_sdk::testing::config_schema::<Zendesk>();
        assert_eq!(schema["x-sonde-auth-target"], "https://{/subdomain}.zendesk.com");
        assert_eq!(schema["x-sonde-auth"]["user"], "{/email}/token");
        assert_eq!(schema["properties"]["api-token"]["writeOnly"], true);
    }
}
