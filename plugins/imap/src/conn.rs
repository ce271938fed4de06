//! An IMAP connection: reads whole responses (a line, with any literals the
//! server sends inlined) and runs one tagged command at a time, sending
//! literals as RFC 3501 §7.5 and RFC 7888 (LITERAL+) say.
//!
//! Nothing the probe sends is ever copied into an error: a failure's
//! `extra` holds the server's words and the command's name only, so a
//! password cannot leak through it.

use std::io::{Read, Write};

use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, closed_after, messages, preview};

use crate::encode::Part;
use crate::response::{self, Response, StatusResponse};

/// A longer response is not what a server sends to these commands.
const MAX_RESPONSE: usize = 256 * 1024;

pub struct Conn {
    pub stream: Stream,
    buf: Vec<u8>,
    tag: u32,
    /// LITERAL+ (or LITERAL-, for small literals): no wait for `+`.
    pub literal_plus: bool,
}

/// What a tagged command got back: its untagged responses and its end.
pub struct Reply {
    pub untagged: Vec<Response>,
    pub done: StatusResponse,
}

impl Conn {
    pub fn new(stream: Stream) -> Self {
        Self { stream, buf: Vec::new(), tag: 0, literal_plus: false }
    }

    /// The greeting. A peer whose first bytes cannot begin one is
    /// "unexpected protocol" at once, without waiting for a line end.
    pub fn greeting(&mut self) -> Result<StatusResponse, CheckError> {
        while !self.buf.contains(&b'\n') {
            if !response::may_be_greeting(&self.buf) {
                return Err(unexpected(format!("not an IMAP greeting: {}", preview(&self.buf))));
            }
            self.fill("before its greeting")?;
        }
        let line = self.response()?;
        response::greeting(&line).ok_or_else(|| unexpected(format!("not an IMAP greeting: {line:?}")))
    }

    /// Bytes already read past the last response: none may be there when
    /// TLS starts, or a man in the middle could inject them as the
    /// server's (the STARTTLS injection of CVE-2011-0411).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Runs one command (`name` and its argument parts) to its tagged end.
    /// `name` is what errors show; arguments are never shown.
    pub fn command(&mut self, name: &str, args: &[Part]) -> Result<Reply, CheckError> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        let mut text = format!("{tag} {name}");
        for arg in args {
            text.push(' ');
            match arg {
                Part::Text(t) => text.push_str(t),
                Part::Literal(bytes) => {
                    let plus = if self.literal_plus { "+" } else { "" };
                    text.push_str(&format!("{{{}{plus}}}\r\n", bytes.len()));
                    self.stream.write_all(text.as_bytes())?;
                    text.clear();
                    if !self.literal_plus {
                        self.wait_continue(&tag, name)?;
                    }
                    self.stream.write_all(bytes)?;
                }
            }
        }
        text.push_str("\r\n");
        self.stream.write_all(text.as_bytes())?;
        self.finish(&tag, name)
    }

    /// Sends one line of a command in progress (a SASL response): the
    /// server's `+` must have come first.
    pub fn send_line(&mut self, line: &str) -> Result<(), CheckError> {
        self.stream.write_all(format!("{line}\r\n").as_bytes())?;
        Ok(())
    }

    /// Starts a command that continues with `+` (AUTHENTICATE without an
    /// initial response); returns its tag for [`Conn::finish`].
    pub fn begin(&mut self, name: &str) -> Result<String, CheckError> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.stream.write_all(format!("{tag} {name}\r\n").as_bytes())?;
        Ok(tag)
    }

    /// Reads untagged responses until `+` (true) or the command's end
    /// (false, with that end).
    pub fn until_continue(&mut self, tag: &str, name: &str) -> Result<Option<StatusResponse>, CheckError> {
        loop {
            match self.next(name)? {
                Response::Continue(_) => return Ok(None),
                Response::Tagged(t, done) if t == tag => return Ok(Some(done)),
                Response::Tagged(t, _) => return Err(unexpected(format!("{name}: a reply to tag {t:?}"))),
                Response::UntaggedStatus(s) if s.status == response::Status::Bye => return Err(bye(&s)),
                _ => {}
            }
        }
    }

    fn wait_continue(&mut self, tag: &str, name: &str) -> Result<(), CheckError> {
        match self.until_continue(tag, name)? {
            None => Ok(()),
            Some(done) => Err(refused(name, &done)),
        }
    }

    /// Reads to the tagged end of the command `tag`.
    pub fn finish(&mut self, tag: &str, name: &str) -> Result<Reply, CheckError> {
        let mut untagged = Vec::new();
        loop {
            let next = match self.next(name) {
                Ok(next) => next,
                // The server said why before it hung up.
                Err(e) => match untagged.iter().find_map(|r| match r {
                    Response::UntaggedStatus(s) if s.status == response::Status::Bye => Some(s),
                    _ => None,
                }) {
                    Some(s) => return Err(bye(s)),
                    None => return Err(e),
                },
            };
            match next {
                Response::Tagged(t, done) if t == tag => return Ok(Reply { untagged, done }),
                Response::Tagged(t, _) => return Err(unexpected(format!("{name}: a reply to tag {t:?}"))),
                Response::Continue(text) => {
                    return Err(unexpected(format!("{name}: an unexpected continuation: {text:?}")));
                }
                Response::UntaggedStatus(s) if s.status == response::Status::Bye => {
                    // A BYE then a tagged end (LOGOUT) is fine; otherwise the
                    // server hangs up next, and its reason is the BYE's.
                    untagged.push(Response::UntaggedStatus(s));
                }
                other => untagged.push(other),
            }
        }
    }

    fn next(&mut self, name: &str) -> Result<Response, CheckError> {
        let line = self.response()?;
        response::parse(&line).ok_or_else(|| unexpected(format!("{name}: not an IMAP response: {line:?}")))
    }

    /// One response without its final CRLF, with literals inlined.
    fn response(&mut self) -> Result<String, CheckError> {
        let mut start = 0;
        loop {
            let Some(end) = self.buf.get(start..).and_then(|b| b.iter().position(|&c| c == b'\n')) else {
                self.limit()?;
                self.fill("mid-response")?;
                continue;
            };
            let end = start + end;
            let line = self.buf.get(..end).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match literal_len(line) {
                // The literal's bytes follow the CRLF; the response goes on after them.
                Some(n) => {
                    let after = end + 1 + n;
                    while self.buf.len() < after {
                        self.limit()?;
                        self.fill("inside a literal")?;
                    }
                    start = after;
                }
                None => {
                    let text = String::from_utf8_lossy(line).into_owned();
                    self.buf.drain(..=end);
                    return Ok(text);
                }
            }
        }
    }

    fn limit(&self) -> Result<(), CheckError> {
        if self.buf.len() > MAX_RESPONSE {
            return Err(unexpected(format!("no response end in {} bytes", self.buf.len())));
        }
        Ok(())
    }

    fn fill(&mut self, when: &str) -> Result<(), CheckError> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            let extra = closed_after(&format!("the server closed the connection {when}"), &self.buf);
            return Err(Problem::new(messages::CONNECTION_RESET).with_extra(extra).into());
        }
        self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(())
    }
}

/// `{n}` (or `{n+}`) at the end of a line: a literal of n bytes follows.
pub fn literal_len(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = inner.get(open + 1..)?;
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok().filter(|&n| n <= MAX_RESPONSE)
}

/// A NO or BAD to `name`, as the server worded it.
pub fn refused(name: &str, done: &StatusResponse) -> CheckError {
    Problem::new("server error").with_extra(format!("{name}: {}", done.shown())).into()
}

/// An untagged BYE: the server is closing the connection.
pub fn bye(s: &StatusResponse) -> CheckError {
    Problem::new("server closed the connection").with_extra(format!("BYE {}", s.text)).into()
}

pub fn unexpected(extra: String) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
}

#[cfg(test)]
mod tests {
    use super::literal_len;

    #[test]
    fn literals() {
        assert_eq!(literal_len(b"* LIST () \"/\" {5}"), Some(5));
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12+}"), Some(12));
        assert_eq!(literal_len(b"* OK no literal"), None);
        assert_eq!(literal_len(b"* OK {}"), None);
        assert_eq!(literal_len(b"* OK {x}"), None);
        assert_eq!(literal_len(b"* OK {99999999999}"), None);
    }
}
