//! TLS negotiation before the startup message, as libpq's `sslmode`.
//!
//! | mode | SSLRequest | server says `N` |
//! | --- | --- | --- |
//! | `disable` | not sent | — |
//! | `prefer` (default) | sent | plaintext |
//! | `require`, `verify-ca`, `verify-full` | sent | ERROR "server does not support TLS" |
//!
//! On `S` the host performs the handshake and verifies the server under the
//! same policy ([`sonde_sdk::net::Stream::start_tls`]).

use std::io::{Read, Write};

use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, Tls, TlsMode, messages};

/// The `SSLRequest` message: length 8, code 1234.5679.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Asks for TLS when the mode wants it and upgrades `stream` if the server
/// agrees.
pub fn negotiate(stream: &mut Stream, tls: &Tls) -> Result<(), CheckError> {
    let mode = tls.mode_or(TlsMode::Prefer);
    if mode == TlsMode::Disable {
        return Ok(());
    }
    stream.write_all(&SSL_REQUEST)?;
    // Exactly one byte, nothing buffered past it: bytes a man in the middle
    // sends after the `S` must go to the TLS layer (which rejects them), not
    // be read later as the server's plaintext answer (CVE-2021-23222).
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer)?;
    match answer[0] {
        b'S' => stream.start_tls(tls),
        b'N' if mode == TlsMode::Prefer => Ok(()),
        b'N' => Err(Problem::new(messages::NO_TLS)
            .with_extra("the server answered the SSLRequest with N (ssl is off)")
            .into()),
        // An ErrorResponse: a server from before protocol 3.0 or one that
        // refuses the request outright.
        other => Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
            .with_extra(format!("the server answered the SSLRequest with {:?}", other as char))
            .into()),
    }
}
