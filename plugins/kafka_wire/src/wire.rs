//! Kafka's framing over one connection: a request is a 4-byte big-endian
//! size, a header and the body; a response the size, a header with the
//! request's correlation id and the body. The header and body encodings
//! are `kafka-protocol`'s; this file only frames them and turns what does
//! not look like a Kafka broker into "unexpected protocol".

use std::io::{Read, Write};

use bytes::BytesMut;
use kafka_protocol::error::{ParseResponseErrorCode, ResponseError};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use sonde_sdk::net::Stream;
use sonde_sdk::{CheckError, Problem, messages};

/// The `client_id` of every request, so a broker's logs name the probe.
const CLIENT_ID: &str = "sonde-probe";

/// Responses larger than this are not what a broker sends to these
/// requests (a Metadata answer for one topic is a few kilobytes). It also
/// catches another protocol's reply read as a size: PostgreSQL's
/// ErrorResponse begins `E`, over 1 GB.
const MAX_RESPONSE: usize = 4 << 20;

pub struct Conn {
    pub stream: Stream,
    correlation: i32,
    /// Responses read so far: a peer that hangs up before the first one is
    /// not a broker; one that hangs up later ended the conversation.
    pub responses: usize,
}

/// How a request ended, when it did not end with a response.
pub enum Failure {
    /// The broker closed the connection instead of answering.
    Closed,
    /// Anything else, already a check error.
    Error(CheckError),
}

impl From<CheckError> for Failure {
    fn from(e: CheckError) -> Self {
        Failure::Error(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Error(e.into())
    }
}

impl Conn {
    pub fn new(stream: Stream) -> Self {
        Self { stream, correlation: 0, responses: 0 }
    }

    /// Sends `request` at `version` and reads its response.
    pub fn send<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response, Failure> {
        let key = ApiKey::try_from(R::KEY).map_err(|()| protocol(format!("unknown API key {}", R::KEY)))?;
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .and_then(|()| request.encode(&mut body, version))
            .map_err(|e| {
                CheckError::from(
                    Problem::new(messages::IO_ERROR).with_extra(format!("encoding {key:?} v{version}: {e}")),
                )
            })?;
        let size = u32::try_from(body.len()).map_err(|_| protocol("request too large".into()))?;
        let mut frame = size.to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame)?;

        let mut response = self.frame(key)?;
        let header = ResponseHeader::decode(&mut response, key.response_header_version(version))
            .map_err(|e| protocol(format!("a {key:?} response header that does not decode: {e}")))?;
        if header.correlation_id != self.correlation {
            return Err(protocol(format!(
                "a response to request {} where {} was expected",
                header.correlation_id, self.correlation
            ))
            .into());
        }
        let decoded = R::Response::decode(&mut response, version)
            .map_err(|e| protocol(format!("a {key:?} v{version} response that does not decode: {e}")))?;
        self.responses += 1;
        Ok(decoded)
    }

    /// Reads one size-prefixed response.
    fn frame(&mut self, key: ApiKey) -> Result<BytesMut, Failure> {
        let mut size = [0u8; 4];
        if !self.fill(&mut size)? {
            return Err(Failure::Closed);
        }
        let size = i32::from_be_bytes(size);
        let Some(size) = usize::try_from(size).ok().filter(|s| (4..=MAX_RESPONSE).contains(s)) else {
            return Err(protocol(format!(
                "a response size of {size} bytes to {key:?} (first bytes {:?})",
                String::from_utf8_lossy(&size.to_be_bytes())
            ))
            .into());
        };
        let mut body = vec![0u8; size];
        if !self.fill(&mut body)? {
            return Err(protocol(format!("the connection closed inside a {size}-byte response")).into());
        }
        Ok(BytesMut::from(&body[..]))
    }

    /// Fills `buf`; false when the peer closed before its first byte.
    fn fill(&mut self, buf: &mut [u8]) -> Result<bool, CheckError> {
        let mut read = 0;
        while read < buf.len() {
            let n = self.stream.read(buf.get_mut(read..).unwrap_or_default())?;
            if n == 0 {
                if read == 0 {
                    return Ok(false);
                }
                return Err(protocol(format!("the connection closed after {read} bytes of a response")));
            }
            read += n;
        }
        Ok(true)
    }
}

pub fn protocol(extra: String) -> CheckError {
    Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
}

/// A broker's error code, with its name when `kafka-protocol` knows it.
pub fn error_name(code: i16) -> String {
    match code.err() {
        Some(ResponseError::Unknown(_)) | None => format!("error code {code}"),
        Some(e) => format!("{e:?} ({code})"),
    }
}
