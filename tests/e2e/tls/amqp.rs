//! The TLS table for the amqp probe (AMQPS: TLS from the first byte).
//!
//! Not against private RabbitMQ TLS listeners: a private node takes about
//! ten seconds to boot, and the table needs one per certificate. Each case
//! puts a TLS terminator of the tests' own instead
//! ([`sonde_test_support::tls_proxy`]: rustls with the case's certificate,
//! demanding a client one when asked) in front of the shared RabbitMQ on
//! 127.0.0.1:5672, so the broker behind it is real; what the table does not
//! exercise is RabbitMQ's own TLS stack. The plaintext case is the shared
//! broker itself, which answers a ClientHello with its protocol header and
//! hangs up.

use std::net::SocketAddr;

use serde_json::{Value, json};
use sonde_test_support::certs::{Pair, TestCa};
use sonde_test_support::require;
use sonde_test_support::tls_proxy::TlsProxy;

use super::matrix::{self, TlsTarget};

const RABBITMQ: &str = "127.0.0.1:5672";

/// The shared broker, behind a terminator or not.
struct Broker {
    port: u16,
    _tls: Option<TlsProxy>,
}

struct Amqp;

impl TlsTarget for Amqp {
    const PROBE: &'static str = "amqp";
    type Server = Broker;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Broker> {
        if !require("RabbitMQ", RABBITMQ) {
            return None;
        }
        let upstream: SocketAddr = RABBITMQ.parse().expect("address");
        let proxy = TlsProxy::start(pair, &ca.ca_file(), demand, upstream);
        Some(Broker { port: proxy.port, _tls: Some(proxy) })
    }
    fn start_plain() -> Option<Broker> {
        require("RabbitMQ", RABBITMQ).then_some(Broker { port: 5672, _tls: None })
    }
    fn port(server: &Broker) -> u16 {
        server.port
    }
    fn config(port: u16, tls: Value) -> Value {
        json!({"host": "127.0.0.1", "port": port, "tls": tls})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_tls_matrix() {
    matrix::run::<Amqp>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_tls_client_certificate() {
    matrix::client_certificate::<Amqp>().await;
}
