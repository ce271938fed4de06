//! A public status page read by many: 200 sources with a day of checks
//! each (288, one per 5 minutes), on SQLite. Measured: one gathering of
//! the page (what the first reader of a period pays), a read served from
//! the page cache (its HTML and JSON rendered once), and 200 readers arriving at once on a cold cache (they
//! share one gathering: the bench counts the distinct `updated_at`s).
//!
//! Run with `cargo bench --bench public_pages`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use sonde::config::Config;
use sonde::model::{CheckRecord, CheckStatus, Trigger};
use sonde::service::Service;
use tower::ServiceExt;

const SOURCES: usize = 200;
const CHECKS_PER_SOURCE: i64 = 288;
const READS: usize = 1000;
const READERS: usize = 200;

fn config_text(dir: &std::path::Path) -> String {
    let mut text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\n\
         [[status_pages]]\nslug = \"bench\"\norganization = \"org_bench\"\n",
        dir.join("data"),
        dir.join("plugins"),
        std::env::var_os("SONDE_BENCH_CACHE").map_or_else(|| dir.join("compiled"), std::path::PathBuf::from),
    );
    for i in 0..SOURCES {
        // Paused: the history below is all they have; nothing is checked.
        text.push_str(&format!(
            "[[sources]]\nname = \"s{i:03}\"\norganization = \"org_bench\"\ntype = \"tcp\"\n\
             config = {{ host = \"127.0.0.1\", port = 9 }}\nstate = \"paused\"\n"
        ));
    }
    text
}

async fn get(app: &axum::Router, uri: &str) -> (u16, Vec<u8>) {
    let req = Request::get(uri).body(Body::empty()).expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status().as_u16();
    (status, res.into_body().collect().await.expect("body").to_bytes().to_vec())
}

fn stamp(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    v["updated_at"].to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins");
    let config = Config::parse(&config_text(dir.path()), "bench.toml").expect("config");
    let service = Service::start(&config).await.expect("start");
    let now = chrono::Utc::now();
    for source in service.list_sources().await.expect("list") {
        for k in 0..CHECKS_PER_SOURCE {
            let status = if k % 40 == 0 { CheckStatus::Error } else { CheckStatus::Ok };
            let mut c = CheckRecord::new(source.id, Trigger::Schedule, status);
            c.created_at = now - chrono::Duration::minutes(5 * k + 1);
            c.reported_at = Some(c.created_at);
            c.duration_ms = Some(5 + (k as u64 * 7) % 90);
            service.store().insert_check(&c).await.expect("insert");
        }
    }
    println!("{SOURCES} sources x {CHECKS_PER_SOURCE} checks stored");

    let page = service.status_page("bench").expect("the page");
    let mut gathers = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let data = sonde::server::public::data::gather(&service, &page).await.expect("gather");
        gathers.push(t0.elapsed());
        assert_eq!(data.sources.len(), SOURCES);
    }
    gathers.sort();
    println!("one gathering (what a period's first reader pays): median {:?} of 5", gathers[2]);

    let app = sonde::server::app(Arc::clone(&service));
    let (status, first) = get(&app, "/status/bench.json").await;
    assert_eq!(status, 200);
    let t0 = Instant::now();
    let mut last = Vec::new();
    for _ in 0..READS {
        let (status, body) = get(&app, "/status/bench.json").await;
        assert_eq!(status, 200);
        last = body;
    }
    let json = t0.elapsed() / READS as u32;
    assert_eq!(stamp(&last), stamp(&first), "served from the cache");
    let t0 = Instant::now();
    let mut size = 0;
    for _ in 0..READS {
        let (status, body) = get(&app, "/status/bench").await;
        assert_eq!(status, 200);
        size = body.len();
    }
    let html = t0.elapsed() / READS as u32;
    println!(
        "a cached read: {json:?} (JSON, {} KB), {html:?} (HTML, {} KB with {SOURCES} charts), mean of {READS}",
        last.len() / 1024,
        size / 1024
    );

    // A cold cache: a new router (a new cache), many readers at once.
    let app = sonde::server::app(Arc::clone(&service));
    let t0 = Instant::now();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, "/status/bench.json").await })
        })
        .collect();
    let mut stamps = BTreeSet::new();
    for r in readers {
        let (status, body) = r.await.expect("reader");
        assert_eq!(status, 200);
        stamps.insert(stamp(&body));
    }
    let took = t0.elapsed();
    println!("{READERS} readers at once, cold: {took:?} in all, {} gathering(s)", stamps.len());
    assert_eq!(stamps.len(), 1);
}
