//! The mqtt probe's rows: the shared Mosquitto, a private one with a
//! password file, and private ones with a TLS listener (MQTT over TLS from
//! the first byte), each with protocol versions 4 and 5 where it matters.

use serde_json::json;
use sonde_test_support::mosquitto::Mosquitto;

use super::tls::{Tls, TlsServers};
use super::{
    AUTH_FAILED, Expect, Probe, Row, Scenario, Server, Step, another_protocol, cases, host_port,
    invalid_host_port, loopback, step,
};

/// Right, wrong and no credentials with protocol `version`.
fn logins(version: u8) -> Vec<Step> {
    vec![
        step(
            move |s| {
                loopback(s.port, json!({"protocol_version": version, "user": "probe", "password": "pw"}))
            },
            Expect::ok(),
        ),
        step(
            move |s| {
                loopback(s.port, json!({"protocol_version": version, "user": "probe", "password": "nope"}))
            },
            Expect::error(AUTH_FAILED),
        ),
        // Anonymous clients are refused too (not authorized).
        step(move |s| loopback(s.port, json!({"protocol_version": version})), Expect::error(AUTH_FAILED)),
    ]
}

pub fn probe() -> Probe {
    Probe {
        source_type: "mqtt",
        address: host_port,
        ok: Row::Run(vec![Scenario::shared(
            "Mosquitto",
            1883,
            [4, 5]
                .map(|version| {
                    step(
                        move |_| json!({"host": "127.0.0.1", "protocol_version": version}),
                        Expect::ok().then(move |r, _| {
                            assert_eq!(r.details.as_ref().expect("details")["protocol_version"], version);
                        }),
                    )
                })
                .into(),
        )]),
        credentials: Row::Run(vec![Scenario::on(
            || Mosquitto::with_user("probe", "pw").map(|m| Server::private(m.port, m)),
            logins(4).into_iter().chain(logins(5)).collect(),
        )]),
        missing_resource: Row::Skip("an MQTT CONNECT names no resource; the probe subscribes to nothing"),
        // Redis never answers a CONNECT: its inline-command parser looks for
        // a line end with strchr, which stops at the packet's first NUL byte,
        // so it waits forever (TIMEOUT). A NATS server greets every client
        // with `INFO {...}`, which cannot be a CONNACK.
        wrong_server: Row::Run(vec![another_protocol("NATS", 4222, host_port)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "protocol_version": 3}),
            json!({"host": "h", "client_id": ""}),
            json!({"host": "h", "password": "p"}),
            json!({"host": "h", "username": "u"}),
        ]),
        tls: Tls::Table(TlsServers {
            start: |pair, ca, demand| {
                Mosquitto::with_tls(pair, &ca.ca_file(), demand).map(|m| Server::private(m.port, m))
            },
            // A plaintext broker hangs up on a ClientHello (not a CONNECT).
            plain: || Mosquitto::plain().map(|m| Server::private(m.port, m)),
            address: host_port,
        }),
        tls_modes: Row::Skip(
            "MQTT over TLS is TLS from the first byte on a port of its own: no mode negotiates it",
        ),
        own_messages: &[],
    }
}

cases!(probe);
