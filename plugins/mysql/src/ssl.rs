//! TLS in the handshake, as MySQL clients' `--ssl-mode`: the server's
//! greeting says whether it can (`CLIENT_SSL`); the client answers with an
//! SSL request instead of its handshake response, starts TLS, and sends the
//! handshake response inside it.
//!
//! | mode | server offers `CLIENT_SSL` | server does not |
//! | --- | --- | --- |
//! | `disable` (default) | plaintext | plaintext |
//! | `prefer` | TLS | plaintext |
//! | `require`, `verify-ca`, `verify-full` | TLS | ERROR "server does not support TLS" |
//!
//! The host performs the handshake and verifies the server under the same
//! policy ([`sonde_sdk::net::Stream::start_tls`]).

use mysql_common::constants::CapabilityFlags;
use mysql_common::packets::{HandshakeResponse, SslRequest};
use mysql_common::proto::MySerialize;
use sonde_sdk::{CheckError, Problem, TlsMode, messages};

/// Whether to start TLS, given the mode and the server's capabilities.
pub(crate) fn wanted(mode: TlsMode, server: CapabilityFlags) -> Result<bool, CheckError> {
    let offered = server.contains(CapabilityFlags::CLIENT_SSL);
    match mode {
        TlsMode::Disable => Ok(false),
        TlsMode::Prefer => Ok(offered),
        _ if offered => Ok(true),
        _ => Err(Problem::new(messages::NO_TLS)
            .with_extra("the server's greeting does not offer CLIENT_SSL (TLS is off on the server)")
            .into()),
    }
}

/// The SSL request that stands for `response` until TLS is up: its
/// capabilities (with `CLIENT_SSL`), maximum packet size and character set,
/// then 23 zero bytes. The handshake response repeats them inside TLS.
pub(crate) fn request(response: &HandshakeResponse<'_>, max_packet: u32) -> Vec<u8> {
    debug_assert!(response.capabilities().contains(CapabilityFlags::CLIENT_SSL));
    let mut out = Vec::with_capacity(32);
    SslRequest::new(response.capabilities(), max_packet, response.collation()).serialize(&mut out);
    out
}
