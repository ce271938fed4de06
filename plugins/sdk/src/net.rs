//! Connecting to a configured endpoint through `wasi:sockets`, on a
//! [`Stream`] that can be upgraded to TLS in place.
//!
//! Names resolve through the host, which answers only for the endpoints the
//! probe declared; the host also allows connections to exactly those
//! addresses, so a connect elsewhere fails with "permission denied by sandbox".
//!
//! The sockets are opened through `wasi:sockets` directly (the `wasip2`
//! crate), not `std::net`, because `wasi:tls` takes the connection's own
//! input and output streams and std keeps those to itself.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};

use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::network::{ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Network};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};

use crate::bindings::wasi::tls::types::{ClientConnection, ClientHandshake};
use crate::tls::Tls;
use crate::{CheckError, Problem};

/// A TCP connection, plaintext or (after [`Stream::start_tls`]) TLS.
///
/// Fields drop in order: the streams before the TLS connection they belong
/// to, and all before the socket they came from, as `wasi:io` requires.
pub struct Stream {
    /// `None` only while a handshake holds them (or after it failed).
    input: Option<InputStream>,
    output: Option<OutputStream>,
    tls: Option<ClientConnection>,
    socket: TcpSocket,
    peer: SocketAddr,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("peer", &self.peer).field("tls", &self.tls.is_some()).finish()
    }
}

/// Opens a TCP connection to `host:port`, trying each address in turn.
pub fn connect(host: &str, port: u16) -> io::Result<Stream> {
    let network = wasip2::sockets::instance_network::instance_network();
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for ip in resolve(&network, host)? {
        match connect_one(&network, SocketAddr::new(ip, port)) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A `std::net` connection, for probes that never upgrade to TLS.
pub fn connect_std(host: &str, port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((host, port))?;
    // Probes speak request/response protocols: send small writes at once.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn resolve(network: &Network, host: &str) -> io::Result<Vec<IpAddr>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let lookup = wasip2::sockets::ip_name_lookup::resolve_addresses(network, bare).map_err(error)?;
    let mut ips = Vec::new();
    loop {
        match lookup.resolve_next_address() {
            Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => ips.push(IpAddr::from([a, b, c, d])),
            Ok(Some(IpAddress::Ipv6((a, b, c, d, e, f, g, h)))) => {
                ips.push(IpAddr::from([a, b, c, d, e, f, g, h]))
            }
            Ok(None) => return Ok(ips),
            Err(ErrorCode::WouldBlock) => lookup.subscribe().block(),
            Err(e) => return Err(error(e)),
        }
    }
}

fn connect_one(network: &Network, peer: SocketAddr) -> io::Result<Stream> {
    let (family, address) = match peer {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            (
                IpAddressFamily::Ipv4,
                IpSocketAddress::Ipv4(wasip2::sockets::network::Ipv4SocketAddress {
                    port: v4.port(),
                    address: (a, b, c, d),
                }),
            )
        }
        SocketAddr::V6(v6) => {
            let s = v6.ip().segments();
            (
                IpAddressFamily::Ipv6,
                IpSocketAddress::Ipv6(wasip2::sockets::network::Ipv6SocketAddress {
                    port: v6.port(),
                    flow_info: 0,
                    address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                    scope_id: 0,
                }),
            )
        }
    };
    let socket = wasip2::sockets::tcp_create_socket::create_tcp_socket(family).map_err(error)?;
    socket.start_connect(network, address).map_err(error)?;
    let pollable = socket.subscribe();
    let (input, output) = loop {
        match socket.finish_connect() {
            Ok(streams) => break streams,
            Err(ErrorCode::WouldBlock) => pollable.block(),
            Err(e) => return Err(error(e)),
        }
    };
    drop(pollable);
    Ok(Stream { input: Some(input), output: Some(output), tls: None, socket, peer })
}

impl Stream {
    /// The address connected to.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }

    /// Whether [`Stream::start_tls`] succeeded.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Upgrades the connection to TLS in place; the host performs the
    /// handshake and verifies the server under the source's `tls` policy.
    /// Call it at the point the protocol says (at once, or after a STARTTLS
    /// exchange); Read and Write then go through TLS.
    pub fn start_tls(&mut self, tls: &Tls) -> Result<(), CheckError> {
        if self.tls.is_some() {
            return Ok(());
        }
        let name = tls.server_name.clone().unwrap_or_else(|| self.peer.ip().to_string());
        // The handshake takes the plaintext streams; the TLS ones replace them.
        let (Some(input), Some(output)) = (self.input.take(), self.output.take()) else {
            return Err(Problem::new("tls handshake failed").with_extra("the connection is closed").into());
        };
        let handshake = ClientHandshake::new(&name, input, output);
        let future = ClientHandshake::finish(handshake);
        let result = loop {
            match future.get() {
                Some(result) => break result,
                None => future.subscribe().block(),
            }
        };
        match result {
            Ok(Ok((conn, input, output))) => {
                self.input = Some(input);
                self.output = Some(output);
                self.tls = Some(conn);
                Ok(())
            }
            Ok(Err(e)) => Err(tls_problem(&e.to_debug_string()).into()),
            Err(()) => {
                Err(Problem::new("tls handshake failed").with_extra("handshake result consumed").into())
            }
        }
    }

    /// Shuts the connection down, as `std::net::TcpStream::shutdown` does.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        if let Some(tls) = &self.tls
            && how != std::net::Shutdown::Read
        {
            tls.close_output();
        }
        let how = match how {
            std::net::Shutdown::Read => ShutdownType::Receive,
            std::net::Shutdown::Write => ShutdownType::Send,
            std::net::Shutdown::Both => ShutdownType::Both,
        };
        self.socket.shutdown(how).map_err(error)
    }
}

impl io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let input = self.input.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        match input.blocking_read(buf.len() as u64) {
            Ok(bytes) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            Err(StreamError::Closed) => Ok(0),
            Err(StreamError::LastOperationFailed(e)) => Err(stream_error(&e.to_debug_string())),
        }
    }
}

impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // `blocking-write-and-flush` takes at most 4096 bytes a call.
        let n = buf.len().min(4096);
        let output = self.output.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        match output.blocking_write_and_flush(&buf[..n]) {
            Ok(()) => Ok(n),
            Err(StreamError::Closed) => Err(io::ErrorKind::BrokenPipe.into()),
            Err(StreamError::LastOperationFailed(e)) => Err(stream_error(&e.to_debug_string())),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let output = self.output.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        match output.blocking_flush() {
            Ok(()) => Ok(()),
            Err(StreamError::Closed) => Err(io::ErrorKind::BrokenPipe.into()),
            Err(StreamError::LastOperationFailed(e)) => Err(stream_error(&e.to_debug_string())),
        }
    }
}

/// A handshake failure as the host words it: "<stable message>: <detail>".
fn tls_problem(text: &str) -> Problem {
    match text.split_once(": ") {
        Some((message, detail)) => Problem::new(message).with_extra(detail),
        None => Problem::new("tls handshake failed").with_extra(text),
    }
}

fn stream_error(text: &str) -> io::Error {
    let kind = if text.contains("reset") { io::ErrorKind::ConnectionReset } else { io::ErrorKind::Other };
    io::Error::new(kind, text.to_string())
}

/// A `wasi:sockets` error as the `io::Error` std would give.
fn error(code: ErrorCode) -> io::Error {
    use io::ErrorKind as K;
    if matches!(code, ErrorCode::NewSocketLimit) {
        // What std reports for `new-socket-limit`, so `io_problem` says
        // "too many sockets" for either kind of stream.
        return io::Error::from_raw_os_error(crate::outcome::EMFILE);
    }
    let kind = match code {
        ErrorCode::ConnectionRefused => K::ConnectionRefused,
        ErrorCode::ConnectionReset | ErrorCode::ConnectionAborted => K::ConnectionReset,
        ErrorCode::Timeout => K::TimedOut,
        ErrorCode::AccessDenied | ErrorCode::NotSupported => K::PermissionDenied,
        ErrorCode::RemoteUnreachable => K::HostUnreachable,
        ErrorCode::NameUnresolvable | ErrorCode::PermanentResolverFailure => K::NotFound,
        _ => K::Other,
    };
    io::Error::new(kind, format!("{code:?}"))
}
