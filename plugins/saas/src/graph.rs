//! Microsoft Graph, shared by the `sharepoint`, `onedrive` and `outlook`
//! probes: Unstructured's Entra ID app keys, the host-side client-credentials
//! grant they map to, and the drive-folder step two of them take.
//!
//! - Token: `POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`,
//!   `grant_type=client_credentials`, `scope=https://graph.microsoft.com/.default`
//!   (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow),
//!   made by the host from `client_id` and `client_cred`.
//! - Errors: `{"error": {"code", "message", "innerError"}}`, 429 with
//!   `Retry-After` (https://learn.microsoft.com/en-us/graph/errors,
//!   https://learn.microsoft.com/en-us/graph/throttling).
//!
//! Unstructured also documents user-name/password sign-in (`user_pname` +
//! `password`, the ROPC grant) for SharePoint and OneDrive. The host has no
//! such grant (and Microsoft discourages it), so `password` is not accepted:
//! a config carrying it is refused before the probe runs, and never reaches
//! the guest.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_sdk::{CheckError, Secret};
use url::Url;

use crate::{address, web};

/// Where the host fetches tokens; `{/tenant}` is the config's `tenant`.
pub const TOKEN_URL: &str = "https://login.microsoftonline.com/{/tenant}/oauth2/v2.0/token";
const AUTHORITY: &str = "https://login.microsoftonline.com";

/// The Entra ID app registration, as Unstructured names its keys.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct App {
    /// The application (client) ID of the Microsoft Entra ID app registration.
    #[schemars(length(min = 1))]
    pub client_id: String,
    /// The directory (tenant) ID of the app registration.
    #[schemars(length(min = 1), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub tenant: String,
    /// The token provider. Only `https://login.microsoftonline.com` (the
    /// default) is supported: the host fetches the token there.
    pub authority_url: Option<String>,
    /// The app registration's client secret. Kept by the host, which
    /// fetches a Graph token with it; the probe never sees it.
    pub client_cred: Option<Secret>,
    /// The Microsoft Graph base URL: where the host sends the token, and
    /// the only address the check reaches.
    #[serde(default = "default_graph_url")]
    #[schemars(extend("x-sonde-auth-target" = true))]
    pub graph_url: String,
}

fn default_graph_url() -> String {
    "https://graph.microsoft.com".into()
}

impl App {
    /// The Graph base URL, after the config checks this family shares.
    pub fn base(&self) -> Result<Url, String> {
        if let Some(authority) = &self.authority_url
            && authority.trim_end_matches('/') != AUTHORITY
        {
            return Err(format!(
                "authority_url {authority:?} is not supported: the host fetches tokens from {AUTHORITY}"
            ));
        }
        address::base(&self.graph_url, "graph_url")
    }
}

/// The ROOT `x-sonde-auth` mapping of the family: the client-credentials
/// grant from `client_id` and `client_cred`. For `#[schemars(transform)]`.
pub fn auth(schema: &mut schemars::Schema) {
    crate::root_auth(
        schema,
        json!({
            "kind": "oauth2",
            "token_url": TOKEN_URL,
            "client_id": "/client_id",
            "client_secret": "/client_cred",
            "scope": "https://graph.microsoft.com/.default",
        }),
    );
}

/// `GET {graph}/v1.0/{path}`, the JSON of a 2xx, `noun` for a 404.
pub fn get(base: &Url, path: &str, noun: &str) -> Result<Value, CheckError> {
    let url = address::at(base, &format!("/v1.0/{path}")).map_err(CheckError::InvalidConfig)?;
    web::ok_json(&web::get(&url)?, noun)
}

/// The Graph address of a folder under a drive: `{drive}/root` for the
/// root, else `{drive}/root:/{a}/{b}` with each segment escaped.
pub fn folder_path(drive: &str, path: &str) -> String {
    let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(address::escape).collect();
    if segments.is_empty() {
        format!("{drive}/root")
    } else {
        format!("{drive}/root:/{}", segments.join("/"))
    }
}

/// A folder's `childCount`, or "path does not exist" when the driveItem is
/// missing or is a file (https://learn.microsoft.com/en-us/graph/api/driveitem-get).
pub fn folder_children(base: &Url, drive: &str, path: &str) -> Result<u64, CheckError> {
    let item = get(base, &format!("{}?$select=id,name,folder", folder_path(drive, path)), "path")?;
    item.pointer("/folder/childCount")
        .and_then(Value::as_u64)
        .ok_or_else(|| web::missing("path", format!("{path:?} is a file, not a folder")))
}

/// The `name`s in a Graph collection's `value` (for a detail that says
/// what was found instead).
pub fn names(list: &Value, key: &str) -> Vec<String> {
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v[key].as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_follow_graphs_path_syntax() {
        // https://learn.microsoft.com/en-us/graph/onedrive-addressing-driveitems
        assert_eq!(folder_path("drives/b!x", ""), "drives/b!x/root");
        assert_eq!(
            folder_path("users/a%40b/drive", "/my folder/sub/"),
            "users/a%40b/drive/root:/my%20folder/sub"
        );
    }

    #[test]
    fn names_reads_a_collection() {
        // https://learn.microsoft.com/en-us/graph/api/drive-list
        let list = json!({"value": [{"id": "b!1", "name": "Documents"}, {"id": "b!2", "name": "Shared"}]});
        assert_eq!(names(&list, "name"), ["Documents", "Shared"]);
    }

    #[test]
    fn only_the_global_authority_is_taken() {
        let app = |authority: Option<&str>| App {
            client_id: "c".into(),
            tenant: "t".into(),
            authority_url: authority.map(str::to_string),
            client_cred: None,
            graph_url: default_graph_url(),
        };
        assert!(app(None).base().is_ok());
        assert!(app(Some("https://login.microsoftonline.com/")).base().is_ok());
        assert!(app(Some("https://login.microsoftonline.us")).base().is_err());
    }
}
