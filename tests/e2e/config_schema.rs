//! Plugin config schemas as hostile input, through the real runtime and
//! binary: the exponential `$defs` bomb refused at load, a password
//! declared through `$ref` masked in every spelling wherever the guest
//! echoes it, and a validation past its deadline FAILED, not hung.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde::runtime::{LoadError, RuntimeConfig, Status};
use sonde::schema::SchemaLimits;
use sonde_test_support::fixture;

use crate::common::{assert_still_works, hostile, load, runtime, runtime_with};

/// A password with a quote, a backslash and a newline: its JSON spelling
/// differs from the raw one. `s3cret-ref` appears in no mask, so any
/// trace of it in any form is a leak.
pub const PASSWORD: &str = "s3cret-ref\"q\\b\nl";

/// Whether any spelling of [`PASSWORD`] (raw, JSON-escaped once or twice)
/// is in `text`.
pub fn leaks(text: &str) -> bool {
    text.contains("s3cret-ref")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_bomb_fails_to_load_at_once_naming_the_bound() {
    let rt = runtime();
    let t0 = Instant::now();
    let err = rt.load_file(fixture("schema-bomb")).await.expect_err("the bomb must not load");
    assert!(t0.elapsed() < Duration::from_secs(30), "loading took {:?}", t0.elapsed());
    assert!(matches!(err.error, LoadError::Schema(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("config-schema is too complex") && text.contains("100000 nodes"), "{text}");
    // The host keeps working.
    assert_still_works(&rt, &hostile(&rt).await).await;
}

#[test]
fn plugin_inspect_refuses_the_bomb_cleanly() {
    let bomb = fixture("schema-bomb");
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["plugin", "inspect", bomb.to_str().expect("utf-8")])
        .env("SONDE_CACHE_DIR", crate::common::cache_dir())
        .output()
        .expect("run sonde");
    assert!(t0.elapsed() < Duration::from_secs(30), "inspect took {:?}", t0.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(out.status.code().is_some(), "ended by a signal: {stderr}");
    assert!(stderr.contains("too complex"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ref_password_is_masked_in_every_spelling_the_guest_echoes() {
    let rt = runtime();
    let p = load(&rt, fixture("ref-secret")).await;
    assert!(p.schema().secret_paths().iter().any(|s| s.to_string() == "/password"));

    let config = json!({"mode": "unhealthy", "user": "u", "password": PASSWORD});
    let r = rt.check(&p, &config, Duration::from_secs(10)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("bad password ***")), "{r:?}");
    let extra: Value = serde_json::from_str(r.extra.as_deref().unwrap_or("")).expect("extra is still JSON");
    assert_eq!(extra, json!({"password": "***", "json": r#"{"password":"***"}"#}));
    assert!(r.stdout.text.contains(r#"password=*** json={"password":"***"}"#), "{}", r.stdout.text);
    assert!(r.stderr.text.contains(r#"password=*** json={"password":"***"}"#), "{}", r.stderr.text);
    assert!(!leaks(&format!("{r:?}")), "{r:?}");

    let config = json!({"mode": "healthy", "password": PASSWORD});
    let r = rt.check(&p, &config, Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.clone().expect("details");
    assert_eq!(details, json!({"password": "***", "json": r#"{"password":"***"}"#, "line": "pw ***"}));
    assert!(!leaks(&format!("{r:?}")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_past_its_deadline_is_failed_too_complex() {
    let schema = SchemaLimits { validation_deadline: Duration::from_millis(1), ..SchemaLimits::default() };
    let rt = runtime_with(RuntimeConfig { schema, ..RuntimeConfig::default() });
    let p = load(&rt, fixture("ref-secret")).await;
    // Each tag fails all 1,600 branches of the `anyOf` graph.
    let config = json!({"mode": "healthy", "password": "pw", "tags": vec!["ab"; 300]});
    let t0 = Instant::now();
    let r = rt.check(&p, &config, Duration::from_secs(10)).await;
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert_eq!(
        (r.status, r.message.as_deref()),
        (Status::Failed, Some("config schema too complex")),
        "{r:?}"
    );
    // The runtime is not stuck: a small config passes within the deadline
    // once the slow validation is out of the way.
    let rt = runtime();
    let p = load(&rt, fixture("ref-secret")).await;
    let r = rt
        .check(&p, &json!({"mode": "healthy", "password": "pw", "tags": ["abc"]}), Duration::from_secs(10))
        .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}
