//! `echo`: a probe to start from. It connects to a TCP echo-style service,
//! sends a line, and is healthy when the same line comes back.
//!
//! Build: `cargo build --release` (this directory's `.cargo/config.toml`
//! targets wasm32-wasip2), then drop
//! `target/wasm32-wasip2/release/echo_probe.wasm` into Sonde's `plugins_dir`.
//! Try it first with `sonde check --plugin <that file> --config '{"host":…}'`.
//! Unit tests run natively, where the SDK's `net` is `std::net`:
//! `cargo test --target $(rustc -vV | sed -n 's/^host: //p')`.

use std::io::{BufRead, BufReader, Write};

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::Server;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, messages};

/// What the probe needs; the JSON Schema operators see is derived from it.
/// serde cannot deny unknown keys through `flatten`, so the schema does:
/// the host rejects a config with a key it does not list.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Config {
    /// `host` and `port` (7 when absent), as every Sonde probe names them.
    #[serde(flatten)]
    server: Server<7>,
    /// Line to send; defaults to "ping".
    #[serde(default = "default_line")]
    line: String,
    /// An example secret: write-only, never shown by Sonde.
    token: Option<Secret>,
}

fn default_line() -> String {
    "ping".into()
}

struct Echo;

impl Probe for Echo {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "echo";
    const DESCRIPTION: &'static str = "A line sent comes back";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![c.server.endpoint()])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        if c.line.contains('\n') {
            return Err(CheckError::invalid_config("line must be a single line"));
        }
        let mut stream = sonde_sdk::net::connect(&c.server.host, c.server.port)?;
        let greeting = c.token.as_ref().map_or(String::new(), |t| format!("{} ", t.expose()));
        writeln!(stream, "{greeting}{}", c.line)?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer)?;
        if answer.trim_end() != format!("{greeting}{}", c.line) {
            return Err(Problem::new(messages::UNEXPECTED_PROTOCOL)
                .with_extra(format!("expected the line back, got {} bytes", answer.len()))
                .into());
        }
        Ok(Healthy::new().detail("echoed", answer.trim_end().len()))
    }
}

sonde_sdk::export_probe!(Echo);

/// Native tests: `sonde_sdk::testing` calls the probe as the host does,
/// here against an echo server on loopback.
#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use sonde_sdk::serde_json::json;
    use sonde_sdk::testing;

    use super::*;

    fn echo_server() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut line = String::new();
                if BufReader::new(&conn).read_line(&mut line).is_ok() {
                    let _ = (&conn).write_all(line.as_bytes());
                }
            }
        });
        port
    }

    #[test]
    fn the_line_comes_back() {
        let port = echo_server();
        let report = testing::check::<Echo>(json!({"host": "127.0.0.1", "port": port})).expect("healthy");
        assert_eq!(report.details, json!({"echoed": 4}));
    }

    #[test]
    fn a_multi_line_line_is_invalid_config() {
        let err = testing::check::<Echo>(json!({"host": "127.0.0.1", "line": "a\nb"})).expect_err("invalid");
        assert!(matches!(err, CheckError::InvalidConfig(_)), "{err:?}");
    }
}
