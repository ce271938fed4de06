//! `[server]`, `[limits]` and `[metrics]` (DESIGN §5, §7): what one HTTP
//! client may hold, the bounds every source's policy must keep (§4), and
//! whether `/metrics` shows per-source series without a key. HTTPS
//! (`tls_cert_file`, `tls_key_file`) is read and checked in
//! [`super::server_tls`].

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigError};
use crate::model::Policy;

/// `[server]`: what an idle or slow client can hold, and HTTPS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// A request's headers must arrive within this (from the connection's
    /// start, or from the first byte of a later request on it).
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// Keep-alive connections idle this long between requests are closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Open connections at most; past it new ones wait in the listen
    /// backlog (not accepted) until one closes.
    pub max_connections: usize,
    /// PEM certificate chain, leaf first: with `tls_key_file`, the
    /// listener answers HTTPS only (DESIGN §10).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file` (PKCS#8, PKCS#1 RSA or SEC1).
    pub tls_key_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// `[metrics]`: who sees per-source series.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Per-source series for every organization without a key, as before
    /// tenancy (for a scraper that cannot send one).
    pub public: bool,
}

/// `[limits]`: the bounds of a source's policy (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    #[serde(with = "humantime_serde")]
    pub min_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub min_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub max_timeout: Duration,
    pub max_retries: u32,
    #[serde(with = "humantime_serde")]
    pub max_retry_interval: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30 * 24 * 3600),
            min_timeout: Duration::from_millis(10),
            max_timeout: Duration::from_secs(600),
            max_retries: 10,
            max_retry_interval: Duration::from_secs(3600),
        }
    }
}

/// Most retries the operator may allow: what the API's number field
/// accepts at all (`server::fields::whole`).
pub const RETRIES_CEILING: u32 = 100;

/// A policy field outside the bounds: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfBounds {
    pub field: &'static str,
    pub reason: String,
}

impl LimitsConfig {
    /// The first field of `policy` outside these bounds.
    pub fn check(&self, policy: &Policy) -> Result<(), OutOfBounds> {
        let range = |field: &'static str, v: Duration, min: Duration, max: Duration| {
            if v < min || v > max {
                let (lo, hi) = (humantime::format_duration(min), humantime::format_duration(max));
                return Err(OutOfBounds { field, reason: format!("must be from {lo} to {hi}") });
            }
            Ok(())
        };
        range("interval", policy.interval, self.min_interval, self.max_interval)?;
        range("timeout", policy.timeout, self.min_timeout, self.max_timeout)?;
        if policy.retries > self.max_retries {
            return Err(OutOfBounds {
                field: "retries",
                reason: format!("must be from 0 to {}", self.max_retries),
            });
        }
        range("retry_interval", policy.retry_interval, Duration::ZERO, self.max_retry_interval)
    }
}

impl Config {
    /// `[server]`, `[limits]` and `[metrics]` make sense, and `[defaults]`
    /// keeps the bounds; errors name the key.
    pub(super) fn check_server(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        for (k, d) in [("header_timeout", s.header_timeout), ("idle_timeout", s.idle_timeout)] {
            if d.is_zero() {
                return Err(self.invalid(format!("server.{k}"), "must be longer than zero"));
            }
        }
        if s.max_connections == 0 {
            return Err(self.invalid("server.max_connections", "must be at least 1"));
        }
        self.server_tls()?;
        let l = &self.limits;
        for (lo, hi, min, max) in [
            ("min_interval", "max_interval", l.min_interval, l.max_interval),
            ("min_timeout", "max_timeout", l.min_timeout, l.max_timeout),
        ] {
            if min.is_zero() {
                return Err(self.invalid(format!("limits.{lo}"), "must be longer than zero"));
            }
            if min > max {
                return Err(self.invalid(format!("limits.{hi}"), format!("must not be below `limits.{lo}`")));
            }
        }
        if l.max_retries > RETRIES_CEILING {
            return Err(self.invalid("limits.max_retries", format!("must be at most {RETRIES_CEILING}")));
        }
        if let Err(e) = l.check(&self.default_policy()) {
            let given = match e.field {
                "interval" => self.defaults.interval.is_some(),
                "timeout" => self.defaults.timeout.is_some(),
                "retries" => self.defaults.retries.is_some(),
                _ => self.defaults.retry_interval.is_some(),
            };
            // A built-in default outside the operator's bounds is the bounds' fault.
            let key = if given { format!("defaults.{}", e.field) } else { "limits".into() };
            return Err(self.invalid(key, format!("the default {} {}", e.field, e.reason)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_bounds_by_default() {
        let l = LimitsConfig::default();
        let p = Policy::default();
        assert!(l.check(&p).is_ok());
        let at = |interval: u64| Policy { interval: Duration::from_millis(interval), ..p };
        assert_eq!(l.check(&at(1)).map_err(|e| e.field), Err("interval"));
        assert!(l.check(&at(1000)).is_ok());
        let t = Policy { timeout: Duration::from_secs(999_999 * 86_400), ..p };
        assert_eq!(l.check(&t).map_err(|e| e.field), Err("timeout"));
        let r = Policy { retries: 11, ..p };
        assert_eq!(l.check(&r).map_err(|e| e.field), Err("retries"));
        let ri = Policy { retry_interval: Duration::ZERO, ..p };
        assert!(l.check(&ri).is_ok());
    }

    #[test]
    fn keys_are_checked() {
        let bad = [
            ("[server]\nheader_timeout = \"0s\"\n", "server.header_timeout"),
            ("[server]\nmax_connections = 0\n", "server.max_connections"),
            ("[limits]\nmin_interval = \"1h\"\nmax_interval = \"1m\"\n", "limits.max_interval"),
            ("[limits]\nmax_retries = 101\n", "limits.max_retries"),
            ("[defaults]\ninterval = \"1ms\"\n", "defaults.interval"),
            ("[limits]\nmax_timeout = \"1s\"\n", "limits"),
        ];
        for (text, key) in bad {
            let err = Config::parse(text, "t.toml").expect_err(text).to_string();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        }
        let ok = Config::parse("[server]\nmax_connections = 8\n[metrics]\npublic = true\n", "t").expect("ok");
        assert_eq!((ok.server.max_connections, ok.metrics.public), (8, true));
    }
}
