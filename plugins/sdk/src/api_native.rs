//! [`super::request`]'s transport for native builds (a probe's `cargo
//! test`): plain HTTP/1.1 over `std::net`, one connection per request, so a
//! probe can be tested against a local server. Nothing here is sandboxed,
//! and there is no TLS and no `auth` (both are the host's): under Sonde the
//! `wasi:http` transport (`api_wasi.rs`) is used.
//!
//! Keep the signature in step with `api_wasi.rs`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use url::Url;

use super::{MAX_BODY, Response};
use crate::outcome::{CheckError, Problem, io_problem, messages, stage};

/// A native test should never wait long on a local server.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a response head read at most.
const MAX_HEAD: usize = 64 * 1024;

pub(super) fn send(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, CheckError> {
    if url.scheme() == "https" {
        return Err(Problem::staged(
            messages::TLS_FAILED,
            stage::TLS,
            "TLS is done by the Sonde host; natively (cargo test) only http URLs can be requested",
        )
        .into());
    }
    let endpoint = super::endpoint_of_url(url).map_err(CheckError::InvalidConfig)?;
    let staged = |e: io::Error| -> CheckError {
        let p = io_problem(&e);
        Problem::staged(p.message, stage::CONNECT, e.to_string()).into()
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let host = url.host_str().unwrap_or_default();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: {host}:{}\r\nconnection: close\r\n", endpoint.port);
    for (name, value) in headers {
        if ["host", "content-length", "connection", "transfer-encoding"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            return Err(CheckError::invalid_config(format!(
                "header {name:?} is set by the host and cannot be configured"
            )));
        }
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(CheckError::invalid_config(format!(
                "header {name:?} is not a valid HTTP header (name or value)"
            )));
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    // Connect only once the request is known to be valid, as wasi:http does.
    let mut stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).map_err(staged)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(staged)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(staged)?;
    stream.write_all(head.as_bytes()).map_err(staged)?;
    stream.write_all(body.unwrap_or_default()).map_err(staged)?;

    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        read_chunked(&mut reader)?
    } else {
        let length =
            headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.trim().parse().ok());
        let mut body = Vec::new();
        let cap = length.map_or(MAX_BODY, |l: usize| l.min(MAX_BODY));
        reader.take(cap as u64).read_to_end(&mut body).map_err(protocol)?;
        body
    };
    Ok(Response { status, headers, body })
}

fn protocol(e: io::Error) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, e.to_string()).into()
}

fn bad(what: &str) -> CheckError {
    Problem::staged(
        messages::UNEXPECTED_PROTOCOL,
        stage::PROTOCOL,
        format!("the peer did not answer with HTTP/1.x: {what}"),
    )
    .into()
}

/// The status and headers, skipping interim (1xx) answers.
fn read_head(reader: &mut impl BufRead) -> Result<(u16, Vec<(String, String)>), CheckError> {
    loop {
        let mut read = 0;
        let mut line = String::new();
        reader.read_line(&mut line).map_err(protocol)?;
        let mut parts = line.split_whitespace();
        let status = match (parts.next(), parts.next()) {
            (Some(v), Some(code)) if v.starts_with("HTTP/1.") => {
                code.parse::<u16>().map_err(|_| bad(&line))?
            }
            _ => return Err(bad(line.trim())),
        };
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            read += reader.read_line(&mut line).map_err(protocol)?;
            if read > MAX_HEAD {
                return Err(bad("the response head is too large"));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').ok_or_else(|| bad(line))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        if !(100..200).contains(&status) {
            return Ok((status, headers));
        }
    }
}

/// A chunked body, up to `MAX_BODY` bytes.
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, CheckError> {
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(protocol)?;
        let size = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("a chunk size"))?;
        if size == 0 {
            break;
        }
        let mut chunk = vec![0; size];
        reader.read_exact(&mut chunk).map_err(protocol)?;
        body.extend_from_slice(&chunk);
        let mut crlf = String::new();
        reader.read_line(&mut crlf).map_err(protocol)?;
    }
    body.truncate(MAX_BODY);
    Ok(body)
}
