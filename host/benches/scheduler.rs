//! Scheduler sizing: N sources at a 10 s interval, run for 30 s each, side
//! by side in one run: checks per second achieved against the target N/10,
//! CPU used by the process, and how evenly each source's checks are spaced.
//!
//! Run with `cargo bench --bench scheduler`. The probe is the hostile
//! fixture's trivial `ok` mode, so this measures Sonde, not a database.

use std::time::{Duration, Instant};

use sonde::config::Config;
use sonde::service::Service;

fn cpu_seconds() -> f64 {
    // utime + stime of this process, from /proc (Linux), in clock ticks.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

async fn run(sources: usize, seconds: u64) -> String {
    let dir = std::env::temp_dir().join(format!("sonde-sched-bench-{}-{sources}", std::process::id()));
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    std::fs::copy(sonde_test_support::fixture("hostile"), plugins.join("hostile.wasm")).expect("fixture");
    let mut text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\n[checks]\nmax_concurrent = 128\n[history]\nmax_per_source = 100\n",
        dir.join("data"),
        plugins
    );
    for i in 0..sources {
        text.push_str(&format!(
            "[[sources]]\nname = \"s{i}\"\norganization = \"org_{}\"\ntype = \"hostile\"\n\
             config = {{ mode = \"ok\" }}\ninterval = \"10s\"\n",
            i % 20
        ));
    }
    let config = Config::parse(&text, "bench.toml").expect("config");
    let t_start = Instant::now();
    let service = Service::start(&config).await.expect("start");
    let startup = t_start.elapsed();

    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;

    // Checks per source during the window, and their spacing.
    let mut total = 0usize;
    let mut gaps_ms: Vec<i64> = Vec::new();
    for s in service.list_sources().await.expect("list") {
        let h = service.history(s.id, 100, None).await.expect("history");
        total += h.len();
        gaps_ms.extend(h.windows(2).map(|w| (w[0].created_at - w[1].created_at).num_milliseconds()));
    }
    gaps_ms.sort();
    let pct = |p: f64| gaps_ms.get(((gaps_ms.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    format!(
        "| {sources} | {:.0} | {:.0} | {:.0}% | {} / {} / {} ms | {:.1} s |",
        sources as f64 / 10.0,
        total as f64 / wall,
        100.0 * cpu / wall,
        pct(0.01),
        pct(0.5),
        pct(0.99),
        startup.as_secs_f64()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!(
        "| sources | target checks/s | achieved checks/s | CPU (of one core) | gap p1 / p50 / p99 | start-up |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for n in [1_000, 10_000] {
        println!("{}", run(n, 30).await);
    }
}
