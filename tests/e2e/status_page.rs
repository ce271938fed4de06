//! The operators' status page at `GET /`.
//!
//! - Without a session it is a sign-in form, and no configured secret
//!   ever appears on it, signed in or not (axum `oneshot` on the API
//!   harness's service); `[status]` makes cookies `Secure` and bounds a
//!   session's life. The session's mechanics over real HTTP, on SQLite and
//!   across replicas, are in `session`.
//! - In a real headless Chromium, driven through chromedriver: log in with
//!   the form, see a `tcp` source OK while the test's listener accepts, drop
//!   the listener, see the source turn ERROR once the page's script has
//!   swapped in fresh rows, with no Content-Security-Policy violation in the
//!   browser's console log, and keep a screenshot in
//!   `CARGO_TARGET_TMPDIR/status-page.png`. Then a second browser with
//!   JavaScript disabled: the list is there and refreshes itself by its
//!   `<noscript>` meta refresh (`status-page-nojs.png`). Without Debian's
//!   `chromium` and `chromium-driver` the test is skipped with a printed
//!   reason, and fails under `CI=true`. The list's paging, filters and
//!   scoping are in `status_list`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::BodyExt;
use sonde_test_support::{closed_port, in_ci};
use tower::ServiceExt;

use crate::api::{ACME, ADMIN, Api, SECRET};

pub(crate) async fn send(api: &Api, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = api.app.clone().oneshot(req).await.expect("response");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn get_root(cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get("/");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.body(Body::empty()).expect("request")
}

/// The sign-in form's CSRF pair: its cookie (`name=value`) and the hidden
/// field's value, from `GET /` without a session.
pub(crate) async fn login_csrf(api: &Api) -> (String, String) {
    let (status, headers, body) = send(api, get_root(None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sonde_login="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no sign-in CSRF cookie: {headers:?}"))
        .to_string();
    (cookie, hidden_csrf(&body))
}

/// The value of the page's hidden `csrf` field.
pub(crate) fn hidden_csrf(body: &str) -> String {
    let at = body.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no csrf field: {body}"));
    let rest = &body[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap_or(0)].to_string()
}

/// `POST /login` with `key`, the sign-in CSRF cookie and field.
pub(crate) fn login(key: &str, cookie: &str, csrf: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(format!("csrf={csrf}&key={key}")))
        .expect("request")
}

/// Signs in with `key`; the session cookie as `name=value`.
pub(crate) async fn sign_in(api: &Api, key: &str) -> String {
    let (cookie, csrf) = login_csrf(api).await;
    let (status, headers, body) = send(api, login(key, &cookie, &csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    session_cookie(&headers)
}

/// The `sonde_session=...` pair of a response's `Set-Cookie`s.
pub(crate) fn session_cookie(headers: &axum::http::HeaderMap) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sonde_session="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {headers:?}"))
        .to_string()
}

#[tokio::test]
async fn without_a_session_it_is_a_sign_in_form_and_no_secret_ever_shows() {
    let api = Api::start().await;
    let (status, headers, body) = send(&api, get_root(None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/html"), "{headers:?}");
    assert!(body.contains(r#"action="/login""#) && body.contains(r#"name="key""#), "{body}");
    assert!(!body.contains("leaky") && !body.contains(SECRET), "{body}");
    // A key that is not configured, or a forged cookie, gets the form again;
    // so does the raw key in the cookie the page used to set.
    let (cookie, csrf) = login_csrf(&api).await;
    let (status, _, body) = send(&api, login("not-a-key", &cookie, &csrf)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not a configured key"), "{body}");
    for forged in [format!("sonde_admin={ADMIN}"), format!("sonde_session={}", "ab".repeat(32))] {
        let (_, _, body) = send(&api, get_root(Some(&forged))).await;
        assert!(body.contains(r#"action="/login""#), "{forged}: {body}");
    }

    // The admin key sets an HttpOnly, SameSite=Strict cookie holding no key.
    let (status, headers, _) = send(&api, login(ADMIN, &cookie, &csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
    let set = headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "not asked for: {set}");
    assert!(!set.contains(ADMIN), "{set}");
    let cookie = session_cookie(&headers);

    // Signed in: every source and plugin, and still no secret. `leaky`
    // has been checked, so its message is on the page too.
    let leaky = api.source("leaky").await;
    let check = api.service.request_check(&leaky).await.expect("check");
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.service.health(leaky.id).await.expect("health").last.is_none_or(|c| c.id != check.id) {
        assert!(Instant::now() < deadline, "leaky was never checked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, headers, body) = send(&api, get_root(Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(csp.starts_with("default-src 'none';") && csp.contains("form-action 'self'"), "{csp}");
    for shown in
        ["leaky", "healthy", "refused", "elsewhere", "hostile", "broken.wasm", r#"http-equiv="refresh""#]
    {
        assert!(body.contains(shown), "{shown} missing from {body}");
    }
    assert!(!body.contains(SECRET), "the secret leaked: {body}");
    assert!(!body.contains(ADMIN), "the admin key is on the page: {body}");
    // One script, the same-origin file; nothing inline (`status_list`).
    assert_eq!(body.matches("<script").count(), 1, "{body}");
    assert!(body.contains(r#"<script src="/static/page.js" defer></script>"#), "{body}");

    // An organization's key sees its own sources only.
    let acme = sign_in(&api, ACME).await;
    let (_, _, page) = send(&api, get_root(Some(&acme))).await;
    assert!(page.contains("healthy") && page.contains("org_acme"), "{page}");
    assert!(!page.contains("elsewhere") && !page.contains("org_other"), "{page}");

    // Logging out (with the page's CSRF token) ends the session.
    let csrf = hidden_csrf(&body);
    let logout = Request::post("/logout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &cookie)
        .body(Body::from(format!("csrf={csrf}")))
        .expect("req");
    let (status, headers, _) = send(&api, logout).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set = headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set.starts_with("sonde_session=;") && set.contains("Max-Age=0"), "{set}");
    let (_, _, body) = send(&api, get_root(Some(&cookie))).await;
    assert!(body.contains(r#"action="/login""#), "the old cookie is signed out: {body}");
}

/// `[status] secure_cookie` marks both cookies `Secure`, and a session
/// ends after `session_lifetime` whatever happens in between.
#[tokio::test]
async fn secure_cookies_when_asked_and_sessions_end_after_their_lifetime() {
    let api = Api::start_with("[status]\nsecure_cookie = true\nsession_lifetime = \"2s\"\n").await;
    let (status, headers, _) = send(&api, get_root(None)).await;
    assert_eq!(status, StatusCode::OK);
    let set = headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set.starts_with("sonde_login=") && set.contains("Secure"), "{set}");
    let (cookie, csrf) = login_csrf(&api).await;
    let (_, headers, _) = send(&api, login(ADMIN, &cookie, &csrf)).await;
    let set = headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set.contains("Secure") && set.contains("Max-Age=2"), "{set}");
    let session = session_cookie(&headers);
    let (_, _, body) = send(&api, get_root(Some(&session))).await;
    assert!(body.contains("table id=\"sources\""), "signed in: {body}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, _, body) = send(&api, get_root(Some(&session))).await;
    assert!(body.contains(r#"action="/login""#), "expired: {body}");
}

/// A loopback listener that accepts (and closes) every connection until
/// [`Peer::go_away`] drops it: then connections are refused.
pub(crate) struct Peer {
    pub(crate) port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Peer {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if listener.accept().is_err() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        Self { port, stop, thread: Some(thread) }
    }

    /// Returns once the listening socket is closed.
    fn go_away(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("listener thread");
        }
    }
}

/// A child process killed when the test ends, however it ends.
pub(crate) struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chromium and chromedriver, or why the test cannot run.
pub(crate) fn browser() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        names.iter().map(PathBuf::from).find(|p| p.exists()).ok_or_else(|| names.join(" or "))
    };
    let found = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])
        .and_then(|c| find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]).map(|d| (c, d)));
    match found {
        Ok(pair) => Some(pair),
        Err(missing) if in_ci() => {
            panic!("{missing} is required in CI (apt-get install chromium chromium-driver)")
        }
        Err(missing) => {
            eprintln!("SKIPPED: {missing} is missing (apt-get install chromium chromium-driver)");
            None
        }
    }
}

pub(crate) fn wait_until(what: &str, within: Duration, mut up: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !up() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

pub(crate) const KEY: &str = "status-page-admin-key-5e1b";

pub(crate) fn start_sonde(dir: &Path, port: u16, peer: u16) -> Killed {
    let config = format!(
        r#"
listen = "127.0.0.1:{port}"
data_dir = {data:?}
plugins_dir = {plugins:?}
cache_dir = {cache:?}
limits.min_interval = "100ms"

[[keys]]
key = "{KEY}"
role = "admin"

[[sources]]
name = "probe-me"
organization = "org_ops"
type = "tcp"
config = {{ host = "127.0.0.1", port = {peer} }}
interval = "300ms"
timeout = "2s"
retries = 0
"#,
        data = dir.join("data"),
        plugins = dir.join("plugins"),
        cache = crate::common::cache_dir(),
    );
    std::fs::write(dir.join("sonde.toml"), config).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--config"])
        .arg(dir.join("sonde.toml"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("sonde.log")).expect("log"))
        .spawn()
        .expect("start sonde serve");
    let child = Killed(child);
    wait_until("sonde serve to listen", Duration::from_secs(10), || listening(port));
    child
}

pub(crate) fn start_chromedriver(driver: &Path, port: u16) -> Killed {
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let child = Killed(child);
    wait_until("chromedriver to listen", Duration::from_secs(10), || listening(port));
    child
}

/// A browser session; `javascript: false` turns script off for every site.
pub(crate) async fn connect(driver_port: u16, chromium: &Path, profile: &Path, javascript: bool) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,800",
    ];
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = serde_json::Map::new();
    let mut options = serde_json::json!({ "binary": chromium, "args": args });
    if !javascript {
        options["prefs"] = serde_json::json!({ "profile.managed_default_content_settings.javascript": 2 });
    }
    caps.insert("goog:chromeOptions".into(), options);
    // The console, CSP violations included, for [`BrowserLog`].
    caps.insert("goog:loggingPrefs".into(), serde_json::json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver session: {e}"))
}

/// chromedriver's `POST /session/{id}/se/log` for the `browser` log: the
/// console messages since the last read.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// The browser's console messages so far.
async fn console(client: &Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    log.as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| format!("{} {}", e["level"], e["message"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

/// Signs in through the form.
async fn sign_in_form(client: &Client, base: &str) {
    client.goto(&format!("{base}/")).await.expect("open /");
    let key = client.find(Locator::Css("input[name=key]")).await.expect("the login form");
    key.send_keys(KEY).await.expect("type the key");
    client.find(Locator::Css("button[type=submit]")).await.expect("button").click().await.expect("sign in");
    client.wait().for_element(Locator::Css("table#sources")).await.expect("the status page after login");
}

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Polls the page (which refreshes itself) until the source shows `status`.
async fn wait_for_status(client: &Client, status: &str, within: Duration) {
    let selector = format!(r#"tr[data-source="probe-me"][data-status="{status}"]"#);
    let deadline = Instant::now() + within;
    while client.find(Locator::Css(&selector)).await.is_err() {
        if Instant::now() > deadline {
            let page = client.source().await.unwrap_or_default();
            panic!("probe-me never showed {status}: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text, or an attribute when `attr` names one, of the first element
/// matching `css`. The rows are swapped in by the script, and without it
/// the page reloads itself: an element found just before goes stale, so
/// each failed read is retried with a fresh find, for up to 5 s.
async fn read(client: &Client, css: &str, attr: Option<&str>) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            let value = match attr {
                Some(name) => element.attr(name).await.map(|v| v.unwrap_or_default()),
                None => element.text().await,
            };
            if let Ok(value) = value {
                return Some(value);
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_a_source_turns_from_ok_to_error_when_its_server_goes_away() {
    let Some((chromium, chromedriver)) = browser() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins dir");
    let mut peer = Peer::start();
    let port = closed_port();
    let _sonde = start_sonde(dir.path(), port, peer.port);
    let driver_port = closed_port();
    let _driver = start_chromedriver(&chromedriver, driver_port);
    let client = connect(driver_port, &chromium, &dir.path().join("profile"), true).await;
    let base = format!("http://127.0.0.1:{port}");

    let run = async {
        sign_in_form(&client, &base).await;
        // Refresh every second from here on.
        client.goto(&format!("{base}/?refresh=1")).await.expect("open /?refresh=1");
        wait_for_status(&client, "OK", Duration::from_secs(5)).await;

        peer.go_away();
        wait_for_status(&client, "ERROR", Duration::from_secs(5)).await;
        let text = read(&client, r#"tr[data-source="probe-me"]"#, None).await.expect("row text");
        assert!(text.contains("connection refused"), "{text}");
        // The script swapped the rows in (the page was not reloaded).
        let swaps = read(&client, "section#list", Some("data-swaps")).await.expect("the list");
        assert!(swaps.parse::<u32>().unwrap_or(0) >= 1, "the script never refreshed the rows");
        let page = client.source().await.expect("page source");
        assert!(!page.contains(KEY), "the admin key is on the page");
        assert!(page.contains("built-in"), "the plugin list is missing: {page}");
        // Filters are a GET form; searching narrows the list.
        client.goto(&format!("{base}/?q=PROBE&refresh=1")).await.expect("search");
        client.find(Locator::Css(r#"tr[data-source="probe-me"]"#)).await.expect("found by search");

        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_path("status-page.png"), &png).expect("write the screenshot");
        println!("screenshot: {}", screenshot_path("status-page.png").display());
        // A marker first, so that an empty log proves nothing was refused
        // rather than that the log could not be read.
        client.execute("console.error('sonde-log-marker')", Vec::new()).await.expect("log a marker");
        let log = console(&client).await;
        assert!(log.iter().any(|m| m.contains("sonde-log-marker")), "the console log is unreadable: {log:?}");
        let csp: Vec<&String> = log
            .iter()
            .filter(|m| m.contains("Content Security Policy") || m.contains("Refused to"))
            .collect();
        assert!(csp.is_empty(), "CSP violations in the console: {csp:#?}");
    };
    let outcome = tokio::time::timeout(Duration::from_secs(20), run).await;
    let _ = client.close().await;
    outcome.unwrap_or_else(|_| {
        let log = std::fs::read_to_string(dir.path().join("sonde.log")).unwrap_or_default();
        panic!("the browser test timed out; sonde's log:\n{log}")
    });

    // Script off: the list is there all the same and reloads itself.
    let client = connect(driver_port, &chromium, &dir.path().join("profile-nojs"), false).await;
    let run = async {
        sign_in_form(&client, &base).await;
        client.goto(&format!("{base}/?refresh=1")).await.expect("open /?refresh=1");
        wait_for_status(&client, "ERROR", Duration::from_secs(5)).await;
        let before = read(&client, "#updated", None).await.expect("#updated");
        let deadline = Instant::now() + Duration::from_secs(5);
        while read(&client, "#updated", None).await.is_none_or(|now| now == before) {
            assert!(Instant::now() < deadline, "the page never reloaded itself without script");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let swaps = read(&client, "section#list", Some("data-swaps")).await.expect("the list");
        assert_eq!(swaps, "", "script ran with JS off");
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_path("status-page-nojs.png"), &png).expect("write the screenshot");
        println!("screenshot: {}", screenshot_path("status-page-nojs.png").display());
    };
    let outcome = tokio::time::timeout(Duration::from_secs(20), run).await;
    let _ = client.close().await;
    outcome.expect("the browser test without script timed out");
}
