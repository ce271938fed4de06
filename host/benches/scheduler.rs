//! Scheduler at scale: 100,000 sources of the built-in `tcp` probe at a 60 s
//! interval against local listeners, for 3 minutes, with `sonde serve`'s app
//! in this process (two worker threads, the embedded SQLite store, every
//! result recorded). It reports:
//!
//! - how late checks started: `sonde_check_start_delay_seconds`, the share
//!   within 1 s of the due time (the target is 99%);
//! - `GET /healthz/sources` (every source, as Hasura's API has it) timed once
//!   a second throughout, p50 / p99 / max (target p99 ≤ 100 ms);
//! - checks per second achieved against the target N/60, CPU, peak RSS
//!   (target ≤ 2 GiB), and the start-up time with N sources in the config.
//!
//! Run with `cargo bench --bench scheduler`; `SONDE_BENCH_SOURCES` and
//! `SONDE_BENCH_SECONDS` scale it down for a smoke run. The first minute
//! holds every source's first check (spread over the interval), so a run
//! shorter than two intervals measures mostly that.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sonde::config::Config;
use sonde::service::Service;

const KEY: &str = "bench-admin-key-0001";
const LISTENERS: usize = 8;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// utime + stime of this process, from /proc (Linux), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Loopback listeners that accept and close, each on its own thread.
fn listeners() -> Vec<u16> {
    (0..LISTENERS)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = l.local_addr().expect("addr").port();
            std::thread::spawn(move || {
                for conn in l.incoming() {
                    drop(conn);
                }
            });
            port
        })
        .collect()
}

/// One `GET` over a fresh connection, read to the end; its duration.
fn timed_get(addr: &str, path: &str) -> Duration {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {KEY}\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut body = Vec::new();
    s.read_to_end(&mut body).expect("read");
    assert!(body.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&body[..body.len().min(200)]));
    t0.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `(count ≤ 1 s, count)` of the start-delay histogram in `/metrics`.
fn start_delays(addr: &str) -> (f64, f64) {
    // Several series per source: far past ureq's default 10 MB body limit.
    let text = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .expect("metrics")
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .expect("text");
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("prometheus text");
    for sample in scrape.samples {
        if sample.metric == "sonde_check_start_delay_seconds"
            && let prometheus_parse::Value::Histogram(buckets) = sample.value
        {
            let within = buckets.iter().find(|b| b.less_than == 1.0).map_or(0.0, |b| b.count);
            let total = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
            return (within, total);
        }
    }
    panic!("no sonde_check_start_delay_seconds in /metrics");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sources = env("SONDE_BENCH_SOURCES", 100_000) as usize;
    let seconds = env("SONDE_BENCH_SECONDS", 180);
    let ports = listeners();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\n[[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n",
        dir.path().join("data"),
        dir.path().join("plugins"),
    );
    for i in 0..sources {
        text.push_str(&format!(
            "[[sources]]\nname = \"s{i}\"\norganization = \"org_{}\"\ntype = \"tcp\"\n\
             config = {{ host = \"127.0.0.1\", port = {} }}\ninterval = \"60s\"\n",
            i % 100,
            ports[i % ports.len()],
        ));
    }

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let t_start = Instant::now();
    let (addr, _service) = rt.block_on(async {
        let config = Config::parse(&text, "bench.toml").expect("config");
        let service = Service::start(&config).await.expect("start");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let app = sonde::server::app(Arc::clone(&service));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, service)
    });
    let startup = t_start.elapsed();
    drop(text);

    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (addr, stop) = (addr.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let tick = Instant::now();
                times.push(timed_get(&addr, "/healthz/sources"));
                std::thread::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed()));
            }
            times
        })
    };
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut polls = poller.join().expect("poller");
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let (within, started) = start_delays(&addr);
    polls.sort();

    println!("| measure | value | target |");
    println!("| --- | --- | --- |");
    println!("| sources (tcp, 60 s interval, {LISTENERS} loopback listeners) | {sources} | 100,000 |");
    println!("| run | {seconds} s after start-up | 3 min |");
    println!("| start-up to serving, sources from the config | {:.1} s | |", startup.as_secs_f64());
    println!(
        "| checks started | {started:.0} ({:.0}/s; due {:.0}/s) | |",
        started / wall,
        sources as f64 / 60.0
    );
    println!("| started within 1 s of due | {:.2}% | ≥ 99% |", 100.0 * within / started.max(1.0));
    println!(
        "| `GET /healthz/sources` p50 / p99 / max ({} polls) | {} / {} / {} | p99 ≤ 100 ms |",
        polls.len(),
        ms(percentile(&polls, 0.5)),
        ms(percentile(&polls, 0.99)),
        ms(*polls.last().expect("a poll")),
    );
    println!("| CPU of this process | {:.0}% of one core | |", 100.0 * cpu / wall);
    println!("| peak RSS | {:.0} MiB | ≤ 2,048 MiB |", peak_rss_mib());
}
