//! The `ldap` probe: binds (simple, or anonymous without `bind_dn`), then
//! reads `base_dn` with a base-scope search for `(objectClass=*)` that asks
//! for no attributes (`1.1`). Healthy reports how it bound and, as `items`,
//! the entries directly under `base_dn`, counted with a one-level search of
//! names only that stops at [`CHILDREN_LIMIT`] (the server's own size
//! limit may stop it sooner; `children_truncated` then says so).
//!
//! TLS, chosen as postgres and mysql choose their upgrade:
//!
//! | `implicit_tls` (default: `port` is 636) | `tls.mode` | what happens |
//! | --- | --- | --- |
//! | false | `disable` (default) | plaintext |
//! | false | `prefer` | StartTLS; plaintext if the server refuses it |
//! | false | `require`, `verify-ca`, `verify-full` | StartTLS; ERROR "server does not support TLS" if refused |
//! | true | absent, `prefer`, `require`, … | TLS from the first byte (LDAPS, port 636) |
//! | true | `disable` | invalid config |
//!
//! The host performs every handshake and verifies the server under the
//! same policy; without `tls.mode` it encrypts without verifying, so a
//! verified LDAPS check says `verify-full`.
//!
//! # Layout
//! - [`msg`]: the requests (by `ldap3_proto`) and the answers' framing and reading.
//! - [`conn`]: one connection, answers matched to requests.
//! - [`result`]: result codes, their names and stable messages.

use ldap3_proto::proto::LdapSearchScope;
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, TlsMode, messages, stage};

mod conn;
mod msg;
mod result;

use conn::Conn;
use msg::op;
use result::During;

/// An LDAP directory server (OpenLDAP, 389 Directory Server, Active
/// Directory, …).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    host: String,
    /// TCP port; 389, or 636 with `implicit_tls`.
    #[serde(default)]
    #[schemars(range(min = 1))]
    port: Option<u16>,
    /// TLS from the first byte (LDAPS) instead of StartTLS; by default
    /// when `port` is 636. The same key as the imap and smtp probes'.
    #[serde(default)]
    implicit_tls: Option<bool>,
    /// The DN to bind as, with `password`; an anonymous bind without it.
    #[serde(default)]
    #[schemars(length(min = 1))]
    bind_dn: Option<String>,
    /// The password of `bind_dn` (a simple bind).
    #[serde(default)]
    password: Option<Secret>,
    /// The entry the check reads, e.g. `dc=example,dc=com`; `""` is the
    /// root DSE.
    base_dn: String,
    /// StartTLS, or LDAPS with `implicit_tls`; off (`disable`) by default.
    #[serde(default)]
    tls: Tls,
}

impl Config {
    fn port(&self) -> u16 {
        self.port.unwrap_or(if self.implicit_tls == Some(true) { LDAPS_PORT } else { 389 })
    }

    /// LDAPS: asked for, or implied by port 636 (refused with `tls.mode`
    /// disable, which [`validate`] has checked).
    fn implicit_tls(&self) -> bool {
        sonde_sdk::conn::implicit_tls(self.implicit_tls, self.port(), LDAPS_PORT, &self.tls).unwrap_or(true)
    }
}

/// The LDAPS port, where TLS starts with the first byte.
const LDAPS_PORT: u16 = 636;

/// The most entries under `base_dn` counted as `items`: one round trip of
/// names, cheap even on a large directory.
const CHILDREN_LIMIT: i32 = 100;
/// Seconds the server may spend counting them (its least non-zero limit).
const CHILDREN_TIME_LIMIT: i32 = 1;

struct Ldap;

impl Probe for Ldap {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "ldap";
    const DESCRIPTION: &'static str = "An LDAP server binds and reads the base entry";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        validate(config)?;
        Ok(vec![Endpoint::new(&config.host, config.port())])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        validate(&config).map_err(CheckError::InvalidConfig)?;
        let stream = sonde_sdk::net::connect(&config.host, config.port())?;
        let mut conn = Conn::new(stream);
        let connection = secure(&mut conn, &config)?;

        let (dn, password) = match (&config.bind_dn, &config.password) {
            (Some(dn), Some(password)) => (dn.as_str(), password.expose()),
            _ => ("", ""),
        };
        let id = conn.send(|id| msg::bind(id, dn, password))?;
        check_result(During::Bind, &conn.answer(id, &[op::BIND_RESPONSE])?)?;

        let id = conn.send(|id| msg::search(id, &config.base_dn, LdapSearchScope::Base, 0, 0))?;
        let (entries, done) = search_results(&mut conn, id)?;
        check_result(During::Search, &done)?;
        if entries == 0 {
            // It exists (else noSuchObject) and `(objectClass=*)` matches
            // every entry: access control hides it from this identity.
            return Err(Problem::staged(
                messages::PERMISSION_DENIED,
                stage::PERMISSION,
                "the base search succeeded without returning the entry: it is not visible to this bind",
            )
            .into());
        }

        let mut healthy = Healthy::new()
            .detail("bind", if dn.is_empty() { "anonymous" } else { "simple" })
            .detail("connection", connection);
        let id = conn.send(|id| {
            msg::search(id, &config.base_dn, LdapSearchScope::OneLevel, CHILDREN_LIMIT, CHILDREN_TIME_LIMIT)
        })?;
        let (children, done) = search_results(&mut conn, id)?;
        match done.result.map(|o| o.code) {
            Some(result::SUCCESS) => healthy = healthy.items(children),
            // The size limit (ours or the server's) stopped the count.
            Some(result::SIZE_LIMIT_EXCEEDED) => {
                healthy = healthy.items(children).detail("children_truncated", true);
            }
            // A count the server would not give is a missing fact, not a
            // failure: the entry itself was read.
            _ => {}
        }
        conn.unbind();
        Ok(healthy)
    }
}

/// What the schema cannot say. Checked before anything is resolved.
fn validate(config: &Config) -> Result<(), String> {
    if config.host.is_empty() {
        return Err("`host` must not be empty".into());
    }
    if config.port == Some(0) {
        return Err("`port` must not be 0".into());
    }
    match (&config.bind_dn, &config.password) {
        (Some(_), None) => return Err("`bind_dn` needs a `password`".into()),
        (None, Some(_)) => {
            return Err("`password` needs a `bind_dn` (without both, the bind is anonymous)".into());
        }
        // RFC 4513 §5.1.2: a DN with an empty password is an
        // "unauthenticated" bind, which many servers let through as
        // anonymous: a check that would prove nothing about the password.
        (Some(_), Some(p)) if p.expose().is_empty() => return Err("`password` must not be empty".into()),
        _ => {}
    }
    sonde_sdk::conn::implicit_tls(config.implicit_tls, config.port(), LDAPS_PORT, &config.tls).map(drop)
}

/// TLS as the table in the crate's docs says; the connection's kind for
/// `details.connection`.
fn secure(conn: &mut Conn, config: &Config) -> Result<&'static str, CheckError> {
    if config.implicit_tls() {
        conn.start_tls(&config.tls)?;
        return Ok("ldaps");
    }
    let mode = config.tls.mode_or(TlsMode::Disable);
    if mode == TlsMode::Disable {
        return Ok("plaintext");
    }
    let id = conn.send(msg::start_tls)?;
    let r = conn.answer(id, &[op::EXTENDED_RESPONSE])?;
    match r.result {
        Some(o) if o.code == result::SUCCESS => {
            conn.start_tls(&config.tls)?;
            Ok("starttls")
        }
        _ if mode == TlsMode::Prefer => Ok("plaintext"),
        Some(o) => Err(Problem::staged(
            messages::NO_TLS,
            stage::TLS,
            format!("StartTLS answered {} ({})", result::name(o.code), o.code),
        )
        .with_member("result_code", o.code)
        .with_member("result", result::name(o.code))
        .with_member("diagnostic", msg::short(&o.diagnostic))
        .into()),
        None => Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
            .with_extra("an ExtendedResponse without a result")
            .into()),
    }
}

/// A success, or the failure `r`'s result code means for `during`.
fn check_result(during: During, r: &msg::Response) -> Result<(), CheckError> {
    match &r.result {
        Some(o) if o.code == result::SUCCESS => Ok(()),
        Some(o) => Err(result::failure(during, o)),
        None => {
            Err(Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra("an answer without a result").into())
        }
    }
}

/// The entries a search returned (references are not counted), and its
/// SearchResultDone.
fn search_results(conn: &mut Conn, id: i32) -> Result<(u64, msg::Response), CheckError> {
    let mut entries = 0;
    let ops = [
        op::SEARCH_RESULT_ENTRY,
        op::SEARCH_RESULT_REFERENCE,
        op::INTERMEDIATE_RESPONSE,
        op::SEARCH_RESULT_DONE,
    ];
    loop {
        let r = conn.answer(id, &ops)?;
        match r.op {
            op::SEARCH_RESULT_DONE => return Ok((entries, r)),
            op::SEARCH_RESULT_ENTRY => entries += 1,
            _ => {}
        }
    }
}

sonde_sdk::export_probe!(Ldap);

#[cfg(test)]
mod tests;
