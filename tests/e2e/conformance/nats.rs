//! The nats probe's rows: the shared NATS server (no auth), private ones
//! that require a token, a user, or TLS, and one without TLS.

use serde_json::json;
use sonde_test_support::certs::Leaf;
use sonde_test_support::nats::NatsServer;

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, Probe, Row, Scenario, Server, another_protocol, cases, host_port, invalid_host_port,
    loopback, step,
};

const TLS_REQUIRED: &str = "tls required";

fn start_tls(
    pair: &sonde_test_support::certs::Pair,
    ca: &sonde_test_support::certs::TestCa,
    demand: bool,
) -> Option<Server> {
    NatsServer::with_tls(pair, &ca.ca_file(), demand).map(|n| Server::private(n.port, n))
}

fn plain() -> Option<Server> {
    NatsServer::plain().map(|n| Server::private(n.port, n))
}

pub fn probe() -> Probe {
    Probe {
        source_type: "nats",
        address: host_port,
        ok: Row::Run(vec![Scenario::shared(
            "NATS",
            4222,
            vec![step(
                |_| json!({"host": "127.0.0.1"}),
                Expect::ok().then(|r, _| {
                    let details = r.details.as_ref().expect("details");
                    assert!(details["server_version"].as_str().is_some_and(|v| v.contains('.')), "{details}");
                    assert!(details["server_id"].as_str().is_some_and(|v| !v.is_empty()), "{details}");
                }),
            )],
        )]),
        credentials: Row::Run(vec![
            Scenario::on(
                || NatsServer::with_token("s3cret-token").map(|n| Server::private(n.port, n)),
                vec![
                    step(|s| loopback(s.port, json!({"token": "s3cret-token"})), Expect::ok()),
                    step(
                        |s| loopback(s.port, json!({"token": "nope"})),
                        Expect::error(AUTH_FAILED).extra("Authorization Violation"),
                    ),
                    step(|s| host_port(s.port), Expect::error(AUTH_FAILED)),
                ],
            ),
            Scenario::on(
                || NatsServer::with_user("probe", "pw").map(|n| Server::private(n.port, n)),
                vec![
                    step(|s| loopback(s.port, json!({"user": "probe", "password": "pw"})), Expect::ok()),
                    step(
                        |s| loopback(s.port, json!({"user": "probe", "password": "nope"})),
                        Expect::error(AUTH_FAILED),
                    ),
                ],
            ),
        ]),
        missing_resource: Row::Skip(
            "a NATS connect names no resource: the account comes from the credentials",
        ),
        // A NATS server speaks first, so the probe waits for its INFO before
        // sending anything. Servers that wait for the client (Redis,
        // PostgreSQL, RabbitMQ, an MQTT broker) therefore look like a silent
        // peer: TIMEOUT. MariaDB greets first too, with a binary handshake
        // that cannot begin `INFO `, which is the wrong kind of server this
        // probe can tell apart.
        wrong_server: Row::Run(vec![another_protocol("MariaDB", 3306, host_port)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "pass": "x"}),
            json!({"host": "h", "user": "u"}),
            json!({"host": "h", "password": "p"}),
            json!({"host": "h", "user": "u", "password": "p", "token": "t"}),
        ]),
        // TLS is the upgrade after `INFO`; a plaintext server's INFO says no TLS.
        tls: Tls::Table(TlsServers { start: start_tls, plain, address: host_port }),
        // Without `tls` the probe follows the server: TLS when it requires
        // it, plaintext otherwise; `prefer` against a plaintext server is
        // plaintext, and an explicit `disable` against one that requires TLS
        // is "tls required".
        tls_modes: Row::Run(vec![
            Scenario::on(
                plain,
                vec![
                    step(|s| host_port(s.port), in_plaintext()),
                    step(|s| loopback(s.port, json!({"tls": {"mode": "prefer"}})), in_plaintext()),
                ],
            ),
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    step(|s| host_port(s.port), over_tls()),
                    step(
                        |s| loopback(s.port, json!({"tls": {"mode": "disable"}})),
                        Expect::error(TLS_REQUIRED),
                    ),
                ],
            ),
        ]),
        own_messages: &[(
            TLS_REQUIRED,
            "`disable` against a server whose INFO sets `tls_required`: the probe stays plaintext and stops",
        )],
    }
}

cases!(probe);
