//! The `smtp` probe: reads the greeting (220), says EHLO (HELO when the
//! server does not know EHLO), upgrades with STARTTLS when `tls.mode` says
//! so and says EHLO again, authenticates with AUTH PLAIN or LOGIN when the
//! config has credentials, then QUITs. It never sends mail: no MAIL FROM.
//! `details` are the EHLO facts: the server's name, its extensions, the
//! AUTH mechanisms, the SIZE limit.
//!
//! SMTP replies are a few text lines; the crates that speak SMTP need an
//! async runtime or do TLS themselves, so they are parsed here ([`reply`]).
//!
//! TLS, done and verified by the host:
//!
//! | `implicit_tls` (default: `port` is 465) | `tls.mode` | the probe |
//! | --- | --- | --- |
//! | true | absent, `prefer` … `verify-full` | TLS from the first byte (RFC 8314) |
//! | true | `disable` | FAILED: the config cannot work |
//! | false | absent | STARTTLS only when the config has credentials and the server offers AUTH only after STARTTLS |
//! | false | `disable` | never STARTTLS |
//! | false | `prefer` | STARTTLS when the server offers it |
//! | false | `require` or stricter | STARTTLS, else "server does not support TLS" |
//!
//! The client waits for the greeting before it says anything, as RFC 5321
//! §3.1 has it (servers drop clients that talk first): a server that waits
//! for the client (Redis) looks silent, a TIMEOUT, while one that greets
//! otherwise (IMAP, NATS) is "unexpected protocol".

mod conn;
mod reply;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Login, Server};
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, TlsMode, messages, stage};

use conn::Conn;
use reply::{Ehlo, Reply};

/// An SMTP server: a relay (25), a submission server (587, 465).
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<25>,
    #[serde(flatten)]
    login: Login,
    /// The name the probe gives in EHLO/HELO. A fully qualified name under
    /// `.invalid` (RFC 2606) by default: it passes servers' "FQDN required"
    /// checks and can never be a real host's; set your own where the server
    /// checks that the name resolves to the client.
    #[serde(default = "default_helo")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9.\-\[\]:]+$"))]
    helo_name: String,
    /// TLS from the first byte (SMTPS, RFC 8314) instead of STARTTLS.
    /// When absent: true on port 465, false otherwise.
    #[serde(default)]
    implicit_tls: Option<bool>,
    /// STARTTLS on a plaintext port, or the policy of implicit TLS.
    #[serde(default)]
    tls: Tls,
}

fn default_helo() -> String {
    "sonde-probe.invalid".to_string()
}

/// The shared connection fields, worded for SMTP.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("port", "TCP port: 25 (relay), 587 (submission, STARTTLS) or 465 (implicit TLS)."),
            ("user", "User for SMTP AUTH (PLAIN or LOGIN); needs `password`. Without it, no AUTH."),
            ("password", "Password of `user`."),
        ],
    );
}

/// The port of submission over implicit TLS (RFC 8314 §7).
const SMTPS_PORT: u16 = 465;

struct Smtp;

impl Probe for Smtp {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "smtp";
    const DESCRIPTION: &'static str = "An SMTP server greets, answers EHLO and authenticates";

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

        let greeting = conn.reply()?;
        if greeting.code != 220 {
            return Err(not_available("greeting", &greeting));
        }
        let (mut ehlo, esmtp) = hello(&mut conn, &config.helo_name)?;
        let credentials = config.login.user.as_deref().zip(config.login.password.as_ref());

        if !implicit && upgrade(config.tls.mode, &ehlo, credentials.is_some())? {
            let reply = conn.command("STARTTLS")?;
            if reply.code == 220 {
                if conn.buffered() > 0 {
                    return Err(conn::unexpected("bytes after the STARTTLS reply, before TLS".into()));
                }
                conn.stream.start_tls(&config.tls)?;
                // What the server said before TLS is forgotten (RFC 3207 §4.2).
                ehlo = hello(&mut conn, &config.helo_name)?.0;
            } else if config.tls.mode != Some(TlsMode::Prefer) {
                return Err(Problem::staged(
                    messages::NO_TLS,
                    stage::TLS,
                    format!("STARTTLS: {}", reply.shown()),
                )
                .into());
            }
        }

        if let Some((user, password)) = credentials {
            authenticate(&mut conn, &ehlo, user, password)?;
        }
        // Best effort: the check is decided.
        let _ = conn.command("QUIT");
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);

        let mut healthy = Healthy::new()
            .detail("greeting", greeting.lines.first().map(String::as_str).unwrap_or_default())
            .detail("server_name", ehlo.domain.as_str())
            .detail("esmtp", esmtp)
            .detail("extensions", ehlo.extensions.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
            .detail("auth_mechanisms", ehlo.auth())
            .detail("authenticated", credentials.is_some());
        if let Some(size) = ehlo.size() {
            healthy = healthy.detail("size_limit", size);
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
    sonde_sdk::conn::implicit_tls(config.implicit_tls, config.server.port, SMTPS_PORT, &config.tls)
}

/// EHLO, or HELO when the server does not know EHLO (a 5xx). Returns the
/// extensions (none after HELO) and whether EHLO worked.
fn hello(conn: &mut Conn, name: &str) -> Result<(Ehlo, bool), CheckError> {
    let reply = conn.command(&format!("EHLO {name}"))?;
    if reply.code == 250 {
        return Ok((Ehlo::parse(&reply), true));
    }
    if reply.code == 421 {
        return Err(not_available("EHLO", &reply));
    }
    let helo = conn.command(&format!("HELO {name}"))?;
    if helo.code != 250 {
        return Err(Problem::staged(
            "server error",
            stage::PROTOCOL,
            format!("EHLO: {}; HELO: {}", reply.shown(), helo.shown()),
        )
        .into());
    }
    Ok((Ehlo { domain: helo.lines.first().cloned().unwrap_or_default(), extensions: Vec::new() }, false))
}

/// Whether to send STARTTLS, under `tls.mode`, given the EHLO reply.
fn upgrade(mode: Option<TlsMode>, ehlo: &Ehlo, credentials: bool) -> Result<bool, CheckError> {
    let offered = ehlo.has("STARTTLS");
    match mode {
        None => Ok(offered && credentials && ehlo.auth().is_empty()),
        Some(TlsMode::Disable) => Ok(false),
        Some(TlsMode::Prefer) => Ok(offered),
        Some(_) if offered => Ok(true),
        Some(_) => {
            Err(Problem::staged(messages::NO_TLS, stage::TLS, "the server's EHLO offers no STARTTLS").into())
        }
    }
}

/// AUTH PLAIN (with the initial response, RFC 4954 §4), else AUTH LOGIN.
/// Nothing sent here ever shows in an error: only the server's replies.
fn authenticate(conn: &mut Conn, ehlo: &Ehlo, user: &str, password: &Secret) -> Result<(), CheckError> {
    let offered = ehlo.auth();
    let auth_failed = |detail: String| -> CheckError {
        Problem::staged(messages::AUTHENTICATION_FAILED, stage::AUTH, detail).into()
    };
    let done = if offered.iter().any(|m| m == "PLAIN") {
        let mut raw = vec![0u8];
        raw.extend_from_slice(user.as_bytes());
        raw.push(0);
        raw.extend_from_slice(password.expose().as_bytes());
        conn.command_hidden(&format!("AUTH PLAIN {}", B64.encode(raw)), "AUTH PLAIN")?
    } else if offered.iter().any(|m| m == "LOGIN") {
        let mut reply = conn.command("AUTH LOGIN")?;
        for value in [user, password.expose()] {
            if reply.code != 334 {
                break;
            }
            reply = conn.command_hidden(&B64.encode(value), "AUTH LOGIN")?;
        }
        reply
    } else if offered.is_empty() {
        let why = if ehlo.has("STARTTLS") {
            "the server offers no AUTH before STARTTLS; set `tls.mode` so that the probe upgrades first"
        } else {
            "the server offers no AUTH"
        };
        return Err(auth_failed(why.into()));
    } else {
        return Err(auth_failed(format!(
            "no mechanism the probe speaks (PLAIN, LOGIN) among {}",
            offered.join(" ")
        )));
    };
    match done.code {
        235 => Ok(()),
        // 535 credentials invalid, 534 mechanism too weak, 538 encryption
        // required, 530 authentication required; 454 is the server's trouble.
        530 | 534 | 535 | 538 | 334 => Err(auth_failed(format!("AUTH: {}", done.shown()))),
        _ => Err(Problem::staged("server error", stage::AUTH, format!("AUTH: {}", done.shown())).into()),
    }
}

/// A greeting other than 220: 554 "no SMTP service here", 421 "service
/// not available", with the server's words.
fn not_available(when: &str, reply: &Reply) -> CheckError {
    Problem::staged("service not available", stage::PROTOCOL, format!("{when}: {}", reply.shown())).into()
}

sonde_sdk::export_probe!(Smtp);

#[cfg(test)]
mod tests {
    use super::*;

    fn ehlo(extensions: &[&str]) -> Ehlo {
        Ehlo {
            domain: "mx".into(),
            extensions: extensions
                .iter()
                .map(|e| {
                    let (k, p) = e.split_once(' ').unwrap_or((e, ""));
                    (k.to_string(), p.to_string())
                })
                .collect(),
        }
    }

    fn message(e: CheckError) -> String {
        match e {
            CheckError::Unhealthy(p) => p.message,
            CheckError::InvalidConfig(s) => format!("invalid: {s}"),
        }
    }

    #[test]
    fn starttls_by_mode() {
        let hidden = ehlo(&["STARTTLS", "SIZE 100"]);
        let open = ehlo(&["STARTTLS", "AUTH PLAIN"]);
        let none = ehlo(&["AUTH PLAIN"]);
        assert!(upgrade(None, &hidden, true).expect("ok"));
        assert!(!upgrade(None, &hidden, false).expect("ok"));
        assert!(!upgrade(None, &open, true).expect("ok"));
        assert!(!upgrade(Some(TlsMode::Disable), &hidden, true).expect("ok"));
        assert!(upgrade(Some(TlsMode::Prefer), &open, false).expect("ok"));
        assert!(!upgrade(Some(TlsMode::Prefer), &none, false).expect("ok"));
        assert!(upgrade(Some(TlsMode::Require), &open, false).expect("ok"));
        for mode in [TlsMode::Require, TlsMode::VerifyCa, TlsMode::VerifyFull] {
            assert_eq!(message(upgrade(Some(mode), &none, true).expect_err("no tls")), messages::NO_TLS);
        }
    }
}

#[cfg(test)]
mod scripted;
