//! The TLS table against private `mosquitto` brokers with a TLS listener
//! (MQTT over TLS from the first byte).

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
}

matrix::tls_tests!(Mqtt, mqtt_tls_matrix, mqtt_tls_client_certificate);
