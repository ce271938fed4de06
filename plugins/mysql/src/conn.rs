//! MySQL packets over a connection that can turn to TLS between two of
//! them: framed (length, sequence id) by `mysql_common`.

use std::io::{self, Read, Write};

use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::sync_framed::MySyncFramed;
use sonde_sdk::{CheckError, Tls, io_problem};

use crate::packet::unexpected;

/// Largest packet accepted before authentication: handshake and auth packets
/// are small, so a bigger one means the peer is not MySQL.
const MAX_AUTH_PACKET: usize = 64 << 10;
/// Largest packet accepted in the test query's result.
pub(crate) const MAX_QUERY_PACKET: usize = 16 << 20;

const COM_QUIT: u8 = 0x01;

/// What the check needs of its connection: bytes both ways, and TLS in
/// place. The sandbox's [`sonde_sdk::net::Stream`]; natively, where only
/// the host could do TLS, the unit tests put a plaintext stand-in here.
pub(crate) trait Transport: Read + Write {
    fn start_tls(&mut self, tls: &Tls) -> Result<(), CheckError>;
}

impl Transport for sonde_sdk::net::Stream {
    fn start_tls(&mut self, tls: &Tls) -> Result<(), CheckError> {
        sonde_sdk::net::Stream::start_tls(self, tls)
    }
}

pub(crate) struct Conn<S> {
    framed: MySyncFramed<S>,
    /// Whether a valid packet arrived yet.
    seen: bool,
    /// Whether the connection is TLS by now.
    pub(crate) tls: bool,
}

impl<S: Transport> Conn<S> {
    pub(crate) fn new(stream: S) -> Self {
        let mut framed = MySyncFramed::new(stream);
        framed.codec_mut().max_allowed_packet = MAX_AUTH_PACKET;
        Self { framed, seen: false, tls: false }
    }

    pub(crate) fn next(&mut self) -> Result<Vec<u8>, CheckError> {
        let mut packet = Vec::new();
        match self.framed.next_packet(&mut packet) {
            Ok(true) => {
                self.seen = true;
                Ok(packet)
            }
            Ok(false) => {
                let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection");
                Err(io_problem(&e).into())
            }
            // MySyncFramed's "bytes remaining on stream": EOF inside a packet.
            Err(PacketCodecError::Io(e)) if e.kind() == io::ErrorKind::Other => {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the server closed the connection inside a packet ({e})"),
                );
                Err(io_problem(&e).into())
            }
            Err(PacketCodecError::Io(e)) => Err(e.into()),
            Err(e) if self.seen => Err(unexpected(e.to_string())),
            Err(e) => Err(unexpected(format!("{e} (the first bytes are not a MySQL packet)"))),
        }
    }

    pub(crate) fn send(&mut self, packet: &[u8]) -> Result<(), CheckError> {
        match self.framed.send(&mut &*packet) {
            Ok(()) => Ok(()),
            Err(PacketCodecError::Io(e)) => Err(e.into()),
            Err(e) => Err(unexpected(e.to_string())),
        }
    }

    /// Turns the connection to TLS; the next packet keeps the sequence.
    pub(crate) fn start_tls(self, tls: &Tls) -> Result<Self, CheckError> {
        let (in_buf, out_buf, codec, mut stream) = self.framed.destruct();
        // Bytes that came in plaintext after the greeting would be read as
        // the server's once TLS is up: a man in the middle's, not its.
        if !in_buf.is_empty() {
            return Err(unexpected(format!(
                "{} bytes after the greeting, before TLS: {:?}",
                in_buf.len(),
                String::from_utf8_lossy(&in_buf[..in_buf.len().min(64)])
            )));
        }
        stream.start_tls(tls)?;
        Ok(Self { framed: MySyncFramed::construct(in_buf, out_buf, codec, stream), tls: true, ..self })
    }

    /// A new command: sequence ids restart, results may be large.
    pub(crate) fn command(&mut self) {
        self.framed.codec_mut().max_allowed_packet = MAX_QUERY_PACKET;
        self.framed.codec_mut().reset_seq_id();
    }

    pub(crate) fn quit(&mut self) {
        self.framed.codec_mut().reset_seq_id();
        let _ = self.framed.send(&mut &[COM_QUIT][..]);
        let _ = self.framed.get_mut().flush();
    }
}
