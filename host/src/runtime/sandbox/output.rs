//! Captured guest stdout and stderr: kept in memory, capped, never trapping.
//!
//! A probe that prints megabytes must not crash or stall: writes always
//! succeed, only the last `cap` bytes are kept (the tail is what explains a
//! panic), and the number of discarded bytes is counted.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

#[derive(Debug, Default)]
struct Tail {
    buf: Vec<u8>,
    dropped: u64,
}

/// A capped, shared capture buffer; clones write to the same buffer.
#[derive(Debug, Clone)]
pub struct Capture {
    cap: usize,
    tail: Arc<Mutex<Tail>>,
}

/// What a capture held when the check ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The last bytes written, lossily decoded as UTF-8.
    pub text: String,
    /// Bytes written before `text` that were discarded.
    pub dropped: u64,
}

impl Capture {
    pub fn new(cap: usize) -> Self {
        Self { cap, tail: Arc::default() }
    }

    fn push(&self, bytes: &[u8]) {
        let mut t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if bytes.len() >= self.cap {
            t.dropped += (t.buf.len() + bytes.len() - self.cap) as u64;
            t.buf.clear();
            t.buf.extend_from_slice(&bytes[bytes.len() - self.cap..]);
            return;
        }
        t.buf.extend_from_slice(bytes);
        // Trim only past twice the cap so trimming stays amortised O(1).
        if t.buf.len() > 2 * self.cap {
            let excess = t.buf.len() - self.cap;
            t.buf.drain(..excess);
            t.dropped += excess as u64;
        }
    }

    pub fn captured(&self) -> Captured {
        let t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let start = t.buf.len().saturating_sub(self.cap);
        Captured {
            text: String::from_utf8_lossy(&t.buf[start..]).into_owned(),
            dropped: t.dropped + start as u64,
        }
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1024 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_counts_the_rest() {
        let c = Capture::new(8);
        for chunk in [&b"hello "[..], b"world", b"!!"] {
            c.push(chunk);
        }
        let got = c.captured();
        assert_eq!(got.text, " world!!");
        assert_eq!(got.dropped, 13 - 8);
    }

    #[test]
    fn a_single_huge_write_keeps_its_end() {
        let c = Capture::new(4);
        c.push(&[b'a'; 1000]);
        c.push(b"xyz");
        let got = c.captured();
        assert_eq!(got.text, "axyz");
        assert_eq!(got.dropped, 999);
    }
}
