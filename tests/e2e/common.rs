//! Shared set-up: a runtime with a test-local compile cache.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sonde::runtime::{CheckReport, Plugin, Runtime, RuntimeConfig};

pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compiled")
}

pub fn runtime_with(config: RuntimeConfig) -> Runtime {
    Runtime::new(RuntimeConfig { cache_dir: Some(cache_dir()), ..config }).expect("runtime")
}

pub fn runtime() -> Runtime {
    runtime_with(RuntimeConfig::default())
}

pub async fn load(rt: &Runtime, path: PathBuf) -> Plugin {
    rt.load_file(&path).await.unwrap_or_else(|e| panic!("{e}"))
}

pub async fn hostile(rt: &Runtime) -> Plugin {
    load(rt, sonde_test_support::fixture("hostile")).await
}

pub async fn check(rt: &Runtime, plugin: &Plugin, config: Value, timeout: Duration) -> CheckReport {
    rt.check(plugin, &config, timeout).await
}

/// The host survived: a well-behaved check right after still succeeds.
pub async fn assert_still_works(rt: &Runtime, plugin: &Plugin) {
    let r = check(rt, plugin, serde_json::json!({"mode": "ok"}), Duration::from_secs(5)).await;
    assert_eq!(r.status, sonde::runtime::Status::Ok, "follow-up check: {r:?}");
    assert_eq!(r.items, Some(42));
}

/// One check of the built-in probe `probe`.
pub async fn check_probe(probe: &str, config: Value, timeout: Duration) -> CheckReport {
    let rt = runtime();
    let p = load(&rt, sonde_test_support::probe(probe)).await;
    rt.check(&p, &config, timeout).await
}

/// An ERROR with exactly `message`.
pub fn assert_error(r: &CheckReport, message: &str) {
    assert_eq!((r.status, r.message.as_deref()), (sonde::runtime::Status::Error, Some(message)), "{r:?}");
}

/// `secret` appears nowhere in what the check reports.
pub fn assert_hidden(r: &CheckReport, secret: &str) {
    let all = format!("{r:?}");
    assert!(!all.contains(secret), "the secret leaked: {all}");
}
