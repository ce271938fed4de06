//! `[status]`: the operators' status page at `GET /` (DESIGN §5).

use std::time::Duration;

use serde::Deserialize;

/// How the status page's sign-in behaves; every key optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    /// Mark the session cookie `Secure` (sent over HTTPS only). Set it when
    /// the page is served over TLS, directly or by a proxy in front.
    pub secure_cookie: bool,
    /// How long a sign-in lasts, from the moment it was made.
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self { secure_cookie: false, session_lifetime: Duration::from_secs(12 * 3600) }
    }
}
