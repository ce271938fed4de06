//! The TLS table every probe that speaks TLS must pass (DESIGN §4), and the
//! helpers for a probe's `tls_modes` rows.
//!
//! | case | server certificate | `tls` | outcome |
//! | --- | --- | --- | --- |
//! | verify-full with CA | good | verify-full + ca | OK, `details.tls.peer[0].not_after` |
//! | verify-full without CA | good | verify-full | "certificate not trusted" |
//! | wrong name | for other.example | verify-full + ca | "certificate name mismatch" |
//! | verify-ca, wrong name | for other.example | verify-ca + ca | OK |
//! | expired | expired yesterday | verify-full + ca | "certificate expired" |
//! | expires soon | expires in 2 days | verify-full + ca + min_validity 7d | "certificate expires soon", date in `extra` |
//! | require, untrusted | good | require | OK |
//! | require vs plaintext | (plaintext server) | require | "server does not support TLS" |
//!
//! And `tls_client_certificate`: a server that demands a client certificate
//! accepts the configured one and refuses the check without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::spawned::Spawned;

use super::{
    EXPIRED, EXPIRES_SOON, Expect, NAME_MISMATCH, NO_TLS, NOT_TRUSTED, Probe, Scenario, Server, Step,
    TlsFacts,
};
use crate::common::check_probe;

/// Starts a TLS server with `pair` as its certificate (`demand`: one that
/// demands a client certificate signed by `ca`), or None to skip.
pub type StartTls = fn(&Pair, &TestCa, bool) -> Option<Server>;

/// Whether a probe runs the TLS table, and against what.
pub enum Tls {
    Table(TlsServers),
    Skip(&'static str),
}

pub struct TlsServers {
    pub start: StartTls,
    /// A plaintext-only server that answers a ClientHello deterministically,
    /// or None for a loopback peer that greets in plaintext and hangs up. (A
    /// plaintext Redis answers a ClientHello only if its random bytes happen
    /// to hold a newline, else it waits: TIMEOUT, not a verdict.)
    pub plain: fn() -> Option<Server>,
    /// The config reaching `port`, without `tls` (the table adds it).
    pub address: fn(u16) -> Value,
}

struct Case {
    name: &'static str,
    leaf: Leaf,
    tls: fn(&TestCa) -> Value,
    expect: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "verify-full with CA",
        leaf: Leaf::Good,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem()}),
        expect: None,
    },
    Case {
        name: "verify-full without CA",
        leaf: Leaf::Good,
        tls: |_| json!({"mode": "verify-full"}),
        expect: Some(NOT_TRUSTED),
    },
    Case {
        name: "wrong name",
        leaf: Leaf::OtherName,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem()}),
        expect: Some(NAME_MISMATCH),
    },
    Case {
        name: "verify-ca ignores the name",
        leaf: Leaf::OtherName,
        tls: |ca| json!({"mode": "verify-ca", "ca": ca.pem()}),
        expect: None,
    },
    Case {
        name: "expired",
        leaf: Leaf::Expired,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem()}),
        expect: Some(EXPIRED),
    },
    Case {
        name: "expires soon",
        leaf: Leaf::TwoDays,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem(), "min_validity": "7d"}),
        expect: Some(EXPIRES_SOON),
    },
    Case {
        name: "require accepts an untrusted certificate",
        leaf: Leaf::Good,
        tls: |_| json!({"mode": "require"}),
        expect: None,
    },
];

fn servers(probe: &Probe) -> Option<&TlsServers> {
    match &probe.tls {
        Tls::Table(servers) => Some(servers),
        Tls::Skip(reason) => {
            eprintln!("SKIPPED: {} has no TLS table: {reason}", probe.source_type);
            None
        }
    }
}

fn with_tls(mut config: Value, tls: Value) -> Value {
    config["tls"] = tls;
    config
}

async fn check(probe: &Probe, config: Value) -> CheckReport {
    check_probe(probe.source_type, config, Duration::from_secs(10)).await
}

/// An OK report whose `details.tls` describes the peer certificate that
/// expires at `not_after`.
fn assert_tls_peer(r: &CheckReport, not_after: &str, what: &str) {
    assert_eq!(r.status, Status::Ok, "{what}: {r:?}");
    let tls = &r.details.as_ref().expect("details")["tls"];
    assert_eq!(tls["peer"][0]["not_after"], not_after, "{what}: {r:?}");
    assert!(tls["version"].as_str().is_some_and(|v| v.starts_with("TLSv1.")), "{what}: {r:?}");
    assert!(tls["cipher"].as_str().is_some_and(|c| !c.is_empty()), "{what}: {r:?}");
    assert!(tls["expires_in_days"].as_i64().is_some_and(|d| d >= 360), "{what}: {r:?}");
    assert!(r.tls_not_after.is_some(), "{what}: {r:?}");
}

/// Runs every case of the table against the probe's servers.
pub async fn table(probe: Probe) {
    let Some(servers) = servers(&probe) else { return };
    let ca = TestCa::new(&Spawned::temp_dir(&format!("{}-certs", probe.source_type)));
    for (i, case) in CASES.iter().enumerate() {
        let pair = ca.server(case.leaf, &format!("server{i}"));
        let Some(server) = (servers.start)(&pair, &ca, false) else { return };
        let r = check(&probe, with_tls((servers.address)(server.port), (case.tls)(&ca))).await;
        let what = format!("{} / {}", probe.source_type, case.name);
        match case.expect {
            None => assert_tls_peer(&r, &pair.not_after, &what),
            Some(message) => {
                assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some(message)), "{what}: {r:?}");
            }
        }
        if case.leaf == Leaf::TwoDays {
            assert!(r.extra.as_deref().is_some_and(|e| e.contains(&pair.not_after)), "date in extra: {what}");
        }
    }

    // A plaintext-only server: TLS is required, so it cannot be OK.
    let plain = (servers.plain)();
    let (port, _peer) = match &plain {
        Some(server) => (server.port, None),
        None => {
            let (port, stop) = sonde_test_support::accept_loop(|mut s| {
                use std::io::Write;
                let _ = s.write_all(b"-ERR this server speaks plaintext only\r\n");
            });
            (port, Some(StopOnDrop(stop)))
        }
    };
    let r = check(&probe, with_tls((servers.address)(port), json!({"mode": "require"}))).await;
    let what = format!("{} / require vs plaintext", probe.source_type);
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some(NO_TLS)), "{what}: {r:?}");
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A server that demands a client certificate accepts the configured one,
/// and refuses the check without it.
pub async fn client_certificate(probe: Probe) {
    let Some(servers) = servers(&probe) else { return };
    let ca = TestCa::new(&Spawned::temp_dir(&format!("{}-mtls", probe.source_type)));
    let pair = ca.server(Leaf::Good, "server");
    let client = ca.client("sonde-client");
    let Some(server) = (servers.start)(&pair, &ca, true) else { return };
    let address = (servers.address)(server.port);
    let tls = json!({
        "mode": "verify-full", "ca": ca.pem(),
        "client_cert": client.cert_pem, "client_key": client.key_pem,
    });
    let r = check(&probe, with_tls(address.clone(), tls)).await;
    assert_eq!(r.status, Status::Ok, "{}: {r:?}", probe.source_type);
    // The key never reaches the guest, so never its output either.
    assert!(!format!("{r:?}").contains("PRIVATE KEY"), "{r:?}");

    let r = check(&probe, with_tls(address, json!({"mode": "verify-full", "ca": ca.pem()}))).await;
    assert_ne!(r.status, Status::Ok, "{}: without a client certificate: {r:?}", probe.source_type);
}

/// Steps against a TLS server started by `start` with a `leaf` certificate
/// from a CA of its own; the server's [`TlsFacts`] carry both.
pub fn on_tls(start: StartTls, leaf: Leaf, steps: Vec<Step>) -> Scenario {
    Scenario::on(
        move || {
            let ca = TestCa::new(&Spawned::temp_dir("tls-modes-certs"));
            let pair = ca.server(leaf, "server");
            let mut server = start(&pair, &ca, false)?;
            server.tls = Some(TlsFacts { ca: ca.pem(), not_after: pair.not_after });
            Some(server)
        },
        steps,
    )
}

/// OK over TLS, with `details.tls` of the server's certificate.
pub fn over_tls() -> Expect {
    Expect::ok().then(|r, s| {
        let facts = s.tls.as_ref().expect("a server started by on_tls");
        assert_tls_peer(r, &facts.not_after, "over TLS");
    })
}

/// OK in plaintext: no `details.tls`, no certificate expiry.
pub fn in_plaintext() -> Expect {
    Expect::ok().then(|r, _| {
        assert!(r.details.as_ref().is_some_and(|d| d.get("tls").is_none()), "in plaintext: {r:?}");
        assert!(r.tls_not_after.is_none(), "in plaintext: {r:?}");
    })
}
