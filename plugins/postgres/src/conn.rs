//! A connection to the backend: frontend messages out, backend messages in,
//! each checked to look like protocol 3.0 before `postgres-protocol` parses
//! it, so a server of another kind is "unexpected protocol", not a guess.

use std::io::{self, Read, Write};

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, io_problem, messages};

/// Largest backend message accepted: anything bigger is not PostgreSQL (or
/// not a health check's business).
const MAX_MESSAGE: u32 = 16 << 20;

/// The backend message tags of protocol 3.0.
const BACKEND_TAGS: &[u8] = b"123AcCdDEGHIKnNRsStTZ";

pub(crate) struct Conn {
    stream: Stream,
    buf: BytesMut,
    /// Whether a valid backend message arrived yet.
    seen: bool,
}

impl Conn {
    /// A connection on `stream`, TLS or not by now (see [`crate::ssl`]).
    pub(crate) fn new(stream: Stream) -> Self {
        Self { stream, buf: BytesMut::with_capacity(8192), seen: false }
    }

    pub(crate) fn send(&mut self, out: &BytesMut) -> Result<(), CheckError> {
        self.stream.write_all(out).map_err(CheckError::from)
    }

    /// The next backend message, after checking that the bytes look like one.
    pub(crate) fn next(&mut self) -> Result<Message, CheckError> {
        loop {
            if let Some(&tag) = self.buf.first()
                && !BACKEND_TAGS.contains(&tag)
            {
                return Err(self.unexpected(format!("unknown message tag {:?}", tag as char)));
            }
            if let Some(len) = self.buf.get(1..5) {
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                if !(4..=MAX_MESSAGE).contains(&len) {
                    return Err(self.unexpected(format!("message length {len}")));
                }
            }
            match Message::parse(&mut self.buf) {
                Ok(Some(m)) => {
                    self.seen = true;
                    return Ok(m);
                }
                Ok(None) => {}
                Err(e) => return Err(self.unexpected(e.to_string())),
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) if self.buf.is_empty() => {
                    let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection");
                    return Err(io_problem(&e).into());
                }
                Ok(0) => return Err(self.unexpected("the connection closed inside a message".to_string())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// "unexpected protocol", with what was wrong and the first bytes seen.
    pub(crate) fn unexpected(&self, what: String) -> CheckError {
        let head = &self.buf[..self.buf.len().min(64)];
        let extra = if self.seen {
            what
        } else {
            format!("{what}; the server sent {:?}", String::from_utf8_lossy(head))
        };
        Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
    }

    pub(crate) fn terminate(&mut self) {
        let mut out = BytesMut::new();
        frontend::terminate(&mut out);
        let _ = self.stream.write_all(&out);
    }
}
