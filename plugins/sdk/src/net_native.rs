//! [`super::net`]'s API for native builds, over `std::net`, so a probe's
//! logic can be unit-tested with a plain `cargo test` against a listener the
//! test opens. Nothing here is sandboxed: under Sonde the wasm32 version
//! (`net.rs`) is used, where the host decides what is reachable.
//!
//! Keep the signatures in step with `net.rs`.

use std::io;
use std::net::{SocketAddr, TcpStream};

use crate::tls::Tls;
use crate::{CheckError, Problem};

/// A TCP connection. TLS is the host's job, so natively [`Stream::start_tls`]
/// reports that it is unavailable.
#[derive(Debug)]
pub struct Stream {
    inner: TcpStream,
}

/// Opens a TCP connection to `host:port`, trying each address in turn.
pub fn connect(host: &str, port: u16) -> io::Result<Stream> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    Ok(Stream { inner: connect_std(bare, port)? })
}

/// A `std::net` connection, for probes that never upgrade to TLS.
pub fn connect_std(host: &str, port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((host, port))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl Stream {
    /// The address connected to.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Always false natively.
    pub fn is_tls(&self) -> bool {
        false
    }

    /// TLS is performed by the Sonde host; a native test cannot have it.
    /// Test TLS paths with `sonde check` instead.
    pub fn start_tls(&mut self, _tls: &Tls) -> Result<(), CheckError> {
        Err(Problem::new("tls handshake failed")
            .with_extra("TLS is done by the Sonde host; natively (cargo test) it is unavailable")
            .into())
    }

    /// Shuts the connection down.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

impl io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
