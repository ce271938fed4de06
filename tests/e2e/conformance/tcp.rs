//! The tcp probe's rows: a connect and nothing more, so most cases are not
//! its to have.

use serde_json::json;
use sonde_test_support::FullBacklog;

use super::tls::Tls;
use super::{Expect, Probe, Row, Scenario, Server, cases, host_port, invalid_host_port, step};

pub fn probe() -> Probe {
    Probe {
        source_type: "tcp",
        address: host_port,
        ok: Row::Run(vec![Scenario::shared(
            "PostgreSQL",
            5432,
            vec![step(
                |s| host_port(s.port),
                Expect::ok()
                    .then(|r, _| assert_eq!(r.details.as_ref().expect("details")["peer"], "127.0.0.1:5432")),
            )],
        )]),
        credentials: Row::Skip("tcp sends no credentials"),
        missing_resource: Row::Skip("tcp names nothing beyond the port"),
        wrong_server: Row::Skip("any listener is the right kind: tcp only connects"),
        // A listener that accepts is a success for tcp, so the silent peer
        // is one that never accepts: its SYN is dropped.
        silent_server: Row::Run(vec![Scenario::on(
            || {
                let peer = FullBacklog::start();
                Some(Server::private(peer.port, peer))
            },
            vec![step(|s| host_port(s.port), Expect::timeout())],
        )]),
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "127.0.0.1"}),
            json!({"host": "", "port": 80}),
        ]),
        tls: Tls::Skip("tcp opens no TLS"),
        tls_modes: Row::Skip("tcp opens no TLS"),
        own_messages: &[],
    }
}

cases!(probe);
