//! One LDAP connection: requests out, answers in, each checked to be the
//! answer to the request just sent, so that a server of another kind is
//! "unexpected protocol" as soon as its first bytes arrive.

use std::io::{Read, Write};

use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, Tls, closed_after, messages, preview, stage};

use crate::msg::{self, NOTICE_OF_DISCONNECTION, Response};

/// The first messageID. Any positive one is valid (RFC 4511 §4.1.1.1);
/// 10 is a line feed, so the first request holds one in its third byte.
/// A line-based server on the port (Redis, an SMTP or IMAP server) then
/// answers the "line" with an error at once instead of waiting for a line
/// end that LDAP never sends, and the check says "unexpected protocol"
/// rather than timing out.
const FIRST_ID: i32 = 10;

pub(crate) struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    next_id: i32,
    /// Whether an LDAP message arrived yet.
    answered: bool,
}

impl Conn {
    pub(crate) fn new(stream: Stream) -> Self {
        Self { stream, buf: Vec::new(), next_id: FIRST_ID, answered: false }
    }

    /// Sends the request `encode` makes with the next messageID, and
    /// returns that ID.
    pub(crate) fn send(&mut self, encode: impl FnOnce(i32) -> Vec<u8>) -> Result<i32, CheckError> {
        let id = self.next_id;
        self.next_id += 1;
        self.stream.write_all(&encode(id))?;
        Ok(id)
    }

    /// The host's TLS handshake on this connection. Bytes already received
    /// would be taken for the server's once TLS is up, so there must be
    /// none (as libpq's CVE-2021-23222 fix).
    pub(crate) fn start_tls(&mut self, tls: &Tls) -> Result<(), CheckError> {
        if !self.buf.is_empty() {
            return Err(self.unexpected(format!("{} bytes after the StartTLS response", self.buf.len())));
        }
        self.stream.start_tls(tls)
    }

    /// The next answer to request `id`, which must be one of `ops`.
    pub(crate) fn answer(&mut self, id: i32, ops: &[u64]) -> Result<Response, CheckError> {
        let r = self.next()?;
        if r.id == 0 {
            return Err(self.unsolicited(&r));
        }
        if r.id != i64::from(id) {
            return Err(self.unexpected(format!("an answer to message {} while waiting for {id}", r.id)));
        }
        if !ops.contains(&r.op) {
            return Err(self.unexpected(format!("protocolOp {} in answer to message {id}", r.op)));
        }
        Ok(r)
    }

    /// Says goodbye; the answer does not matter.
    pub(crate) fn unbind(mut self) {
        let _ = self.send(msg::unbind);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// One whole LDAPMessage.
    fn next(&mut self) -> Result<Response, CheckError> {
        let mut chunk = [0u8; 8192];
        loop {
            match msg::frame_len(&self.buf) {
                Err(why) => return Err(self.unexpected(why)),
                Ok(Some(len)) if self.buf.len() >= len => {
                    let frame: Vec<u8> = self.buf.drain(..len).collect();
                    let r = msg::parse(&frame).map_err(|why| self.unexpected(why))?;
                    self.answered = true;
                    return Ok(r);
                }
                Ok(_) => {}
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(self.closed());
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// The peer hung up. An LDAP server answers every request, even with an
    /// error, so one that hangs up on the first is not LDAP (PostgreSQL
    /// reads a bind as a bad startup packet and does exactly this; so does
    /// a TLS-only port given plaintext).
    fn closed(&self) -> CheckError {
        let detail = closed_after("the server closed the connection without an answer", &self.buf);
        if self.answered {
            Problem::staged(messages::CONNECTION_RESET, stage::CONNECT, detail).into()
        } else {
            Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
        }
    }

    /// An unsolicited notification (messageID 0): the server is about to
    /// close the connection, and says why.
    fn unsolicited(&self, r: &Response) -> CheckError {
        let (code, diagnostic) = r.result.as_ref().map_or((0, ""), |o| (o.code, o.diagnostic.as_str()));
        let what = if r.name.as_deref() == Some(NOTICE_OF_DISCONNECTION) {
            "a Notice of Disconnection"
        } else {
            "an unsolicited notification"
        };
        let detail = format!(
            "the server sent {what}: {} ({code}) {}",
            crate::result::name(code),
            msg::short(diagnostic)
        );
        Problem::staged(messages::CONNECTION_RESET, stage::PROTOCOL, detail.trim_end())
            .with_member("result_code", code)
            .with_member("result", crate::result::name(code))
            .with_member("diagnostic", msg::short(diagnostic))
            .into()
    }

    /// "unexpected protocol", with what was wrong and, before any LDAP
    /// message arrived, the first bytes the peer sent.
    fn unexpected(&self, what: String) -> CheckError {
        let detail =
            if self.answered { what } else { format!("{what}; the server sent {}", preview(&self.buf)) };
        Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
    }
}
