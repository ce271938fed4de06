//! The `imap` probe: reads the greeting, the capabilities, upgrades with
//! STARTTLS when `tls.mode` says so, logs in (LOGIN, or AUTHENTICATE PLAIN
//! when the server disables LOGIN), and opens the mailbox read-only with
//! EXAMINE; `items` is its message count (`* n EXISTS`). Then LOGOUT.
//!
//! IMAP is line-based text with literals; the crates that speak it need an
//! async runtime or do TLS themselves, so the few responses the probe reads
//! are parsed here ([`response`]) and its arguments quoted here ([`encode`]).
//!
//! TLS, done and verified by the host:
//!
//! | `implicit_tls` (default: `port` is 993) | `tls.mode` | the probe |
//! | --- | --- | --- |
//! | true | absent, `prefer` … `verify-full` | TLS from the first byte (IMAPS) |
//! | true | `disable` | FAILED: the config cannot work |
//! | false | absent | STARTTLS only when the server disables plaintext LOGIN (`LOGINDISABLED`) and offers it |
//! | false | `disable` | never STARTTLS |
//! | false | `prefer` | STARTTLS when the server offers it |
//! | false | `require` or stricter | STARTTLS, else "server does not support TLS" |
//!
//! The client waits for the server's greeting, as RFC 3501 §7.1 has it: a
//! server that waits for the client first (Redis) therefore looks silent,
//! a TIMEOUT, while one that greets otherwise (NATS, SMTP) is "unexpected
//! protocol".

mod conn;
mod encode;
mod response;

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Login, Server};
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Tls, TlsMode, messages, stage};

use conn::{Conn, bye, refused};
use encode::{Part, astring};
use response::{Response, Status, StatusResponse, has};

/// An IMAP server (Dovecot, Cyrus, Exchange, Gmail, …).
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<143>,
    #[serde(flatten)]
    login: Login,
    /// The mailbox opened read-only (EXAMINE); its message count is `items`.
    #[serde(default = "inbox")]
    #[schemars(length(min = 1))]
    mailbox: String,
    /// TLS from the first byte (IMAPS, RFC 8314) instead of STARTTLS.
    /// When absent: true on port 993, false otherwise.
    #[serde(default)]
    implicit_tls: Option<bool>,
    /// STARTTLS on the plaintext port, or the policy of implicit TLS.
    #[serde(default)]
    tls: Tls,
}

fn inbox() -> String {
    "INBOX".to_string()
}

/// The shared connection fields, worded for IMAP.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("port", "TCP port: 143 (STARTTLS) or 993 (implicit TLS)."),
            (
                "user",
                "User to log in as; needs `password`. Without it the server must pre-authenticate (PREAUTH).",
            ),
            ("password", "Password of `user`."),
        ],
    );
}

/// The port of IMAP over implicit TLS (RFC 8314 §7).
const IMAPS_PORT: u16 = 993;

struct Imap;

impl Probe for Imap {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "imap";
    const DESCRIPTION: &'static str = "An IMAP server logs in and opens a mailbox read-only";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        validate(config)?;
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        validate(&config).map_err(CheckError::InvalidConfig)?;
        let implicit = implicit(&config).map_err(CheckError::InvalidConfig)?;
        let mut stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        if implicit {
            stream.start_tls(&config.tls)?;
        }
        let mut conn = Conn::new(stream);

        let greeting = conn.greeting()?;
        if greeting.status == Status::Bye {
            return Err(bye(&greeting));
        }
        let preauth = greeting.status == Status::PreAuth;
        let mut caps = match greeting.capabilities() {
            Some(caps) => caps,
            None => capability(&mut conn)?,
        };

        if !implicit && upgrade(config.tls.mode, &caps, preauth)? {
            let reply = conn.command("STARTTLS", &[])?;
            if reply.done.status != Status::Ok {
                return Err(Problem::staged(
                    messages::NO_TLS,
                    stage::TLS,
                    format!("STARTTLS: {}", reply.done.shown()),
                )
                .into());
            }
            if conn.buffered() > 0 {
                return Err(conn::unexpected("bytes after the STARTTLS reply, before TLS".into()));
            }
            conn.stream.start_tls(&config.tls)?;
            // Capabilities seen before TLS are not to be trusted (RFC 3501 §6.2.1).
            caps = capability(&mut conn)?;
        }
        conn.literal_plus = has(&caps, "LITERAL+");

        if !preauth {
            let done = login(&mut conn, &config.login, &caps)?;
            if let Some(after) = done.capabilities() {
                caps = after;
            }
        }

        let name = encode::mailbox(&config.mailbox);
        let reply = conn.command("EXAMINE", &[astring(&name)])?;
        if reply.done.status != Status::Ok {
            return Err(examine_refused(&reply.done));
        }
        let exists = reply.untagged.iter().find_map(|r| match r {
            Response::Exists(n) => Some(*n),
            _ => None,
        });
        // Best effort: the check is decided.
        let _ = conn.command("LOGOUT", &[]);
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);

        let mut healthy = Healthy::new()
            .detail("mailbox", config.mailbox.as_str())
            .detail("greeting", greeting.text.as_str())
            .detail("capabilities", caps)
            .detail("preauth", preauth);
        if let Some(n) = exists {
            healthy = healthy.items(n);
        }
        Ok(healthy)
    }
}

/// What the schema cannot say. Checked before anything is resolved.
fn validate(config: &Config) -> Result<(), String> {
    config.login.validate()?;
    implicit(config).map(drop)
}

fn implicit(config: &Config) -> Result<bool, String> {
    sonde_sdk::conn::implicit_tls(config.implicit_tls, config.server.port, IMAPS_PORT, &config.tls)
}

/// Whether to send STARTTLS, under `tls.mode`, given the capabilities.
fn upgrade(mode: Option<TlsMode>, caps: &[String], preauth: bool) -> Result<bool, CheckError> {
    let offered = has(caps, "STARTTLS") && !preauth;
    let no_tls = |why: &str| Err(Problem::staged(messages::NO_TLS, stage::TLS, why).into());
    match mode {
        None => Ok(offered && has(caps, "LOGINDISABLED")),
        Some(TlsMode::Disable) => Ok(false),
        Some(TlsMode::Prefer) => Ok(offered),
        Some(_) if offered => Ok(true),
        Some(_) if preauth => no_tls("the server pre-authenticated the connection in plaintext (PREAUTH)"),
        Some(_) => no_tls("the server's capabilities have no STARTTLS"),
    }
}

fn capability(conn: &mut Conn) -> Result<Vec<String>, CheckError> {
    let reply = conn.command("CAPABILITY", &[])?;
    if reply.done.status != Status::Ok {
        return Err(refused("CAPABILITY", &reply.done));
    }
    Ok(reply
        .untagged
        .into_iter()
        .find_map(|r| match r {
            Response::Capability(caps) => Some(caps),
            _ => None,
        })
        .or_else(|| reply.done.capabilities())
        .unwrap_or_default())
}

/// LOGIN, or AUTHENTICATE PLAIN when the server disables LOGIN. Returns
/// the tagged OK.
fn login(conn: &mut Conn, login: &Login, caps: &[String]) -> Result<StatusResponse, CheckError> {
    let (Some(user), Some(password)) = (&login.user, &login.password) else {
        return Err(Problem::staged(
            messages::AUTHENTICATION_FAILED,
            stage::AUTH,
            "the server wants a login (its greeting is not PREAUTH) and the config has no `user`",
        )
        .into());
    };
    let done = if !has(caps, "LOGINDISABLED") {
        conn.command("LOGIN", &[astring(user), astring(password.expose())])?.done
    } else if has(caps, "AUTH=PLAIN") {
        let response = encode::sasl_plain(user, password.expose());
        if has(caps, "SASL-IR") {
            conn.command("AUTHENTICATE PLAIN", &[Part::Text(response)])?.done
        } else {
            let tag = conn.begin("AUTHENTICATE PLAIN")?;
            match conn.until_continue(&tag, "AUTHENTICATE")? {
                Some(done) => done,
                None => {
                    conn.send_line(&response)?;
                    conn.finish(&tag, "AUTHENTICATE")?.done
                }
            }
        }
    } else {
        return Err(Problem::staged(
            messages::AUTHENTICATION_FAILED,
            stage::AUTH,
            "the server disables LOGIN here (LOGINDISABLED) and offers no AUTH=PLAIN; \
             set `tls.mode` so that the probe upgrades with STARTTLS first",
        )
        .into());
    };
    match done.status {
        Status::Ok => Ok(done),
        // [UNAVAILABLE] is the server's trouble, not the credentials'.
        Status::No if done.code_atom() != "UNAVAILABLE" => {
            Err(Problem::staged(messages::AUTHENTICATION_FAILED, stage::AUTH, done.shown()).into())
        }
        _ => Err(refused("LOGIN", &done)),
    }
}

/// A NO or BAD to EXAMINE: the mailbox is missing, forbidden, or the
/// server has trouble of its own.
fn examine_refused(done: &StatusResponse) -> CheckError {
    let text = done.text.to_ascii_lowercase();
    let code = done.code_atom();
    let missing = code == "NONEXISTENT"
        || (code.is_empty()
            && ["not exist", "doesn't exist", "no such", "not found", "unknown mailbox"]
                .iter()
                .any(|w| text.contains(w)));
    if done.status == Status::No && missing {
        return Problem::staged(messages::does_not_exist("mailbox"), stage::RESOURCE, done.shown()).into();
    }
    if done.status == Status::No && matches!(code.as_str(), "NOPERM" | "AUTHORIZATIONFAILED") {
        return Problem::staged(messages::PERMISSION_DENIED, stage::PERMISSION, done.shown()).into();
    }
    refused("EXAMINE", done)
}

sonde_sdk::export_probe!(Imap);

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    fn message(e: CheckError) -> String {
        match e {
            CheckError::Unhealthy(p) => p.message,
            CheckError::InvalidConfig(s) => format!("invalid: {s}"),
        }
    }

    #[test]
    fn starttls_by_mode() {
        let plain = caps("IMAP4rev1 AUTH=PLAIN");
        let offered = caps("IMAP4rev1 STARTTLS");
        let disabled = caps("IMAP4rev1 STARTTLS LOGINDISABLED");
        assert!(!upgrade(None, &offered, false).expect("ok"));
        assert!(upgrade(None, &disabled, false).expect("ok"));
        assert!(!upgrade(Some(TlsMode::Disable), &disabled, false).expect("ok"));
        assert!(upgrade(Some(TlsMode::Prefer), &offered, false).expect("ok"));
        assert!(!upgrade(Some(TlsMode::Prefer), &plain, false).expect("ok"));
        assert!(upgrade(Some(TlsMode::VerifyFull), &offered, false).expect("ok"));
        for mode in [TlsMode::Require, TlsMode::VerifyCa, TlsMode::VerifyFull] {
            assert_eq!(message(upgrade(Some(mode), &plain, false).expect_err("no tls")), messages::NO_TLS);
            assert_eq!(message(upgrade(Some(mode), &offered, true).expect_err("preauth")), messages::NO_TLS);
        }
    }

    #[test]
    fn examine_refusals() {
        let no = |line: &str| match response::parse(line) {
            Some(Response::Tagged(_, s)) => message(examine_refused(&s)),
            other => panic!("{other:?}"),
        };
        assert_eq!(no("a3 NO [NONEXISTENT] Mailbox doesn't exist: Nope"), "mailbox does not exist");
        assert_eq!(no("a3 NO Mailbox does not exist"), "mailbox does not exist");
        assert_eq!(no("a3 NO [NOPERM] Permission denied"), "permission denied");
        assert_eq!(no("a3 NO [SERVERBUG] Internal error"), "server error");
        assert_eq!(no("a3 BAD Error in IMAP command"), "server error");
    }
}

#[cfg(test)]
mod scripted;
