//! The operators' status page list at 100,000 sources: `tcp` sources in 50
//! organizations in the embedded SQLite store, each with a finished check
//! (about 5% ERROR, TIMEOUT or FAILED) and the 2,000 of the first
//! organization with 30 each, so the first page's rows carry full history
//! strips. The service is `sonde serve`'s app in this process (two worker
//! threads), called in-process (`oneshot`) with a signed-in session. For
//! the first page, the next page, a search, a filter, an organization
//! key's first page and the fragment (`GET /rows`) it reports the server
//! time (median and max of several requests, body read) and the bytes.
//!
//! Run with `cargo bench --bench page`; `SONDE_BENCH_SOURCES` scales it
//! down for a smoke run. Targets (DESIGN §11): the first page under 300 ms
//! and 300 KB, search and filter under 300 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use sonde::config::Config;
use sonde::model::{CheckRecord, CheckStatus, Policy, SourceSpec, SourceState, Trigger};
use sonde::service::Service;
use sonde::store::Store;
use sonde::store::sqlite::SqliteStore;
use tower::ServiceExt;

const ADMIN: &str = "bench-admin-key-0001";
const ORG_KEY: &str = "bench-org-key-0007";
const ORGANIZATIONS: usize = 50;
const STRIP: usize = 30;
const ROUNDS: usize = 7;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn status_of(i: usize) -> CheckStatus {
    match i % 100 {
        0..=2 => CheckStatus::Error,
        3 => CheckStatus::Timeout,
        4 => CheckStatus::Failed,
        _ => CheckStatus::Ok,
    }
}

/// The store, filled before the service opens it.
async fn fill(data: &std::path::Path, n: usize) {
    let store = SqliteStore::open(data).await.expect("open sqlite");
    // The longest interval the default bounds allow: no scheduled check
    // moves a status while the bench runs.
    let policy = Policy { interval: Duration::from_secs(30 * 24 * 3600), ..Policy::default() };
    let specs: Vec<(SourceSpec, serde_json::Value)> = (0..n)
        .map(|i| {
            let spec = SourceSpec {
                name: format!("src-{i:06}"),
                organization: format!("org_{:02}", i % ORGANIZATIONS),
                workspace: None,
                source_type: "tcp".into(),
                config: json!({ "host": "127.0.0.1", "port": 9 }),
                state: if i % 97 == 0 { SourceState::Paused } else { SourceState::Active },
                policy,
                depends_on: Vec::new(),
                placement: Default::default(),
            };
            (spec, json!({}))
        })
        .collect();
    let sources = store.upsert_sources(&specs).await.expect("upsert");
    let now = chrono::Utc::now();
    for (i, source) in sources.iter().enumerate() {
        let count = if i % ORGANIZATIONS == 0 { STRIP } else { 1 };
        for k in 0..count {
            // The newest (k = 0) carries the source's status.
            let status = if k == 0 { status_of(i) } else { status_of(i + k) };
            let mut c = CheckRecord::new(source.id, Trigger::Schedule, status);
            c.created_at = now - chrono::Duration::minutes(10 * k as i64 + 1);
            c.reported_at = Some(c.created_at);
            c.attempts = 1;
            c.duration_ms = Some(3);
            if status != CheckStatus::Ok {
                c.message = Some("connect to 127.0.0.1:9: connection refused (os error 111)".into());
            }
            store.insert_check(&c).await.expect("insert check");
        }
    }
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app.clone().oneshot(req).await.expect("response");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes.to_vec())
}

fn cookie_named(headers: &axum::http::HeaderMap, name: &str) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie: {headers:?}"))
        .to_string()
}

/// Signs in through the form; the session cookie.
async fn sign_in(app: &axum::Router, key: &str) -> String {
    let (_, headers, body) = send(app, Request::get("/").body(Body::empty()).expect("req")).await;
    let body = String::from_utf8_lossy(&body);
    let marker = r#"name="csrf" value=""#;
    let at = body.find(marker).expect("csrf field") + marker.len();
    let csrf = &body[at..at + body[at..].find('"').expect("end")];
    let login = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie_named(&headers, "sonde_login"))
        .body(Body::from(format!("csrf={csrf}&key={key}")))
        .expect("req");
    let (status, headers, _) = send(app, login).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    cookie_named(&headers, "sonde_session")
}

/// Median and max server time of `path`, and its bytes.
async fn measure(app: &axum::Router, cookie: &str, path: &str) -> (Duration, Duration, usize, String) {
    let mut times = Vec::new();
    let mut last = Vec::new();
    for _ in 0..ROUNDS {
        let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).expect("req");
        let t0 = Instant::now();
        let (status, _, body) = send(app, req).await;
        times.push(t0.elapsed());
        assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&body));
        last = body;
    }
    times.sort();
    let text = String::from_utf8_lossy(&last).into_owned();
    (times[ROUNDS / 2], times[ROUNDS - 1], last.len(), text)
}

fn next_link(page: &str) -> String {
    let marker = r#"rel="next" href=""#;
    let at = page.find(marker).expect("a next link") + marker.len();
    page[at..at + page[at..].find('"').expect("end")].replace("&amp;", "&")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let n = env("SONDE_BENCH_SOURCES", 100_000) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins");
    let t0 = Instant::now();
    fill(&data, n).await;
    println!("filled {n} sources in {:.1} s", t0.elapsed().as_secs_f64());

    let text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\n\
         [[keys]]\nkey = {ADMIN:?}\nrole = \"admin\"\n\
         [[keys]]\nkey = {ORG_KEY:?}\norganization = \"org_07\"\n",
        data,
        dir.path().join("plugins"),
        dir.path().join("cache"),
    );
    let config = Config::parse(&text, "bench.toml").expect("config");
    let service = Service::start(&config).await.expect("start");
    let app = sonde::server::app(Arc::clone(&service));
    let admin = sign_in(&app, ADMIN).await;
    let org = sign_in(&app, ORG_KEY).await;

    let (_, _, _, first) = measure(&app, &admin, "/").await;
    let next = next_link(&first);
    let cases = [
        ("first page (admin)", admin.as_str(), "/".to_string()),
        ("next page", admin.as_str(), next),
        ("search q=src-0421", admin.as_str(), "/?q=src-0421".to_string()),
        (
            "filter status=ERROR type=tcp org=org_01",
            admin.as_str(),
            "/?status=ERROR&type=tcp&org=org_01".into(),
        ),
        ("filter paused=yes", admin.as_str(), "/?paused=yes".to_string()),
        ("first page (org key, 2% of sources)", org.as_str(), "/".to_string()),
        ("fragment /rows", admin.as_str(), "/rows".to_string()),
    ];
    println!("{n} sources, {ORGANIZATIONS} organizations; median and max of {ROUNDS} requests");
    for (what, cookie, path) in cases {
        let (median, max, bytes, page) = measure(&app, cookie, &path).await;
        let rows = page.matches("<tr class=\"source\"").count();
        println!(
            "{what:<42} {:>7.1} ms (max {:>7.1} ms) {:>8} bytes {:>4} rows",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            bytes,
            rows
        );
    }
}
