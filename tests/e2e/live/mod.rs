//! The real `sonde serve` with a watched `plugins_dir` and `SIGHUP`: files
//! dropped in, replaced, corrupted, half-written, unpinned or removed while
//! it runs, and configuration reloads that are valid or not; and the
//! library `Registry` swapping a plugin under a check in flight; and guests
//! that hoard host resources, with the process's descriptors and memory
//! measured (`hoard`).

pub(crate) mod harness;
mod hoard;

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use sonde::runtime::cache::digest;
use sonde_test_support::closed_port;

use harness::{KEY, Server, config, hostile, hostile_variant, wait_for};

#[test]
fn dropped_in_plugin_is_used_within_2s_and_removal_takes_its_type_away() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(dir.path(), "");
    assert_eq!(server.serving("hostile"), None);
    let file = dir.path().join("plugins/hostile.wasm");

    std::fs::write(&file, hostile()).expect("copy");
    wait_for("the dropped-in plugin", Duration::from_secs(2), || server.serving("hostile").is_some());
    let id = server.create_source("dropped");
    assert_eq!(server.check(&id).0, "SUCCESS");

    std::fs::remove_file(&file).expect("remove");
    wait_for("the type to go", Duration::from_secs(2), || server.serving("hostile").is_none());
    let (status, reason) = server.check(&id);
    assert_eq!(status, "FAILURE");
    assert!(reason.as_str().is_some_and(|r| r.contains("no plugin for source type")), "{reason}");

    std::fs::write(&file, hostile()).expect("copy again");
    wait_for("the plugin to come back", Duration::from_secs(2), || server.serving("hostile").is_some());
    assert_eq!(server.check(&id).0, "SUCCESS");
}

#[test]
fn bad_file_keeps_the_old_version_serving_and_is_listed() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("plugins/hostile.wasm");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("mkdir");
    std::fs::write(&file, hostile()).expect("copy");
    let server = Server::start(dir.path(), "");
    let good = server.serving("hostile").expect("hostile loaded at start");
    let id = server.create_source("steady");

    std::fs::write(&file, b"\0asm garbage, not a component at all").expect("garbage");
    wait_for("the load error", Duration::from_secs(2), || server.error_for(&file).is_some());
    assert_eq!(server.serving("hostile").as_deref(), Some(good.as_str()));
    assert_eq!(server.check(&id).0, "SUCCESS");
    let logged = server.logs().lines().filter(|l| l.contains("plugin not loaded")).count();
    assert_eq!(logged, 1, "{}", server.logs());

    // A good file clears the error.
    std::fs::write(&file, hostile_variant()).expect("fix");
    wait_for("the error to clear", Duration::from_secs(2), || server.error_for(&file).is_none());
    assert_eq!(server.serving("hostile"), Some(digest(&hostile_variant())));
}

#[test]
fn replaced_file_serves_its_new_version() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("plugins/h.wasm");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("mkdir");
    std::fs::write(&file, hostile()).expect("copy");
    let server = Server::start(dir.path(), "");
    assert_eq!(server.serving("hostile"), Some(digest(&hostile())));
    let id = server.create_source("replaced");

    std::fs::write(&file, hostile_variant()).expect("replace");
    let new = digest(&hostile_variant());
    wait_for("the new version", Duration::from_secs(2), || {
        server.serving("hostile").as_deref() == Some(&new)
    });
    assert_eq!(server.check(&id).0, "SUCCESS");
    assert_eq!(server.plugins()["errors"], json!([]));
}

#[test]
fn half_written_file_is_not_loaded_half() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(dir.path(), "");
    let file = dir.path().join("plugins/slow.wasm");
    let bytes = hostile();
    let (first, rest) = bytes.split_at(bytes.len() / 2);

    let mut out = std::fs::File::create(&file).expect("create");
    out.write_all(first).expect("first half");
    out.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(100));
    out.write_all(rest).expect("second half");
    drop(out);

    wait_for("the whole file", Duration::from_secs(2), || server.serving("hostile").is_some());
    assert_eq!(server.serving("hostile"), Some(digest(&bytes)));
    assert_eq!(server.error_for(&file), None);
    assert!(!server.logs().contains("plugin not loaded"), "{}", server.logs());
}

#[test]
fn pins_refuse_an_unpinned_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let pinned = digest(&hostile_variant());
    let server = Server::start(dir.path(), &format!("[plugins]\npins = [\"{pinned}\"]\n"));

    let unpinned = dir.path().join("plugins/a.wasm");
    std::fs::write(&unpinned, hostile()).expect("copy");
    let unpinned_digest = digest(&hostile());
    wait_for("the refusal", Duration::from_secs(2), || server.error_for(&unpinned).is_some());
    let reason = server.error_for(&unpinned).unwrap_or_default();
    assert!(reason.contains(&unpinned_digest) && reason.contains("not pinned"), "{reason}");
    assert_eq!(server.serving("hostile"), None);
    assert!(server.serving("tcp").is_some(), "built-ins are always allowed");

    std::fs::write(dir.path().join("plugins/b.wasm"), hostile_variant()).expect("copy pinned");
    wait_for("the pinned file", Duration::from_secs(2), || {
        server.serving("hostile").as_deref() == Some(&pinned)
    });
}

#[test]
fn sighup_applies_a_valid_config_and_keeps_the_old_one_on_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let down = closed_port();
    let source = |name: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\norganization = \"org_a\"\ntype = \"tcp\"\n\
             config = {{ host = \"127.0.0.1\", port = {down} }}\ninterval = \"1h\"\n"
        )
    };
    let mut server = Server::start(dir.path(), &source("first"));
    let port = server.serve.port;
    let names = |server: &Server| -> Vec<String> {
        let list = server.get("/api/v1/sources").1;
        list.as_array().into_iter().flatten().filter_map(|s| s["name"].as_str().map(str::to_string)).collect()
    };
    assert_eq!(names(&server), ["first"]);

    // Valid: a second source and a second key.
    let new_key = "second-admin-key-4567";
    let extra =
        format!("{}{}[[keys]]\nkey = \"{new_key}\"\nrole = \"admin\"\n", source("first"), source("second"));
    std::fs::write(dir.path().join("sonde.toml"), config(dir.path(), port, &extra)).expect("config");
    server.hangup();
    wait_for("the reload", Duration::from_secs(5), || server.logs().contains("configuration reloaded"));
    let mut got = names(&server);
    got.sort();
    assert_eq!(got, ["first", "second"]);
    server.key = new_key.into();
    assert_eq!(server.get("/v1/plugins").0, 200, "the new key works");
    server.key = KEY.into();

    // Invalid: a source of a type with no plugin. Nothing changes.
    let bad = format!(
        "{}[[sources]]\nname = \"third\"\norganization = \"org_a\"\ntype = \"nope\"\n",
        source("first")
    );
    std::fs::write(dir.path().join("sonde.toml"), config(dir.path(), port, &bad)).expect("config");
    server.hangup();
    wait_for("the refusal", Duration::from_secs(5), || server.logs().contains("configuration not reloaded"));
    assert!(server.logs().contains("sources[1].type"), "{}", server.logs());
    let mut got = names(&server);
    got.sort();
    assert_eq!(got, ["first", "second"]);
    server.key = new_key.into();
    assert_eq!(server.get("/v1/plugins").0, 200, "the reloaded keys still serve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_flight_finishes_on_its_version_and_a_removed_file_falls_back_to_the_built_in() {
    use sonde::runtime::{Origin, Status};
    use sonde::service::registry::Registry;

    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("h.wasm");
    std::fs::write(&file, hostile()).expect("copy");
    let rt = std::sync::Arc::new(crate::common::runtime());
    let registry = Registry::load(&rt, dir.path()).await;
    let old = registry.get("hostile").expect("hostile");

    // The in-flight check blocks on a silent peer, so it lasts as long as the
    // swap takes (compiling the new file may be slow on a cold cache).
    let silent = sonde_test_support::SilentListener::start();
    let in_flight = {
        let (rt, plugin) = (std::sync::Arc::clone(&rt), old.clone());
        let config = json!({"mode": "block", "host": "127.0.0.1", "port": silent.port});
        tokio::spawn(async move { rt.check(&plugin, &config, Duration::from_secs(30)).await })
    };
    let connected = crate::api::eventually(Duration::from_secs(5), || silent.accepted() == 1).await;
    assert!(connected, "the in-flight check never connected");
    std::fs::write(&file, hostile_variant()).expect("replace");
    assert!(registry.sync_file(&rt, &file).await);
    assert_eq!(registry.get("hostile").map(|p| p.digest), Some(digest(&hostile_variant())));
    assert!(!in_flight.is_finished(), "the swap did not wait for the check");
    // Closing the peer ends the old version's check, which reports normally.
    drop(silent);
    let report = in_flight.await.expect("join");
    assert_eq!(
        (report.status, report.message.as_deref()),
        (Status::Error, Some("connection reset")),
        "{report:?}"
    );
    assert_eq!(old.digest, digest(&hostile()));

    // A file of a built-in type replaces it, and its removal brings it back.
    let tcp = dir.path().join("tcp.wasm");
    std::fs::copy(sonde_test_support::probe("tcp"), &tcp).expect("copy tcp");
    assert!(registry.sync_file(&rt, &tcp).await);
    assert_eq!(registry.get("tcp").map(|p| p.origin), Some(Origin::File(tcp.clone())));
    std::fs::remove_file(&tcp).expect("remove");
    assert!(registry.sync_file(&rt, &tcp).await);
    assert!(matches!(registry.get("tcp").map(|p| p.origin), Some(Origin::BuiltIn(_))));
    std::fs::remove_file(&file).expect("remove");
    assert!(registry.sync_file(&rt, &file).await);
    assert!(registry.get("hostile").is_none());
}

/// The README's walkthrough: build the template in examples/, drop it in,
/// see it listed, add a source for it, and watch it checked.
#[test]
fn the_plugin_template_can_be_dropped_in_and_used() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tmp");
    let server = Server::start(dir.path(), "");
    // An echo server on loopback for the template's `echo` probe.
    let (echo_port, _stop) = sonde_test_support::accept_loop(|stream| {
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(&stream);
            if reader.read_line(&mut line).is_ok() {
                let _ = (&stream).write_all(line.as_bytes());
            }
        });
    });
    let template = std::fs::read(sonde_test_support::fixture("echo-probe")).expect("built template");
    std::fs::write(dir.path().join("plugins/echo_probe.wasm"), template).expect("drop in");
    wait_for("the template's type", Duration::from_secs(30), || server.serving("echo").is_some());
    let (status, made) = server.post(
        "/api/v1/sources",
        json!({"name": "echo", "type": "echo", "organization": "org_a",
               "config": {"host": "127.0.0.1", "port": echo_port, "token": "t0ps3cret"}}),
    );
    assert_eq!(status, 200, "{made}");
    assert!(!made.to_string().contains("t0ps3cret"), "{made}");
    let id = made["id"].as_str().expect("id");
    assert_eq!(server.check(id).0, "SUCCESS");
}
