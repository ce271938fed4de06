//! The `tcp` probe: healthy when a TCP connection to `host:port` opens.

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe};

/// Where to connect.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    host: String,
    /// TCP port.
    #[schemars(range(min = 1))]
    port: u16,
}

struct Tcp;

impl Probe for Tcp {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "tcp";
    const DESCRIPTION: &'static str = "A TCP connection to host:port opens";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![Endpoint::new(&config.host, config.port)])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let stream = sonde_sdk::net::connect(&config.host, config.port)?;
        let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        Ok(Healthy::new().detail("peer", peer))
    }
}

sonde_sdk::export_probe!(Tcp);
