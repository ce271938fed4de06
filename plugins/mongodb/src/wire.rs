//! MongoDB's wire protocol as far as a health check needs it: one command
//! at a time as an `OP_MSG` (opcode 2013, MongoDB 3.6+) with a single
//! body section, and its reply, the BSON itself by the `bson` crate.
//!
//! The peer's first bytes are judged before anything waits on them: a
//! message length outside MongoDB's bounds, another opcode, or a reply to
//! another request is "unexpected protocol" at once, so a server of
//! another kind (Redis answers `-ERR …`) is named, not waited for.

use std::io::{Read, Write};

use bson::{Bson, Document};
use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, closed_after, messages, preview, stage};

/// `OP_MSG`.
const OP_MSG: i32 = 2013;
/// The smallest `OP_MSG`: header, flags, a section kind and an empty document.
const MIN_MESSAGE: usize = 16 + 4 + 1 + 5;
/// `maxMessageSizeBytes` of every MongoDB release.
const MAX_MESSAGE: usize = 48_000_000;
/// `checksumPresent`: a CRC-32C trails the message.
const CHECKSUM_PRESENT: u32 = 1;

/// A command the server answered with `ok: 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    pub code: i32,
    pub code_name: String,
    pub errmsg: String,
}

impl ServerError {
    /// `Unauthorized`: the command needs a privilege (or a login) the
    /// connection lacks.
    pub fn unauthorized(&self) -> bool {
        self.code == 13 || self.code_name == "Unauthorized"
    }

    /// `AuthenticationFailed`.
    pub fn auth_failed(&self) -> bool {
        self.code == 18 || self.code_name == "AuthenticationFailed"
    }

    /// `CommandNotFound`.
    pub fn command_not_found(&self) -> bool {
        self.code == 59 || self.code_name == "CommandNotFound"
    }

    /// A failure with `message` at `stage`, the server's words as the
    /// detail and its `code` and `codeName` as members.
    pub fn problem(&self, message: &str, stage: &str, what: &str) -> Problem {
        Problem::staged(message, stage, format!("{what}: {}", self.errmsg))
            .with_member("code", self.code)
            .with_member("codeName", self.code_name.as_str())
    }
}

/// One connection's command channel.
pub struct Conn {
    stream: Stream,
    next_id: i32,
    /// Replies read so far: a peer that hangs up before the first one does
    /// not speak this protocol.
    replies: usize,
}

impl Conn {
    pub fn new(stream: Stream) -> Self {
        Self { stream, next_id: 1, replies: 0 }
    }

    /// Runs `command` (its first key names it; `$db` is added) and returns
    /// the reply, or the server's refusal when it says `ok: 0`.
    pub fn run(
        &mut self,
        db: &str,
        mut command: Document,
    ) -> Result<Result<Document, ServerError>, CheckError> {
        command.insert("$db", db);
        let body = command.to_vec().map_err(|e| {
            Problem::staged(messages::IO_ERROR, stage::PROTOCOL, format!("encoding a command: {e}"))
        })?;
        let id = self.next_id;
        self.next_id += 1;
        self.stream.write_all(&encode(id, &body))?;
        let reply = self.read(id)?;
        Ok(judge(reply))
    }

    /// Reads the reply to request `id`.
    fn read(&mut self, id: i32) -> Result<Document, CheckError> {
        let mut header = [0u8; 16];
        self.fill(&mut header[..4])?;
        let len = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let len = usize::try_from(len).unwrap_or(0);
        if !(MIN_MESSAGE..=MAX_MESSAGE).contains(&len) {
            return Err(unexpected(format!("not a MongoDB message: {}", preview(&header[..4]))));
        }
        self.fill(&mut header[4..])?;
        let word = |i: usize| i32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (response_to, op) = (word(8), word(12));
        if op != OP_MSG || response_to != id {
            return Err(unexpected(format!(
                "not a MongoDB reply: opcode {op}, responding to {response_to} (asked {id})"
            )));
        }
        let mut body = vec![0u8; len - 16];
        self.fill(&mut body)?;
        self.replies += 1;
        parse_body(&body)
    }

    /// Fills `buf` from the stream; a close before the first reply is
    /// "unexpected protocol" (PostgreSQL hangs up on our bytes), a later
    /// one "connection reset".
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), CheckError> {
        let mut at = 0;
        while at < buf.len() {
            let n = self.stream.read(buf.get_mut(at..).unwrap_or_default())?;
            if n == 0 {
                let what = "the server closed the connection without a reply";
                let message = if self.replies == 0 {
                    messages::UNEXPECTED_PROTOCOL
                } else {
                    messages::CONNECTION_RESET
                };
                let detail = closed_after(what, buf.get(..at).unwrap_or_default());
                return Err(Problem::staged(message, stage::PROTOCOL, detail).into());
            }
            at += n;
        }
        Ok(())
    }
}

/// An `OP_MSG` carrying `body` (a BSON document) as request `id`.
pub fn encode(id: i32, body: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + 1 + body.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&i32::try_from(len).unwrap_or(i32::MAX).to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&OP_MSG.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend_from_slice(body);
    out
}

/// The body document of an `OP_MSG` past its header: flags, then sections
/// (kind 0 is the body; a kind 1 document sequence is skipped).
pub fn parse_body(body: &[u8]) -> Result<Document, CheckError> {
    let flags = body.get(..4).map_or(0, |f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]));
    let end = if flags & CHECKSUM_PRESENT != 0 { body.len().saturating_sub(4) } else { body.len() };
    let mut sections = body.get(4..end).unwrap_or_default();
    while let Some((&kind, rest)) = sections.split_first() {
        let size = rest.get(..4).map_or(0, |s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        let size = usize::try_from(size).unwrap_or(0);
        let Some(section) = rest.get(..size).filter(|_| size >= 4) else {
            return Err(unexpected(format!("a section of {size} bytes in {} left", rest.len())));
        };
        if kind == 0 {
            return Document::from_reader(section)
                .map_err(|e| unexpected(format!("the reply is not BSON: {e}")));
        }
        sections = rest.get(size..).unwrap_or_default();
    }
    Err(unexpected("the reply has no body section".into()))
}

/// `ok: 1` is the reply; anything else is the server's refusal.
pub fn judge(reply: Document) -> Result<Document, ServerError> {
    let ok = match reply.get("ok") {
        Some(Bson::Double(f)) => *f == 1.0,
        Some(Bson::Int32(i)) => *i == 1,
        Some(Bson::Int64(i)) => *i == 1,
        Some(Bson::Boolean(b)) => *b,
        _ => false,
    };
    if ok {
        return Ok(reply);
    }
    Err(ServerError {
        code: number(reply.get("code")).and_then(|n| i32::try_from(n).ok()).unwrap_or(0),
        code_name: reply.get_str("codeName").unwrap_or_default().to_string(),
        errmsg: reply.get_str("errmsg").unwrap_or("the command failed").to_string(),
    })
}

/// Any BSON number as an integer (counts come as int32, int64 or double).
pub fn number(value: Option<&Bson>) -> Option<i64> {
    match value? {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        Bson::Double(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
        _ => None,
    }
}

pub fn unexpected(detail: String) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    #[test]
    fn a_command_round_trips_through_an_op_msg() {
        let body = doc! {"hello": 1, "$db": "admin"}.to_vec().expect("bson");
        let msg = encode(7, &body);
        assert_eq!(i32::from_le_bytes(msg[..4].try_into().expect("4")) as usize, msg.len());
        assert_eq!(&msg[12..16], &OP_MSG.to_le_bytes());
        assert_eq!(parse_body(&msg[16..]).expect("body"), doc! {"hello": 1, "$db": "admin"});
    }

    #[test]
    fn a_document_sequence_is_skipped_and_a_checksum_ignored() {
        let body = doc! {"ok": 1.0}.to_vec().expect("bson");
        let mut msg = CHECKSUM_PRESENT.to_le_bytes().to_vec();
        msg.push(1);
        msg.extend_from_slice(&9i32.to_le_bytes());
        msg.extend_from_slice(b"docs\0");
        msg.push(0);
        msg.extend_from_slice(&body);
        msg.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(parse_body(&msg).expect("body"), doc! {"ok": 1.0});
        assert!(parse_body(&[0, 0, 0, 0, 0, 200, 0, 0, 0]).is_err());
    }

    #[test]
    fn ok_zero_is_the_servers_refusal_with_its_code() {
        let e = judge(doc! {"ok": 0.0, "errmsg": "auth", "code": 18, "codeName": "AuthenticationFailed"})
            .expect_err("refused");
        assert!(e.auth_failed() && !e.unauthorized());
        assert_eq!((e.code, e.errmsg.as_str()), (18, "auth"));
        assert!(judge(doc! {"ok": 1}).is_ok());
        assert!(judge(doc! {"n": 1}).is_err());
        assert_eq!(number(Some(&Bson::Double(3.0))), Some(3));
    }
}
