//! Deadlines under load: 1,000 checks at once, half spinning on the CPU and
//! half blocked on a peer that never answers, each with a 1 s deadline. A
//! TIMEOUT is only as good as its punctuality: every report's lateness past
//! its deadline (from the check's own start) is measured.
//!
//! Run with `cargo bench --bench deadlines`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sonde::runtime::{Runtime, RuntimeConfig, Status};

const CHECKS: usize = 1000;
const DEADLINE: Duration = Duration::from_secs(1);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let cache = std::env::temp_dir().join(format!("sonde-bench-cache-{}", std::process::id()));
    let rt = Arc::new(
        Runtime::new(RuntimeConfig { cache_dir: Some(cache), ..RuntimeConfig::default() }).expect("runtime"),
    );
    let plugin = rt.load_file(&sonde_test_support::fixture("hostile")).await.expect("load");
    let silent = sonde_test_support::SilentListener::start();

    let tasks: Vec<_> = (0..CHECKS)
        .map(|i| {
            let (rt, plugin) = (Arc::clone(&rt), plugin.clone());
            let config = if i % 2 == 0 {
                json!({"mode": "spin"})
            } else {
                json!({"mode": "block", "host": "127.0.0.1", "port": silent.port})
            };
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = rt.check(&plugin, &config, DEADLINE).await;
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
    let pct = |p: f64| late[((late.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    let worst = late.last().copied().unwrap_or_default();
    println!("{CHECKS} checks (spin and block), deadline {DEADLINE:?}: {not_timeout} not TIMEOUT");
    println!(
        "lateness past the deadline: p50 {:.1} ms, p99 {:.1} ms, worst {:.1} ms (worst report at {:.3} s)",
        pct(0.5),
        pct(0.99),
        worst.as_secs_f64() * 1e3,
        (DEADLINE + worst).as_secs_f64()
    );
}
