//! The amqp probe's rows: the shared RabbitMQ (guest/guest), and private
//! nodes whose only listener is TLS (AMQPS: TLS from the first byte).

use serde_json::json;
use sonde_test_support::rabbitmq::PrivateRabbitMq;
use sonde_test_support::require;

use super::tls::{Tls, TlsServers};
use super::{
    AUTH_FAILED, Expect, Probe, Row, Scenario, Server, another_protocol, cases, host_port, invalid_host_port,
    step,
};

const VHOST_NOT_FOUND: &str = "vhost not found";

pub fn probe() -> Probe {
    Probe {
        source_type: "amqp",
        address: host_port,
        // Explicit credentials, and the defaults (guest, guest, "/").
        ok: Row::Run(vec![Scenario::shared(
            "RabbitMQ",
            5672,
            [
                json!({"host": "127.0.0.1", "user": "guest", "password": "guest", "vhost": "/"}),
                json!({"host": "127.0.0.1"}),
            ]
            .map(|config| {
                step(
                    move |_| config.clone(),
                    Expect::ok().then(|r, _| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(details["server_product"], "RabbitMQ", "{details}");
                        let version = details["server_version"].as_str();
                        assert!(version.is_some_and(|v| v.contains('.')), "{details}");
                        assert_eq!(details["vhost"], "/");
                    }),
                )
            })
            .into(),
        )]),
        credentials: Row::Run(vec![Scenario::shared(
            "RabbitMQ",
            5672,
            vec![step(
                |_| json!({"host": "127.0.0.1", "user": "guest", "password": "wrong"}),
                Expect::error(AUTH_FAILED).extra("ACCESS_REFUSED"),
            )],
        )]),
        missing_resource: Row::Run(vec![Scenario::shared(
            "RabbitMQ",
            5672,
            vec![step(
                |_| json!({"host": "127.0.0.1", "password": "guest", "vhost": "sonde-no-such-vhost"}),
                Expect::error(VHOST_NOT_FOUND),
            )],
        )]),
        // PostgreSQL reads the AMQP protocol header as a bad startup packet
        // and hangs up; a broker always answers it.
        wrong_server: Row::Run(vec![another_protocol("PostgreSQL", 5432, host_port)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "vhost": ""}),
            json!({"host": "h", "user": ""}),
            json!({"host": "h", "virtual_host": "/"}),
        ]),
        // One node per case, as for the other probes. The plaintext case is
        // the shared broker, which answers a ClientHello with its protocol
        // header and hangs up.
        tls: Tls::Table(TlsServers {
            start: |pair, ca, demand| {
                PrivateRabbitMq::with_tls(pair, &ca.ca_file(), demand)
                    .map(|node| Server::private(node.port, node))
            },
            plain: || require("RabbitMQ", "127.0.0.1:5672").then(|| Server::private(5672, ())),
            address: host_port,
        }),
        tls_modes: Row::Skip("AMQPS is TLS from the first byte on a port of its own: no mode negotiates it"),
        own_messages: &[(
            VHOST_NOT_FOUND,
            "DESIGN §3 wants \"vhost does not exist\"; plugins/amqp still says this (recorded here)",
        )],
    }
}

cases!(probe);
