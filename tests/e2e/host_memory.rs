//! Host memory per check is bounded (DESIGN §2 "endpoints", "host memory",
//! "memory"): one hostile guest per attack, each with its documented status,
//! each ending well within 30 s, the host still working after it. The two
//! memory attacks also run in the real `sonde check`, whose peak RSS the
//! kernel reports (`sonde_test_support::rss`).

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde::runtime::{Cause, Origin, RuntimeConfig, Status};
use sonde_test_support::{SilentListener, accept_loop, fixture, rss};

use crate::common::{assert_still_works, check, hostile, runtime, runtime_with};

/// Tells ending from hanging.
const ENDS_WITHIN: Duration = Duration::from_secs(30);

/// What a check of a hostile guest may add to `sonde check`'s peak RSS
/// beyond a well-behaved one: the guest's 64 MiB cap and 32 MiB for what
/// the host lifts from its answers (a list of endpoints is copied once,
/// then deduplicated). Before the bounds, the two attacks here added
/// 2.4 GiB and 240 MiB.
const RSS_MARGIN: u64 = 96 << 20;

/// The hand-written component of `four_memories.wat`, as a binary.
fn four_memories() -> Vec<u8> {
    wat::parse_str(include_str!("four_memories.wat")).unwrap_or_else(|e| panic!("four_memories.wat: {e}"))
}

/// `sonde check --plugin PLUGIN --config CONFIG`, its JSON and peak RSS.
fn sonde_check(plugin: &std::path::Path, config: &Value) -> (Value, rss::Measured) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sonde"));
    cmd.args(["check", "--plugin"])
        .arg(plugin)
        .args(["--config", &config.to_string(), "--timeout", "20s"])
        .env("SONDE_CACHE_DIR", crate::common::cache_dir());
    let run = rss::run(cmd, ENDS_WITHIN).expect("run sonde check");
    assert!(!run.killed, "sonde check did not end within {ENDS_WITHIN:?}");
    let out: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} {}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        )
    });
    eprintln!(
        "sonde check {config}: {:.0} MiB peak RSS in {:?} (this process's peak: {:.0} MiB)",
        run.max_rss_mib(),
        run.elapsed,
        run.parent_peak as f64 / f64::from(1u32 << 20)
    );
    (out, run)
}

/// Peak RSS of a well-behaved check of the same plugin: the baseline.
fn baseline(plugin: &std::path::Path, config: Value) -> u64 {
    sonde_check(plugin, &config).1.max_rss
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_endpoints_and_held_lookups_cost_the_host_nothing_per_copy() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let peer = SilentListener::start();
    let attack = json!({
        "mode": "hoard_lookups", "host": "127.0.0.1", "port": peer.port, "copies": 500_000, "count": 300
    });
    let t0 = Instant::now();
    let r = check(&rt, &p, attack.clone(), Duration::from_secs(20)).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(300)), "{r:?}");
    assert!(t0.elapsed() < ENDS_WITHIN, "took {:?}", t0.elapsed());
    assert_still_works(&rt, &p).await;
}

/// The attack above in the real `sonde check`, from a test process that
/// did nothing heavy itself (see `rss`).
#[test]
fn sonde_check_stays_small_under_duplicate_endpoints_and_held_lookups() {
    let peer = SilentListener::start();
    let attack = json!({
        "mode": "hoard_lookups", "host": "127.0.0.1", "port": peer.port, "copies": 500_000, "count": 300
    });
    let plugin = fixture("hostile");
    let base = baseline(&plugin, json!({"mode": "ok"}));
    let (out, run) = sonde_check(&plugin, &attack);
    assert_eq!((out["status"].as_str(), &out["items"]), (Some("OK"), &json!(300)), "{out}");
    assert_bounded(&run, base);
}

fn assert_bounded(run: &rss::Measured, base: u64) {
    assert!(
        run.max_rss < base + RSS_MARGIN,
        "peak RSS {:.0} MiB, {:.0} MiB over a well-behaved check's",
        run.max_rss_mib(),
        run.max_rss.saturating_sub(base) as f64 / f64::from(1u32 << 20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_64_distinct_endpoints_fail() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let at_cap = json!({"mode": "ok", "host": "127.0.0.1", "port": 20000, "distinct": 64});
    let r = check(&rt, &p, at_cap, Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Ok, "64 distinct endpoints: {r:?}");
    let over = json!({"mode": "ok", "host": "127.0.0.1", "port": 20000, "distinct": 65});
    let r = check(&rt, &p, over, Duration::from_secs(5)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Failed, Some("too many endpoints")), "{r:?}");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_memories_share_one_cap() {
    let rt = runtime();
    let p = rt
        .load(Origin::BuiltIn("four-memories".into()), &four_memories())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.info.source_type, "four-memories");
    let t0 = Instant::now();
    let r = check(&rt, &p, json!({}), Duration::from_secs(20)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("memory limit exceeded")), "{r:?}");
    assert_eq!(r.cause, Cause::MemoryLimit);
    assert!(t0.elapsed() < ENDS_WITHIN, "took {:?}", t0.elapsed());

    // The same component fits when the cap covers all four memories.
    let roomy = runtime_with(RuntimeConfig { memory_limit: 256 << 20, ..RuntimeConfig::default() });
    let p = roomy.load(Origin::BuiltIn("four-memories".into()), &four_memories()).await.expect("loads");
    let r = check(&roomy, &p, json!({}), Duration::from_secs(20)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");

    let hostile_plugin = hostile(&rt).await;
    assert_still_works(&rt, &hostile_plugin).await;
}

/// The four memories in the real `sonde check`.
#[test]
fn sonde_check_stays_small_under_four_memories() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("four-memories.wasm");
    std::fs::write(&file, four_memories()).expect("write component");
    let base = baseline(&fixture("hostile"), json!({"mode": "ok"}));
    let (out, run) = sonde_check(&file, &json!({}));
    assert_eq!(
        (out["status"].as_str(), &out["error"]["message"]),
        (Some("ERROR"), &json!("memory limit exceeded")),
        "{out}"
    );
    assert_bounded(&run, base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshake_loops_are_counted_not_kept() {
    let rt = runtime();
    let p = hostile(&rt).await;
    // Against a listener that answers in plain HTTP every handshake fails
    // at once, until the check's connects are spent (then a request fails
    // before any handshake); the first failure is the outcome.
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&accepted);
    let (port, stop) = accept_loop(move |mut stream| {
        seen.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
    let loop_ = |requests: u32, tls: Value| json!({"mode": "http_loop", "https": true, "host": "127.0.0.1", "port": port, "requests": requests, "tls": tls});
    let t0 = Instant::now();
    let r = check(&rt, &p, loop_(200, json!({})), Duration::from_secs(20)).await;
    assert!(accepted.load(Ordering::Relaxed) <= 16, "more connects than the budget");
    let plain = ["server does not support TLS", "tls handshake failed"];
    assert!(r.status == Status::Error && plain.contains(&r.message.as_deref().unwrap_or("")), "{r:?}");

    // With TLS disabled by the source's policy, each https request fails
    // before any connect: nothing bounds them but the deadline, and the
    // host keeps the first few and counts the rest.
    let r = check(&rt, &p, loop_(20_000, json!({"mode": "disable"})), Duration::from_secs(20)).await;
    let disabled = Some("tls disabled by the source's policy");
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, disabled), "{r:?}");
    let extra = r.extra.clone().unwrap_or_default();
    assert!(extra.contains("more handshakes not kept"), "{r:?}");
    assert!(t0.elapsed() < ENDS_WITHIN, "took {:?}", t0.elapsed());
    stop.store(true, Ordering::Relaxed);
    assert_still_works(&rt, &p).await;
}
