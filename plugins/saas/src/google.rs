//! Google's service-account flow, shared by the `gcs` and `google_drive`
//! probes: Unstructured's `service_account_key` (the key file's JSON, as one
//! string) maps to the host's `jwt_bearer` with its `service_account`
//! member, so the host signs the assertion and fetches the token
//! (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
//! Errors are `{"error": {"code", "message", "errors": [{"reason"}]}}`
//! (https://cloud.google.com/storage/docs/json_api/v1/status-codes).

use serde_json::json;

/// The ROOT `x-sonde-auth` mapping for a read-only `scope`. It names no
/// `token_url`: the host takes the key file's own `token_uri` (Google's
/// keys name `https://oauth2.googleapis.com/token`, the host's default when
/// a file has none), as Google's client libraries do, so a key for another
/// token endpoint (a sovereign cloud's, a test's) is not sent to Google's.
pub fn auth(schema: &mut schemars::Schema, scope: &str) {
    crate::root_auth(
        schema,
        json!({
            "kind": "jwt_bearer",
            "service_account": "/service_account_key",
            "scope": scope,
        }),
    );
}
