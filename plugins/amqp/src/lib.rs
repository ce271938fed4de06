//! The `amqp` probe: the AMQP 0-9-1 handshake up to `Connection.Open-Ok` on
//! a virtual host (RabbitMQ and other 0-9-1 brokers), then a clean
//! `Connection.Close`. Reports the server's product and version from
//! `Connection.Start`.
//!
//! Frames are written and parsed by `amq-protocol` (7.x: 10.x pulls an async
//! runtime that does not build for wasm32-wasip2). The probe frames the
//! bytes itself (type, channel, size, payload, end octet) before handing a
//! whole frame to the parser, so a peer that is not a broker is "unexpected
//! protocol" without waiting on a parser's idea of "incomplete".
//!
//! With `tls.mode` other than `disable` the connection is TLS from the first
//! byte (AMQPS, usually port 5671); the host does the handshake and
//! verification.

use sonde_sdk::net::Stream as TcpStream;
use std::io::{Read, Write};

use amq_protocol::frame::{AMQPFrame, ProtocolVersion, WriteContext, gen_frame, parse_frame};
use amq_protocol::protocol::{AMQPClass, connection};
use amq_protocol::types::{AMQPValue, FieldTable, LongString};
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Account, DefaultUser, Server};
use sonde_sdk::{
    CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, TlsMode, closed_after, messages, preview,
};

/// An AMQP 0-9-1 broker.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<5672>,
    #[serde(flatten)]
    account: Account<Amqp>,
    /// Virtual host to open.
    #[serde(default = "default_vhost")]
    #[schemars(length(min = 1, max = 255))]
    vhost: String,
    /// TLS from the first byte (AMQP 0-9-1 has no STARTTLS, so `prefer`
    /// means TLS too); off (`disable`) by default.
    #[serde(default)]
    tls: Tls,
}

/// The shared connection fields, worded for AMQP brokers.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("port", "TCP port (5672; brokers usually serve AMQP over TLS on 5671)."),
            ("user", "User, authenticated with SASL PLAIN."),
            (
                "password",
                "Password of `user`. When absent, RabbitMQ's out-of-the-box `guest`\n\
                 is sent (that account only logs in from localhost).",
            ),
        ],
    );
}

fn default_vhost() -> String {
    "/".to_string()
}

/// The largest frame the probe accepts, and offers in Tune-Ok.
const FRAME_MAX: u32 = 128 * 1024;

/// Frame header: type (1), channel (2), payload size (4); then the payload
/// and the end octet.
const HEADER: usize = 7;
const FRAME_END: u8 = 0xCE;

/// RabbitMQ's reply codes in Connection.Close.
const ACCESS_REFUSED: u16 = 403;
const NOT_ALLOWED: u16 = 530;

const VHOST_NOT_FOUND: &str = "vhost not found";
const VHOST_ACCESS_REFUSED: &str = "vhost access refused";

struct Amqp;

impl DefaultUser for Amqp {
    const USER: &'static str = "guest";
}

impl Probe for Amqp {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "amqp";
    const DESCRIPTION: &'static str = "An AMQP 0-9-1 broker (RabbitMQ) opens a connection on a vhost";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        validate(config)?;
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        validate(&config).map_err(CheckError::InvalidConfig)?;
        let password = config.account.password.as_ref().map_or("guest", Secret::expose);
        let mut stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        if config.tls.mode_or(TlsMode::Disable) != TlsMode::Disable {
            stream.start_tls(&config.tls)?;
        }
        let mut conn = Conn { stream, buf: Vec::new() };

        conn.send(&AMQPFrame::ProtocolHeader(ProtocolVersion::amqp_0_9_1()))?;
        let start = match conn.method(Stage::Start)? {
            connection::AMQPMethod::Start(start) => start,
            other => return Err(unexpected(format!("expected Connection.Start, got {other:?}"))),
        };
        if !start.mechanisms.to_string().split_whitespace().any(|m| m == "PLAIN") {
            return Err(Problem::new(messages::AUTHENTICATION_FAILED)
                .with_extra(format!("the broker does not offer PLAIN, only {}", start.mechanisms))
                .into());
        }
        let mut healthy = Healthy::new();
        for (field, key) in
            [("product", "server_product"), ("version", "server_version"), ("cluster_name", "cluster_name")]
        {
            if let Some(value) = start.server_properties.inner().get(field).and_then(text) {
                healthy = healthy.detail(key, value);
            }
        }

        let mut capabilities = FieldTable::default();
        capabilities.insert("authentication_failure_close".into(), AMQPValue::Boolean(true));
        let mut client = FieldTable::default();
        client.insert("product".into(), AMQPValue::LongString("sonde-probe".into()));
        client.insert("version".into(), AMQPValue::LongString(env!("CARGO_PKG_VERSION").into()));
        client.insert("capabilities".into(), AMQPValue::FieldTable(capabilities));
        conn.send_method(connection::AMQPMethod::StartOk(connection::StartOk {
            client_properties: client,
            mechanism: "PLAIN".into(),
            response: LongString::from(format!("\0{}\0{password}", config.account.user)),
            locale: "en_US".into(),
        }))?;

        let tune = match conn.method(Stage::Auth)? {
            connection::AMQPMethod::Tune(tune) => tune,
            other => return Err(unexpected(format!("expected Connection.Tune, got {other:?}"))),
        };
        let frame_max = if tune.frame_max == 0 { FRAME_MAX } else { tune.frame_max.min(FRAME_MAX) };
        conn.send_method(connection::AMQPMethod::TuneOk(connection::TuneOk {
            channel_max: tune.channel_max,
            frame_max,
            heartbeat: 0,
        }))?;
        conn.send_method(connection::AMQPMethod::Open(connection::Open {
            virtual_host: config.vhost.as_str().into(),
        }))?;
        match conn.method(Stage::Open)? {
            connection::AMQPMethod::OpenOk(_) => {}
            other => return Err(unexpected(format!("expected Connection.Open-Ok, got {other:?}"))),
        }

        // Leave politely; the broker's Close-Ok is not worth waiting long for.
        let close = connection::AMQPMethod::Close(connection::Close {
            reply_code: 200,
            reply_text: "health check done".into(),
            class_id: 0,
            method_id: 0,
        });
        if conn.send_method(close).is_ok() {
            let _ = conn.method(Stage::Closing);
        }
        Ok(healthy.detail("vhost", config.vhost))
    }
}

/// What the schema cannot say. Checked in `endpoints` too.
fn validate(config: &Config) -> Result<(), String> {
    if config.vhost.is_empty() || config.vhost.len() > 255 {
        return Err("`vhost` must have 1 to 255 bytes".into());
    }
    Ok(())
}

/// A server property as text.
fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

fn unexpected(extra: String) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
}

/// Where in the handshake a reply is awaited: a hang-up means something
/// different at each point.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    /// After the protocol header: a broker always answers with Start.
    Start,
    /// After Start-Ok: RabbitMQ hangs up on bad credentials unless the
    /// client announced `authentication_failure_close`.
    Auth,
    Open,
    Closing,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn send(&mut self, frame: &AMQPFrame) -> Result<(), CheckError> {
        let out = gen_frame(frame)(WriteContext::from(Vec::new()))
            .map_err(|e| Problem::new(messages::IO_ERROR).with_extra(format!("encoding a frame: {e}")))?
            .write;
        self.stream.write_all(&out)?;
        Ok(())
    }

    fn send_method(&mut self, method: connection::AMQPMethod) -> Result<(), CheckError> {
        self.send(&AMQPFrame::Method(0, AMQPClass::Connection(method)))
    }

    /// The next connection-class method on channel 0, skipping heartbeats.
    /// A Connection.Close from the broker becomes the matching problem.
    fn method(&mut self, stage: Stage) -> Result<connection::AMQPMethod, CheckError> {
        loop {
            match self.frame(stage)? {
                AMQPFrame::Heartbeat(_) => {}
                AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Close(close)))
                    if stage != Stage::Closing =>
                {
                    let _ = self.send_method(connection::AMQPMethod::CloseOk(connection::CloseOk {}));
                    return Err(closed_by_server(&close));
                }
                AMQPFrame::Method(0, AMQPClass::Connection(method)) => return Ok(method),
                other => return Err(unexpected(format!("unexpected frame during the handshake: {other:?}"))),
            }
        }
    }

    /// One whole frame.
    fn frame(&mut self, stage: Stage) -> Result<AMQPFrame, CheckError> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(frame);
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(hang_up(stage, &self.buf));
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// A frame, if the buffer holds a whole one.
    fn take_frame(&mut self) -> Result<Option<AMQPFrame>, CheckError> {
        let Some(&kind) = self.buf.first() else { return Ok(None) };
        if self.buf.starts_with(b"AMQP") || (self.buf.len() < 4 && b"AMQP".starts_with(&self.buf)) {
            // A broker answers a protocol header it does not support with
            // the one it does, then hangs up.
            if self.buf.len() < 8 {
                return Ok(None);
            }
            return Err(unexpected(format!(
                "the server wants another AMQP version: {}",
                preview(self.buf.get(..8).unwrap_or_default())
            )));
        }
        // Method, header, body, heartbeat (8).
        if !matches!(kind, 1 | 2 | 3 | 8) {
            return Err(unexpected(format!("not an AMQP frame: {}", preview(&self.buf))));
        }
        let Some(size) =
            self.buf.get(3..HEADER).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes)
        else {
            return Ok(None);
        };
        if size > FRAME_MAX {
            return Err(unexpected(format!("a frame of {size} bytes: {}", preview(&self.buf))));
        }
        let total = HEADER + size as usize + 1;
        if self.buf.len() < total {
            return Ok(None);
        }
        if self.buf.get(total - 1) != Some(&FRAME_END) {
            return Err(unexpected(format!("a frame without its end octet: {}", preview(&self.buf))));
        }
        let bytes: Vec<u8> = self.buf.drain(..total).collect();
        match parse_frame(bytes.as_slice()) {
            Ok((_, frame)) => Ok(Some(frame)),
            Err(e) => Err(unexpected(format!("malformed frame ({e:?}): {}", preview(&bytes)))),
        }
    }
}

/// The broker closed the connection (Connection.Close).
fn closed_by_server(close: &connection::Close) -> CheckError {
    let text = close.reply_text.as_str();
    let message = match close.reply_code {
        ACCESS_REFUSED => messages::AUTHENTICATION_FAILED,
        NOT_ALLOWED if text.contains("not found") => VHOST_NOT_FOUND,
        NOT_ALLOWED => VHOST_ACCESS_REFUSED,
        _ => "closed by server",
    };
    Problem::new(message).with_extra(format!("{} {text}", close.reply_code)).into()
}

/// The peer hung up while the probe waited at `stage`.
fn hang_up(stage: Stage, pending: &[u8]) -> CheckError {
    let (message, extra) = match stage {
        // PostgreSQL, for one, reads the protocol header as a bad startup
        // packet and hangs up without a word; a broker always answers it.
        Stage::Start => {
            (messages::UNEXPECTED_PROTOCOL, "the server hung up instead of sending Connection.Start")
        }
        Stage::Auth => {
            (messages::AUTHENTICATION_FAILED, "the broker hung up after Start-Ok (credentials refused)")
        }
        Stage::Open | Stage::Closing => {
            (messages::CONNECTION_RESET, "the broker hung up during the handshake")
        }
    };
    Problem::new(message).with_extra(closed_after(extra, pending)).into()
}

sonde_sdk::export_probe!(Amqp);
