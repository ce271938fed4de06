//! The `outlook` probe: Unstructured's Entra ID app can read the mailbox of
//! `user_email`, and each of `outlook_folders` is one of its top-level
//! folders, through Microsoft Graph with an app-only token the host fetches
//! ([`sonde_saas::graph`]).
//!
//! One call to `https://graph.microsoft.com/v1.0` (`Mail.ReadBasic.All`):
//! `GET /users/<user_email>/mailFolders?$top=250&$select=displayName,totalItemCount`.
//! 404 (no such user or mailbox, `ErrorItemNotFound`/`MailboxNotEnabledForRESTAPI`)
//! is "mailbox does not exist"; a folder not among the answer's
//! `displayName`s (compared without case) is "folder does not exist". The
//! folders' `totalItemCount`s add up to the check's `items`.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/outlook (config keys)
//! - https://learn.microsoft.com/en-us/graph/api/user-list-mailfolders
//! - https://learn.microsoft.com/en-us/graph/errors

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sonde_saas::{address, graph, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Tls};

/// Unstructured's Outlook source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = graph::auth)]
struct Config {
    /// The mailbox's e-mail address.
    #[schemars(length(min = 1))]
    user_email: String,
    /// Top-level folders to read, by display name (`["Inbox", "Sent Items"]`).
    #[schemars(length(min = 1))]
    outlook_folders: Vec<String>,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    #[serde(flatten)]
    app: graph::App,
    /// `rows`: the messages the folders must hold together.
    expect: Option<Expect>,
    /// The `auth` object instead of `client_cred`.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// How the host verifies Graph's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

/// The wanted folders' item counts, or the first wanted folder missing.
fn wanted_items<'a>(folders: &Value, wanted: &'a [String]) -> Result<u64, &'a str> {
    let list = folders["value"].as_array().map(Vec::as_slice).unwrap_or_default();
    wanted.iter().try_fold(0, |sum, name| {
        let folder =
            list.iter().find(|f| f["displayName"].as_str().is_some_and(|d| d.eq_ignore_ascii_case(name)));
        folder.map(|f| sum + f["totalItemCount"].as_u64().unwrap_or(0)).ok_or(name.as_str())
    })
}

struct Outlook;

impl Probe for Outlook {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "outlook";
    const DESCRIPTION: &'static str = "A mailbox's folders read through Microsoft Graph";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![address::endpoint(&c.app.base()?)?])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = c.app.base().map_err(CheckError::InvalidConfig)?;
        let path = format!(
            "users/{}/mailFolders?$top=250&$select=displayName,totalItemCount",
            address::escape(&c.user_email)
        );
        let folders = graph::get(&base, &path, "mailbox")?;
        let items = wanted_items(&folders, &c.outlook_folders).map_err(|name| {
            web::missing(
                "folder",
                format!("{name:?} is not among {:?}", graph::names(&folders, "displayName")),
            )
        })?;
        sonde_saas::expect_rows(c.expect.as_ref(), Self::SOURCE_TYPE, items)?;
        Ok(Healthy::new()
            .items(items)
            .detail("mailbox", c.user_email.as_str())
            .detail("folders", c.outlook_folders.len()))
    }
}

sonde_sdk::export_probe!(Outlook);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Outlook>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<Outlook>("outlook") >= 4);
    }

    #[test]
    fn counts_the_wanted_folders_of_a_documented_answer() {
        // https://learn.microsoft.com/en-us/graph/api/user-list-mailfolders#response
        let folders = json!({"value": [
            {"id": "AAMk1", "displayName": "Archive", "parentFolderId": "AAMk0", "childFolderCount": 0,
             "unreadItemCount": 0, "totalItemCount": 0, "sizeInBytes": 0, "isHidden": false},
            {"id": "AAMk2", "displayName": "Inbox", "parentFolderId": "AAMk0", "childFolderCount": 1,
             "unreadItemCount": 70, "totalItemCount": 71, "sizeInBytes": 1000, "isHidden": false}]});
        let wanted = vec!["inbox".to_string(), "Archive".to_string()];
        assert_eq!(wanted_items(&folders, &wanted), Ok(71));
        let missing = vec!["Sent".to_string()];
        assert_eq!(wanted_items(&folders, &missing), Err("Sent"));
    }
}
