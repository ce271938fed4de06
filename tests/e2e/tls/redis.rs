//! The TLS table against private `redis-server --tls-port` instances.

use serde_json::{Value, json};
use sonde_test_support::certs::{Pair, TestCa};
use sonde_test_support::redis::RedisServer;

use super::matrix::{self, TlsTarget};

struct Redis;

impl TlsTarget for Redis {
    const PROBE: &'static str = "redis";
    type Server = RedisServer;
    fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<RedisServer> {
        RedisServer::with_tls(pair, &ca.ca_file(), demand)
    }
    fn start_plain() -> Option<RedisServer> {
        None
    }
    fn port(server: &RedisServer) -> u16 {
        server.port
    }
    fn config(port: u16, tls: Value) -> Value {
        json!({"host": "127.0.0.1", "port": port, "tls": tls})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tls_matrix() {
    matrix::run::<Redis>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tls_client_certificate() {
    matrix::client_certificate::<Redis>().await;
}
