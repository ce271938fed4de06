//! A source's TLS policy (DESIGN §4), read by the host from the config's
//! well-known `tls` object, never taken from the guest.
//!
//! The schema the host validated the config against belongs to the plugin,
//! so this parser checks every key it uses again and turns a bad value into
//! a FAILED check before the guest runs.

use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

/// How the peer is verified (`tls.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// No TLS: a handshake the guest starts anyway is refused.
    Disable,
    /// TLS if the server offers it, any certificate (libpq's `prefer`).
    Prefer,
    /// TLS, any certificate.
    Require,
    /// TLS, a chain to a trusted CA, any name.
    VerifyCa,
    /// TLS, a chain to a trusted CA, and the name.
    VerifyFull,
}

impl Mode {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => return None,
        })
    }

    /// Whether a check must end with TLS to be OK.
    pub fn requires_tls(self) -> bool {
        self >= Mode::Require
    }

    /// Whether the chain is verified.
    pub fn verifies_chain(self) -> bool {
        self >= Mode::VerifyCa
    }
}

/// A `tls` object that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("`tls` must be an object")]
    NotAnObject,
    #[error("`tls.{0}` must be a string")]
    NotAString(&'static str),
    #[error("`tls.mode` {0:?} is not one of disable, prefer, require, verify-ca, verify-full")]
    Mode(String),
    #[error("`tls.ca` holds no PEM certificate")]
    NoCa,
    #[error("`tls.{key}` is not valid PEM: {reason}")]
    Pem { key: &'static str, reason: String },
    #[error("`tls.client_cert` and `tls.client_key` go together")]
    HalfClientIdentity,
    #[error("`tls.min_validity` {value:?} is not a duration: {reason}")]
    MinValidity { value: String, reason: String },
}

/// The policy of one check.
#[derive(Debug, Default)]
pub struct TlsPolicy {
    /// `None` when the config leaves `tls.mode` out: the probe's own default
    /// applies to whether it starts TLS, and a handshake it starts is
    /// encrypted without verification, like libpq's `prefer`.
    pub mode: Option<Mode>,
    /// `tls.server_name`, else the config's `host`.
    pub server_name: Option<String>,
    /// Whether `server_name` is `tls.server_name` itself, not the `host`
    /// default: only that one overrides a `wasi:http` URL's own name.
    pub server_name_given: bool,
    pub ca: Vec<CertificateDer<'static>>,
    pub client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    pub min_validity: Option<Duration>,
}

impl TlsPolicy {
    /// Reads the policy from a source's config.
    pub fn from_config(config: &Value) -> Result<Self, PolicyError> {
        let empty = serde_json::Map::new();
        let tls = match config.get("tls") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => return Err(PolicyError::NotAnObject),
        };
        let text = |key: &'static str| -> Result<Option<&str>, PolicyError> {
            match tls.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(PolicyError::NotAString(key)),
            }
        };
        let mode = text("mode")?
            .map(|m| Mode::parse(m).ok_or_else(|| PolicyError::Mode(m.to_string())))
            .transpose()?;
        let server_name_given = text("server_name")?.is_some();
        let server_name = text("server_name")?
            .or_else(|| config.get("host").and_then(Value::as_str))
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string());
        let ca = match text("ca")? {
            None => Vec::new(),
            Some(pem) => {
                let certs = certs(pem, "ca")?;
                if certs.is_empty() {
                    return Err(PolicyError::NoCa);
                }
                certs
            }
        };
        let client = match (text("client_cert")?, text("client_key")?) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                    .map_err(|e| PolicyError::Pem { key: "client_key", reason: e.to_string() })?;
                Some((certs(cert, "client_cert")?, key))
            }
            _ => return Err(PolicyError::HalfClientIdentity),
        };
        let min_validity = text("min_validity")?
            .map(|v| {
                humantime::parse_duration(v)
                    .map_err(|e| PolicyError::MinValidity { value: v.to_string(), reason: e.to_string() })
            })
            .transpose()?;
        Ok(Self { mode, server_name, server_name_given, ca, client, min_validity })
    }
}

/// Every certificate in a PEM text.
pub fn certs(pem: &str, key: &'static str) -> Result<Vec<CertificateDer<'static>>, PolicyError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PolicyError::Pem { key, reason: e.to_string() })
}

/// The config as the guest sees it: without `tls.client_key`, which only
/// the host uses, so a private key never enters the sandbox.
pub fn strip_private_key(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(Value::Object(tls)) = config.get_mut("tls") {
        tls.remove("client_key");
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_modes() {
        let p = TlsPolicy::from_config(&json!({"host": "db.example"})).expect("policy");
        assert_eq!((p.mode, p.server_name.as_deref()), (None, Some("db.example")));
        assert!(!p.server_name_given, "the `host` default is not given");
        let p =
            TlsPolicy::from_config(&json!({"host": "h", "tls": {"mode": "verify-ca", "server_name": "n"}}))
                .expect("policy");
        assert_eq!((p.mode, p.server_name.as_deref()), (Some(Mode::VerifyCa), Some("n")));
        assert!(p.server_name_given);
        assert!(Mode::VerifyCa.requires_tls() && !Mode::Prefer.requires_tls());
    }

    #[test]
    fn bad_values_are_errors() {
        for tls in [
            json!("x"),
            json!({"mode": "sometimes"}),
            json!({"ca": "not pem"}),
            json!({"client_cert": "x"}),
            json!({"min_validity": "soon"}),
            json!({"mode": 1}),
        ] {
            assert!(TlsPolicy::from_config(&json!({"tls": tls})).is_err(), "{tls}");
        }
        let p = TlsPolicy::from_config(&json!({"tls": {"min_validity": "7d"}})).expect("policy");
        assert_eq!(p.min_validity, Some(Duration::from_secs(7 * 86400)));
    }

    #[test]
    fn the_private_key_never_reaches_the_guest() {
        let c = strip_private_key(&json!({"tls": {"client_cert": "c", "client_key": "k"}}));
        assert_eq!(c, json!({"tls": {"client_cert": "c"}}));
    }
}
