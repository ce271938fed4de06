//! The `mysql` probe: the MySQL/MariaDB handshake, authentication
//! (`mysql_native_password`, and `caching_sha2_password` with its fast path
//! and its full path over plain TCP through the server's RSA public key) and
//! a test query (`COM_QUERY`), over plain TCP.
//!
//! Packets are framed and the handshake parsed and answered with
//! `mysql_common`; the full `caching_sha2_password` path encrypts with `rsa`
//! (RSA-OAEP/SHA-1, as the server expects).
//!
//! Healthy reports `server_version` (MariaDB's `5.5.5-` prefix removed) and
//! `query_rows` in details.

use std::io::{self, Write};
use std::net::TcpStream;

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::sync_framed::MySyncFramed;
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Secret, io_problem};

/// How to reach and log in to a MySQL or MariaDB server.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    host: String,
    /// TCP port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    port: u16,
    /// The account to log in as.
    #[serde(default = "default_user")]
    #[schemars(length(min = 1))]
    user: String,
    /// The account's password; none means an empty password.
    #[serde(default)]
    password: Option<Secret>,
    /// The default database of the session; none selects no database.
    #[serde(default)]
    #[schemars(length(min = 1))]
    database: Option<String>,
    /// The test query, sent as `COM_QUERY`.
    #[serde(default = "default_query")]
    #[schemars(length(min = 1))]
    query: String,
}

fn default_port() -> u16 {
    3306
}

fn default_user() -> String {
    "root".to_string()
}

fn default_query() -> String {
    "SELECT 1".to_string()
}

/// Largest packet accepted before authentication: handshake and auth packets
/// are small, so a bigger one means the peer is not MySQL.
const MAX_AUTH_PACKET: usize = 64 << 10;
/// Largest packet accepted in the test query's result.
const MAX_QUERY_PACKET: usize = 16 << 20;

const OK: u8 = 0x00;
const AUTH_MORE_DATA: u8 = 0x01;
const LOCAL_INFILE: u8 = 0xFB;
const EOF: u8 = 0xFE;
const ERR: u8 = 0xFF;

/// caching_sha2_password's AuthMoreData statuses.
const FAST_AUTH_SUCCESS: u8 = 0x03;
const PERFORM_FULL_AUTH: u8 = 0x04;
/// caching_sha2_password's request for the server's public key.
const REQUEST_PUBLIC_KEY: u8 = 0x02;

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;

struct Mysql;

impl Probe for Mysql {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "mysql";
    const DESCRIPTION: &'static str = "MySQL or MariaDB: handshake, authentication and a test query";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![Endpoint::new(&config.host, config.port)])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        for (field, value) in [("user", Some(config.user.as_str())), ("database", config.database.as_deref())]
        {
            if value.is_some_and(|v| v.contains('\0')) {
                return Err(CheckError::invalid_config(format!("{field} must not contain NUL")));
            }
        }
        let stream = sonde_sdk::net::connect_std(&config.host, config.port)?;
        check_on(stream, &config)
    }
}

sonde_sdk::export_probe!(Mysql);

/// The check on an open connection.
fn check_on(stream: TcpStream, config: &Config) -> Result<Healthy, CheckError> {
    let mut conn = Conn::new(stream);
    let version = conn.login(config)?;
    let rows = conn.query(&config.query)?;
    conn.quit();
    Ok(Healthy::new().detail("server_version", version).detail("query_rows", rows))
}

struct Conn {
    framed: MySyncFramed<TcpStream>,
    /// Whether a valid packet arrived yet.
    seen: bool,
    capabilities: CapabilityFlags,
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        let mut framed = MySyncFramed::new(stream);
        framed.codec_mut().max_allowed_packet = MAX_AUTH_PACKET;
        Self { framed, seen: false, capabilities: CapabilityFlags::empty() }
    }

    fn next(&mut self) -> Result<Vec<u8>, CheckError> {
        let mut packet = Vec::new();
        match self.framed.next_packet(&mut packet) {
            Ok(true) => {
                self.seen = true;
                Ok(packet)
            }
            Ok(false) => {
                let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection");
                Err(io_problem(&e).into())
            }
            // MySyncFramed's "bytes remaining on stream": EOF inside a packet.
            Err(PacketCodecError::Io(e)) if e.kind() == io::ErrorKind::Other => {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the server closed the connection inside a packet ({e})"),
                );
                Err(io_problem(&e).into())
            }
            Err(PacketCodecError::Io(e)) => Err(e.into()),
            Err(e) if self.seen => Err(unexpected(e.to_string())),
            Err(e) => Err(unexpected(format!("{e} (the first bytes are not a MySQL packet)"))),
        }
    }

    fn send(&mut self, packet: &[u8]) -> Result<(), CheckError> {
        match self.framed.send(&mut &*packet) {
            Ok(()) => Ok(()),
            Err(PacketCodecError::Io(e)) => Err(e.into()),
            Err(e) => Err(unexpected(e.to_string())),
        }
    }

    /// The handshake and authentication; returns the server version.
    fn login(&mut self, config: &Config) -> Result<String, CheckError> {
        let first = self.next()?;
        if first.first() == Some(&ERR) {
            return Err(server_error(&first, Phase::Login));
        }
        if first.first() != Some(&10) {
            return Err(unexpected(format!(
                "the greeting is not a protocol 10 handshake: {:?}",
                String::from_utf8_lossy(&first[..first.len().min(64)])
            )));
        }
        let handshake: HandshakePacket<'_> = ParseBuf(&first)
            .parse(())
            .map_err(|e| unexpected(format!("the handshake does not parse: {e}")))?;
        let server = handshake.capabilities();
        if !server.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
            return Err(unexpected("the server does not speak protocol 4.1".into()));
        }
        let version = server_version(&handshake.server_version_str());
        let wanted = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
            | CapabilityFlags::CLIENT_LONG_PASSWORD
            | CapabilityFlags::CLIENT_LONG_FLAG
            | CapabilityFlags::CLIENT_TRANSACTIONS
            | CapabilityFlags::CLIENT_MULTI_RESULTS
            | CapabilityFlags::CLIENT_CONNECT_WITH_DB;
        self.capabilities = wanted & server;

        let password = config.password.as_ref().map(Secret::expose).unwrap_or("");
        let mut nonce = handshake.nonce();
        let mut plugin = handshake.auth_plugin().unwrap_or(AuthPlugin::MysqlNativePassword).into_owned();
        let data = auth_data(&plugin, password, &nonce)?;
        let response = HandshakeResponse::new(
            Some(data.as_slice()),
            handshake.server_version_parsed().unwrap_or((5, 5, 3)),
            Some(config.user.as_bytes()),
            config.database.as_deref().map(str::as_bytes),
            Some(plugin.clone()),
            self.capabilities,
            None,
            MAX_QUERY_PACKET as u32,
        );
        let mut out = Vec::new();
        response.serialize(&mut out);
        self.send(&out)?;

        let mut asked_for_key = false;
        loop {
            let packet = self.next()?;
            match packet.first() {
                Some(&OK) => break,
                Some(&ERR) => return Err(server_error(&packet, Phase::Login)),
                Some(&EOF) => {
                    let switch: AuthSwitchRequest<'_> = ParseBuf(&packet).parse(()).map_err(|_| {
                        auth_failed("the server asks for the pre-4.1 password scheme, which the probe does not support")
                    })?;
                    plugin = switch.auth_plugin().into_owned();
                    nonce = switch.plugin_data().to_vec();
                    let data = auth_data(&plugin, password, &nonce)?;
                    self.send(&data)?;
                }
                Some(&AUTH_MORE_DATA) if plugin == AuthPlugin::CachingSha2Password => {
                    let more = packet.get(1..).unwrap_or_default();
                    if asked_for_key {
                        let encrypted = encrypt_password(password, &nonce, more)?;
                        self.send(&encrypted)?;
                        asked_for_key = false;
                    } else {
                        match more {
                            [FAST_AUTH_SUCCESS] => {}
                            [PERFORM_FULL_AUTH] => {
                                // No TLS here: fetch the server's public key to
                                // send the password encrypted with it.
                                self.send(&[REQUEST_PUBLIC_KEY])?;
                                asked_for_key = true;
                            }
                            _ => {
                                return Err(unexpected(
                                    "a caching_sha2_password status it does not know".into(),
                                ));
                            }
                        }
                    }
                }
                _ => {
                    return Err(unexpected(format!(
                        "an unexpected packet during authentication with {}",
                        String::from_utf8_lossy(plugin.as_bytes())
                    )));
                }
            }
        }
        Ok(version)
    }

    /// Runs the query; returns the number of rows of its first result.
    fn query(&mut self, sql: &str) -> Result<u64, CheckError> {
        self.framed.codec_mut().max_allowed_packet = MAX_QUERY_PACKET;
        self.framed.codec_mut().reset_seq_id();
        let mut out = Vec::with_capacity(sql.len() + 1);
        out.push(COM_QUERY);
        out.extend_from_slice(sql.as_bytes());
        self.send(&out)?;

        let first = self.next()?;
        match first.first() {
            Some(&OK) => return Ok(0),
            Some(&ERR) => return Err(server_error(&first, Phase::Query)),
            Some(&LOCAL_INFILE) => {
                return Err(CheckError::invalid_config("the query must not be LOAD DATA LOCAL INFILE"));
            }
            _ => {}
        }
        let columns = lenenc_int(&first).ok_or_else(|| unexpected("a bad column count".into()))?;
        // Column definitions, then an EOF (no CLIENT_DEPRECATE_EOF asked for).
        for _ in 0..columns {
            let def = self.next()?;
            if def.first() == Some(&ERR) {
                return Err(server_error(&def, Phase::Query));
            }
        }
        let eof = self.next()?;
        if !is_eof(&eof) {
            return Err(unexpected("no EOF after the column definitions".into()));
        }
        let mut rows = 0u64;
        let status = loop {
            let packet = self.next()?;
            if is_eof(&packet) {
                break packet_status(&packet);
            }
            if packet.first() == Some(&ERR) {
                return Err(server_error(&packet, Phase::Query));
            }
            rows += 1;
        };
        // More results (a CALL, for one): drain them.
        let mut more = eof_has_more_results(status);
        while more {
            more = self.drain_result()?;
        }
        Ok(rows)
    }

    /// Reads one further result of a multi-result answer; returns whether
    /// another follows.
    fn drain_result(&mut self) -> Result<bool, CheckError> {
        let first = self.next()?;
        match first.first() {
            Some(&OK) => return Ok(ok_has_more_results(&first)),
            Some(&ERR) => return Err(server_error(&first, Phase::Query)),
            _ => {}
        }
        let mut eofs = 0;
        loop {
            let packet = self.next()?;
            if packet.first() == Some(&ERR) {
                return Err(server_error(&packet, Phase::Query));
            }
            if is_eof(&packet) {
                eofs += 1;
                if eofs == 2 {
                    return Ok(eof_has_more_results(packet_status(&packet)));
                }
            }
        }
    }

    fn quit(&mut self) {
        self.framed.codec_mut().reset_seq_id();
        let _ = self.framed.send(&mut &[COM_QUIT][..]);
        let _ = self.framed.get_mut().flush();
    }
}

/// MariaDB announces itself as `5.5.5-10.11.6-MariaDB...` for old clients.
fn server_version(announced: &str) -> String {
    match announced.strip_prefix("5.5.5-") {
        Some(rest) if rest.contains("MariaDB") => rest.to_string(),
        _ => announced.to_string(),
    }
}

mod auth;
mod packet;

use auth::{auth_data, encrypt_password};
use packet::{
    Phase, auth_failed, eof_has_more_results, is_eof, lenenc_int, ok_has_more_results, packet_status,
    server_error, unexpected,
};

#[cfg(test)]
mod tests;
