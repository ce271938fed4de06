//! The `http` probe: one request over `wasi:http` (the SDK's [`api`]),
//! healthy when the answer has an expected status (and, if asked, a body
//! containing a given string, or JSON members equal to given values).
//!
//! The host does TLS for `https` URLs, under the config's `tls` policy (the
//! probe only carries it: the host reads and enforces it), and lets the
//! request reach only the URL's own `host:port`; a redirect elsewhere is
//! refused by the sandbox and reported as such.
//!
//! Credentials are the host's too: `token` (bearer), `user` and `password`
//! (basic) are mapped to the host's `auth` at the schema root, and `auth`
//! takes any other kind. The host removes the secrets before this probe
//! runs and authenticates requests bound for `url`'s scheme, host and port
//! (the auth target), so this probe never builds an `Authorization` header.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::api::{self, Response};
use sonde_sdk::expect::assertion_failed;
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Problem, Secret, Tls, messages, stage};
use url::Url;

/// Redirects followed at most, when `follow_redirects` is on.
const MAX_REDIRECTS: usize = 5;
const UNEXPECTED_BODY: &str = "unexpected body";
const TOO_MANY_REDIRECTS: &str = "too many redirects";

/// What to request and what answer counts as healthy.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// `methods` follows the configured `method`: the operator chose it, and a
// redirect may turn it into GET or HEAD.
#[schemars(extend("x-sonde-auth" = [
    {"kind": "bearer", "token": "/token", "methods": "/method"},
    {"kind": "basic", "user": "/user", "password": "/password", "methods": "/method"}
]))]
struct Config {
    /// The `http://` or `https://` URL to request. Credentials go in
    /// `token`, `user`/`password` or `auth`, not in the URL; the host sends
    /// them only to this URL's scheme, host and port.
    #[schemars(length(min = 1), extend("x-sonde-auth-target" = true))]
    url: String,
    /// The request method.
    #[serde(default = "default_method")]
    #[schemars(length(min = 1))]
    method: String,
    /// Extra request headers (not `Authorization`: use `token`,
    /// `user`/`password` or `auth`).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The status codes that count as healthy; any 2xx when absent.
    #[schemars(length(min = 1), inner(range(min = 100, max = 599)))]
    expected_status: Option<Vec<u16>>,
    /// A string the response body must contain (searched in its first MiB).
    body_contains: Option<String>,
    /// Equalities on a JSON answer: `{"json": {"/status": "green"}}`. Only
    /// `json` applies to this probe.
    expect: Option<Expect>,
    /// Follow up to 5 redirects, to the URL's own host and port only.
    #[serde(default)]
    follow_redirects: bool,
    /// A bearer token, sent by the host as `Authorization: Bearer <token>`.
    token: Option<Secret>,
    /// The user name for basic authentication (with `password`), sent by
    /// the host.
    user: Option<String>,
    /// The password for basic authentication.
    #[allow(dead_code)] // In the schema for the host, which takes it; never here.
    password: Option<Secret>,
    /// Any other credential the host applies (`header`, `oauth2`, ...);
    /// not together with `token` or `user`/`password`.
    auth: Option<Auth>,
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

/// What of the config only this probe can refuse (the host validated the
/// schema already).
fn validate(config: &Config) -> Result<(), String> {
    // The host removes `token` and `password` before this runs, so only the
    // public half of a mapped credential can be seen here; giving the
    // object and mapped secrets together is refused by the host.
    if config.auth.is_some() && (config.user.is_some() || config.token.is_some()) {
        return Err("set either auth or token / user and password, not both".into());
    }
    if config.user.as_deref().is_some_and(|u| u.contains(':')) {
        return Err("user must not contain ':' (basic authentication)".into());
    }
    if config.headers.keys().any(|n| n.eq_ignore_ascii_case("authorization")) {
        return Err("set credentials with token, user/password or auth, not an Authorization header".into());
    }
    if config.expected_status.as_ref().is_some_and(|s| s.iter().any(|c| !(100..=599).contains(c))) {
        return Err("expected_status codes must be between 100 and 599".into());
    }
    if let Some(expect) = &config.expect {
        expect.only("the http probe", &["json"])?;
    }
    Ok(())
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The method for the next hop of a redirect, as browsers and curl do.
fn redirected_method(status: u16, method: &str) -> String {
    match (status, method) {
        (_, "HEAD") => "HEAD",
        (303, _) | (301 | 302, "POST") => "GET",
        (_, m) => m,
    }
    .to_string()
}

/// Sends the request, following redirects when asked; the last answer and
/// the URL it came from.
fn fetch(config: &Config) -> Result<(Response, Url, usize), CheckError> {
    let mut url = api::parse_url(&config.url).map_err(|e| CheckError::invalid_config(format!("url: {e}")))?;
    let mut method = api::check_method(&config.method).map_err(CheckError::InvalidConfig)?;
    let headers: Vec<(&str, &str)> = config.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut redirects = 0;
    loop {
        let resp = api::request(&method, url.as_str(), &headers, None).map_err(|e| match e {
            CheckError::Unhealthy(p) if redirects > 0 && p.message == messages::DENIED_BY_SANDBOX => {
                Problem::staged(
                    messages::DENIED_BY_SANDBOX,
                    stage::CONNECT,
                    format!(
                        "redirected to {url}, which is not the configured URL's host and port; only that \
                         endpoint is reachable"
                    ),
                )
                .into()
            }
            e => e,
        })?;
        let status = resp.status;
        if !(config.follow_redirects && is_redirect(status)) {
            return Ok((resp, url, redirects));
        }
        let Some(location) = resp.header("location") else { return Ok((resp, url, redirects)) };
        let unexpected =
            |detail: String| Problem::staged(messages::UNEXPECTED_STATUS, stage::PROTOCOL, detail);
        let next = url
            .join(location)
            .map_err(|e| unexpected(format!("HTTP {status} with an invalid Location: {e}")))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(unexpected(format!("HTTP {status} redirects to a {} URL", next.scheme())).into());
        }
        if redirects == MAX_REDIRECTS {
            return Err(Problem::staged(
                TOO_MANY_REDIRECTS,
                stage::PROTOCOL,
                format!("more than {MAX_REDIRECTS} redirects; the last to {next}"),
            )
            .into());
        }
        redirects += 1;
        method = redirected_method(status, &method);
        url = next;
    }
}

/// The failure for a status the config does not expect: the stable
/// messages for 401, 403 and 429, "unexpected status" for the rest.
fn unexpected_status(resp: &Response, expected: &Option<Vec<u16>>) -> CheckError {
    let wanted = match expected {
        Some(codes) => format!("{codes:?}"),
        None => "2xx".into(),
    };
    let status = resp.status;
    if matches!(status, 401 | 403 | 429) {
        return match api::failure(resp, "url") {
            CheckError::Unhealthy(p) => p.with_member("expected", wanted).into(),
            e => e,
        };
    }
    let mut detail = format!("{}, expected {wanted}", api::status_detail(resp));
    if is_redirect(status)
        && let Some(location) = resp.header("location")
    {
        detail.push_str(&format!("; redirect to {location:?} not followed"));
    }
    Problem::staged(messages::UNEXPECTED_STATUS, stage::PROTOCOL, detail)
        .with_member("status", status)
        .with_member("expected", wanted)
        .into()
}

/// `body_contains` and `expect.json` hold for the answer.
fn check_body(config: &Config, resp: &Response) -> Result<(), CheckError> {
    if let Some(needle) = &config.body_contains
        && !resp.text().contains(needle.as_str())
    {
        let detail = format!("the body ({} bytes read) does not contain {needle:?}", resp.body.len());
        return Err(Problem::staged(UNEXPECTED_BODY, stage::ASSERTION, detail).into());
    }
    if let Some(expect) = config.expect.as_ref().filter(|e| !e.json.is_empty()) {
        let doc = resp.json().map_err(|_| {
            let shown: String = resp.text().chars().take(200).collect();
            assertion_failed("the body is not JSON", serde_json::json!(expect.json), shown)
        })?;
        expect.check_json(&doc)?;
    }
    Ok(())
}

struct Http;

impl Probe for Http {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "http";
    const DESCRIPTION: &'static str = "An HTTP(S) request gets an expected status and body";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![api::endpoint_of(&config.url).map_err(|e| format!("url: {e}"))?])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        validate(&config).map_err(CheckError::InvalidConfig)?;
        let (resp, url, redirects) = fetch(&config)?;
        let expected = match &config.expected_status {
            Some(codes) => codes.contains(&resp.status),
            None => resp.is_success(),
        };
        if !expected {
            return Err(unexpected_status(&resp, &config.expected_status));
        }
        check_body(&config, &resp)?;

        let mut healthy = Healthy::new().detail("status_code", resp.status);
        if let Some(server) = resp.header("server") {
            healthy = healthy.detail("server", server.chars().take(256).collect::<String>());
        }
        if redirects > 0 {
            healthy = healthy.detail("redirects", redirects).detail("final_url", url.as_str());
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(Http);

#[cfg(test)]
mod tests;
