//! The `nats` probe: reads the server's `INFO`, sends `CONNECT` (with a user
//! and password, or a token) and `PING`, and expects `PONG`. Reports the
//! server's version, id and name from `INFO`.
//!
//! The NATS client protocol is a handful of text lines; no crate speaks it
//! without an async runtime, so it is written here. NKeys and JWTs are not
//! supported.
//!
//! TLS is NATS's own upgrade: the server greets in plaintext and the client
//! starts TLS right after `INFO` when the server sets `tls_required`, or
//! when `tls.mode` asks for it (`prefer`: if the server has TLS at all;
//! `require` or stricter: always, else "server does not support TLS").
//! With `tls` left out the probe follows the server; an explicit `disable`
//! never upgrades, and a server that requires TLS is "tls required".

use sonde_sdk::net::Stream as TcpStream;
use std::io::{Read, Write};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sonde_sdk::conn::{Login, Server};
use sonde_sdk::{
    CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, TlsMode, closed_after, messages, preview,
};

/// A NATS server.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<4222>,
    #[serde(flatten)]
    login: Login,
    /// Authentication token (`--auth`); not together with `user`.
    #[serde(default)]
    token: Option<Secret>,
    /// TLS after `INFO`; when absent, as the server requires.
    #[serde(default)]
    tls: Tls,
}

/// The shared connection fields, worded for NATS.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("port", "TCP port of the client protocol."),
            ("user", "User name; needs `password`."),
            ("password", "Password of `user`."),
        ],
    );
}

/// Longer lines are not what a NATS server sends during a handshake.
const MAX_LINE: usize = 64 * 1024;

struct Nats;

impl Probe for Nats {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "nats";
    const DESCRIPTION: &'static str = "A NATS server accepts CONNECT and answers PING";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        credentials(config)?;
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let mut connect = json!({
            "verbose": false,
            "pedantic": false,
            "tls_required": false,
            "name": "sonde-probe",
            "lang": "rust",
            "version": env!("CARGO_PKG_VERSION"),
            "protocol": 1,
        });
        for (key, value) in credentials(&config).map_err(CheckError::InvalidConfig)? {
            connect[key] = value.into();
        }

        let mut conn = Lines {
            stream: sonde_sdk::net::connect(&config.server.host, config.server.port)?,
            buf: Vec::new(),
        };
        let info = conn.info()?;
        if upgrade(&config.tls, &info)? {
            // Bytes after INFO and before the handshake would be read as the
            // server's once TLS is up: nothing may be buffered.
            if !conn.buf.is_empty() {
                return Err(unexpected(&format!("bytes after INFO: {}", preview(&conn.buf))));
            }
            conn.stream.start_tls(&config.tls)?;
            connect["tls_required"] = true.into();
        }

        conn.stream.write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())?;
        loop {
            let line = conn.line()?;
            let (op, rest) = split_op(&line);
            match op.to_ascii_uppercase().as_str() {
                "PONG" => break,
                "+OK" | "INFO" => {}
                "PING" => conn.stream.write_all(b"PONG\r\n")?,
                "-ERR" => return Err(server_error(rest)),
                _ => return Err(unexpected(&format!("unexpected line after CONNECT: {line:?}"))),
            }
        }
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);

        let mut healthy = Healthy::new();
        for (field, key) in
            [("version", "server_version"), ("server_id", "server_id"), ("server_name", "server_name")]
        {
            if let Some(value) = info.get(field).and_then(Value::as_str) {
                healthy = healthy.detail(key, value);
            }
        }
        if let Some(js) = info.get("jetstream").and_then(Value::as_bool) {
            healthy = healthy.detail("jetstream", js);
        }
        Ok(healthy)
    }
}

/// Whether to start TLS after `info`, under `tls.mode`.
fn upgrade(tls: &Tls, info: &Map<String, Value>) -> Result<bool, CheckError> {
    let flag = |key| info.get(key).and_then(Value::as_bool) == Some(true);
    let (required, available) = (flag("tls_required"), flag("tls_required") || flag("tls_available"));
    match tls.mode {
        None => Ok(required),
        Some(TlsMode::Disable) if required => Err(Problem::new("tls required")
            .with_extra("the server requires TLS and `tls.mode` is disable")
            .into()),
        Some(TlsMode::Disable) => Ok(false),
        Some(TlsMode::Prefer) => Ok(available),
        Some(_) if available => Ok(true),
        Some(_) => Err(Problem::new(messages::NO_TLS)
            .with_extra("the server's INFO offers no TLS (tls_required and tls_available unset)")
            .into()),
    }
}

/// The CONNECT fields that authenticate, or why the config cannot work.
/// Checked in `endpoints` too, before anything is resolved.
fn credentials(config: &Config) -> Result<Vec<(&'static str, &str)>, String> {
    match (&config.login.user, &config.login.password, &config.token) {
        (Some(_), _, Some(_)) => Err("`user` and `token` exclude each other".into()),
        (Some(user), Some(password), None) => Ok(vec![("user", user.as_str()), ("pass", password.expose())]),
        (Some(_), None, None) => Err("`user` needs a `password`".into()),
        (None, Some(_), _) => Err("`password` needs a `user`".into()),
        (None, None, Some(token)) => Ok(vec![("auth_token", token.expose())]),
        (None, None, None) => Ok(Vec::new()),
    }
}

/// The operation of a protocol line and the rest of it.
fn split_op(line: &str) -> (&str, &str) {
    let line = line.trim_start();
    match line.find([' ', '\t']) {
        Some(at) => (line.get(..at).unwrap_or(line), line.get(at..).unwrap_or_default().trim()),
        None => (line, ""),
    }
}

/// `-ERR '<message>'`: authorization problems get the stable message.
fn server_error(rest: &str) -> CheckError {
    let text = rest.trim().trim_matches('\'');
    let lower = text.to_ascii_lowercase();
    let message = if lower.contains("authorization violation") || lower.contains("authentication") {
        messages::AUTHENTICATION_FAILED
    } else {
        "server error"
    };
    Problem::new(message).with_extra(text.to_string()).into()
}

fn unexpected(extra: &str) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra.to_string()).into()
}

struct Lines {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Lines {
    /// The server's greeting, `INFO {json}`, which it sends unasked. A peer
    /// whose first bytes cannot start `INFO ` is not NATS, and is told apart
    /// as soon as those bytes arrive, without waiting for a line end that
    /// may never come.
    fn info(&mut self) -> Result<Map<String, Value>, CheckError> {
        const GREETING: &[u8] = b"INFO ";
        let mut chunk = [0u8; 4096];
        loop {
            let n = self.buf.len().min(GREETING.len());
            let head = self.buf.get(..n).unwrap_or_default();
            if !head.eq_ignore_ascii_case(GREETING.get(..n).unwrap_or_default()) {
                return Err(unexpected(&format!("not a NATS greeting: {}", preview(&self.buf))));
            }
            if n == GREETING.len() {
                break;
            }
            self.fill(&mut chunk, "before its greeting")?;
        }
        let line = self.line()?;
        let json = line.get(GREETING.len()..).unwrap_or_default().trim();
        serde_json::from_str(json)
            .map_err(|e| unexpected(&format!("INFO is not a JSON object ({e}): {line:?}")))
    }

    /// One line, without its `\r\n`.
    fn line(&mut self) -> Result<String, CheckError> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > MAX_LINE {
                return Err(unexpected(&format!("no line end in {} bytes", self.buf.len())));
            }
            self.fill(&mut chunk, "mid-handshake")?;
        }
    }

    fn fill(&mut self, chunk: &mut [u8], when: &str) -> Result<(), CheckError> {
        let n = self.stream.read(chunk)?;
        if n == 0 {
            let extra = closed_after(&format!("the server closed the connection {when}"), &self.buf);
            return Err(Problem::new(messages::CONNECTION_RESET).with_extra(extra).into());
        }
        self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(())
    }
}

sonde_sdk::export_probe!(Nats);
