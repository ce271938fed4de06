//! The `tcp` probe: healthy when a TCP connection to `host:port` opens.

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::Address;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe};

/// Where to connect.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Config {
    #[serde(flatten)]
    address: Address,
}

struct Tcp;

impl Probe for Tcp {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "tcp";
    const DESCRIPTION: &'static str = "A TCP connection to host:port opens";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![config.address.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let stream = sonde_sdk::net::connect(&config.address.host, config.address.port)?;
        let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        Ok(Healthy::new().detail("peer", peer))
    }
}

sonde_sdk::export_probe!(Tcp);
