//! The TLS table against private RabbitMQ nodes whose only listener is TLS
//! (AMQPS: TLS from the first byte), one node per case as for the other
//! probes. The plaintext case is the shared broker on 127.0.0.1:5672, which
//! answers a ClientHello with its protocol header and hangs up.

use sonde_test_support::certs::{Pair, TestCa};
use sonde_test_support::rabbitmq::PrivateRabbitMq;
use sonde_test_support::require;

use super::matrix::{self, TlsTarget};

/// A private node with TLS, or the shared plaintext broker.
enum Broker {
    Tls(PrivateRabbitMq),
    Shared,
}

struct Amqp;

impl TlsTarget for Amqp {
    const PROBE: &'static str = "amqp";
    type Server = Broker;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Broker> {
        PrivateRabbitMq::with_tls(pair, &ca.ca_file(), demand).map(Broker::Tls)
    }
    fn start_plain() -> Option<Broker> {
        require("RabbitMQ", "127.0.0.1:5672").then_some(Broker::Shared)
    }
    fn port(server: &Broker) -> u16 {
        match server {
            Broker::Tls(node) => node.port,
            Broker::Shared => 5672,
        }
    }
}

matrix::tls_tests!(Amqp, amqp_tls_matrix, amqp_tls_client_certificate);
