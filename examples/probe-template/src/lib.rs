//! `echo`: a probe to start from. It connects to a TCP echo-style service,
//! sends a line, and is healthy when the same line comes back.
//!
//! Build: `cargo build --release` (this directory's `.cargo/config.toml`
//! targets wasm32-wasip2), then drop
//! `target/wasm32-wasip2/release/echo_probe.wasm` into Sonde's `plugins_dir`.

use std::io::{BufRead, BufReader, Write};

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, messages};

/// What the probe needs; the JSON Schema operators see is derived from it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Host name or IP address.
    host: String,
    /// TCP port.
    #[serde(default = "default_port")]
    port: u16,
    /// Line to send; defaults to "ping".
    #[serde(default = "default_line")]
    line: String,
    /// An example secret: write-only, never shown by Sonde.
    token: Option<Secret>,
}

fn default_port() -> u16 {
    7
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
        Ok(vec![Endpoint::new(&c.host, c.port)])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        if c.line.contains('\n') {
            return Err(CheckError::invalid_config("line must be a single line"));
        }
        let mut stream = sonde_sdk::net::connect(&c.host, c.port)?;
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
