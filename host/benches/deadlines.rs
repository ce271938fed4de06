//! Deadlines under load: 1,000 checks at once, half spinning on the CPU and
//! half blocked on a peer that never answers, each with a 1 s deadline. A
//! TIMEOUT is only as good as its punctuality: every report's lateness past
//! its deadline (from the check's own start) is measured, for time slices of
//! 250 µs, 100 µs and Sonde's default, alternating A-B-C-A-B-C.
//!
//! Run with `cargo bench --bench deadlines`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sonde::runtime::{Plugin, Runtime, RuntimeConfig, Status};

const CHECKS: usize = 1000;
const DEADLINE: Duration = Duration::from_secs(1);
const ROUNDS: usize = 2;

/// One burst of `CHECKS`; the sorted lateness of every report, and how many
/// were not TIMEOUT.
async fn burst(rt: &Arc<Runtime>, plugin: &Plugin, port: u16) -> (Vec<Duration>, usize) {
    let tasks: Vec<_> = (0..CHECKS)
        .map(|i| {
            let (rt, plugin) = (Arc::clone(rt), plugin.clone());
            let config = if i % 2 == 0 {
                json!({"mode": "spin"})
            } else {
                json!({"mode": "block", "host": "127.0.0.1", "port": port})
            };
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = rt.check(&plugin, &config, DEADLINE).await;
                if r.status != Status::Timeout {
                    eprintln!("not a TIMEOUT: {:?} {:?} {:?}", r.status, r.message, r.extra);
                }
                (r.status, t0.elapsed())
            })
        })
        .collect();
    let mut late = Vec::with_capacity(CHECKS);
    let mut not_timeout = 0;
    for t in tasks {
        let (status, took) = t.await.expect("task");
        if status != Status::Timeout {
            not_timeout += 1;
        }
        late.push(took.saturating_sub(DEADLINE));
    }
    late.sort();
    (late, not_timeout)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let cache = std::env::temp_dir().join(format!("sonde-bench-cache-{}", std::process::id()));
    let silent = sonde_test_support::SilentListener::start();
    let mut sides = Vec::new();
    let default = RuntimeConfig::default().time_slice;
    for slice in [Duration::from_micros(250), Duration::from_micros(100), default] {
        let name = if slice == default { "Sonde's default" } else { "" };
        let config =
            RuntimeConfig { cache_dir: Some(cache.clone()), time_slice: slice, ..RuntimeConfig::default() };
        let rt = Arc::new(Runtime::new(config).expect("runtime"));
        let plugin = rt.load_file(&sonde_test_support::fixture("hostile")).await.expect("load");
        sides.push((name, slice, rt, plugin, Vec::new()));
    }
    for _ in 0..ROUNDS {
        for (name, _, rt, plugin, out) in &mut sides {
            let (late, not_timeout) = burst(rt, plugin, silent.port).await;
            assert_eq!(not_timeout, 0, "{name}: {not_timeout} checks were not TIMEOUT");
            out.push(late);
        }
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!(
        "{CHECKS} checks at once (half spinning, half blocked), deadline {DEADLINE:?}, every one TIMEOUT:"
    );
    println!("| time slice | round | lateness p50 | p99 | worst | worst report after its start |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, slice, _, _, runs) in &sides {
        for (i, late) in runs.iter().enumerate() {
            let pct = |p: f64| late[((late.len() as f64 - 1.0) * p) as usize];
            let worst = *late.last().expect("a report");
            println!(
                "| {} µs {name} | {} | {} | {} | {} | {:.3} s |",
                slice.as_micros(),
                i + 1,
                ms(pct(0.5)),
                ms(pct(0.99)),
                ms(worst),
                (DEADLINE + worst).as_secs_f64()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
}
