//! The TLS table against private PostgreSQL servers with `ssl=on`, and
//! libpq's `prefer`/`require` against one with TLS off.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::certs::{Pair, TestCa};
use sonde_test_support::postgres::{PASSWORD_USER, PrivatePostgres};

use super::matrix::{self, TlsTarget};
use crate::common::{assert_error, check_probe};

struct Postgres;

impl TlsTarget for Postgres {
    const PROBE: &'static str = "postgres";
    type Server = PrivatePostgres;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<PrivatePostgres> {
        PrivatePostgres::with_tls(pair, &ca.ca_file(), demand)
    }
    fn start_plain() -> Option<PrivatePostgres> {
        PrivatePostgres::start()
    }
    fn port(server: &PrivatePostgres) -> u16 {
        server.port
    }
    fn config(port: u16, tls: Value) -> Value {
        json!({"host": "127.0.0.1", "port": port, "user": "postgres", "database": "postgres", "tls": tls})
    }
}

matrix::tls_tests!(Postgres, postgres_tls_matrix, postgres_tls_client_certificate);

/// Against a server with TLS off: `require` is the stable ERROR (the server
/// said `N`), `prefer` and the default go on in plaintext and report no
/// `details.tls`; against one with TLS on, the default (`prefer`) is TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_prefer_and_require_against_a_plaintext_server() {
    let Some(pg) = PrivatePostgres::start() else { return };
    let (user, password) = PASSWORD_USER;
    let config = |tls: Option<Value>| {
        let mut c = json!({"host": "127.0.0.1", "port": pg.port, "user": user, "password": password,
                           "database": "postgres"});
        if let Some(tls) = tls {
            c["tls"] = tls;
        }
        c
    };
    let r = check_probe("postgres", config(Some(json!({"mode": "require"}))), Duration::from_secs(10)).await;
    assert_error(&r, "server does not support TLS");
    for tls in [Some(json!({"mode": "prefer"})), None, Some(json!({"mode": "disable"}))] {
        let r = check_probe("postgres", config(tls.clone()), Duration::from_secs(10)).await;
        assert_eq!(r.status, Status::Ok, "{tls:?}: {r:?}\n{}", pg.log());
        assert!(r.details.as_ref().is_some_and(|d| d.get("tls").is_none()), "{tls:?}: {r:?}");
        assert!(r.tls_not_after.is_none(), "{tls:?}: {r:?}");
    }
    drop(pg);

    let dir = sonde_test_support::spawned::Spawned::temp_dir("postgres-prefer-certs");
    let ca = TestCa::new(&dir);
    let pair = ca.server(sonde_test_support::certs::Leaf::Good, "server");
    let Some(pg) = PrivatePostgres::with_tls(&pair, &ca.ca_file(), false) else { return };
    let plain = json!({"host": "127.0.0.1", "port": pg.port, "user": "postgres", "database": "postgres"});
    let r = check_probe("postgres", plain, Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.as_ref().expect("details")["tls"]["peer"][0]["not_after"], pair.not_after, "{r:?}");
}
