//! The `http` probe: one request over `wasi:http`, healthy when the answer has
//! an expected status (and, if asked, a body containing a given string).
//!
//! The host does TLS for `https` URLs, under the config's `tls` policy (the
//! probe only carries it: the host reads and enforces it), and lets the request reach only the
//! URL's own `host:port`; a redirect elsewhere is refused by the sandbox and
//! reported as such.

use std::collections::BTreeMap;

use base64::Engine as _;
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, messages};
use url::Url;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, HeaderError, IncomingResponse, Method, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

/// Redirects followed at most, when `follow_redirects` is on.
const MAX_REDIRECTS: usize = 5;
/// Response body bytes read at most for `body_contains`.
const MAX_BODY: usize = 1 << 20;
/// A TLS failure (handshake, certificate, a peer that does not speak TLS).
const TLS_FAILED: &str = "tls handshake failed";
const UNEXPECTED_STATUS: &str = "unexpected status";
const UNEXPECTED_BODY: &str = "unexpected body";
const TOO_MANY_REDIRECTS: &str = "too many redirects";

/// What to request and what answer counts as healthy.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The `http://` or `https://` URL to request. Credentials go in
    /// `token` or `user`/`password`, not in the URL.
    #[schemars(length(min = 1))]
    url: String,
    /// The request method.
    #[serde(default = "default_method")]
    #[schemars(length(min = 1))]
    method: String,
    /// Extra request headers (not `Authorization`: use `token` or
    /// `user`/`password`).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The status codes that count as healthy; any 2xx when absent.
    #[schemars(length(min = 1), inner(range(min = 100, max = 599)))]
    expected_status: Option<Vec<u16>>,
    /// A string the response body must contain (searched in its first MiB).
    body_contains: Option<String>,
    /// Follow up to 5 redirects, to the URL's own host and port only.
    #[serde(default)]
    follow_redirects: bool,
    /// A bearer token, sent as `Authorization: Bearer <token>`.
    token: Option<Secret>,
    /// The user name for basic authentication.
    user: Option<String>,
    /// The password for basic authentication.
    password: Option<Secret>,
    /// How the host verifies an `https` URL: `verify-full` (the web PKI,
    /// the operator's CAs and `tls.ca`, and the URL's host) unless `mode`
    /// says otherwise; `require` accepts any certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_method() -> String {
    "GET".into()
}

/// A URL this probe can request: http or https, with a host, without
/// credentials.
fn parse_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("url is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("url scheme {:?} is not supported: use http or https", url.scheme()));
    }
    if url.host().is_none() {
        return Err("url has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not contain credentials: use user/password or token".into());
    }
    Ok(url)
}

/// The `host` and `port` of `url`, as the sandbox knows them (IPv6 without
/// brackets).
fn endpoint_of(url: &Url) -> Result<Endpoint, String> {
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("url has no host".into()),
    };
    let port = url.port_or_known_default().ok_or("url has no port")?;
    Ok(Endpoint::new(host, port))
}

/// A method from config: a token, upper-cased; CONNECT is not a check.
fn parse_method(raw: &str) -> Result<Method, String> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if raw.is_empty() || !raw.chars().all(tchar) {
        return Err(format!("method {raw:?} is not a valid HTTP method"));
    }
    Ok(match raw.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        "CONNECT" => return Err("method CONNECT is not supported".into()),
        other => Method::Other(other.to_string()),
    })
}

/// The request headers: the configured ones, then the credentials.
fn build_headers(config: &Config) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut headers = Vec::new();
    for (name, value) in &config.headers {
        if name.eq_ignore_ascii_case("authorization") {
            return Err("set credentials with token or user/password, not an Authorization header".into());
        }
        headers.push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
    }
    let auth = match (&config.token, &config.user, &config.password) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err("set either token or user/password, not both".into());
        }
        (None, None, Some(_)) => return Err("password is set without user".into()),
        (Some(token), None, None) => Some(format!("Bearer {}", token.expose())),
        (None, Some(user), password) => {
            if user.contains(':') {
                return Err("user must not contain ':' (basic authentication)".into());
            }
            let pair = format!("{user}:{}", password.as_ref().map_or("", Secret::expose));
            Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
        }
        (None, None, None) => None,
    };
    if let Some(auth) = auth {
        headers.push(("authorization".into(), auth.into_bytes()));
    }
    Ok(headers)
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

/// The stable problem for a `wasi:http` error code.
fn http_problem(e: &ErrorCode) -> Problem {
    use ErrorCode as E;
    use messages as m;
    let message = match e {
        E::ConnectionRefused => m::CONNECTION_REFUSED,
        E::ConnectionTimeout
        | E::ConnectionReadTimeout
        | E::ConnectionWriteTimeout
        | E::HttpResponseTimeout
        | E::DnsTimeout => m::TIMED_OUT,
        E::HttpRequestDenied => m::DENIED_BY_SANDBOX,
        E::ConnectionTerminated => m::CONNECTION_RESET,
        E::DnsError(_)
        | E::DestinationNotFound
        | E::DestinationUnavailable
        | E::DestinationIpProhibited
        | E::DestinationIpUnroutable => m::HOST_UNREACHABLE,
        E::HttpProtocolError
        | E::HttpResponseIncomplete
        | E::HttpResponseHeaderSectionSize(_)
        | E::HttpResponseHeaderSize(_)
        | E::HttpResponseTransferCoding(_)
        | E::HttpResponseContentCoding(_)
        | E::HttpUpgradeFailed => m::UNEXPECTED_PROTOCOL,
        E::TlsProtocolError | E::TlsCertificateError | E::TlsAlertReceived(_) => TLS_FAILED,
        _ => m::IO_ERROR,
    };
    let hint = match message {
        m::UNEXPECTED_PROTOCOL => ": the peer did not answer with HTTP/1.x",
        TLS_FAILED => {
            ": the peer does not speak TLS, or its certificate is not trusted by the host's web PKI roots"
        }
        _ => "",
    };
    Problem::new(message).with_extra(format!("{e:?}{hint}"))
}

/// Sends one request and waits for the response head.
fn send(url: &Url, method: &Method, headers: &[(String, Vec<u8>)]) -> Result<IncomingResponse, CheckError> {
    let req = OutgoingRequest::new(fields(headers)?);
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
    req.set_method(method).map_err(|()| invalid("method"))?;
    req.set_scheme(Some(&scheme)).map_err(|()| invalid("scheme"))?;
    req.set_authority(Some(&authority)).map_err(|()| invalid("authority"))?;
    req.set_path_with_query(Some(&path)).map_err(|()| invalid("path"))?;
    let pending = outgoing_handler::handle(req, None).map_err(|e| CheckError::Unhealthy(http_problem(&e)))?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(resp))) => Ok(resp),
        Some(Ok(Err(e))) => Err(http_problem(&e).into()),
        other => Err(Problem::new(messages::IO_ERROR).with_extra(format!("{other:?}")).into()),
    }
}

/// The first value of response header `name`, as text.
fn header(resp: &IncomingResponse, name: &str) -> Option<String> {
    let values = resp.headers().get(name);
    let value = values.first()?;
    let text = String::from_utf8_lossy(value);
    Some(text.chars().take(256).collect())
}

/// Up to `MAX_BODY` bytes of the response body.
fn read_body(resp: &IncomingResponse) -> Result<Vec<u8>, CheckError> {
    let failed = || Problem::new(messages::IO_ERROR).with_extra("the response body is not readable");
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
                    None => Problem::new(messages::IO_ERROR).with_extra(e.to_debug_string()),
                }
                .into());
            }
        }
    }
    Ok(out)
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The method for the next hop of a redirect, as browsers and curl do.
fn redirected_method(status: u16, method: Method) -> Method {
    match (status, method) {
        (_, Method::Head) => Method::Head,
        (303, _) | (301 | 302, Method::Post) => Method::Get,
        (_, m) => m,
    }
}

struct Http;

impl Probe for Http {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "http";
    const DESCRIPTION: &'static str = "An HTTP(S) request gets an expected status and body";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![endpoint_of(&parse_url(&config.url)?)?])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let mut url = parse_url(&config.url).map_err(CheckError::InvalidConfig)?;
        let mut method = parse_method(&config.method).map_err(CheckError::InvalidConfig)?;
        let headers = build_headers(&config).map_err(CheckError::InvalidConfig)?;
        if config.expected_status.as_ref().is_some_and(|s| s.iter().any(|c| !(100..=599).contains(c))) {
            return Err(CheckError::invalid_config("expected_status codes must be between 100 and 599"));
        }

        let mut redirects = 0;
        let resp = loop {
            let resp = send(&url, &method, &headers).map_err(|e| match e {
                CheckError::Unhealthy(p) if redirects > 0 && p.message == messages::DENIED_BY_SANDBOX => {
                    Problem::new(messages::DENIED_BY_SANDBOX)
                        .with_extra(format!(
                            "redirected to {url}, which is not the configured URL's host and port; only that \
                             endpoint is reachable"
                        ))
                        .into()
                }
                e => e,
            })?;
            let status = resp.status();
            if !(config.follow_redirects && is_redirect(status)) {
                break resp;
            }
            let Some(location) = header(&resp, "location") else { break resp };
            let next = url.join(&location).map_err(|e| {
                Problem::new(UNEXPECTED_STATUS)
                    .with_extra(format!("HTTP {status} with an invalid Location: {e}"))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Problem::new(UNEXPECTED_STATUS)
                    .with_extra(format!("HTTP {status} redirects to a {} URL", next.scheme()))
                    .into());
            }
            if redirects == MAX_REDIRECTS {
                return Err(Problem::new(TOO_MANY_REDIRECTS)
                    .with_extra(format!("more than {MAX_REDIRECTS} redirects; the last to {next}"))
                    .into());
            }
            redirects += 1;
            method = redirected_method(status, method);
            url = next;
        };

        let status = resp.status();
        let expected = match &config.expected_status {
            Some(codes) => codes.contains(&status),
            None => (200..300).contains(&status),
        };
        if !expected {
            let wanted = match &config.expected_status {
                Some(codes) => format!("{codes:?}"),
                None => "2xx".into(),
            };
            if matches!(status, 401 | 403) {
                return Err(Problem::new(messages::AUTHENTICATION_FAILED)
                    .with_extra(format!("HTTP {status}, expected {wanted}"))
                    .into());
            }
            let mut extra = format!("HTTP {status}, expected {wanted}");
            if is_redirect(status)
                && let Some(location) = header(&resp, "location")
            {
                extra.push_str(&format!("; redirect to {location:?} not followed"));
            }
            return Err(Problem::new(UNEXPECTED_STATUS).with_extra(extra).into());
        }

        let server = header(&resp, "server");
        if let Some(needle) = &config.body_contains {
            let body = read_body(&resp)?;
            if !String::from_utf8_lossy(&body).contains(needle.as_str()) {
                return Err(Problem::new(UNEXPECTED_BODY)
                    .with_extra(format!("the body ({} bytes read) does not contain {needle:?}", body.len()))
                    .into());
            }
        }

        let mut healthy = Healthy::new().detail("status_code", status);
        if let Some(server) = server {
            healthy = healthy.detail("server", server);
        }
        if redirects > 0 {
            healthy = healthy.detail("redirects", redirects).detail("final_url", url.as_str());
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(Http);
