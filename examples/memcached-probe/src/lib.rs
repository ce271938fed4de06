//! `memcached`: healthy when the server answers `version`; `stats` gives the
//! item count. The worked example of docs/writing-a-probe.md.
//!
//! Build: `cargo build --release` (wasm32-wasip2, from `.cargo/config.toml`).
//! Test the logic natively: `cargo test --target $(rustc -vV | sed -n 's/^host: //p')`.

use std::io::{BufRead, BufReader, Write};

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::Server;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Tls, TlsMode, messages};

/// A memcached server. The names (`host`, `port`, `tls`) are the ones every
/// Sonde probe uses, so operators write the same config everywhere.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Config {
    /// `host`, and `port` (11211 when absent): the SDK's shared fields.
    #[serde(flatten)]
    pub server: Server<11211>,
    /// TLS to the server (memcached 1.6's `-Z`), done and verified by the host.
    #[serde(default)]
    pub tls: Tls,
}

pub struct Memcached;

impl Probe for Memcached {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "memcached";
    const DESCRIPTION: &'static str = "A memcached server answers `version`";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![c.server.endpoint()])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        // Connection errors become "connection refused", "timed out", … by `?`.
        let mut stream = sonde_sdk::net::connect(&c.server.host, c.server.port)?;
        // memcached speaks TLS from the first byte: no STARTTLS exchange.
        if c.tls.mode_or(TlsMode::Disable) != TlsMode::Disable {
            stream.start_tls(&c.tls)?;
        }
        stream.write_all(b"version\r\nstats\r\n")?;
        let mut reader = BufReader::new(stream);
        let version = parse_version(&read_line(&mut reader)?)?;
        let mut items = None;
        loop {
            let line = read_line(&mut reader)?;
            if line == "END" {
                break;
            }
            items = items.or(parse_stat(&line, "curr_items"));
        }
        let mut healthy = Healthy::new().detail("version", version);
        if let Some(n) = items {
            healthy = healthy.items(n);
        }
        Ok(healthy)
    }
}

fn read_line(reader: &mut impl BufRead) -> Result<String, CheckError> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
            .with_extra("the server closed the connection")
            .into());
    }
    Ok(line.trim_end().to_string())
}

/// `VERSION 1.6.21` → `1.6.21`; anything else is not memcached.
pub fn parse_version(line: &str) -> Result<String, CheckError> {
    match line.strip_prefix("VERSION ") {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
            .with_extra(format!("expected VERSION, got {line:?}"))
            .into()),
    }
}

/// `STAT curr_items 3` → `Some(3)` for `name` = `curr_items`.
pub fn parse_stat(line: &str, name: &str) -> Option<u64> {
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("STAT"), Some(n), Some(v)) if n == name => v.parse().ok(),
        _ => None,
    }
}

sonde_sdk::export_probe!(Memcached);

/// Native tests: off wasm32 the SDK's `net` is `std::net`, so `check` runs
/// against a fake server on loopback, called by `sonde_sdk::testing` as the
/// host calls it. The real sandbox is tested with `sonde check`.
#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use sonde_sdk::serde_json::json;
    use sonde_sdk::testing;

    use super::*;

    /// A server that answers each connection's first request with `reply`.
    fn fake_server(reply: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 64];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        port
    }

    #[test]
    fn a_memcached_is_healthy_with_its_version_and_items() {
        let port = fake_server("VERSION 1.6.21\r\nSTAT pid 1\r\nSTAT curr_items 3\r\nEND\r\n");
        let report =
            testing::check::<Memcached>(json!({"host": "127.0.0.1", "port": port})).expect("healthy");
        assert_eq!(report.details, json!({"version": "1.6.21"}));
        assert_eq!(report.items, Some(3));
    }

    #[test]
    fn another_protocol_is_unexpected() {
        let port = fake_server("HTTP/1.1 400 Bad Request\r\n\r\n");
        let err = testing::check::<Memcached>(json!({"host": "127.0.0.1", "port": port}))
            .expect_err("not memcached");
        assert!(
            matches!(err, CheckError::Unhealthy(ref p) if p.message == messages::UNEXPECTED_PROTOCOL),
            "{err:?}"
        );
    }

    #[test]
    fn a_closed_port_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let err =
            testing::check::<Memcached>(json!({"host": "127.0.0.1", "port": port})).expect_err("closed");
        assert!(
            matches!(err, CheckError::Unhealthy(ref p) if p.message == messages::CONNECTION_REFUSED),
            "{err:?}"
        );
    }

    #[test]
    fn config_that_does_not_fit_is_invalid_before_any_connection() {
        let err = testing::check::<Memcached>(json!({"host": "127.0.0.1", "prot": 1})).expect_err("typo");
        assert!(matches!(err, CheckError::InvalidConfig(ref m) if m.contains("prot")), "{err:?}");
        let eps = testing::endpoints::<Memcached>(json!({"host": "cache"})).expect("endpoints");
        assert_eq!(eps, vec![Endpoint::new("cache", 11211)]);
    }

    #[test]
    fn lines_parse() {
        assert_eq!(parse_version("VERSION 1.6.21").ok(), Some("1.6.21".to_string()));
        assert!(parse_version("ERROR").is_err());
        assert_eq!(parse_stat("STAT curr_items 42", "curr_items"), Some(42));
        assert_eq!(parse_stat("STAT pid 42", "curr_items"), None);
    }
}
