//! Runtime benchmark: plugin load with and without the compiled cache,
//! per-check latency, and checks per second on both cores.
//!
//! Run with `cargo bench --bench runtime`. Every figure comes from the same
//! run, side by side, because this machine is noisy.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sonde::runtime::{Plugin, Runtime, RuntimeConfig, Status};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn runtime(cache: Option<PathBuf>) -> Runtime {
    Runtime::new(RuntimeConfig { cache_dir: cache, ..RuntimeConfig::default() }).expect("runtime")
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
        compile.push(load(&runtime(None), &bytes).await.1);
        let _ = load(&runtime(Some(cache.clone())), &bytes).await; // fill
        cached.push(load(&runtime(Some(cache.clone())), &bytes).await.1);
    }

    let rt = Arc::new(runtime(Some(cache.clone())));
    let (plugin, _) = load(&rt, &bytes).await;
    let config = json!({"mode": "ok"});
    let timeout = Duration::from_secs(5);

    // Latency: one check at a time (two instantiate+call pairs: endpoints
    // and check, each in a fresh Store).
    for _ in 0..200 {
        rt.check(&plugin, &config, timeout).await;
    }
    let mut lat = Vec::with_capacity(5000);
    for _ in 0..5000 {
        let t0 = Instant::now();
        let r = rt.check(&plugin, &config, timeout).await;
        lat.push(t0.elapsed());
        assert_eq!(r.status, Status::Ok);
    }
    lat.sort();

    // Throughput: 32 concurrent loops for 3 s on the two worker threads.
    let stop = Instant::now() + Duration::from_secs(3);
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (rt, plugin, config) = (rt.clone(), plugin.clone(), config.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < stop {
                    let r = rt.check(&plugin, &config, timeout).await;
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
    let rate = total as f64 / t0.elapsed().as_secs_f64();

    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| plugin load, compiled (no cache), median of 5 | {} |", ms(median(compile)));
    println!("| plugin load, precompiled cache hit, median of 5 | {} |", ms(median(cached)));
    println!("| check latency p50 (endpoints + check, 2 instances) | {} |", ms(percentile(&lat, 0.50)));
    println!("| check latency p99 | {} |", ms(percentile(&lat, 0.99)));
    println!("| checks/s, 2 worker threads, 32 in flight | {rate:.0} |");
    let _ = std::fs::remove_dir_all(&cache);
}
