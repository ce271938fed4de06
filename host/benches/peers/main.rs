//! Sonde against the native tools operators use today, side by side in one
//! run on loopback: on-demand TCP and HTTP checks per second through
//! Sonde's HTTP API (the Aitronos test route, one inline check a request)
//! against Prometheus blackbox_exporter's `/probe` (`tcp_connect`,
//! `http_2xx`), both driven by `wrk` with 32 connections against a local
//! nginx, and the machine's own ceiling: a native loop of TCP connect and
//! close.
//!
//! Run with `cargo bench --bench peers` (Debian's `nginx`,
//! `prometheus-blackbox-exporter` and `wrk` must be installed). The sides
//! alternate A-B-A-B, and before every run the TIME_WAIT sockets of the
//! previous one are left to drain: tens of thousands of them slow every
//! connect on this machine, whichever side comes second. Only checks that
//! succeeded count; `wrk`'s script reads every answer.
//!
//! # Layout
//! - `peers`: nginx and blackbox_exporter as child processes.
//! - `load`: `wrk` runs and their parsed results; the TIME_WAIT drain.

mod load;
mod peers;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use load::{Load, drain_time_wait};
use peers::{Blackbox, Nginx};
use sonde::config::Config;
use sonde::service::Service;

/// Runs per side (alternating), and seconds per run unless
/// `SONDE_BENCH_SECONDS` says otherwise (1 makes a quick smoke run).
const ROUNDS: usize = 2;

fn seconds() -> u64 {
    std::env::var("SONDE_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10)
}
const KEY: &str = "bench-admin-key-0001";

/// `sonde serve`'s app, in this process on its own two-thread runtime.
fn start_sonde(dir: &std::path::Path) -> (String, tokio::runtime::Runtime) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\n[[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n",
        dir.join("data"),
        dir.join("plugins"),
    );
    let config = Config::parse(&text, "bench.toml").expect("config");
    let base = rt.block_on(async {
        let service = Service::start(&config).await.expect("start");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = sonde::server::app(Arc::clone(&service));
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    });
    (base, rt)
}

/// Connect + close as fast as one thread can, for `secs`.
fn native_connects(port: u16, secs: u64) -> f64 {
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            n += 1;
        }
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Runs `a` and `b` alternately; the mean rate of each.
fn side_by_side(a: &Load, b: &Load) -> (f64, f64) {
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for (load, out) in [(a, &mut ra), (b, &mut rb)] {
            drain_time_wait();
            let r = load.run(seconds());
            println!("  {:<28} {:>9.0}/s  ({} failed)", load.name, r.ok_per_second, r.failed);
            out.push(r.ok_per_second);
        }
    }
    (mean(&ra), mean(&rb))
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nginx = Nginx::start(dir.path());
    let blackbox = Blackbox::start(dir.path());
    let (sonde, _rt) = start_sonde(dir.path());
    let site = format!("http://127.0.0.1:{}/", nginx.port);
    println!(
        "machine: {} cores; nginx :{}, blackbox :{}, sonde {sonde}",
        num_cpus(),
        nginx.port,
        blackbox.port
    );

    let test = format!("{sonde}/v1/organizations/org_bench/knowledge/connectors/sources/test");
    let tcp_body = format!(
        r#"{{"source_definition_id": "tcp", "configuration": {{"host": "127.0.0.1", "port": {}}}}}"#,
        nginx.port
    );
    let http_body = format!(r#"{{"source_definition_id": "http", "configuration": {{"url": "{site}"}}}}"#);
    let rows = [
        (
            "TCP checks/s",
            Load::post("sonde tcp (HTTP API)", &test, KEY, &tcp_body, "\"succeeded\""),
            Load::get(
                "blackbox tcp_connect",
                &blackbox.probe("tcp_connect", &format!("127.0.0.1:{}", nginx.port)),
                "probe_success 1",
            ),
        ),
        (
            "HTTP checks/s",
            Load::post("sonde http (HTTP API)", &test, KEY, &http_body, "\"succeeded\""),
            Load::get("blackbox http_2xx", &blackbox.probe("http_2xx", &site), "probe_success 1"),
        ),
    ];
    let mut table = Vec::new();
    let mut sonde_tcp = 0.0;
    for (row, a, b) in &rows {
        println!("{row}:");
        let (sa, sb) = side_by_side(a, b);
        if *row == "TCP checks/s" {
            sonde_tcp = sa;
        }
        table.push(format!("| {row} | {sa:.0} | {} {sb:.0} | {:.2}× |", b.name, sa / sb));
    }
    drain_time_wait();
    let native = native_connects(nginx.port, seconds());
    println!("native connect + close, one thread: {native:.0}/s");
    table.push(format!(
        "| TCP check as a share of a native connect + close loop | {sonde_tcp:.0} | native {native:.0} | {:.0}% |",
        100.0 * sonde_tcp / native
    ));

    println!("\n| row | Sonde | peer | ratio |\n| --- | --- | --- | --- |");
    for line in table {
        println!("{line}");
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}
