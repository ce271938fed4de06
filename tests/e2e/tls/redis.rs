//! The TLS table against private `redis-server --tls-port` instances.

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
}

matrix::tls_tests!(Redis, redis_tls_matrix, redis_tls_client_certificate);
