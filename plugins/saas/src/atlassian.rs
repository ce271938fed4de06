//! Confluence and Jira, shared by their two probes: both take Unstructured's
//! `url`, `username`, `password`, `token` and `cloud`, and prove the
//! credentials with the current user before reading the space or project.
//!
//! - Cloud: Basic with the account's e-mail and an API token
//!   (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/);
//!   Unstructured's Confluence calls that token `token`, Jira `password`.
//! - Data Center: a personal access token as `Authorization: Bearer`
//!   (https://confluence.atlassian.com/enterprise/using-personal-access-tokens-1026032365.html),
//!   or Basic with a user name and password.
//!
//! A bad Basic login on Atlassian Cloud is not always a 401: some endpoints
//! answer as for an anonymous user (404 for a project, an empty list), which
//! is why the probe asks for the current user first, where anonymous is 401.

use serde_json::{Value, json};

/// The ROOT `x-sonde-auth` mappings: Basic from `username` plus the secret
/// named `basic_secret` (Confluence's `token`, or `password`), else Bearer
/// from `token` (a PAT).
pub fn auth(schema: &mut schemars::Schema, basic_secrets: &[&str], bearer: Option<&str>) {
    let mut mappings: Vec<Value> = basic_secrets
        .iter()
        .map(|secret| json!({"kind": "basic", "user": "/username", "password": format!("/{secret}")}))
        .collect();
    if let Some(token) = bearer {
        mappings.push(json!({"kind": "bearer", "token": format!("/{token}")}));
    }
    crate::root_auth(schema, Value::Array(mappings));
}

/// Who the credentials log in as, from a current-user answer: Cloud's
/// `accountId`/`displayName`, Data Center's `name`/`displayName`
/// (https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-users/#api-wiki-rest-api-user-current-get,
/// https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-myself/).
/// `None` for an anonymous answer, which Confluence gives with a 200.
pub fn who(user: &Value) -> Option<String> {
    if user["type"] == "anonymous" {
        return None;
    }
    ["/displayName", "/name", "/accountId", "/username"]
        .iter()
        .find_map(|p| user.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(str::to_string)
}

/// Looks up each named resource (up to [`crate::MAX_LOOKUPS`]) at the URL
/// `url_of` gives; a 404 is "`noun` does not exist", naming which. Returns
/// how many were looked up.
pub fn each_exists(
    noun: &str,
    names: &[String],
    url_of: impl Fn(&str) -> url::Url,
) -> Result<u64, sonde_sdk::CheckError> {
    let mut seen = 0;
    for name in names.iter().take(crate::MAX_LOOKUPS) {
        let resp = crate::web::get(&url_of(name))?;
        if resp.status == 404 {
            return Err(crate::web::missing(noun, format!("{noun} {name:?} was not found (HTTP 404)")));
        }
        crate::web::ok_json(&resp, noun)?;
        seen += 1;
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_reads_cloud_and_data_center_users_and_refuses_anonymous() {
        // https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-users/#api-wiki-rest-api-user-current-get
        let cloud = json!({"type": "known", "accountId": "5b10a2844c20165700ede21g", "accountType": "atlassian",
            "email": "mia@example.com", "publicName": "mia", "displayName": "Mia Krystof"});
        assert_eq!(who(&cloud).as_deref(), Some("Mia Krystof"));
        let anonymous = json!({"type": "anonymous", "profilePicture": {}, "displayName": "Anonymous"});
        assert_eq!(who(&anonymous), None);
        // https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/myself-getUser
        let dc = json!({"self": "https://jira.example/rest/api/2/user?username=fred", "name": "fred", "active": true});
        assert_eq!(who(&dc).as_deref(), Some("fred"));
    }

    #[test]
    fn mappings_put_basic_before_bearer() {
        let mut schema = schemars::json_schema!({});
        auth(&mut schema, &["token", "password"], Some("token"));
        let m = &schema.as_value()["x-sonde-auth"];
        assert_eq!(m[0], json!({"kind": "basic", "user": "/username", "password": "/token"}));
        assert_eq!(m[1]["password"], "/password");
        assert_eq!(m[2], json!({"kind": "bearer", "token": "/token"}));
    }
}
