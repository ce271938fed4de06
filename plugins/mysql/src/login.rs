//! Logging in: the server's greeting, TLS if [`crate::ssl`] says so, the
//! handshake response, then the auth plugin's exchange up to the OK.

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use sonde_sdk::{CheckError, Secret, TlsMode};

use crate::auth::{auth_data, encrypt_password};
use crate::conn::{Conn, MAX_QUERY_PACKET, Transport};
use crate::packet::{ERR, OK, Phase, auth_failed, server_error, unexpected};
use crate::{Config, ssl};

const AUTH_MORE_DATA: u8 = 0x01;
/// An auth switch request (the byte of an EOF packet, during login).
const AUTH_SWITCH: u8 = 0xFE;

/// caching_sha2_password's AuthMoreData statuses.
const FAST_AUTH_SUCCESS: u8 = 0x03;
const PERFORM_FULL_AUTH: u8 = 0x04;
/// caching_sha2_password's request for the server's public key.
const REQUEST_PUBLIC_KEY: u8 = 0x02;

/// What the client asks for, of what the server offers.
const WANTED: CapabilityFlags = CapabilityFlags::CLIENT_PROTOCOL_41
    .union(CapabilityFlags::CLIENT_SECURE_CONNECTION)
    .union(CapabilityFlags::CLIENT_PLUGIN_AUTH)
    .union(CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
    .union(CapabilityFlags::CLIENT_LONG_PASSWORD)
    .union(CapabilityFlags::CLIENT_LONG_FLAG)
    .union(CapabilityFlags::CLIENT_TRANSACTIONS)
    .union(CapabilityFlags::CLIENT_MULTI_RESULTS)
    .union(CapabilityFlags::CLIENT_CONNECT_WITH_DB);

/// The handshake and authentication; returns the connection (TLS by now,
/// if it was wanted) and the server version.
pub(crate) fn login<S: Transport>(
    mut conn: Conn<S>,
    config: &Config,
) -> Result<(Conn<S>, String), CheckError> {
    let first = conn.next()?;
    if first.first() == Some(&ERR) {
        return Err(server_error(&first, Phase::Login));
    }
    if first.first() != Some(&10) {
        return Err(unexpected(format!(
            "the greeting is not a protocol 10 handshake: {:?}",
            String::from_utf8_lossy(&first[..first.len().min(64)])
        )));
    }
    let handshake: HandshakePacket<'_> =
        ParseBuf(&first).parse(()).map_err(|e| unexpected(format!("the handshake does not parse: {e}")))?;
    let server = handshake.capabilities();
    if !server.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err(unexpected("the server does not speak protocol 4.1".into()));
    }
    let version = server_version(&handshake.server_version_str());
    let tls = ssl::wanted(config.tls.mode_or(TlsMode::Disable), server)?;
    let mut capabilities = WANTED & server;
    if tls {
        capabilities |= CapabilityFlags::CLIENT_SSL;
    }

    let password = config.account.password.as_ref().map(Secret::expose).unwrap_or("");
    let nonce = handshake.nonce();
    let plugin = handshake.auth_plugin().unwrap_or(AuthPlugin::MysqlNativePassword).into_owned();
    let data = auth_data(&plugin, password, &nonce)?;
    let response = HandshakeResponse::new(
        Some(data.as_slice()),
        handshake.server_version_parsed().unwrap_or((5, 5, 3)),
        Some(config.account.user.as_bytes()),
        config.database.as_deref().map(str::as_bytes),
        Some(plugin.clone()),
        capabilities,
        None,
        MAX_QUERY_PACKET as u32,
    );
    if tls {
        conn.send(&ssl::request(&response, MAX_QUERY_PACKET as u32))?;
        conn = conn.start_tls(&config.tls)?;
    }
    let mut out = Vec::new();
    response.serialize(&mut out);
    conn.send(&out)?;
    authenticate(&mut conn, plugin, nonce, password)?;
    Ok((conn, version))
}

/// The auth plugin's exchange after the handshake response, up to the OK.
fn authenticate<S: Transport>(
    conn: &mut Conn<S>,
    mut plugin: AuthPlugin<'static>,
    mut nonce: Vec<u8>,
    password: &str,
) -> Result<(), CheckError> {
    let mut asked_for_key = false;
    loop {
        let packet = conn.next()?;
        match packet.first() {
            Some(&OK) => return Ok(()),
            Some(&ERR) => return Err(server_error(&packet, Phase::Login)),
            Some(&AUTH_SWITCH) => {
                let switch: AuthSwitchRequest<'_> = ParseBuf(&packet).parse(()).map_err(|_| {
                    auth_failed(
                        "the server asks for the pre-4.1 password scheme, which the probe does not support",
                    )
                })?;
                plugin = switch.auth_plugin().into_owned();
                nonce = switch.plugin_data().to_vec();
                let data = auth_data(&plugin, password, &nonce)?;
                conn.send(&data)?;
            }
            Some(&AUTH_MORE_DATA) if plugin == AuthPlugin::CachingSha2Password => {
                let more = packet.get(1..).unwrap_or_default();
                if asked_for_key {
                    let encrypted = encrypt_password(password, &nonce, more)?;
                    conn.send(&encrypted)?;
                    asked_for_key = false;
                    continue;
                }
                match more {
                    [FAST_AUTH_SUCCESS] => {}
                    // Inside TLS the server takes the password itself,
                    // NUL-terminated, as over a unix socket.
                    [PERFORM_FULL_AUTH] if conn.tls => {
                        conn.send(&[password.as_bytes(), b"\0"].concat())?;
                    }
                    // Without TLS: fetch the server's public key to send
                    // the password encrypted with it.
                    [PERFORM_FULL_AUTH] => {
                        conn.send(&[REQUEST_PUBLIC_KEY])?;
                        asked_for_key = true;
                    }
                    _ => return Err(unexpected("a caching_sha2_password status it does not know".into())),
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
}

/// MariaDB announces itself as `5.5.5-10.11.6-MariaDB...` for old clients.
fn server_version(announced: &str) -> String {
    match announced.strip_prefix("5.5.5-") {
        Some(rest) if rest.contains("MariaDB") => rest.to_string(),
        _ => announced.to_string(),
    }
}
