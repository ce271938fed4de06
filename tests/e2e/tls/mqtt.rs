//! The TLS table against private `mosquitto` brokers with a TLS listener
//! (MQTT over TLS from the first byte).

use serde_json::{Value, json};
use sonde_test_support::certs::{Pair, TestCa};
use sonde_test_support::mosquitto::Mosquitto;

use super::matrix::{self, TlsTarget};

struct Mqtt;

impl TlsTarget for Mqtt {
    const PROBE: &'static str = "mqtt";
    type Server = Mosquitto;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Mosquitto> {
        Mosquitto::with_tls(pair, &ca.ca_file(), demand)
    }
    /// A plaintext broker hangs up on a ClientHello (not a CONNECT).
    fn start_plain() -> Option<Mosquitto> {
        Mosquitto::plain()
    }
    fn port(server: &Mosquitto) -> u16 {
        server.port
    }
    fn config(port: u16, tls: Value) -> Value {
        json!({"host": "127.0.0.1", "port": port, "tls": tls})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_tls_matrix() {
    matrix::run::<Mqtt>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_tls_client_certificate() {
    matrix::client_certificate::<Mqtt>().await;
}
