//! The TLS table against private `nats-server`s that require TLS (the
//! upgrade after `INFO`), and the modes against one without TLS.

use std::time::Duration;

use serde_json::json;
use sonde::runtime::Status;
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::nats::NatsServer;

use super::matrix::{self, TlsTarget};
use crate::common::{assert_error, check_probe};

struct Nats;

impl TlsTarget for Nats {
    const PROBE: &'static str = "nats";
    type Server = NatsServer;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<NatsServer> {
        NatsServer::with_tls(pair, &ca.ca_file(), demand)
    }
    fn start_plain() -> Option<NatsServer> {
        NatsServer::plain()
    }
    fn port(server: &NatsServer) -> u16 {
        server.port
    }
}

matrix::tls_tests!(Nats, nats_tls_matrix, nats_tls_client_certificate);

/// Without `tls` the probe follows the server: TLS when it requires it,
/// plaintext otherwise; `prefer` against a plaintext server is plaintext,
/// and an explicit `disable` against one that requires TLS is "tls required".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_tls_follows_the_server_without_a_mode() {
    let Some(plain) = NatsServer::plain() else { return };
    for tls in [None, Some(json!({"mode": "prefer"}))] {
        let mut config = json!({"host": "127.0.0.1", "port": plain.port});
        if let Some(tls) = &tls {
            config["tls"] = tls.clone();
        }
        let r = check_probe("nats", config, Duration::from_secs(10)).await;
        assert_eq!(r.status, Status::Ok, "{tls:?}: {r:?}");
        assert!(r.details.as_ref().is_some_and(|d| d.get("tls").is_none()), "{tls:?}: {r:?}");
    }

    let dir = sonde_test_support::spawned::Spawned::temp_dir("nats-default-certs");
    let ca = TestCa::new(&dir);
    let pair = ca.server(Leaf::Good, "server");
    let Some(server) = NatsServer::with_tls(&pair, &ca.ca_file(), false) else { return };
    let r =
        check_probe("nats", json!({"host": "127.0.0.1", "port": server.port}), Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.as_ref().expect("details")["tls"]["peer"][0]["not_after"], pair.not_after, "{r:?}");
    let config = json!({"host": "127.0.0.1", "port": server.port, "tls": {"mode": "disable"}});
    assert_error(&check_probe("nats", config, Duration::from_secs(10)).await, "tls required");
}
