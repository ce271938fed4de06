//! The `kafka` probe: a self-hosted Kafka cluster, checked by
//! `sonde_kafka_wire::check` (ApiVersions, SASL when `user` and `password`
//! are given, Metadata of the topic). The same check as `kafka-cloud`, with
//! Sonde's usual `user`/`password` keys and DESIGN §4's TLS default:
//! `disable` (a PLAINTEXT or SASL_PLAINTEXT listener) unless `tls.mode`
//! asks, then TLS from the first byte (an SSL or SASL_SSL listener).

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_kafka_wire::{Cluster, Login, Mechanism};
use sonde_sdk::conn::Login as Credentials;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Tls, TlsMode};

/// A Kafka cluster Sonde's operator runs.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    /// The broker to start from: `host`, `host:port`, or several separated
    /// by commas (tried in order until one connects).
    #[schemars(length(min = 1))]
    bootstrap_servers: String,
    /// Port of a bootstrap server that names none.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    port: u16,
    /// The topic that must exist, with a leader for each partition.
    #[schemars(length(min = 1))]
    topic: String,
    #[serde(flatten)]
    login: Credentials,
    /// SASL mechanism for `user`/`password`.
    #[serde(default)]
    sasl_mechanism: Mechanism,
    /// TLS from the first byte when `mode` asks; off by default.
    #[serde(default)]
    tls: Tls,
}

/// The shared login fields, worded for SASL.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("user", "SASL user name; without it the check does not authenticate."),
            ("password", "SASL password of `user`."),
        ],
    );
}

fn default_port() -> u16 {
    9092
}

impl Config {
    fn cluster(&self) -> Result<Cluster<'_>, String> {
        self.login.validate()?;
        let login = match (&self.login.user, &self.login.password) {
            (Some(user), Some(password)) => {
                Some(Login { user, password: password.expose(), mechanism: self.sasl_mechanism })
            }
            _ => None,
        };
        let mut tls = self.tls.clone();
        tls.mode.get_or_insert(TlsMode::Disable);
        Ok(Cluster {
            servers: sonde_kafka_wire::servers(&self.bootstrap_servers, self.port)?,
            topic: &self.topic,
            login,
            login_keys: "`user` and `password`",
            tls,
        })
    }
}

struct Kafka;

impl Probe for Kafka {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "kafka";
    const DESCRIPTION: &'static str =
        "A Kafka cluster authenticates (SASL) if asked and has the topic, each partition with a leader";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(sonde_kafka_wire::endpoints(&config.cluster()?.servers))
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        sonde_kafka_wire::check(config.cluster().map_err(CheckError::InvalidConfig)?)
    }
}

sonde_sdk::export_probe!(Kafka);
