//! Public status pages (`[[status_pages]]`, DESIGN §11), served without a
//! key, with sources of two organizations whose names, configs (a URL
//! path) and check messages are each distinctive:
//!
//! - through the in-process router: a page shows exactly its chosen
//!   sources, in its order, and never another organization's (even when
//!   `sources` names one), a source it does not choose, a config value or
//!   a check's message, in its HTML or its JSON; the JSON's shape is exact;
//!   badges are SVG with the right state; unknown slugs and names are the
//!   router's plain 404; every answer carries `Cache-Control`; and many
//!   readers at once get one gathering (`updated_at` is the same);
//! - with the real `sonde serve` and headless Chromium: the page renders,
//!   the browser console shows no CSP violation, and a screenshot is kept
//!   in `CARGO_TARGET_TMPDIR/status-public-page.png` (skipped with a
//!   printed reason without Debian's `chromium` and `chromium-driver`,
//!   failed under `CI=true`);
//! - `reload`: `SIGHUP` replaces the pages, and a wrong
//!   `[[status_pages]]` table is refused naming its key, on a reload and
//!   at start.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use fantoccini::{ClientBuilder, Locator};
use http_body_util::BodyExt;
use serde_json::Value;
use sonde_test_support::{closed_port, open_port};
use tower::ServiceExt;

use crate::api::{ACME, Api, OTHER, SECRET};
use crate::serve::Serve;
use crate::status_page::{browser, send, start_chromedriver};

mod reload;

/// What a page must never show: the configs' URL paths and the names of
/// sources it does not choose.
const ACME_MARKER: &str = "zq-config-marker-4471";
const OTHER_MARKER: &str = "vx-other-marker-9932";

fn source(name: &str, org: &str, kind: &str, config: &str) -> String {
    format!(
        "[[sources]]\nname = {name:?}\norganization = {org:?}\ntype = {kind:?}\nconfig = {config}\n\
         interval = \"1h\"\ntimeout = \"2s\"\nretries = 0\n"
    )
}

/// The test's sources and pages, beside the API harness's fixtures.
fn config() -> String {
    let up = format!("{{ host = \"127.0.0.1\", port = {} }}", open_port());
    let down = |marker: &str| format!("{{ url = \"http://127.0.0.1:{}/{marker}\" }}", closed_port());
    [
        source("zephyr-gateway", "org_acme", "tcp", &up),
        source("quasar-ingest", "org_acme", "http", &down(ACME_MARKER)),
        source("nebula-hidden", "org_acme", "tcp", &up),
        source("vortex-private", "org_other", "http", &down(OTHER_MARKER)),
        r#"
[[status_pages]]
slug = "acme-public"
organization = "org_acme"
title = "Acme <Public> Status"
sources = ["zephyr-gateway", "quasar-ingest", "resting", "elsewhere", "vortex-private", "no-such-source", "zephyr-gateway"]

[[status_pages]]
slug = "acme-all"
organization = "org_acme"

[[status_pages]]
slug = "other"
organization = "org_other"

[[status_pages]]
slug = "green"
organization = "org_acme"
sources = ["zephyr-gateway"]

[[status_pages]]
slug = "waiting"
organization = "org_acme"
sources = ["resting"]

[[status_pages]]
slug = "nobody"
organization = "org_nobody"
"#
        .to_string(),
    ]
    .concat()
}

async fn get(api: &Api, uri: &str, key: Option<&str>) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::get(uri);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    send(api, req.body(Body::empty()).expect("request")).await
}

/// A 200 with `content_type` and the public cache header.
fn assert_public(uri: &str, (status, headers, body): &(StatusCode, HeaderMap, String), content_type: &str) {
    assert_eq!(*status, StatusCode::OK, "{uri}: {body}");
    let h = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(h(header::CONTENT_TYPE).starts_with(content_type), "{uri}: {headers:?}");
    assert_eq!(h(header::CACHE_CONTROL), "public, max-age=30", "{uri}");
}

/// Every distinctive string a page of `org_acme` choosing zephyr, quasar
/// and resting must not contain.
fn forbidden(messages: &[String]) -> Vec<String> {
    let mut never: Vec<String> = [
        ACME_MARKER,
        OTHER_MARKER,
        "nebula-hidden",
        "vortex-private",
        "elsewhere",
        "no-such-source",
        "org_acme",
        "org_other",
        SECRET,
        "127.0.0.1",
        "<script",
    ]
    .map(String::from)
    .to_vec();
    never.extend(messages.iter().cloned());
    never
}

#[tokio::test]
async fn a_page_shows_its_chosen_sources_only_and_nothing_of_their_configs_or_messages() {
    let api = Api::start_with(&config()).await;
    // Checked before any page is read: a page is gathered once per 30 s.
    let zephyr = api.checked("zephyr-gateway").await;
    let quasar = api.checked("quasar-ingest").await;
    let vortex = api.checked("vortex-private").await;
    api.checked("nebula-hidden").await;
    assert_eq!(zephyr.status.as_str(), "OK", "{zephyr:?}");
    assert_ne!(quasar.status.as_str(), "OK", "{quasar:?}");
    let messages: Vec<String> =
        [&quasar, &vortex].iter().filter_map(|c| c.message.clone()).filter(|m| m.len() >= 8).collect();
    assert!(!messages.is_empty(), "a failed check has a message to hide: {quasar:?}");

    // The HTML: the chosen sources of org_acme, in the page's order.
    let html = get(&api, "/status/acme-public", None).await;
    assert_public("/status/acme-public", &html, "text/html");
    let (_, headers, body) = &html;
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(csp.starts_with("default-src 'none'; style-src 'unsafe-inline'"), "{csp}");
    assert!(!csp.contains("script"), "{csp}");
    let at = |name: &str| body.find(&format!(r#"data-source="{name}""#));
    let order: Vec<_> = ["zephyr-gateway", "quasar-ingest", "resting"].iter().map(|n| at(n)).collect();
    assert!(order.iter().all(Option::is_some) && order.is_sorted(), "{order:?}: {body}");
    assert_eq!(body.matches("<article").count(), 3, "a repeated name shows once: {body}");
    assert_eq!(body.matches(r#"<svg class="chart""#).count(), 3, "{body}");
    assert!(body.contains(r#"data-source="zephyr-gateway" data-status="OK""#), "{body}");
    assert!(
        body.contains(&format!(r#"data-source="quasar-ingest" data-status="{}""#, quasar.status.as_str()))
    );
    assert!(body.contains(r#"data-source="resting" data-status="pending""#), "{body}");
    assert!(body.contains("Acme &lt;Public&gt; Status") && body.contains(r#"data-overall="down""#), "{body}");
    for never in forbidden(&messages) {
        assert!(!body.contains(&never), "{never:?} is on the page: {body}");
    }

    // The JSON: exactly DESIGN §11's shape, the same sources.
    let json = get(&api, "/status/acme-public.json", None).await;
    assert_public("/status/acme-public.json", &json, "application/json");
    for never in forbidden(&messages) {
        assert!(!json.2.contains(&never), "{never:?} is in the JSON: {}", json.2);
    }
    let doc: Value = serde_json::from_str(&json.2).expect("JSON");
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&doc), ["sources", "title", "updated_at"], "{doc}");
    assert_eq!(doc["title"], "Acme <Public> Status");
    let sources = doc["sources"].as_array().expect("sources");
    let names: Vec<_> = sources.iter().map(|s| s["name"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["zephyr-gateway", "quasar-ingest", "resting"], "{doc}");
    for s in sources {
        assert_eq!(keys(s), ["last_check", "name", "status", "uptime_24h", "uptime_7d"], "{s}");
    }
    assert_eq!(sources[0]["status"], "OK", "{doc}");
    assert_eq!((sources[0]["uptime_24h"].as_f64(), sources[0]["uptime_7d"].as_f64()), (Some(1.0), Some(1.0)));
    assert!(sources[0]["last_check"].as_str().is_some_and(|t| t.ends_with('Z')), "{doc}");
    assert_eq!(sources[1]["status"], quasar.status.as_str());
    assert_eq!(sources[1]["uptime_24h"], 0.0, "{doc}");
    for field in ["status", "uptime_24h", "uptime_7d", "last_check"] {
        assert!(sources[2][field].is_null(), "never checked: {field} is null: {doc}");
    }

    // Badges: SVG, the page's overall state and each chosen source's.
    for (uri, value) in [
        ("/status/acme-public/badge.svg", "down"),
        ("/status/green/badge.svg", "up"),
        ("/status/waiting/badge.svg", "pending"),
        ("/status/nobody/badge.svg", "unknown"),
        ("/status/acme-public/zephyr-gateway/badge.svg", "OK"),
        ("/status/acme-public/quasar-ingest/badge.svg", quasar.status.as_str()),
        ("/status/acme-public/resting/badge.svg", "pending"),
        ("/status/acme-all/nebula-hidden/badge.svg", "OK"),
        ("/status/other/vortex-private/badge.svg", vortex.status.as_str()),
    ] {
        let answer = get(&api, uri, None).await;
        assert_public(uri, &answer, "image/svg+xml");
        let svg = &answer.2;
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{uri}: {svg}");
        assert!(
            svg.contains(&format!(">{value}<")) && !svg.contains("<script"),
            "{uri} is not {value}: {svg}"
        );
    }

    // Not on the page, another organization's, or no page at all: the
    // router's own 404, whatever key is sent.
    let (_, _, plain_404) = get(&api, "/no/such/route", None).await;
    for uri in [
        "/status/acme-public/nebula-hidden/badge.svg",
        "/status/acme-public/elsewhere/badge.svg",
        "/status/acme-public/vortex-private/badge.svg",
        "/status/acme-public/no-such-source/badge.svg",
        "/status/other/zephyr-gateway/badge.svg",
        "/status/nope",
        "/status/nope.json",
        "/status/nope/badge.svg",
        "/status/Acme-Public",
        "/status/acme-public.json.json",
        "/status/acme-public.html",
        "/status/",
    ] {
        for key in [None, Some(ACME), Some(OTHER)] {
            let (status, _, body) = get(&api, uri, key).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri} with {key:?}: {body}");
            assert_eq!(body, plain_404, "{uri}: no hint");
        }
    }

    // A page without `sources` shows every source of its organization, and
    // only those.
    let (_, _, all) = get(&api, "/status/acme-all", None).await;
    for shown in ["zephyr-gateway", "quasar-ingest", "nebula-hidden", "healthy", "leaky"] {
        assert!(all.contains(&format!(r#"data-source="{shown}""#)), "{shown} missing: {all}");
    }
    for never in ["vortex-private", "elsewhere", ACME_MARKER, SECRET] {
        assert!(!all.contains(never), "{never} on acme-all: {all}");
    }
    let (_, _, other) = get(&api, "/status/other.json", None).await;
    let other: Value = serde_json::from_str(&other).expect("JSON");
    let names: Vec<_> =
        other["sources"].as_array().expect("sources").iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, ["elsewhere", "vortex-private"], "{other}");
}

/// Many readers at once cost one gathering: every answer within the cache
/// period carries the same `updated_at`; a key changes nothing.
#[tokio::test]
async fn many_readers_share_one_gathering() {
    let api = Api::start_with(&config()).await;
    let mut readers = tokio::task::JoinSet::new();
    for i in 0..40 {
        let app = api.app.clone();
        let mut req = Request::get("/status/acme-public.json");
        if let Some(key) = [None, Some(ACME), Some(OTHER)][i % 3] {
            req = req.header("x-api-key", key);
        }
        let req = req.body(Body::empty()).expect("request");
        readers.spawn(async move {
            let res = app.oneshot(req).await.expect("response");
            let status = res.status();
            let bytes = res.into_body().collect().await.expect("body").to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        });
    }
    let mut stamps = std::collections::BTreeSet::new();
    while let Some(answer) = readers.join_next().await {
        let (status, body) = answer.expect("reader");
        assert_eq!(status, StatusCode::OK, "{body}");
        stamps.insert(serde_json::from_str::<Value>(&body).expect("JSON")["updated_at"].to_string());
    }
    assert_eq!(stamps.len(), 1, "one gathering for 40 readers: {stamps:?}");
    // The HTML and badges are served from that same gathering.
    let (_, _, html) = get(&api, "/status/acme-public", None).await;
    let stamp = stamps.first().expect("one").trim_matches('"').to_string();
    let minute = format!("{} {} UTC", &stamp[..10], &stamp[11..16]);
    assert!(html.contains(&minute), "{minute}: {html}");
}

/// The page in a real browser, from the real binary: it renders, breaks
/// no CSP rule (the console is read through chromedriver's log), and a
/// screenshot is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_the_public_page_renders_without_a_csp_violation() {
    let Some((chromium, chromedriver)) = browser() else { return };
    let toml = format!("[[keys]]\nkey = {ACME:?}\norganization = \"org_acme\"\n{}", config())
        .replace("interval = \"1h\"", "interval = \"200ms\"");
    let serve = Serve::start(&toml);
    // Every chosen source checked before the first read (gathered once per 30 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, list) = serve.call("GET", "/api/v1/sources", ACME, None);
        let ids: Vec<String> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["id"].as_str().map(String::from))
            .collect();
        let checked = ids.len() >= 3
            && ids.iter().all(|id| {
                let (_, checks) = serve.call("GET", &format!("/v1/sources/{id}/checks?limit=5"), ACME, None);
                checks.to_string().contains("reported_at\":\"")
            });
        if checked {
            break;
        }
        assert!(Instant::now() < deadline, "the sources were never checked: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let dir = tempfile::tempdir().expect("tmp");
    let driver_port = closed_port();
    let _driver = start_chromedriver(&chromedriver, driver_port);
    let mut caps = serde_json::Map::new();
    let args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1000,900"]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", dir.path().join("profile").display())])
        .collect::<Vec<_>>();
    caps.insert("goog:chromeOptions".into(), serde_json::json!({ "binary": chromium, "args": args }));
    caps.insert("goog:loggingPrefs".into(), serde_json::json!({ "browser": "ALL" }));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver session: {e}"));
    let run = async {
        client.goto(&format!("{}/status/acme-public", serve.base)).await.expect("open the page");
        for name in ["zephyr-gateway", "quasar-ingest"] {
            let card = format!(r#"article[data-source="{name}"] svg.chart"#);
            client.find(Locator::Css(&card)).await.unwrap_or_else(|e| panic!("{name}'s chart: {e}"));
        }
        let text = client.find(Locator::Css("main")).await.expect("main").text().await.expect("text");
        assert!(text.contains("Acme <Public> Status") && !text.contains(ACME_MARKER), "{text}");
        let png = client.screenshot().await.expect("screenshot");
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-public-page.png");
        std::fs::write(&path, &png).expect("write the screenshot");
        println!("screenshot: {}", path.display());

        // The console, through chromedriver's (non-W3C) log endpoint; each
        // read returns what was logged since the last one.
        let id = client.session_id().await.expect("session id").expect("a session");
        let url = format!("http://127.0.0.1:{driver_port}/session/{id}/se/log");
        let console = || {
            let url = url.clone();
            tokio::task::spawn_blocking(move || {
                let body = serde_json::json!({ "type": "browser" });
                ureq::post(&url).send_json(body)?.body_mut().read_to_string()
            })
        };
        let log = console().await.expect("join").expect("chromedriver's log endpoint");
        assert!(!log.contains("Content Security Policy") && !log.contains("Refused to"), "{log}");
        println!("browser console: {log}");
        // The control: a line logged now is read back, so an empty log
        // above means no violation, not a deaf channel.
        client.execute("console.error('console-control-5b1e')", vec![]).await.expect("log a line");
        let control = console().await.expect("join").expect("chromedriver's log endpoint");
        assert!(control.contains("console-control-5b1e"), "the console is not read: {control}");
    };
    let outcome = tokio::time::timeout(Duration::from_secs(30), run).await;
    let _ = client.close().await;
    outcome.unwrap_or_else(|_| panic!("the browser test timed out; sonde's log:\n{}", serve.logs()));
}
