//! One organization's inline test while another floods (DESIGN §5): org_b
//! tests a healthy tcp source (a loopback listener) again and again, once
//! with org_a quiet and once with org_a keeping 200 inline tests of a peer
//! that never answers (2 s timeout) in flight, alternating quiet-flood
//! `ROUNDS` times. Requests go through `sonde serve`'s router; the p50 and
//! p99 of org_b's answer times are printed per side.
//!
//! Run with `cargo bench --bench fairness` (release build).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

const ROUNDS: usize = 2;
const SAMPLES: usize = 100;
const FLOOD: usize = 200;
const A_KEY: &str = "bench-org-a-key-0001";
const B_KEY: &str = "bench-org-b-key-0002";

async fn post(app: &axum::Router, org: &str, key: &str, body: &Value) -> StatusCode {
    let uri = format!("/v1/organizations/{org}/knowledge/connectors/sources/test");
    let req = Request::post(uri)
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
    status
}

/// org_b's answer times, sorted, while `flood` is (or is not) running.
async fn side(app: &axum::Router, healthy: u16, silent: u16, flood: bool) -> Vec<Duration> {
    let stop = Arc::new(AtomicBool::new(false));
    let slow =
        json!({"source_definition_id": "redis", "configuration": {"host": "127.0.0.1", "port": silent}});
    let flooders: Vec<_> = (0..if flood { FLOOD } else { 0 })
        .map(|_| {
            let (app, slow, stop) = (app.clone(), slow.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    post(&app, "org_a", A_KEY, &slow).await;
                }
            })
        })
        .collect();
    if flood {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let fine =
        json!({"source_definition_id": "tcp", "configuration": {"host": "127.0.0.1", "port": healthy}});
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t0 = Instant::now();
        let status = post(app, "org_b", B_KEY, &fine).await;
        times.push(t0.elapsed());
        assert_eq!(status, StatusCode::OK);
    }
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    times.sort();
    times
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let dir = tempfile::tempdir().expect("tmp");
    let silent = sonde_test_support::SilentListener::start();
    // Accepts and closes, so its backlog never fills.
    let healthy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let healthy_port = healthy.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in healthy.incoming() {
            drop(conn);
        }
    });
    let text = format!(
        "data_dir = {:?}\ncache_dir = {:?}\n[checks]\nmax_concurrent = 16\n[defaults]\ntimeout = \"2s\"\n\
         [[keys]]\nkey = {A_KEY:?}\norganization = \"org_a\"\n[[keys]]\nkey = {B_KEY:?}\norganization = \"org_b\"\n",
        dir.path().join("data"),
        // Kept between runs: compiling the built-in probes is not measured here.
        std::env::temp_dir().join("sonde-bench-fairness-compiled"),
    );
    let config = sonde::config::Config::parse(&text, "bench.toml").expect("config");
    let service = sonde::service::Service::start(&config).await.expect("service");
    let app = sonde::server::app(Arc::clone(&service));
    let mut quiet = Vec::new();
    let mut flooded = Vec::new();
    for round in 0..ROUNDS {
        let q = side(&app, healthy_port, silent.port, false).await;
        let f = side(&app, healthy_port, silent.port, true).await;
        println!(
            "round {round}: quiet p50 {:?} p99 {:?} | flood p50 {:?} p99 {:?}",
            pct(&q, 0.5),
            pct(&q, 0.99),
            pct(&f, 0.5),
            pct(&f, 0.99)
        );
        quiet.extend(q);
        flooded.extend(f);
    }
    quiet.sort();
    flooded.sort();
    println!("| org_b's inline test ({} samples per side) | p50 | p99 |", SAMPLES * ROUNDS);
    println!("| --- | --- | --- |");
    println!("| org_a quiet | {:?} | {:?} |", pct(&quiet, 0.5), pct(&quiet, 0.99));
    println!(
        "| org_a floods ({FLOOD} inline tests in flight, 2 s timeout) | {:?} | {:?} |",
        pct(&flooded, 0.5),
        pct(&flooded, 0.99)
    );
}
