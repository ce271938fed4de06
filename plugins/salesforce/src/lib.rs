//! The `salesforce` probe: Unstructured's connected app (`consumer_key`,
//! `private_key`, `username`) can read each of `categories` at the org's My
//! Domain URL `instance_url`.
//!
//! The host gets the token by the JWT bearer grant (issuer `consumer_key`,
//! subject `username`, audience `https://login.salesforce.com`, at
//! `https://login.salesforce.com/services/oauth2/token`). Then, for each of
//! `categories` (up to 20), `GET <instance_url>/services/data/v60.0/sobjects/<category>`
//! (sObject Basic Information): 404 (`NOT_FOUND`) is "category does not
//! exist", an object that is not `queryable` is "permission denied", 401
//! (`INVALID_SESSION_ID`) "authentication failed", and a 403
//! `REQUEST_LIMIT_EXCEEDED` (Salesforce's daily API limit) "rate limited".
//!
//! Unstructured has no key for the org's URL; Sonde adds `instance_url`
//! (the auth target). A token whose `instance_url` is another org's must be
//! refused by the host, which alone sees the token answer (see
//! docs/probes-saas.md). Sandboxes (`test.salesforce.com`) take the `auth`
//! object with their own `token_url` and `audience`.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/salesforce (config keys)
//! - https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm (the JWT bearer flow, token answer)
//! - https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_basic_info.htm
//! - https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm (status codes, error bodies)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{MAX_LOOKUPS, address, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, messages, stage};

const API: &str = "v60.0";

/// Unstructured's Salesforce source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The user the connected app acts for (the JWT's subject).
    #[allow(dead_code)]
    username: Option<String>,
    /// The connected app's consumer key (the JWT's issuer).
    #[allow(dead_code)]
    consumer_key: Option<String>,
    /// The connected app's private key (PEM). Kept by the host, which
    /// signs the JWT with it.
    #[allow(dead_code)]
    private_key: Option<Secret>,
    /// The objects to read.
    #[serde(default = "default_categories")]
    categories: Vec<String>,
    /// Sonde's: the org's My Domain URL (`https://acme.my.salesforce.com`),
    /// where the check reads and the host sends the token.
    #[schemars(extend("x-sonde-auth-target" = true), length(min = 1))]
    instance_url: String,
    /// The `auth` object instead of the keys above (sandboxes, or
    /// `oauth2` client credentials).
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies the org's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_categories() -> Vec<String> {
    ["Account", "Campaign", "Case", "EmailMessage", "Lead"].map(String::from).to_vec()
}

fn auth(schema: &mut schemars::Schema) {
    sonde_saas::root_auth(
        schema,
        json!({
            "kind": "jwt_bearer",
            "token_url": "https://login.salesforce.com/services/oauth2/token",
            "issuer": "/consumer_key",
            "subject": "/username",
            "audience": "https://login.salesforce.com",
            "private_key": "/private_key",
        }),
    );
}

/// A 403 that is Salesforce's API limit, not a permission.
fn limit_exceeded(body: &Value) -> bool {
    sonde_saas::vendor::code(body).as_deref() == Some("REQUEST_LIMIT_EXCEEDED")
}

/// Whether a basic-information answer says the object can be queried.
fn queryable(info: &Value) -> Option<bool> {
    info.pointer("/objectDescribe/queryable").and_then(Value::as_bool)
}

struct Salesforce;

impl Probe for Salesforce {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "salesforce";
    const DESCRIPTION: &'static str = "Salesforce objects describe with the connected app's JWT";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.instance_url, "instance_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.instance_url, "instance_url").map_err(CheckError::InvalidConfig)?;
        for category in c.categories.iter().take(MAX_LOOKUPS) {
            let url = address::join(&base, &["services", "data", API, "sobjects", category], &[]);
            let resp = web::get(&url)?;
            if resp.status == 403 && resp.json().is_ok_and(|b| limit_exceeded(&b)) {
                let problem =
                    Problem::staged(messages::RATE_LIMITED, stage::PERMISSION, "REQUEST_LIMIT_EXCEEDED");
                return Err(problem.into());
            }
            let info = web::ok_json(&resp, "category")?;
            if queryable(&info) == Some(false) {
                let detail = format!("{category} is not queryable for this user");
                return Err(Problem::staged(messages::PERMISSION_DENIED, stage::PERMISSION, detail).into());
            }
        }
        let checked = c.categories.len().min(MAX_LOOKUPS) as u64;
        Ok(Healthy::new().items(checked).detail("api_version", API))
    }
}

sonde_sdk::export_probe!(Salesforce);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Salesforce>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Salesforce>("salesforce") >= 4);
    }

    #[test]
    fn reads_the_documented_answers() {
        // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_basic_info.htm
        let info = json!({"objectDescribe": {"name": "Account", "label": "Account", "queryable": true,
            "urls": {"sobject": "/services/data/v60.0/sobjects/Account"}}, "recentItems": []});
        assert_eq!(queryable(&info), Some(true));
        // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
        let limit =
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]);
        assert!(limit_exceeded(&limit));
        let expired = json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        assert!(!limit_exceeded(&expired));
    }

    #[test]
    fn schema_maps_the_connected_app_to_jwt_bearer() {
        let schema = sonde_sdk::testing::config_schema::<Salesforce>();
        assert_eq!(schema["x-sonde-auth"]["issuer"], "/consumer_key");
        assert_eq!(schema["x-sonde-auth"]["private_key"], "/private_key");
        assert_eq!(schema["properties"]["instance_url"]["x-sonde-auth-target"], true);
        assert_eq!(schema["properties"]["categories"]["default"][0], "Account");
    }
}
