//! One misbehaving guest per sandbox rule (DESIGN §2). Each asserts the
//! documented status and message, and that the host keeps working.

use std::time::{Duration, Instant};

use serde_json::json;
use sonde::runtime::{Cause, Plugin, Runtime, RuntimeConfig, Status};
use sonde_test_support::SilentListener;

use crate::common::{assert_still_works, check, hostile, runtime, runtime_with};

const SHORT: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_guest_times_out() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let t0 = Instant::now();
    let r = check(&rt, &p, json!({"mode": "spin"}), SHORT).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(r.message.as_deref(), Some("timed out after 500ms"));
    assert!(t0.elapsed() < Duration::from_secs(2), "took {:?}", t0.elapsed());
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_blocked_on_a_silent_socket_times_out() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let silent = SilentListener::start();
    let r = check(&rt, &p, json!({"mode": "block", "host": "127.0.0.1", "port": silent.port}), SHORT).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_eq!(silent.accepted(), 1, "the guest did connect before blocking");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_allocation_hits_the_memory_cap() {
    let rt = runtime_with(RuntimeConfig { memory_limit: 32 << 20, ..RuntimeConfig::default() });
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "alloc"}), Duration::from_secs(10)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("memory limit exceeded")), "{r:?}");
    assert_eq!(r.cause, Cause::MemoryLimit);
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_recursion_overflows_the_stack() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "recurse"}), Duration::from_secs(10)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("stack overflow")), "{r:?}");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_crash_with_the_stderr_tail() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "panic"}), Duration::from_secs(10)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("probe crashed")), "{r:?}");
    let extra = r.extra.expect("extra");
    assert!(extra.contains("deliberate panic from the hostile fixture"), "{extra}");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabytes_of_output_are_captured_capped_and_harmless() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "shout", "bytes": 8 << 20}), Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let cap = rt.config().output_cap;
    for (name, out, end) in [("stdout", &r.stdout, "END-OF-STDOUT"), ("stderr", &r.stderr, "END-OF-STDERR")] {
        assert!(out.text.len() <= cap, "{name} kept {} bytes", out.text.len());
        assert!(out.text.trim_end().ends_with(end), "{name} lost its tail");
        assert!(out.dropped >= (8 << 20) - cap as u64, "{name} dropped {}", out.dropped);
    }
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_to_an_undeclared_live_port_is_denied() {
    let rt = runtime();
    let p = hostile(&rt).await;
    assert_undeclared_connect_refused(&rt, &p, "sneak").await;
    assert_still_works(&rt, &p).await;
}

/// The hostile guest in `mode` declares one live listener and connects to
/// another: ERROR at the connect, counted, and the other never sees it.
pub async fn assert_undeclared_connect_refused(rt: &Runtime, p: &Plugin, mode: &str) {
    let declared = SilentListener::start();
    let undeclared = SilentListener::start();
    let config =
        json!({"mode": mode, "host": "127.0.0.1", "port": declared.port, "target_port": undeclared.port});
    let r = check(rt, p, config, Duration::from_secs(5)).await;
    assert_eq!(
        (r.status, r.message.as_deref()),
        (Status::Error, Some("permission denied by sandbox")),
        "{mode}: {r:?}"
    );
    assert_eq!(r.denied_connects, 1, "{mode}");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(undeclared.accepted(), 0, "{mode}: the undeclared listener saw a connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_per_check_are_capped() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let peer = SilentListener::start();
    let at_cap = json!({"mode": "sockets", "connections": 16, "host": "127.0.0.1", "port": peer.port});
    let r = check(&rt, &p, at_cap, Duration::from_secs(5)).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(16)), "{r:?}");
    let over = json!({"mode": "sockets", "connections": 17, "host": "127.0.0.1", "port": peer.port});
    let r = check(&rt, &p, over, Duration::from_secs(5)).await;
    // Creating the 17th socket is refused before its connect could be.
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("too many sockets")), "{r:?}");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(peer.accepted(), 32, "the 17th connect reached the peer");

    // With more sockets than connects allowed, the connect cap still holds.
    let rt = runtime_with(RuntimeConfig { max_new_sockets: 32, ..RuntimeConfig::default() });
    let p = hostile(&rt).await;
    let over = json!({"mode": "sockets", "connections": 17, "host": "127.0.0.1", "port": peer.port});
    let r = check(&rt, &p, over, Duration::from_secs(5)).await;
    assert_eq!(
        (r.status, r.message.as_deref()),
        (Status::Error, Some("permission denied by sandbox")),
        "{r:?}"
    );
    assert_eq!(r.denied_connects, 1);
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_cannot_be_read() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "files"}), Duration::from_secs(5)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("cannot read files")), "{r:?}");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_and_arguments_are_empty() {
    // SAFETY-free: set before the runtime spawns any guest in this process.
    let rt = runtime();
    let p = hostile(&rt).await;
    assert!(std::env::vars().count() > 0, "the host itself has an environment");
    let r = check(&rt, &p, json!({"mode": "env"}), Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.expect("details");
    assert_eq!(details["vars"], json!([]), "{details}");
    assert_eq!(details["args"], json!([]), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_declared_names_resolve() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let peer = SilentListener::start();
    let declared = json!({"mode": "dns", "host": "localhost", "port": peer.port});
    let r = check(&rt, &p, declared, Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let addrs = r.details.expect("details")["addrs"].clone();
    assert!(addrs.as_array().is_some_and(|a| !a.is_empty()), "{addrs}");

    let undeclared = json!({"mode": "dns", "host": "127.0.0.1", "port": peer.port, "name": "localhost"});
    let r = check(&rt, &p, undeclared, Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Error, "an undeclared name resolved: {r:?}");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_come_back_from_a_guest() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let secret = "hunter2-correct-horse";
    let r = check(&rt, &p, json!({"mode": "leak", "password": secret}), Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.message.as_deref(), Some("bad password ***"));
    let everything = format!("{r:?}");
    assert!(!everything.contains(secret), "secret leaked: {everything}");
    assert!(r.stdout.text.contains("the password is ***"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_are_failed_not_errors() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "invalid"}), Duration::from_secs(5)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Failed, Some("port 0 can never work")));
    let r = check(&rt, &p, json!({"mode": "no-such-mode"}), Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Failed);
    let msg = r.message.expect("reason");
    assert!(msg.starts_with("config does not match the schema: /mode"), "{msg}");
    let r = check(&rt, &p, json!({"mode": "ok", "port": 70000}), Duration::from_secs(5)).await;
    assert!(r.message.as_deref().is_some_and(|m| m.contains("/port") && !m.contains("70000")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_http_reaches_only_declared_host_ports() {
    use sonde_test_support::http_server::{Reply, Server};
    let rt = runtime();
    let p = hostile(&rt).await;
    let declared = Server::start();
    declared.route("/", Reply::new(200).body("ok"));
    let r = check(
        &rt,
        &p,
        json!({"mode": "http", "host": "127.0.0.1", "port": declared.port}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.expect("details")["status"], 200);

    let undeclared = Server::start();
    let config =
        json!({"mode": "http", "host": "127.0.0.1", "port": declared.port, "target_port": undeclared.port});
    let r = check(&rt, &p, config, Duration::from_secs(5)).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("http denied")), "{r:?}");
    assert_eq!(undeclared.accepted(), 0);
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_http_to_a_silent_server_times_out() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let silent = SilentListener::start();
    let r = check(&rt, &p, json!({"mode": "http", "host": "127.0.0.1", "port": silent.port}), SHORT).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    assert_still_works(&rt, &p).await;
}
