//! [`super::request`]'s transport under the sandbox: one `wasi:http`
//! request, the answer read up to [`super::MAX_BODY`], and `wasi:http`'s
//! error codes mapped to the stable messages. The host resolves, pins,
//! does TLS and applies `auth` on its side of this call.

use url::Url;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, HeaderError, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

use super::{MAX_BODY, Response};
use crate::outcome::{CheckError, Problem, messages, stage};

/// Bytes written to a request body per call (`wasi:io`'s usual budget).
const WRITE_CHUNK: usize = 4096;

pub(super) fn send(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, CheckError> {
    let mut all: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec())).collect();
    if let Some(body) = body {
        all.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    let req = OutgoingRequest::new(fields(&all)?);
    let scheme = if url.scheme() == "https" { Scheme::Https } else { Scheme::Http };
    let host = url.host_str().unwrap_or_default();
    let authority = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let invalid =
        |what: &str| CheckError::invalid_config(format!("the request {what} is not accepted by wasi:http"));
    req.set_method(&wasi_method(method)).map_err(|()| invalid("method"))?;
    req.set_scheme(Some(&scheme)).map_err(|()| invalid("scheme"))?;
    req.set_authority(Some(&authority)).map_err(|()| invalid("authority"))?;
    req.set_path_with_query(Some(&path)).map_err(|()| invalid("path"))?;
    // No body is no body at all: a body taken and left empty goes out
    // chunked, and a server that answers before reading its end resets the
    // connection under the answer.
    let outgoing = body.map(|_| req.body().map_err(|()| invalid("body"))).transpose()?;
    // The body is written after `handle`: the host starts the request then
    // and drains the stream, so a large body cannot fill it and stall.
    let pending = outgoing_handler::handle(req, None).map_err(|e| CheckError::Unhealthy(http_problem(&e)))?;
    if let (Some(outgoing), Some(body)) = (outgoing, body) {
        write_body(outgoing, body)?;
    }
    pending.subscribe().block();
    let resp = match pending.get() {
        Some(Ok(Ok(resp))) => resp,
        Some(Ok(Err(e))) => return Err(http_problem(&e).into()),
        other => {
            return Err(Problem::staged(messages::IO_ERROR, stage::CONNECT, format!("{other:?}")).into());
        }
    };
    let status = resp.status();
    let headers = resp
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body = read_body(&resp)?;
    Ok(Response { status, headers, body })
}

fn wasi_method(method: &str) -> Method {
    match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    }
}

/// The `Fields` of a request; problems name the header, never its value.
fn fields(headers: &[(String, Vec<u8>)]) -> Result<Fields, CheckError> {
    let fields = Fields::new();
    for (name, value) in headers {
        fields.append(name, value).map_err(|e| {
            CheckError::invalid_config(match e {
                HeaderError::Forbidden => {
                    format!("header {name:?} is set by the host and cannot be configured")
                }
                _ => format!("header {name:?} is not a valid HTTP header (name or value)"),
            })
        })?;
    }
    Ok(fields)
}

fn write_body(outgoing: OutgoingBody, body: &[u8]) -> Result<(), CheckError> {
    let failed = |what: String| Problem::staged(messages::IO_ERROR, stage::CONNECT, what);
    {
        let stream = outgoing.write().map_err(|()| failed("the request body is not writable".into()))?;
        for chunk in body.chunks(WRITE_CHUNK) {
            stream.blocking_write_and_flush(chunk).map_err(|e| failed(stream_error(&e)))?;
        }
        // The stream must be dropped before its body is finished.
    }
    OutgoingBody::finish(outgoing, None).map_err(|e| CheckError::Unhealthy(http_problem(&e)))
}

fn stream_error(e: &StreamError) -> String {
    match e {
        StreamError::Closed => "the peer closed the request body".into(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}

/// Up to `MAX_BODY` bytes of the response body.
fn read_body(resp: &IncomingResponse) -> Result<Vec<u8>, CheckError> {
    let failed = || Problem::staged(messages::IO_ERROR, stage::PROTOCOL, "the response body is not readable");
    let body = resp.consume().map_err(|()| failed())?;
    let stream = body.stream().map_err(|()| failed())?;
    let mut out = Vec::new();
    while out.len() < MAX_BODY {
        let want = (MAX_BODY - out.len()).min(64 * 1024) as u64;
        match stream.blocking_read(want) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(match wasip2::http::types::http_error_code(&e) {
                    Some(code) => http_problem(&code),
                    None => Problem::staged(messages::IO_ERROR, stage::PROTOCOL, e.to_debug_string()),
                }
                .into());
            }
        }
    }
    Ok(out)
}

/// The stable problem for a `wasi:http` error code, staged.
pub(super) fn http_problem(e: &ErrorCode) -> Problem {
    use ErrorCode as E;
    use messages as m;
    let (message, at) = match e {
        E::ConnectionRefused => (m::CONNECTION_REFUSED, stage::CONNECT),
        E::ConnectionTimeout
        | E::ConnectionReadTimeout
        | E::ConnectionWriteTimeout
        | E::HttpResponseTimeout => (m::TIMED_OUT, stage::CONNECT),
        E::DnsTimeout => (m::TIMED_OUT, stage::RESOLVE),
        E::HttpRequestDenied => (m::DENIED_BY_SANDBOX, stage::CONNECT),
        E::ConnectionTerminated => (m::CONNECTION_RESET, stage::CONNECT),
        E::DnsError(_) | E::DestinationNotFound => (m::HOST_UNREACHABLE, stage::RESOLVE),
        E::DestinationUnavailable | E::DestinationIpProhibited | E::DestinationIpUnroutable => {
            (m::HOST_UNREACHABLE, stage::CONNECT)
        }
        E::HttpProtocolError
        | E::HttpResponseIncomplete
        | E::HttpResponseHeaderSectionSize(_)
        | E::HttpResponseHeaderSize(_)
        | E::HttpResponseTransferCoding(_)
        | E::HttpResponseContentCoding(_)
        | E::HttpUpgradeFailed => (m::UNEXPECTED_PROTOCOL, stage::PROTOCOL),
        E::TlsProtocolError | E::TlsCertificateError | E::TlsAlertReceived(_) => (m::TLS_FAILED, stage::TLS),
        _ => (m::IO_ERROR, stage::CONNECT),
    };
    let hint = match message {
        m::UNEXPECTED_PROTOCOL => ": the peer did not answer with HTTP/1.x",
        m::TLS_FAILED => {
            ": the peer does not speak TLS, or its certificate is not trusted by the host's web PKI roots"
        }
        _ => "",
    };
    Problem::staged(message, at, format!("{e:?}{hint}"))
}
