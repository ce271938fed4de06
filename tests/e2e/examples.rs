//! The curl examples in `examples/curl/`, one per seed document, run with
//! bash against the real `sonde serve` with only the base URL, the key and
//! the ids given: each exits 0 and prints JSON with the seed's keys.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_test_support::{SilentListener, in_ci};

use crate::serve::Serve;

const KEY: &str = "test-admin-key-examples";
const KB: &str = "6a1f3c2e-9b8d-4e7f-a1c2-3d4e5f6a7b8c";

/// `sonde serve` with an admin key and one tcp source against `peer`.
fn start(peer: u16) -> Serve {
    Serve::start(&format!(
        "[[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n\n\
         [[sources]]\nname = \"orders-db\"\norganization = \"org_acme\"\nworkspace = \"{KB}\"\ntype = \"tcp\"\n\
         config = {{ host = \"127.0.0.1\", port = {peer} }}\ninterval = \"1h\"\nretries = 0\n"
    ))
}

/// Runs `examples/curl/<script>` with bash; its stdout as JSON values.
fn run(server: &Serve, script: &str, env: &[(&str, &str)], args: &[&str]) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/curl").join(script);
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .env("SONDE_URL", &server.base)
        .env("SONDE_KEY", KEY)
        .envs(env.iter().copied())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(&stdout).into_iter().collect();
    let values = values.unwrap_or_else(|e| panic!("{script}: not JSON ({e}): {stdout}"));
    assert!(!values.is_empty(), "{script} printed nothing");
    values
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> =
        v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn curl_is_installed() -> bool {
    match Command::new("curl").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        other if in_ci() => panic!("curl is required in CI: {other:?}"),
        other => {
            eprintln!("SKIPPED: curl is not installed ({other:?})");
            false
        }
    }
}

#[test]
fn every_seed_curl_example_runs_against_sonde() {
    if !curl_is_installed() {
        return;
    }
    let peer = SilentListener::start(); // accepts: the tcp probe is OK
    let server = start(peer.port);
    let (_, sources) = server.call("GET", "/api/v1/sources", KEY, None);
    let id = sources[0]["id"].as_str().unwrap_or_else(|| panic!("no source: {sources}")).to_string();
    let (status, check) = server.call("POST", &format!("/api/v1/sources/{id}/connection-check"), KEY, None);
    assert_eq!(status, 202, "{check}");
    let end = Instant::now() + Duration::from_secs(10);
    let latest = format!("/api/v1/sources/{id}/connection-check");
    while server.call("GET", &latest, KEY, None).1["status"] == "SCHEDULED" {
        assert!(Instant::now() < end, "the check never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ids = [("SOURCE_ID", id.as_str()), ("KB_ID", KB), ("ORG_ID", "org_acme")];

    let health = run(&server, "hasura.sh", &[], &[]);
    assert_eq!(keys(&health[0]["orders-db"]), ["error", "status", "timestamp"], "{health:?}");
    assert_eq!(health[0]["orders-db"]["status"], "OK", "{health:?}");

    let check = run(&server, "unstructured.sh", &ids, &[]);
    assert_eq!(keys(&check[0]), ["created_at", "id", "reason", "reported_at", "status"], "{check:?}");
    assert_eq!(check[0]["status"], "SUCCESS", "{check:?}");

    let test = run(&server, "aitronos-test.sh", &ids, &[]);
    assert_eq!(keys(&test[0]), ["job_info", "status"], "{test:?}");
    assert_eq!(test[0]["status"], "succeeded", "{test:?}");

    let health = run(&server, "aitronos-health.sh", &ids, &[]);
    assert_eq!(health.len(), 2, "public, then org-scoped: {health:?}");
    for h in &health {
        assert_eq!(keys(h), ["available", "status"], "{health:?}");
        assert_eq!((&h["status"], &h["available"]), (&Value::from("ok"), &Value::from(true)), "{health:?}");
    }

    // The ids as arguments this time.
    let sync = run(&server, "feather.sh", &[], &[KB, &id]);
    let expected = [
        "error_message",
        "last_sync_completed_at",
        "last_sync_job_id",
        "last_sync_started_at",
        "last_sync_status",
        "processed_count",
        "source_id",
        "source_status",
        "total_items",
    ];
    assert_eq!(keys(&sync[0]), expected, "{sync:?}");
    assert_eq!(
        (sync[0]["source_id"].as_str(), &sync[0]["last_sync_status"]),
        (Some(id.as_str()), &Value::from("OK"))
    );
}
