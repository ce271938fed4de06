//! The TLS cases every probe that speaks TLS must pass, written once.
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

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::certs::{Leaf, Pair, TestCa};

use crate::common::check_probe;

/// How a probe's tests start its servers and shape its config.
pub trait TlsTarget {
    /// The probe's name (`redis`).
    const PROBE: &'static str;
    /// A running server; dropped to stop it.
    type Server;
    /// A TLS server with `pair` as its certificate (`demand` a client one
    /// signed by `ca`), or `None` to skip.
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Self::Server>;
    /// A plaintext-only server that answers a ClientHello deterministically,
    /// or `None` to use a loopback peer that greets in plaintext and hangs
    /// up. (A plaintext Redis answers a ClientHello only if its random bytes
    /// happen to hold a newline, else it waits: TIMEOUT, not a verdict.)
    fn start_plain() -> Option<Self::Server>;
    fn port(server: &Self::Server) -> u16;
    /// The config reaching `port` with `tls`: `host` and `port` unless
    /// the probe says otherwise.
    fn config(port: u16, tls: Value) -> Value {
        json!({"host": "127.0.0.1", "port": port, "tls": tls})
    }
}

/// The two tests every target runs, under names of its own: the table, and
/// a server that demands a client certificate.
macro_rules! tls_tests {
    ($target:ty, $table:ident, $client_certificate:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $table() {
            $crate::tls::matrix::run::<$target>().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $client_certificate() {
            $crate::tls::matrix::client_certificate::<$target>().await;
        }
    };
}
pub(crate) use tls_tests;

enum Expect {
    Ok,
    Error(&'static str),
}

struct Case {
    name: &'static str,
    leaf: Leaf,
    tls: fn(&TestCa) -> Value,
    expect: Expect,
}

const CASES: &[Case] = &[
    Case {
        name: "verify-full with CA",
        leaf: Leaf::Good,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem()}),
        expect: Expect::Ok,
    },
    Case {
        name: "verify-full without CA",
        leaf: Leaf::Good,
        tls: |_| json!({"mode": "verify-full"}),
        expect: Expect::Error("certificate not trusted"),
    },
    Case {
        name: "wrong name",
        leaf: Leaf::OtherName,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem()}),
        expect: Expect::Error("certificate name mismatch"),
    },
    Case {
        name: "verify-ca ignores the name",
        leaf: Leaf::OtherName,
        tls: |ca| json!({"mode": "verify-ca", "ca": ca.pem()}),
        expect: Expect::Ok,
    },
    Case {
        name: "expired",
        leaf: Leaf::Expired,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem()}),
        expect: Expect::Error("certificate expired"),
    },
    Case {
        name: "expires soon",
        leaf: Leaf::TwoDays,
        tls: |ca| json!({"mode": "verify-full", "ca": ca.pem(), "min_validity": "7d"}),
        expect: Expect::Error("certificate expires soon"),
    },
    Case {
        name: "require accepts an untrusted certificate",
        leaf: Leaf::Good,
        tls: |_| json!({"mode": "require"}),
        expect: Expect::Ok,
    },
];

async fn check<T: TlsTarget>(port: u16, tls: Value) -> CheckReport {
    check_probe(T::PROBE, T::config(port, tls), Duration::from_secs(10)).await
}

/// Runs every case of the table against `T`'s servers.
pub async fn run<T: TlsTarget>() {
    let dir = sonde_test_support::spawned::Spawned::temp_dir(&format!("{}-certs", T::PROBE));
    let ca = TestCa::new(&dir);
    for (i, case) in CASES.iter().enumerate() {
        let pair = ca.server(case.leaf, &format!("server{i}"));
        let Some(server) = T::start_tls(&pair, &ca, false) else { return };
        let r = check::<T>(T::port(&server), (case.tls)(&ca)).await;
        let what = format!("{} / {}: {r:?}", T::PROBE, case.name);
        match case.expect {
            Expect::Ok => {
                assert_eq!(r.status, Status::Ok, "{what}");
                let tls = &r.details.as_ref().expect("details")["tls"];
                assert_eq!(tls["peer"][0]["not_after"], pair.not_after, "{what}");
                assert!(tls["version"].as_str().is_some_and(|v| v.starts_with("TLSv1.")), "{what}");
                assert!(tls["cipher"].as_str().is_some_and(|c| !c.is_empty()), "{what}");
                assert!(tls["expires_in_days"].as_i64().is_some_and(|d| d >= 360), "{what}");
                assert!(r.tls_not_after.is_some(), "{what}");
            }
            Expect::Error(message) => {
                assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some(message)), "{what}");
            }
        }
        if case.leaf == Leaf::TwoDays {
            assert!(r.extra.as_deref().is_some_and(|e| e.contains(&pair.not_after)), "date in extra: {what}");
        }
    }

    // A plaintext-only server: TLS is required, so it cannot be OK.
    let plain = T::start_plain();
    let (port, _peer) = match &plain {
        Some(server) => (T::port(server), None),
        None => {
            let peer = sonde_test_support::accept_loop(|mut s| {
                use std::io::Write;
                let _ = s.write_all(b"-ERR this server speaks plaintext only\r\n");
            });
            (peer.0, Some(StopOnDrop(peer.1)))
        }
    };
    let r = check::<T>(port, json!({"mode": "require"})).await;
    assert_eq!(
        (r.status, r.message.as_deref()),
        (Status::Error, Some("server does not support TLS")),
        "{r:?}"
    );
}

struct StopOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A server that demands a client certificate accepts the configured one,
/// and refuses the check without it.
pub async fn client_certificate<T: TlsTarget>() {
    let dir = sonde_test_support::spawned::Spawned::temp_dir(&format!("{}-mtls", T::PROBE));
    let ca = TestCa::new(&dir);
    let pair = ca.server(Leaf::Good, "server");
    let client = ca.client("sonde-client");
    let Some(server) = T::start_tls(&pair, &ca, true) else { return };
    let tls = json!({
        "mode": "verify-full", "ca": ca.pem(),
        "client_cert": client.cert_pem, "client_key": client.key_pem,
    });
    let r = check::<T>(T::port(&server), tls).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    // The key never reaches the guest, so never its output either.
    assert!(!format!("{r:?}").contains("PRIVATE KEY"), "{r:?}");

    let r = check::<T>(T::port(&server), json!({"mode": "verify-full", "ca": ca.pem()})).await;
    assert_ne!(r.status, Status::Ok, "without a client certificate: {r:?}");
}
