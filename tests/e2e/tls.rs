//! TLS done by the host, the probe-independent cases: a silent handshake,
//! the sandbox, policy errors, and the expiry on `/metrics` and the status
//! page ([`expiry`]). Each probe's TLS cases are rows of the conformance
//! table (`conformance::tls`: the TLS table, client certificates, modes).

mod expiry;

use std::time::Duration;

use serde_json::json;
use sonde::runtime::Status;

use crate::common::check_probe;

/// A guest that never finishes the handshake (the peer accepts and stays
/// silent) times out at the source's deadline, like any other wait. Not a
/// table case: the host's handshake, the same whichever probe asks (redis
/// here), and the deadline measured against the check's own duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshake_with_a_silent_peer_times_out_at_the_deadline() {
    let peer = sonde_test_support::SilentListener::start();
    let config = json!({"host": "127.0.0.1", "port": peer.port, "tls": {"mode": "require"}});
    let r = check_probe("redis", config, Duration::from_millis(800)).await;
    assert_eq!(r.status, Status::Timeout, "{r:?}");
    // The check's own duration: loading (a compile, on a cold cache) is not
    // part of the deadline.
    assert!(r.duration < Duration::from_secs(2), "took {:?}", r.duration);
    assert_eq!(peer.accepted(), 1);
}

/// A hostile 0.2.0 guest that declares one port and opens TLS to another
/// is refused at the connect, like any connect: TLS only ever runs over a
/// stream the sandbox allowed. Not a table case: a hostile guest, no
/// built-in probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_an_undeclared_address_is_refused_like_any_connect() {
    let rt = crate::common::runtime();
    let p = crate::common::hostile(&rt).await;
    assert_eq!(p.info.wit_version, "sonde:probe@0.2.0");
    crate::hostile::assert_undeclared_connect_refused(&rt, &p, "tls_sneak").await;
}

/// The client key is the host's alone: a bad `tls` object is FAILED before
/// the guest runs, naming the key. Not a table case: the host reads `tls`
/// before any probe runs, the same for every one (redis here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_policy_errors_are_failed_naming_the_key() {
    for (tls, key) in [
        (json!({"mode": "verify-full", "ca": "not a certificate"}), "tls.ca"),
        (json!({"mode": "require", "client_cert": "x"}), "tls.client_cert"),
    ] {
        let config = json!({"host": "127.0.0.1", "port": 1, "tls": tls});
        let r = check_probe("redis", config, Duration::from_secs(5)).await;
        assert_eq!(r.status, Status::Failed, "{tls}: {r:?}");
        assert!(r.message.as_deref().is_some_and(|m| m.contains(key)), "{tls}: {r:?}");
    }
}
