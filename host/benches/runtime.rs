//! Runtime benchmark: plugin load with and without the compiled cache, the
//! latency of a fresh sandbox running a trivial check, and checks per second
//! on both cores; the last two for wasmtime's pooling defaults and for
//! Sonde's [`PoolTuning`], alternating A-B-A-B in one run.
//!
//! Run with `cargo bench --bench runtime`. Every figure comes from the same
//! run, side by side, because this machine is noisy.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sonde::runtime::{Plugin, PoolTuning, Runtime, RuntimeConfig, Status};

const ROUNDS: usize = 3;
const SEQUENTIAL: usize = 5000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn runtime(cache: Option<PathBuf>, pool: PoolTuning) -> Runtime {
    // Two engines live in this process at once: keep their pools small.
    Runtime::new(RuntimeConfig { cache_dir: cache, pool, max_instances: 64, ..RuntimeConfig::default() })
        .expect("runtime")
}

async fn load(rt: &Runtime, bytes: &[u8]) -> (Plugin, Duration) {
    let t0 = Instant::now();
    let p = rt.load(sonde::runtime::Origin::File("bench.wasm".into()), bytes).await.expect("load");
    (p, t0.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One side: a runtime with its tuning, and what it measured.
struct Side {
    name: &'static str,
    rt: Arc<Runtime>,
    plugin: Plugin,
    latencies: Vec<Duration>,
    rates: Vec<f64>,
}

impl Side {
    /// One check at a time: a fresh sandbox, one instance, `endpoints` and
    /// `check` of the trivial probe, and the config validated once.
    async fn sequential(&mut self) {
        let config = json!({"mode": "ok"});
        for _ in 0..SEQUENTIAL {
            let t0 = Instant::now();
            let r = self.rt.check(&self.plugin, &config, Duration::from_secs(5)).await;
            self.latencies.push(t0.elapsed());
            assert_eq!(r.status, Status::Ok);
        }
    }

    /// 32 concurrent loops for 3 s on the two worker threads.
    async fn throughput(&mut self) {
        let stop = Instant::now() + Duration::from_secs(3);
        let workers: Vec<_> = (0..32)
            .map(|_| {
                let (rt, plugin) = (self.rt.clone(), self.plugin.clone());
                tokio::spawn(async move {
                    let config = json!({"mode": "ok"});
                    let mut n = 0u64;
                    while Instant::now() < stop {
                        let r = rt.check(&plugin, &config, Duration::from_secs(5)).await;
                        assert_eq!(r.status, Status::Ok);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let t0 = Instant::now();
        let mut total = 0;
        for w in workers {
            total += w.await.expect("worker");
        }
        self.rates.push(total as f64 / t0.elapsed().as_secs_f64());
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let path = sonde_test_support::fixture("hostile");
    let bytes = std::fs::read(&path).expect("fixture");
    let cache = std::env::temp_dir().join(format!("sonde-bench-cache-{}", std::process::id()));

    // Load: compile every time vs. a cache hit (a fresh Runtime each time, as
    // at process start).
    let mut compile = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..5 {
        compile.push(load(&runtime(None, PoolTuning::default()), &bytes).await.1);
        let _ = load(&runtime(Some(cache.clone()), PoolTuning::default()), &bytes).await; // fill
        cached.push(load(&runtime(Some(cache.clone()), PoolTuning::default()), &bytes).await.1);
    }

    let mut sides = Vec::new();
    for (name, tuning) in [("wasmtime defaults", PoolTuning::WASMTIME), ("Sonde", PoolTuning::default())] {
        let rt = Arc::new(runtime(Some(cache.clone()), tuning));
        let (plugin, _) = load(&rt, &bytes).await;
        for _ in 0..200 {
            rt.check(&plugin, &json!({"mode": "ok"}), Duration::from_secs(5)).await;
        }
        sides.push(Side { name, rt, plugin, latencies: Vec::new(), rates: Vec::new() });
    }
    for _ in 0..ROUNDS {
        for side in &mut sides {
            side.sequential().await;
            side.throughput().await;
        }
    }

    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| plugin load, compiled (no cache), median of 5 | {} |", ms(median(compile)));
    println!("| plugin load, precompiled cache hit, median of 5 | {} |", ms(median(cached)));
    println!();
    println!(
        "| pool tuning | trivial check p50 | p99 | checks/s, 2 threads, 32 in flight (mean of {ROUNDS}) |"
    );
    println!("| --- | --- | --- | --- |");
    for side in &mut sides {
        side.latencies.sort();
        let rate = side.rates.iter().sum::<f64>() / side.rates.len() as f64;
        println!(
            "| {} | {} | {} | {rate:.0} |",
            side.name,
            us(percentile(&side.latencies, 0.50)),
            us(percentile(&side.latencies, 0.99)),
        );
    }
    let _ = std::fs::remove_dir_all(&cache);
}
