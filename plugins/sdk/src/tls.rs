//! The `tls` object of DESIGN §4, one type every TCP probe embeds so one
//! policy reads the same everywhere. Its schema is published with the
//! probe's; the host reads the same keys from the config and enforces them,
//! so this type only tells the probe *whether* to start TLS.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::Secret;

/// How the server is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, any certificate.
    Prefer,
    /// TLS, any certificate.
    Require,
    /// TLS, a chain to a trusted CA.
    VerifyCa,
    /// TLS, a chain to a trusted CA, and the server's name.
    VerifyFull,
}

/// TLS to the source, done and verified by the Sonde host.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// `disable`, `prefer`, `require`, `verify-ca` or `verify-full`. When
    /// absent, the probe's default: `prefer` for postgres (as libpq),
    /// `disable` for the others.
    #[serde(default)]
    pub mode: Option<TlsMode>,
    /// PEM of extra CAs to trust for this source (inline text, never a path),
    /// beside the operator's `[tls] ca_files` and the web PKI roots.
    #[serde(default)]
    pub ca: Option<String>,
    /// The name to verify, when it differs from `host`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub server_name: Option<String>,
    /// PEM client certificate for mutual TLS; needs `client_key`.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`. Kept by the host: a probe never
    /// sees it.
    #[serde(default)]
    pub client_key: Option<Secret>,
    /// A peer certificate that expires sooner than this (`7d`, `12h`) makes
    /// the check ERROR "certificate expires soon".
    #[serde(default)]
    #[schemars(regex(pattern = r"^\s*\d+\s*(ms|s|m|h|d)(\s*\d+\s*(ms|s|m|h|d))*\s*$"))]
    pub min_validity: Option<String>,
}

impl Tls {
    /// The mode, or the probe's `default` when the config leaves it out.
    pub fn mode_or(&self, default: TlsMode) -> TlsMode {
        self.mode.unwrap_or(default)
    }
}
