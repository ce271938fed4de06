//! An SMTP connection: one command at a time, one whole reply back.
//!
//! Errors show the server's replies and the command's name, never the line
//! sent: AUTH lines carry the credentials.

use std::io::{Read, Write};

use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, closed_after, messages};

use crate::reply::{self, Parse, Reply};

/// A longer reply is not what a server sends to these commands.
const MAX_REPLY: usize = 64 * 1024;

pub struct Conn {
    pub stream: Stream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(stream: Stream) -> Self {
        Self { stream, buf: Vec::new() }
    }

    /// Bytes read past the last reply: none may be there when TLS starts,
    /// or a man in the middle could inject them as the server's
    /// (CVE-2011-0411).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Sends `line` and reads the reply. Only for lines without secrets:
    /// `line` may show in an error.
    pub fn command(&mut self, line: &str) -> Result<Reply, CheckError> {
        self.command_hidden(line, line)
    }

    /// Sends `line`; errors name it `shown`.
    pub fn command_hidden(&mut self, line: &str, shown: &str) -> Result<Reply, CheckError> {
        self.stream.write_all(format!("{line}\r\n").as_bytes())?;
        self.reply().map_err(|e| match e {
            CheckError::Unhealthy(p) => {
                let extra = p.extra.unwrap_or_default();
                Problem { extra: Some(format!("after {shown}: {extra}")), ..p }.into()
            }
            other => other,
        })
    }

    /// Reads one whole reply.
    pub fn reply(&mut self) -> Result<Reply, CheckError> {
        loop {
            match reply::parse(&self.buf) {
                Parse::Done(reply, used) => {
                    self.buf.drain(..used.min(self.buf.len()));
                    return Ok(reply);
                }
                Parse::Invalid(why) => return Err(unexpected(why)),
                Parse::Incomplete if self.buf.len() > MAX_REPLY => {
                    return Err(unexpected(format!("no reply end in {} bytes", self.buf.len())));
                }
                Parse::Incomplete => {}
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                let extra = closed_after("the server closed the connection without a reply", &self.buf);
                return Err(Problem::new(messages::CONNECTION_RESET).with_extra(extra).into());
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

pub fn unexpected(extra: String) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
}
