//! Every way a plugin file can be wrong gives an error naming the file and
//! the reason, and the host goes on loading and running other plugins.

use std::path::PathBuf;

use sonde::runtime::LoadError;
use sonde_test_support::fixture;

use crate::common::{assert_still_works, hostile, runtime};

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loading");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

async fn load_error(path: PathBuf) -> (LoadError, String) {
    let rt = runtime();
    let err = rt.load_file(&path).await.expect_err("load must fail");
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "does not name the file: {text}");
    // The host is fine: another plugin loads and runs.
    let p = hostile(&rt).await;
    assert_still_works(&rt, &p).await;
    (err.error, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_are_not_a_component() {
    let (err, text) = load_error(temp_file("garbage.wasm", b"\x7fELF this is not wasm at all")).await;
    assert!(matches!(err, LoadError::NotAComponent(_)), "{text}");
    assert!(text.contains("magic"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_module_is_not_a_component() {
    let (err, text) = load_error(temp_file("core.wasm", b"\0asm\x01\0\0\0")).await;
    assert!(matches!(err, LoadError::NotAComponent(_)), "{text}");
    assert!(text.contains("wasm32-wasip2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_component_is_rejected() {
    let bytes = std::fs::read(fixture("hostile")).expect("fixture");
    let (err, text) = load_error(temp_file("truncated.wasm", &bytes[..bytes.len() / 2])).await;
    assert!(matches!(err, LoadError::NotAComponent(_)), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_world_is_rejected() {
    let (err, text) = load_error(fixture("wrong-world")).await;
    assert!(matches!(err, LoadError::WrongWorld(_)), "{text}");
    assert_eq!(
        err.to_string(),
        "not a Sonde probe plugin: it does not export sonde:probe/probe (it exports wasi:cli/run@0.2.0); a probe is a component of the world `plugin` in sonde:probe@0.2.0 (wit/0.2.0/probe.wit), which exports the interface `probe`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_info_that_traps_is_rejected() {
    let (err, text) = load_error(fixture("bad-info")).await;
    assert!(matches!(err, LoadError::Info(_)), "{text}");
    assert!(text.contains("probe crashed") && text.contains("info() is broken on purpose"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_source_type_is_rejected() {
    let (err, text) = load_error(fixture("bad-type")).await;
    assert!(matches!(err, LoadError::SourceType(ref t) if t == "Bad Type!"), "{text}");
    assert_eq!(
        err.to_string(),
        r#"info() returned source-type "Bad Type!": a source-type must match [a-z0-9_-]+ (lowercase letters, digits, '_' and '-', e.g. "postgres"); with the Rust SDK it is Probe::SOURCE_TYPE"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_schema_is_rejected() {
    let (err, text) = load_error(fixture("bad-schema")).await;
    assert!(matches!(err, LoadError::Schema(_)), "{text}");
    assert_eq!(
        err.to_string(),
        r#"config-schema is not a valid JSON Schema (2020-12): at /minimum: "ten" is not of type "number""#
    );
}

/// wit-bindgen cannot leave a function out of a complete interface, so the
/// fixture's own WIT is 0.2.0's without `check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_export_without_a_function_names_it_and_its_signature() {
    let (err, text) = load_error(fixture("missing-export")).await;
    assert!(matches!(err, LoadError::MissingExport(_)), "{text}");
    assert_eq!(
        err.to_string(),
        "the export sonde:probe/probe@0.2.0 has no function `check`; add `check: func(config: string) -> result<healthy, check-error>;` to the interface `probe` and implement it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_a_read_error() {
    let (err, _) = load_error(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such.wasm")).await;
    assert!(matches!(err, LoadError::Read(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_of_an_incompatible_contract_version_is_refused_naming_both() {
    let (err, text) = load_error(fixture("future-version")).await;
    assert!(matches!(err, LoadError::IncompatibleVersion { .. }), "{text}");
    assert!(text.contains("sonde:probe@0.3.0") && text.contains("sonde:probe@0.1.0"), "{text}");
    assert!(text.contains("sonde:probe@0.2.0"), "both supported versions are named: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_0_1_and_0_2_plugins_load_and_run_side_by_side() {
    let rt = crate::common::runtime();
    let old = crate::common::load(&rt, fixture("v0-1")).await;
    let new = crate::common::load(&rt, sonde_test_support::probe("tcp")).await;
    assert_eq!(old.info.wit_version, "sonde:probe@0.1.0");
    assert_eq!(new.info.wit_version, "sonde:probe@0.2.0");

    let r = rt.check(&old, &serde_json::json!({}), std::time::Duration::from_secs(5)).await;
    assert_eq!(r.status, sonde::runtime::Status::Ok, "{r:?}");
    assert_eq!((r.items, r.details), (Some(1), Some(serde_json::json!({"contract": "0.1"}))));

    let peer = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = peer.local_addr().expect("addr").port();
    let r = rt
        .check(
            &new,
            &serde_json::json!({"host": "127.0.0.1", "port": port}),
            std::time::Duration::from_secs(5),
        )
        .await;
    assert_eq!(r.status, sonde::runtime::Status::Ok, "{r:?}");
}
