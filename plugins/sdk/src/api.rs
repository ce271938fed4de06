//! A small HTTP client for probes of HTTP APIs (S3, Azure Blob, SaaS
//! APIs), over `wasi:http` under the sandbox, and the mapping of an API's
//! refusals to the stable messages of DESIGN §3 and §4.
//!
//! Credentials are not this module's business: with an [`crate::Auth`] in
//! the config, the host signs or authenticates each request bound for the
//! target in its own sender. A probe sends plain requests to the target's
//! scheme, host and port (the only place it may reach while `auth` is
//! present) and reads the answer:
//!
//! ```no_run
//! use sonde_sdk::{CheckError, Healthy, api};
//!
//! fn check(endpoint_url: &str, space: &str) -> Result<Healthy, CheckError> {
//!     let resp = api::get(&format!("{endpoint_url}/api/spaces/{space}"))?;
//!     if resp.status != 200 {
//!         // 401, 403, 404 ("space does not exist"), 429, anything else.
//!         return Err(api::failure(&resp, "space"));
//!     }
//!     let doc = resp.json()?;
//!     Ok(Healthy::new().detail("space", doc["name"].clone()))
//! }
//! ```
//!
//! Built natively (a probe's `cargo test`), the same calls speak plain
//! HTTP/1.1 over `std::net`, so a probe can be tested against a local
//! server; `https` and credentials need the host there.

use std::borrow::Cow;

use serde_json::Value;
use url::Url;

use crate::outcome::{CheckError, Problem, messages, stage};
use crate::{Endpoint, clock};

#[cfg(target_arch = "wasm32")]
#[path = "api_wasi.rs"]
mod transport;
#[cfg(not(target_arch = "wasm32"))]
#[path = "api_native.rs"]
mod transport;

/// Response body bytes read at most; the rest is left unread.
pub const MAX_BODY: usize = 1 << 20;
/// Characters of an error message kept in a failure's `detail`.
const MAX_EXCERPT: usize = 200;

/// An answer: status, headers (names lower-cased, values as text) and up to
/// [`MAX_BODY`] bytes of body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body as JSON; anything else is "unexpected protocol" (stage
    /// `protocol`), with a short excerpt.
    pub fn json(&self) -> Result<Value, CheckError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let cut = if self.body.len() >= MAX_BODY { " (cut at 1 MiB)" } else { "" };
            Problem::staged(
                messages::UNEXPECTED_PROTOCOL,
                stage::PROTOCOL,
                format!("HTTP {}: the body is not JSON{cut}: {e}: {}", self.status, excerpt(&self.text())),
            )
            .into()
        })
    }
}

/// Sends one request and reads the answer (the body up to [`MAX_BODY`]).
/// `method` is any HTTP method token (case-insensitive); `headers` must not
/// hold what the host sets (`Host`, `Content-Length`, ...): that is an
/// invalid config. Transport failures are the stable messages ("connection
/// refused", "timed out", "permission denied by sandbox", "tls handshake
/// failed", "unexpected protocol"), staged.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, CheckError> {
    let method = check_method(method).map_err(CheckError::InvalidConfig)?;
    let url = parse_url(url).map_err(CheckError::InvalidConfig)?;
    transport::send(&method, &url, headers, body)
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, CheckError> {
    request("GET", url, &[], None)
}

/// `POST url` with a JSON body (`content-type: application/json`), for
/// APIs whose reads are POSTs (the source's `auth.methods` must allow it).
pub fn post_json(url: &str, body: &Value) -> Result<Response, CheckError> {
    let body = body.to_string();
    request(
        "POST",
        url,
        &[("content-type", "application/json"), ("accept", "application/json")],
        Some(body.as_bytes()),
    )
}

/// A URL a probe may request: `http` or `https`, with a host, without
/// credentials in it (credentials are the host's: [`crate::Auth`]).
pub fn parse_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("URL scheme {:?} is not supported: use http or https", url.scheme()));
    }
    if url.host().is_none() {
        return Err(format!("{raw:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL must not contain credentials".into());
    }
    Ok(url)
}

/// The `host` and `port` of a URL, as `endpoints` declares them (IPv6
/// without brackets, the scheme's port when none is written).
pub fn endpoint_of(url: &str) -> Result<Endpoint, String> {
    endpoint_of_url(&parse_url(url)?)
}

/// [`endpoint_of`] for a parsed URL.
pub fn endpoint_of_url(url: &Url) -> Result<Endpoint, String> {
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(format!("{url} has no host")),
    };
    let port = url.port_or_known_default().ok_or_else(|| format!("{url} has no port"))?;
    Ok(Endpoint::new(host, port))
}

/// A method from config or code: an HTTP token, upper-cased. CONNECT is not
/// a check.
pub fn check_method(raw: &str) -> Result<String, String> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if raw.is_empty() || !raw.chars().all(tchar) {
        return Err(format!("method {raw:?} is not a valid HTTP method"));
    }
    let method = raw.to_ascii_uppercase();
    if method == "CONNECT" {
        return Err("method CONNECT is not supported".into());
    }
    Ok(method)
}

/// `text` percent-encoded for a URL's path segment or query value: every
/// byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`), so the
/// request the host signs (SigV4, SharedKey) reads the same on both sides.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The stable failure for an answer that is not what the probe asked for,
/// `noun` naming what the request was about ("bucket", "space"):
///
/// | status | message | stage |
/// | --- | --- | --- |
/// | 401 | "authentication failed" | `auth` |
/// | 403 | "permission denied" | `permission` |
/// | 404 | "`<noun>` does not exist" | `resource` |
/// | 429 | "rate limited", with `retry_after` (seconds, from `Retry-After`) | `permission` |
/// | other | "unexpected status" | `protocol` |
///
/// `detail` is `HTTP <status>` and a short excerpt of the body's error
/// message (never the whole body); `status` is a member too.
pub fn failure(resp: &Response, noun: &str) -> CheckError {
    let (message, at) = match resp.status {
        401 => (messages::AUTHENTICATION_FAILED.to_string(), stage::AUTH),
        403 => (messages::PERMISSION_DENIED.to_string(), stage::PERMISSION),
        404 => (messages::does_not_exist(noun), stage::RESOURCE),
        429 => (messages::RATE_LIMITED.to_string(), stage::PERMISSION),
        _ => (messages::UNEXPECTED_STATUS.to_string(), stage::PROTOCOL),
    };
    let mut problem = Problem::staged(message, at, status_detail(resp)).with_member("status", resp.status);
    if resp.status == 429
        && let Some(after) = retry_after(resp)
    {
        problem = problem.with_member("retry_after", after);
    }
    problem.into()
}

/// `HTTP <status>`, and the body's error message when one is found.
pub fn status_detail(resp: &Response) -> String {
    match error_message(&resp.body) {
        Some(m) => format!("HTTP {}: {m}", resp.status),
        None => format!("HTTP {}", resp.status),
    }
}

/// The error message an API's error body carries, cut short: the usual JSON
/// members (`message`, `error_description`, `error.message`, `error`,
/// `errors[0].message`, `detail`, `title`, `msg`), XML's `<Message>` or
/// `<Code>` (S3, Azure), or the first line of a plain-text body. HTML pages
/// give nothing.
pub fn error_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        return json_message(&doc).map(|m| excerpt(&m));
    }
    if text.starts_with('<') {
        return ["Message", "message", "Code", "code"]
            .iter()
            .find_map(|tag| xml_text(text, tag))
            .map(|m| excerpt(&m));
    }
    text.lines().next().map(excerpt)
}

fn json_message(doc: &Value) -> Option<String> {
    let candidates = [
        "/error_description",
        "/message",
        "/error/message",
        "/errors/0/message",
        "/errors/0/detail",
        "/error",
        "/detail",
        "/title",
        "/msg",
        "/0/message",
        "/fault/faultstring",
    ];
    candidates.iter().find_map(|p| match doc.pointer(p) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    })
}

/// The text of the first `<tag>…</tag>` in `xml` (no nesting, entities
/// left as written): enough for an error body's message.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + end].trim().to_string())
}

/// At most [`MAX_EXCERPT`] characters of one line of `text`.
fn excerpt(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let flat = flat.trim();
    if flat.chars().count() > MAX_EXCERPT {
        format!("{}…", flat.chars().take(MAX_EXCERPT).collect::<String>())
    } else {
        flat.to_string()
    }
}

/// The answer's `Retry-After` as seconds (from a delay or an HTTP date);
/// the raw text, cut short, when it is neither; `None` without one.
pub fn retry_after(resp: &Response) -> Option<Value> {
    let value = resp.header("retry-after")?.trim();
    Some(retry_after_value(value))
}

fn retry_after_value(value: &str) -> Value {
    if let Ok(secs) = value.parse::<u64>() {
        return secs.into();
    }
    match clock::parse_timestamp(value) {
        Ok(at) => (at - clock::now_unix()).max(0).into(),
        Err(_) => excerpt(value).into(),
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
