//! The `mqtt` probe: sends CONNECT (MQTT 3.1.1 or 5, optionally with a user
//! name and password), expects a CONNACK that accepts it, then DISCONNECTs.
//!
//! Packets are written and parsed by `mqttbytes`. Before handing the reply to
//! it, the probe checks that it starts like a CONNACK, so anything else (a
//! server of another kind that greets first, a broker speaking garbage) is
//! "unexpected protocol" rather than a parser's guess.
//!
//! With `tls.mode` other than `disable` the connection is TLS from the first
//! byte; the host does the handshake and verification.

use sonde_sdk::net::Stream as TcpStream;
use std::io::{Read, Write};

use bytes::BytesMut;
use mqttbytes::{v4, v5};
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Login, Server};
use sonde_sdk::{
    CheckError, Endpoint, Healthy, Probe, Problem, Tls, TlsMode, closed_after, messages, preview,
};

/// An MQTT broker.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<1883>,
    #[serde(flatten)]
    login: Login,
    /// Client identifier sent in CONNECT (a clean session, so nothing is kept).
    #[serde(default = "default_client_id")]
    #[schemars(length(min = 1, max = 65535))]
    client_id: String,
    /// Protocol level: 4 for MQTT 3.1.1, 5 for MQTT 5.
    #[serde(default = "default_protocol_version")]
    #[schemars(range(min = 4, max = 5))]
    protocol_version: u8,
    /// TLS from the first byte (MQTT has no STARTTLS, so `prefer` means
    /// TLS too); off (`disable`) by default.
    #[serde(default)]
    tls: Tls,
}

/// The shared connection fields, worded for MQTT brokers.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("port", "TCP port (1883; brokers usually serve MQTT over TLS on 8883)."),
            ("user", "User name sent in CONNECT."),
            ("password", "Password sent in CONNECT; needs `user`."),
        ],
    );
}

fn default_client_id() -> String {
    "sonde-probe".to_string()
}

fn default_protocol_version() -> u8 {
    4
}

/// Seconds of keep-alive announced in CONNECT; the probe disconnects long before.
const KEEP_ALIVE: u16 = 30;

/// A CONNACK is a few bytes; v5 properties add a few hundred at most.
const MAX_PACKET: usize = 64 * 1024;

/// The first byte of a CONNACK: packet type 2, no flags.
const CONNACK: u8 = 0x20;

struct Mqtt;

impl Probe for Mqtt {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "mqtt";
    const DESCRIPTION: &'static str = "An MQTT broker accepts CONNECT (MQTT 3.1.1 or 5)";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        validate(config)?;
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        validate(&config).map_err(CheckError::InvalidConfig)?;
        let login = config
            .login
            .user
            .as_deref()
            .map(|u| (u, config.login.password.as_ref().map_or("", |p| p.expose())));
        let v5 = config.protocol_version == 5;

        let mut stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        if config.tls.mode_or(TlsMode::Disable) != TlsMode::Disable {
            stream.start_tls(&config.tls)?;
        }
        let mut out = BytesMut::new();
        let written = if v5 {
            let mut connect = v5::Connect::new(config.client_id.as_str());
            connect.keep_alive = KEEP_ALIVE;
            if let Some((user, password)) = login {
                connect.set_login(user, password);
            }
            connect.write(&mut out)
        } else {
            let mut connect = v4::Connect::new(config.client_id.as_str());
            connect.keep_alive = KEEP_ALIVE;
            if let Some((user, password)) = login {
                connect.set_login(user, password);
            }
            connect.write(&mut out)
        };
        written.map_err(|e| CheckError::invalid_config(format!("cannot encode CONNECT: {e:?}")))?;
        stream.write_all(&out)?;

        let mut packet = read_connack(&mut stream)?;
        let healthy = Healthy::new().detail("protocol_version", config.protocol_version);
        let healthy = if v5 {
            let ack = match v5::read(&mut packet, MAX_PACKET) {
                Ok(v5::Packet::ConnAck(ack)) => ack,
                Ok(other) => return Err(unexpected(format!("not a CONNACK: {other:?}"))),
                Err(e) => return Err(unexpected(format!("malformed CONNACK: {e:?}"))),
            };
            if ack.code != v5::ConnectReturnCode::Success {
                let auth = matches!(
                    ack.code,
                    v5::ConnectReturnCode::BadUserNamePassword
                        | v5::ConnectReturnCode::NotAuthorized
                        | v5::ConnectReturnCode::BadAuthenticationMethod
                );
                let reason = ack.properties.and_then(|p| p.reason_string);
                return Err(refused(auth, format!("{:?}", ack.code), reason));
            }
            let mut out = BytesMut::new();
            if v5::Disconnect::new().write(&mut out).is_ok() {
                let _ = stream.write_all(&out);
            }
            match ack.properties {
                Some(p) => healthy
                    .detail("max_qos", p.max_qos.unwrap_or(2))
                    .detail("retain_available", p.retain_available.unwrap_or(1) == 1),
                None => healthy,
            }
        } else {
            let ack = match v4::read(&mut packet, MAX_PACKET) {
                Ok(v4::Packet::ConnAck(ack)) => ack,
                Ok(other) => return Err(unexpected(format!("not a CONNACK: {other:?}"))),
                Err(e) => return Err(unexpected(format!("malformed CONNACK: {e:?}"))),
            };
            if ack.code != v4::ConnectReturnCode::Success {
                let auth = matches!(
                    ack.code,
                    v4::ConnectReturnCode::BadUserNamePassword | v4::ConnectReturnCode::NotAuthorized
                );
                return Err(refused(auth, format!("{:?}", ack.code), None));
            }
            let mut out = BytesMut::new();
            if v4::Disconnect.write(&mut out).is_ok() {
                let _ = stream.write_all(&out);
            }
            healthy
        };
        let _ = stream.flush();
        Ok(healthy)
    }
}

/// What the schema cannot say. Checked in `endpoints` too, before anything
/// is resolved.
fn validate(config: &Config) -> Result<(), String> {
    if config.login.password.is_some() && config.login.user.is_none() {
        return Err("`password` needs a `user`".into());
    }
    if config.client_id.is_empty() || config.client_id.len() > usize::from(u16::MAX) {
        return Err("`client_id` must have 1 to 65535 bytes".into());
    }
    if !matches!(config.protocol_version, 4 | 5) {
        return Err(format!("`protocol_version` {} is not 4 or 5", config.protocol_version));
    }
    Ok(())
}

/// Reads bytes until one whole packet that starts like a CONNACK is there.
fn read_connack(stream: &mut TcpStream) -> Result<BytesMut, CheckError> {
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(&first) = buf.first() {
            if first != CONNACK {
                return Err(unexpected(format!("not a CONNACK: {}", preview(&buf))));
            }
            match mqttbytes::check(buf.iter(), MAX_PACKET) {
                Ok(_) => return Ok(buf),
                Err(mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(e) => return Err(unexpected(format!("malformed CONNACK ({e:?}): {}", preview(&buf)))),
            }
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            let extra = closed_after("the broker closed the connection before CONNACK", &buf);
            return Err(Problem::new(messages::CONNECTION_RESET).with_extra(extra).into());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// A CONNACK that refuses the connection.
fn refused(auth: bool, code: String, reason: Option<String>) -> CheckError {
    let message = if auth { messages::AUTHENTICATION_FAILED } else { "connection refused by broker" };
    let extra = match reason {
        Some(reason) => format!("CONNACK {code}: {reason}"),
        None => format!("CONNACK {code}"),
    };
    Problem::new(message).with_extra(extra).into()
}

fn unexpected(extra: String) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
}

sonde_sdk::export_probe!(Mqtt);
