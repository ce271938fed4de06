//! The `google_drive` probe: the service account in Unstructured's
//! `service_account_key` can read the folder or shared drive `drive_id`.
//!
//! Two calls to `https://www.googleapis.com`, with a token the host gets from
//! the key by the JWT bearer grant, scope `drive.readonly`:
//! 1. `GET /drive/v3/about?fields=user`: who the key signs in as (401 is
//!    "authentication failed");
//! 2. `GET /drive/v3/files/<drive_id>?fields=id,name,mimeType&supportsAllDrives=true`:
//!    the folder (a shared drive's ID is also its root folder's); 404
//!    (`"reason": "notFound"`) is "drive does not exist", and so is an ID
//!    that names a file, not a folder.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/google-drive (config keys)
//! - https://developers.google.com/drive/api/reference/rest/v3/about/get
//! - https://developers.google.com/drive/api/reference/rest/v3/files/get
//! - https://developers.google.com/drive/api/guides/handle-errors (error bodies, 404 notFound, 429)

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sonde_saas::{address, google, web};
use sonde_sdk::{Auth, CheckError, Endpoint, Healthy, Probe, Secret, Tls};

const SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";
const FOLDER: &str = "application/vnd.google-apps.folder";

/// Unstructured's Google Drive source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The ID of the folder or shared drive to read.
    #[schemars(length(min = 1), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    drive_id: String,
    /// The service account's key file (`credentials.json`, as one string).
    /// Kept by the host, which gets a read-only token with it.
    #[allow(dead_code)]
    service_account_key: Option<Secret>,
    /// Unstructured's: only files with these extensions. Not needed for
    /// the check.
    #[serde(default)]
    #[allow(dead_code)]
    extensions: Vec<String>,
    /// Unstructured's: read sub-folders too. Not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    recursive: bool,
    /// The `auth` object instead of `service_account_key`.
    #[allow(dead_code)]
    auth: Option<Auth>,
    /// The Drive API base URL (the auth target).
    #[serde(default = "default_api_url")]
    #[schemars(extend("x-sonde-auth-target" = true))]
    api_url: String,
    /// How the host verifies the API's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_api_url() -> String {
    "https://www.googleapis.com".into()
}

fn auth(schema: &mut schemars::Schema) {
    google::auth(schema, SCOPE);
}

/// The signed-in account of an about answer.
fn account(about: &Value) -> Option<&str> {
    ["/user/emailAddress", "/user/displayName"].iter().find_map(|p| about.pointer(p).and_then(Value::as_str))
}

/// The folder's name, or why `file` is not a folder.
fn folder_name(file: &Value) -> Result<&str, String> {
    match file["mimeType"].as_str() {
        Some(FOLDER) => Ok(file["name"].as_str().unwrap_or_default()),
        Some(other) => Err(format!("the ID names a {other}, not a folder or shared drive")),
        None => Err("the answer has no mimeType".into()),
    }
}

struct GoogleDrive;

impl Probe for GoogleDrive {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "google_drive";
    const DESCRIPTION: &'static str = "A Google Drive folder or shared drive reads with a service account";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        address::endpoints(&c.api_url, "api_url")
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        let base = address::base(&c.api_url, "api_url").map_err(CheckError::InvalidConfig)?;
        let about = address::join(&base, &["drive", "v3", "about"], &[("fields", "user")]);
        let about = web::ok_json(&web::get(&about)?, "account")?;
        let query = [("fields", "id,name,mimeType"), ("supportsAllDrives", "true")];
        let file = address::join(&base, &["drive", "v3", "files", &c.drive_id], &query);
        let file = web::ok_json(&web::get(&file)?, "drive")?;
        let name = folder_name(&file).map_err(|why| web::missing("drive", why))?;
        let mut healthy = Healthy::new().detail("drive_id", c.drive_id.as_str()).detail("name", name);
        if let Some(who) = account(&about) {
            healthy = healthy.detail("account", who);
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(GoogleDrive);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<GoogleDrive>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn answers_the_documented_vendor_cases() {
        // tests/e2e/saas/vendor_cases.rs: ok, 401, 403, the missing resource, 429.
        assert!(sonde_saas::cases::run_all::<GoogleDrive>("google_drive") >= 4);
    }

    #[test]
    fn reads_about_and_files_answers() {
        // https://developers.google.com/drive/api/reference/rest/v3/about#resource:-about (user: a User)
        let about = json!({"user": {"kind": "drive#user", "displayName": "svc",
            "emailAddress": "svc@proj.iam.gserviceaccount.com", "me": true, "permissionId": "1"}});
        assert_eq!(account(&about), Some("svc@proj.iam.gserviceaccount.com"));
        // https://developers.google.com/drive/api/reference/rest/v3/files#resource:-file
        let folder = json!({"id": "0AEx", "name": "Team", "mimeType": FOLDER});
        assert_eq!(folder_name(&folder), Ok("Team"));
        let file = json!({"id": "1x", "name": "a.pdf", "mimeType": "application/pdf"});
        assert!(folder_name(&file).expect_err("refused").contains("application/pdf"));
    }

    #[test]
    fn reads_the_documented_not_found_body() {
        // https://developers.google.com/drive/api/guides/handle-errors#resolve_a_404_error_file_not_found_fileid
        let body = json!({"error": {"errors": [{"domain": "global", "reason": "notFound",
            "message": "File not found: {fileId}.", "locationType": "parameter", "location": "fileId"}],
            "code": 404, "message": "File not found: {fileId}."}});
        assert_eq!(sonde_saas::vendor::message(&body).as_deref(), Some("File not found: {fileId}."));
    }
}
