//! The `redis` probe: authenticates (optionally), expects `PONG` to `PING`,
//! selects the configured database, then reports the server's version from
//! `INFO server` and the number of keys (`DBSIZE`) as `items`.
//!
//! RESP2 frames are parsed and written by `redis-protocol`. Only `PING` (and
//! `AUTH`/`SELECT` when configured) decide health; `INFO` and `DBSIZE` are
//! best-effort facts, so a user whose ACL forbids them, or a server that
//! renamed them, is still healthy.
//!
//! With `tls.mode` other than `disable` the connection is TLS from the first
//! byte (Redis has no STARTTLS; `prefer` cannot be negotiated, so it means
//! TLS too). The host does the handshake and verification.

use sonde_sdk::net::Stream as TcpStream;
use std::io::{Read, Write};

use redis_protocol::resp2::decode::decode;
use redis_protocol::resp2::encode::encode;
use redis_protocol::resp2::types::{OwnedFrame, Resp2Frame};
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Login, Server};
use sonde_sdk::{
    CheckError, Endpoint, Healthy, Probe, Problem, Tls, TlsMode, closed_after, messages, preview,
};

/// A Redis server (or anything speaking RESP: Valkey, KeyDB, Dragonfly).
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<6379>,
    #[serde(flatten)]
    login: Login,
    /// Logical database to `SELECT`; the server's default (0) when absent.
    #[serde(default)]
    database: Option<u32>,
    /// TLS from the first byte; off (`disable`) by default.
    #[serde(default)]
    tls: Tls,
}

/// The shared connection fields, worded for Redis.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            (
                "user",
                "ACL user (Redis 6+); needs `password`. Without it, `AUTH` is sent with\n\
                 the password alone (the `default` user / `requirepass`).",
            ),
            ("password", "Password; when set, the probe authenticates first."),
        ],
    );
}

/// Replies larger than this are not what a Redis sends to these commands.
const MAX_REPLY: usize = 1 << 20;

struct Redis;

impl Probe for Redis {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "redis";
    const DESCRIPTION: &'static str = "A Redis server authenticates and answers PING";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        validate(config)?;
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        validate(&config).map_err(CheckError::InvalidConfig)?;
        let mut stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        if config.tls.mode_or(TlsMode::Disable) != TlsMode::Disable {
            stream.start_tls(&config.tls)?;
        }
        let mut conn = Conn { stream, buf: Vec::new(), replies: 0 };

        if let Some(password) = &config.login.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &config.login.user {
                args.push(user.as_bytes());
            }
            args.push(password.expose().as_bytes());
            match conn.command(&args)? {
                OwnedFrame::SimpleString(s) if s == b"OK" => {}
                OwnedFrame::Error(e) => return Err(server_error(&e)),
                other => return Err(unexpected(&other)),
            }
        }

        match conn.command(&[b"PING"])? {
            OwnedFrame::SimpleString(s) if s == b"PONG" => {}
            OwnedFrame::Error(e) => return Err(server_error(&e)),
            other => return Err(unexpected(&other)),
        }

        if let Some(db) = config.database {
            match conn.command(&[b"SELECT", db.to_string().as_bytes()])? {
                OwnedFrame::SimpleString(s) if s == b"OK" => {}
                OwnedFrame::Error(e) if e.contains("DB index is out of range") => {
                    return Err(Problem::new(messages::DATABASE_DOES_NOT_EXIST).with_extra(e).into());
                }
                OwnedFrame::Error(e) => return Err(server_error(&e)),
                other => return Err(unexpected(&other)),
            }
        }

        let mut healthy = Healthy::new();
        if let OwnedFrame::BulkString(info) = conn.command(&[b"INFO", b"server"])? {
            let info = String::from_utf8_lossy(&info);
            for (field, key) in [("redis_version", "server_version"), ("redis_mode", "redis_mode")] {
                if let Some(value) = info_field(&info, field) {
                    healthy = healthy.detail(key, value);
                }
            }
        }
        if let OwnedFrame::Integer(n) = conn.command(&[b"DBSIZE"])?
            && let Ok(n) = u64::try_from(n)
        {
            healthy = healthy.items(n);
        }
        Ok(healthy.detail("database", config.database.unwrap_or(0)))
    }
}

/// What the schema cannot say. Checked before anything is resolved.
fn validate(config: &Config) -> Result<(), String> {
    if config.login.user.is_some() && config.login.password.is_none() {
        return Err("`user` needs a `password`".into());
    }
    Ok(())
}

/// One field of an `INFO` reply (`name:value` lines).
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

/// An error reply: authentication problems get the stable message, the rest
/// are reported as the server's own words.
fn server_error(e: &str) -> CheckError {
    let code = e.split_whitespace().next().unwrap_or_default();
    let auth = matches!(code, "WRONGPASS" | "NOAUTH")
        || e.contains("invalid password")
        || e.contains("invalid username-password")
        || e.contains("without any password configured");
    let message = if auth { messages::AUTHENTICATION_FAILED } else { "server error" };
    Problem::new(message).with_extra(e.to_string()).into()
}

fn unexpected(frame: &OwnedFrame) -> CheckError {
    let mut shown = format!("{frame:?}");
    shown.truncate(200);
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(format!("unexpected reply: {shown}")).into()
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    replies: usize,
}

impl Conn {
    /// Sends one command (an array of bulk strings) and reads its reply.
    fn command(&mut self, args: &[&[u8]]) -> Result<OwnedFrame, CheckError> {
        let frame = OwnedFrame::Array(args.iter().map(|a| OwnedFrame::BulkString(a.to_vec())).collect());
        let mut out = vec![0; frame.encode_len(false)];
        let n = encode(&mut out, &frame, false)
            .map_err(|e| Problem::new(messages::IO_ERROR).with_extra(format!("encoding a command: {e}")))?;
        out.truncate(n);
        self.stream.write_all(&out)?;
        self.reply()
    }

    /// Reads one RESP2 frame.
    fn reply(&mut self) -> Result<OwnedFrame, CheckError> {
        let mut chunk = [0u8; 4096];
        loop {
            match decode(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used.min(self.buf.len()));
                    self.replies += 1;
                    return Ok(frame);
                }
                Ok(None) if self.buf.len() < MAX_REPLY => {}
                Ok(None) => {
                    return Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
                        .with_extra(format!("no complete RESP reply in {} bytes", self.buf.len()))
                        .into());
                }
                Err(e) => {
                    return Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
                        .with_extra(format!("not a RESP reply ({e}): {}", preview(&self.buf)))
                        .into());
                }
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                // A Redis answers every command, even with an error; a peer that
                // hangs up on the first one does not speak RESP (PostgreSQL
                // does exactly this).
                let message = if self.replies == 0 {
                    messages::UNEXPECTED_PROTOCOL
                } else {
                    messages::CONNECTION_RESET
                };
                let extra = closed_after("the server closed the connection without a reply", &self.buf);
                return Err(Problem::new(message).with_extra(extra).into());
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

sonde_sdk::export_probe!(Redis);
