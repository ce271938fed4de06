//! What credentials by the host cost (issue 20, "Measured"):
//!
//! 1. [`tokens`]: token requests per 1,000 checks of one OAuth source, and
//!    one per token lifetime when the token is short-lived, counted by the
//!    real authorization server (npm `oidc-provider`).
//! 2. [`sign`] and [`checks`]: the host's added CPU per signed (SigV4,
//!    SharedKey) and per cached-token request: the host's own code on one
//!    request, then whole `http` checks with and without `auth`.
//! 3. [`s3`]: S3 checks per second against SeaweedFS, Sonde's `s3` probe
//!    against a boto3 `head_bucket` loop, alternating.
//! 4. [`servers`]: the start-up of each real server the auth tests run
//!    (part of what this issue adds to CI).
//!
//! Run with `cargo bench -p sonde --bench auth` (all three), or name parts:
//! `cargo bench -p sonde --bench auth -- tokens sign checks s3 servers`. Every
//! comparison is made in one run, alternating, because this machine is
//! noisy; the load average is printed with the tables.

mod checks;
mod s3;
mod servers;
mod sign;
mod tokens;

use std::path::PathBuf;
use std::time::Duration;

use sonde::runtime::{Plugin, Runtime, RuntimeConfig};

/// The deadline of every check.
const DEADLINE: Duration = Duration::from_secs(10);

/// A runtime with a compile cache of its own in the bench's target dir.
fn runtime() -> Runtime {
    let cache = std::env::temp_dir().join(format!("sonde-bench-auth-{}", std::process::id()));
    Runtime::new(RuntimeConfig { cache_dir: Some(cache), ..RuntimeConfig::default() }).expect("runtime")
}

async fn probe(rt: &Runtime, name: &str) -> Plugin {
    let path: PathBuf = sonde_test_support::probe(name);
    rt.load_file(&path).await.unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

/// `/proc/loadavg`'s three averages, to print beside the numbers.
fn load() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let avg: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {} (2 cores)", avg.join(" "))
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// The median of `v` (sorted here).
fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let all = ["tokens", "sign", "checks", "s3", "servers"];
    let parts: Vec<&str> = if args.is_empty() {
        all.to_vec()
    } else {
        all.into_iter().filter(|p| args.iter().any(|a| a == p)).collect()
    };
    println!("{} UTC, {}", chrono::Utc::now().format("%Y-%m-%d %H:%M"), load());
    // The host's own code is timed on this thread alone (`sign`); checks
    // run on two worker threads, as `sonde serve` on this machine would.
    if parts.contains(&"sign") {
        sign::run();
    }
    if parts.contains(&"servers") {
        servers::run();
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    rt.block_on(async {
        for part in parts {
            match part {
                "tokens" => tokens::run().await,
                "checks" => checks::run().await,
                "s3" => s3::run().await,
                _ => {}
            }
        }
    });
}
