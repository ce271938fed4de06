//! Reading MySQL protocol packets the probe receives: ERR packets mapped to
//! stable messages, EOF and OK status flags, length-encoded integers.

use sonde_sdk::{CheckError, Problem, messages};

/// The first bytes of the generic response packets.
pub(crate) const OK: u8 = 0x00;
pub(crate) const EOF: u8 = 0xFE;
pub(crate) const ERR: u8 = 0xFF;

#[derive(Clone, Copy)]
pub(crate) enum Phase {
    Login,
    Query,
}

/// An ERR packet: `0xFF`, code (u16 LE), optional `#` + SQLSTATE, message.
pub(crate) fn server_error(packet: &[u8], phase: Phase) -> CheckError {
    let code = match packet.get(1..3) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    };
    let rest = packet.get(3..).unwrap_or_default();
    let (state, text) = match rest {
        [b'#', state @ ..] if state.len() >= 5 => (Some(&state[..5]), &state[5..]),
        _ => (None, rest),
    };
    let extra = match state {
        Some(s) => {
            format!("ERROR {code} ({}): {}", String::from_utf8_lossy(s), String::from_utf8_lossy(text))
        }
        None => format!("ERROR {code}: {}", String::from_utf8_lossy(text)),
    };
    let message = match (code, phase) {
        (1045, _) => messages::AUTHENTICATION_FAILED,
        (1049, _) => messages::DATABASE_DOES_NOT_EXIST,
        (_, Phase::Login) => "server error",
        (_, Phase::Query) => "query failed",
    };
    Problem::new(message).with_extra(extra).into()
}

pub(crate) fn unexpected(extra: String) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
}

pub(crate) fn auth_failed(extra: impl Into<String>) -> CheckError {
    Problem::new(messages::AUTHENTICATION_FAILED).with_extra(extra.into()).into()
}

/// A length-encoded integer at the start of `buf`.
pub(crate) fn lenenc_int(buf: &[u8]) -> Option<u64> {
    let le = |n: usize| -> Option<u64> {
        let bytes = buf.get(1..=n)?;
        Some(bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    };
    match *buf.first()? {
        b @ 0..=0xFA => Some(u64::from(b)),
        0xFC => le(2),
        0xFD => le(3),
        0xFE => le(8),
        _ => None,
    }
}

/// An EOF packet (not a row that starts with a length of 2^64 - 1).
pub(crate) fn is_eof(packet: &[u8]) -> bool {
    packet.first() == Some(&EOF) && packet.len() < 9
}

/// The status flags of an EOF packet: `0xFE`, warnings (u16), status (u16).
pub(crate) fn packet_status(eof: &[u8]) -> u16 {
    match eof.get(3..5) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    }
}

const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

pub(crate) fn eof_has_more_results(status: u16) -> bool {
    status & SERVER_MORE_RESULTS_EXISTS != 0
}

/// An OK packet: `0x00`, affected rows and last insert id (lenenc), status.
pub(crate) fn ok_has_more_results(ok: &[u8]) -> bool {
    let Some(rest) = ok.get(1..) else { return false };
    let Some(skip1) = lenenc_len(rest) else { return false };
    let Some(rest2) = rest.get(skip1..) else { return false };
    let Some(skip2) = lenenc_len(rest2) else { return false };
    match rest2.get(skip2..skip2 + 2) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]) & SERVER_MORE_RESULTS_EXISTS != 0,
        _ => false,
    }
}

/// The encoded size of the length-encoded integer at the start of `buf`.
pub(crate) fn lenenc_len(buf: &[u8]) -> Option<usize> {
    match *buf.first()? {
        0..=0xFA => Some(1),
        0xFC => Some(3),
        0xFD => Some(4),
        0xFE => Some(9),
        _ => None,
    }
}
