//! Unit-testing a probe natively (`cargo test --target <host triple>`): the
//! same calls the host makes, from config JSON to the answer it would see,
//! without building a component. [`crate::net`] is `std::net` off wasm32, so
//! `check` can talk to a fake server the test opens on loopback.
//!
//! ```no_run
//! # use sonde_sdk::{Probe, Endpoint, Healthy, CheckError};
//! # #[derive(serde::Deserialize, schemars::JsonSchema)] struct C { port: u16 }
//! # struct P;
//! # impl Probe for P { type Config = C; const SOURCE_TYPE: &'static str = "p";
//! #   const DESCRIPTION: &'static str = "";
//! #   fn endpoints(_: &C) -> Result<Vec<Endpoint>, String> { Ok(vec![]) }
//! #   fn check(_: C) -> Result<Healthy, CheckError> { Ok(Healthy::new().items(1)) } }
//! let report = sonde_sdk::testing::check::<P>(serde_json::json!({"port": 7})).expect("healthy");
//! assert_eq!(report.items, Some(1));
//! ```
//!
//! For probes of HTTP APIs, [`serve_http`] answers requests on loopback with
//! canned responses (a scripted server: write the answers the vendor's API
//! reference documents, and say so).

use serde_json::Value;

use crate::bindings::sonde::probe::types as wit;
use crate::{CheckError, Endpoint, Probe, Problem};

/// An unhealthy outcome's message and its `extra` members (`Null` when
/// `extra` is free text); a test's way to read a staged [`Problem`].
///
/// # Panics
/// On an invalid config, which is the test's failure.
pub fn unhealthy(e: CheckError) -> (String, Value) {
    match e {
        CheckError::Unhealthy(p) => {
            let members = p.members().map(Value::Object).unwrap_or(Value::Null);
            (p.message, members)
        }
        CheckError::InvalidConfig(m) => panic!("invalid config: {m}"),
    }
}

/// What the host receives from a healthy check.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The `details` object (empty when the probe set none).
    pub details: Value,
    pub items: Option<u64>,
}

/// `check` as the host calls it: `config` is deserialized first, and JSON
/// that does not fit is `InvalidConfig` without the probe seeing it.
pub fn check<P: Probe>(config: Value) -> Result<Report, CheckError> {
    unknown_keys::<P>(&config).map_err(CheckError::InvalidConfig)?;
    match crate::__glue::check::<P>(&config.to_string()) {
        Ok(h) => Ok(Report {
            details: h
                .details
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_else(|| Value::Object(Default::default())),
            items: h.items,
        }),
        Err(wit::CheckError::InvalidConfig(m)) => Err(CheckError::InvalidConfig(m)),
        Err(wit::CheckError::Unhealthy(p)) => {
            Err(CheckError::Unhealthy(Problem { message: p.message, extra: p.extra }))
        }
    }
}

/// `endpoints` as the host calls it.
pub fn endpoints<P: Probe>(config: Value) -> Result<Vec<Endpoint>, String> {
    unknown_keys::<P>(&config)?;
    let eps = crate::__glue::endpoints::<P>(&config.to_string())?;
    Ok(eps.into_iter().map(|e| Endpoint::new(e.host, e.port)).collect())
}

/// The `config-schema` the probe publishes, parsed.
pub fn config_schema<P: Probe>() -> Value {
    serde_json::from_str(&crate::__glue::info::<P>("0.0.0").config_schema).unwrap_or(Value::Null)
}

/// A key of `config` that the schema's `additionalProperties: false` rules
/// out. The host validates against the whole schema; serde cannot refuse
/// unknown keys through `#[serde(flatten)]` (the [`crate::conn`] types), so
/// this is the part of that validation a native test would otherwise miss.
fn unknown_keys<P: Probe>(config: &Value) -> Result<(), String> {
    let schema = config_schema::<P>();
    let (Some(config), Some(properties)) = (config.as_object(), schema["properties"].as_object()) else {
        return Ok(());
    };
    if schema["additionalProperties"] != Value::Bool(false) {
        return Ok(());
    }
    match config.keys().find(|k| !properties.contains_key(*k)) {
        Some(key) => {
            let known: Vec<&str> = properties.keys().map(String::as_str).collect();
            Err(format!("config does not fit: unknown field `{key}`, expected one of {known:?}"))
        }
        None => Ok(()),
    }
}

/// A scripted HTTP/1.1 server on loopback for native tests: it answers the
/// `i`-th connection with `answers[i]` (raw response text: status line,
/// headers, body), then stops. Returns its base URL (`http://127.0.0.1:N`)
/// and a receiver of each request as received (head and body).
#[cfg(not(target_arch = "wasm32"))]
pub fn serve_http(answers: Vec<String>) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream);
            let mut seen = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                seen.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.push_str(&String::from_utf8_lossy(&body));
            let _ = reader.get_mut().write_all(answer.as_bytes());
            let _ = tx.send(seen);
        }
    });
    (url, rx)
}

/// A scripted line-based server on loopback for native tests of a text
/// protocol (IMAP, SMTP, …): it sends `greeting`, then answers each line it
/// receives with the next of `replies`. Returns its port and a receiver of
/// the lines it got, without their line ends.
#[cfg(not(target_arch = "wasm32"))]
pub fn serve_lines(
    greeting: &'static str,
    replies: &'static [&'static str],
) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut writer = stream.try_clone().expect("clone");
        let _ = writer.write_all(greeting.as_bytes());
        let mut reader = BufReader::new(stream);
        for reply in replies {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let _ = tx.send(line.trim_end().to_string());
            let _ = writer.write_all(reply.as_bytes());
        }
    });
    (port, rx)
}

/// A raw HTTP/1.1 answer for [`serve_http`]: `status`, the headers, and
/// `body` with its `Content-Length`.
#[cfg(not(target_arch = "wasm32"))]
pub fn http_answer(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status} Scripted\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}
