//! The HTTP surfaces added for Aitronos, Feather and Sonde's own plugin list,
//! and the request limits, through `sonde::server::app` one request at a
//! time (axum `oneshot`), against a real service: SQLite in a tempdir, the
//! built-in probes, and the hostile fixture as type `hostile`.
//!
//! # Layout
//! - `aitronos`: connectivity test and connector health.
//! - `feather`: sync status.
//! - `plugins`: `GET /v1/plugins`.
//! - `history`: `GET /v1/sources/{source_id}/checks`.
//! - `limits`: body and config caps.
//! - `secrets`: secrets declared through `$ref`, bounded schemas, and the
//!   migration of secrets stored in the clear.
//! - `bounds`: policy bounds and names without `/`.
//! - `depends`: `depends_on`, from the API and the file, within one organization.
//! - `fairness`: fair synchronous tests (429) and one queued connection check.
//! - `truth`: `/openapi.json` and the server agree where the fuzzer found otherwise.

mod aitronos;
mod binding;
mod bounds;
mod depends;
mod fairness;
mod feather;
mod flows;
mod hasura;
mod history;
mod limits;
mod plugins;
mod secrets;
mod truth;
pub(crate) mod unstructured;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use sonde::config::Config;
use sonde::model::{CheckRecord, Source};
use sonde::service::Service;
use tower::ServiceExt;

pub const ADMIN: &str = "test-admin-key-7f3a";
pub const ACME: &str = "test-acme-key-91c2";
pub const OTHER: &str = "test-other-key-4d0e";
/// The knowledge base (workspace) the fixture sources belong to.
pub const KB: &str = "0b6d3c1e-6d8a-4c1f-9a57-3f2b8e1d4a90";
/// The password of the `leaky` source, which must never be answered.
pub const SECRET: &str = "hunter2-never-shown";

/// A service with keys, fixture sources and a broken plugin file.
pub struct Api {
    pub app: Router,
    pub service: Arc<Service>,
    pub plugins_dir: std::path::PathBuf,
    /// Set by [`Api::start_over_loopback`]: requests then go over real TCP.
    base: Option<String>,
    _dir: tempfile::TempDir,
}

fn source(name: &str, org: &str, kind: &str, config: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = {name:?}\norganization = {org:?}\ntype = {kind:?}\nconfig = {config}\n\
         interval = \"1h\"\nretries = 0\n{extra}\n"
    )
}

/// The sources every test can use; `extra` is appended to the config file.
fn config_text(extra: &str) -> String {
    let kb = format!("workspace = {KB:?}");
    let refused = format!("{{ host = \"127.0.0.1\", port = {} }}", sonde_test_support::closed_port());
    let leaky = format!("{{ mode = \"leak\", password = {SECRET:?} }}");
    [
        format!("[[keys]]\nkey = {ADMIN:?}\nrole = \"admin\"\n"),
        format!("[[keys]]\nkey = {ACME:?}\norganization = \"org_acme\"\n"),
        format!("[[keys]]\nkey = {OTHER:?}\norganization = \"org_other\"\n"),
        source("healthy", "org_acme", "hostile", "{ mode = \"ok\" }", &kb),
        source("broken", "org_acme", "hostile", "{ mode = \"invalid\" }", &kb),
        source("leaky", "org_acme", "hostile", &leaky, &kb),
        source("slow", "org_acme", "hostile", "{ mode = \"spin\" }", &format!("{kb}\ntimeout = \"30s\"")),
        source("resting", "org_acme", "hostile", "{ mode = \"ok\" }", &format!("{kb}\nstate = \"paused\"")),
        source("no-kb", "org_acme", "hostile", "{ mode = \"ok\" }", ""),
        source("refused", "org_acme", "tcp", &refused, ""),
        source("elsewhere", "org_other", "hostile", "{ mode = \"ok\" }", &kb),
        extra.to_string(),
    ]
    .concat()
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    pub async fn start_with(extra: &str) -> Self {
        Self::start_in(tempfile::tempdir().expect("tmp"), extra, &[]).await
    }

    /// A service in `dir` (its store in `dir/data`, which a test may have
    /// filled already), with these fixtures in its plugins directory too.
    pub async fn start_in(dir: tempfile::TempDir, extra: &str, fixtures: &[&str]) -> Self {
        let plugins_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins_dir).expect("plugins dir");
        for name in fixtures.iter().chain(&["hostile"]) {
            std::fs::copy(sonde_test_support::fixture(name), plugins_dir.join(format!("{name}.wasm")))
                .expect("copy fixture");
        }
        std::fs::write(plugins_dir.join("broken.wasm"), b"not a component").expect("broken plugin");
        // Intervals down to 100 ms: tests check often.
        let text = format!(
            "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\nlimits.min_interval = \"100ms\"\n{}",
            dir.path().join("data"),
            plugins_dir,
            crate::common::cache_dir(),
            config_text(extra)
        );
        let config = Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
        let service = Service::start(&config).await.unwrap_or_else(|e| panic!("{e}"));
        Self { app: sonde::server::app(Arc::clone(&service)), service, plugins_dir, base: None, _dir: dir }
    }

    /// The same service, served by axum on a loopback port and reached with
    /// a real HTTP client, for the end-to-end flows.
    pub async fn start_over_loopback() -> Self {
        let mut api = Self::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(axum::serve(listener, api.app.clone()).into_future());
        api.base = Some(format!("http://{addr}"));
        api
    }

    /// Sends one request; `key` goes in `x-api-key`. Answers must be JSON.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<Body>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        self.send(req.body(body.unwrap_or_else(Body::empty)).expect("request")).await
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        if let Some(base) = &self.base {
            return over_loopback(base, req).await;
        }
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&bytes)));
        (status, json)
    }

    pub async fn get(&self, uri: &str, key: Option<&str>) -> (StatusCode, Value) {
        self.call("GET", uri, key, None).await
    }

    pub async fn post(&self, uri: &str, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.call("POST", uri, key, Some(Body::from(body.to_string()))).await
    }

    pub async fn source(&self, name: &str) -> Source {
        let all = self.service.list_sources().await.expect("list");
        all.into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no source {name}"))
    }

    /// Requests a check of `name` and waits until it is the last finished one.
    pub async fn checked(&self, name: &str) -> CheckRecord {
        self.checked_source(&self.source(name).await).await
    }

    /// [`Api::checked`] of a source known by more than its name.
    pub async fn checked_source(&self, s: &Source) -> CheckRecord {
        let name = &s.name;
        let requested = self.service.request_check(s).await.expect("request");
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let last = self.service.health(s.id).await.expect("health").last;
            if let Some(c) = last.filter(|c| c.id == requested.id) {
                return c;
            }
            assert!(tokio::time::Instant::now() < end, "the check of {name} never finished");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Polls `check` until it holds or `within` passes.
/// Sends `req` to the server at `base` over TCP.
async fn over_loopback(base: &str, req: Request<Body>) -> (StatusCode, Value) {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body").to_vec();
    let mut out = axum::http::Request::builder().method(parts.method).uri(format!("{base}{}", parts.uri));
    for (name, value) in &parts.headers {
        out = out.header(name, value);
    }
    let out = out.body(bytes).expect("request");
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut resp = agent.run(out).expect("the server answers");
        let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
        let text = resp.body_mut().read_to_string().expect("body");
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        (status, json)
    })
    .await
    .expect("client thread")
}

pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < end {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    check()
}

/// An object's keys, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> =
        v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect();
    k.sort();
    k
}

/// A FastAPI-style 422 whose first entry is at `loc` with type `kind`.
pub fn assert_422(status: StatusCode, body: &Value, loc: Value, kind: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(keys(body), ["detail"], "{body}");
    let first = &body["detail"][0];
    assert_eq!(keys(first), ["loc", "msg", "type"], "{body}");
    assert_eq!((&first["loc"], first["type"].as_str()), (&loc, Some(kind)), "{body}");
    assert!(first["msg"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

/// A 401 or 404 with a string `detail`.
pub fn assert_refused(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(keys(body), ["detail"], "{body}");
    assert!(body["detail"].is_string(), "{body}");
}
