//! The TLS table against private MariaDB servers started with
//! `--ssl-cert`/`--ssl-key` (the SSL request after the greeting), and the
//! modes against one with TLS off.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::mariadb::PrivateMariaDb;

use super::matrix::{self, TlsTarget};
use crate::common::{assert_error, check_probe};

struct Mysql;

impl TlsTarget for Mysql {
    const PROBE: &'static str = "mysql";
    type Server = PrivateMariaDb;
    /// With a client certificate demanded, root must log in with one
    /// (`REQUIRE X509`).
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<PrivateMariaDb> {
        PrivateMariaDb::with_tls(pair, &ca.ca_file(), demand)
    }
    /// Its greeting offers no `CLIENT_SSL`.
    fn start_plain() -> Option<PrivateMariaDb> {
        PrivateMariaDb::start()
    }
    fn port(server: &PrivateMariaDb) -> u16 {
        server.port
    }
}

matrix::tls_tests!(Mysql, mysql_tls_matrix, mysql_tls_client_certificate);

/// `prefer` upgrades when the greeting offers TLS and goes on in plaintext
/// when it does not; `disable` (the default, DESIGN §4) never upgrades;
/// `require` against TLS off is the stable ERROR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_tls_prefer_and_require_against_a_plaintext_server() {
    let Some(db) = PrivateMariaDb::start() else { return };
    let config = |tls: Option<Value>| {
        let mut c = json!({"host": "127.0.0.1", "port": db.port});
        if let Some(tls) = tls {
            c["tls"] = tls;
        }
        c
    };
    let r = check_probe("mysql", config(Some(json!({"mode": "require"}))), Duration::from_secs(10)).await;
    assert_error(&r, "server does not support TLS");
    for tls in [Some(json!({"mode": "prefer"})), None, Some(json!({"mode": "disable"}))] {
        let r = check_probe("mysql", config(tls.clone()), Duration::from_secs(10)).await;
        assert_eq!(r.status, Status::Ok, "{tls:?}: {r:?}");
        assert!(r.details.as_ref().is_some_and(|d| d.get("tls").is_none()), "{tls:?}: {r:?}");
    }
    drop(db);

    let dir = sonde_test_support::spawned::Spawned::temp_dir("mysql-prefer-certs");
    let ca = TestCa::new(&dir);
    let pair = ca.server(Leaf::Good, "server");
    let Some(db) = PrivateMariaDb::with_tls(&pair, &ca.ca_file(), false) else { return };
    let plain = json!({"host": "127.0.0.1", "port": db.port});
    let mut preferred = plain.clone();
    preferred["tls"] = json!({"mode": "prefer"});
    let r = check_probe("mysql", preferred, Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.as_ref().expect("details")["tls"]["peer"][0]["not_after"], pair.not_after, "{r:?}");
    for tls in [None, Some(json!({"mode": "disable"}))] {
        let mut c = plain.clone();
        if let Some(tls) = tls.clone() {
            c["tls"] = tls;
        }
        let r = check_probe("mysql", c, Duration::from_secs(10)).await;
        assert_eq!(r.status, Status::Ok, "{tls:?}: {r:?}");
        assert!(r.details.as_ref().is_some_and(|d| d.get("tls").is_none()), "{tls:?}: {r:?}");
    }
}
