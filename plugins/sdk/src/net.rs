//! Connecting to a configured endpoint through `wasi:sockets`.
//!
//! Names resolve through the host, which answers only for the endpoints the
//! probe declared; the host also allows connections to exactly those
//! addresses, so a connect elsewhere fails with "permission denied by sandbox".

use std::io;
use std::net::TcpStream;

/// Opens a TCP connection to `host:port`, trying each address in turn.
pub fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((host, port))?;
    // Probes speak request/response protocols: send small writes at once.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
