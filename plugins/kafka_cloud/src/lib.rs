//! The `kafka-cloud` probe (Unstructured's Kafka source type): a cluster
//! reached with Unstructured's keys, checked by `sonde_kafka_wire::check`
//! (ApiVersions, SASL, Metadata of the topic). `group_id` is accepted
//! because Unstructured's config has it, and reported only: a check joins
//! no group.
//!
//! Without `tls.mode` the probe uses TLS and verifies it (`verify-full`),
//! as the http probe does for `https` URLs: a cloud broker (Confluent
//! Cloud's SASL_SSL) accepts nothing else, and an unverified default would
//! hand the SASL secret to whoever answers. The self-hosted `kafka` type
//! keeps DESIGN §4's `disable`.

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_kafka_wire::{Cluster, Login, Mechanism};
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Secret, Tls, TlsMode};

/// A Kafka cluster, as Unstructured's `kafka-cloud` source names it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
    /// SASL user name (Confluent Cloud: the API key); needs `secret`.
    #[serde(default)]
    kafka_api_key: Option<Secret>,
    /// SASL password (Confluent Cloud: the API secret).
    #[serde(default)]
    secret: Option<Secret>,
    /// Unstructured's consumer group. A check joins no group; reported only.
    #[serde(default)]
    #[schemars(length(min = 1))]
    group_id: Option<String>,
    /// SASL mechanism for `kafka_api_key`/`secret` (Sonde's key).
    #[serde(default)]
    sasl_mechanism: Mechanism,
    /// TLS from the first byte; `verify-full` without `mode`, `disable`
    /// for a PLAINTEXT or SASL_PLAINTEXT listener.
    #[serde(default)]
    tls: Tls,
}

fn default_port() -> u16 {
    9092
}

impl Config {
    fn cluster(&self) -> Result<Cluster<'_>, String> {
        let login = match (&self.kafka_api_key, &self.secret) {
            (Some(user), Some(password)) => Some(Login {
                user: user.expose(),
                password: password.expose(),
                mechanism: self.sasl_mechanism,
            }),
            (None, None) => None,
            _ => return Err("`kafka_api_key` and `secret` go together".into()),
        };
        let mut tls = self.tls.clone();
        tls.mode.get_or_insert(TlsMode::VerifyFull);
        Ok(Cluster {
            servers: sonde_kafka_wire::servers(&self.bootstrap_servers, self.port)?,
            topic: &self.topic,
            login,
            login_keys: "`kafka_api_key` and `secret`",
            tls,
        })
    }
}

struct KafkaCloud;

impl Probe for KafkaCloud {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "kafka-cloud";
    const DESCRIPTION: &'static str =
        "A Kafka cluster authenticates (SASL) and has the topic, each partition with a leader";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(sonde_kafka_wire::endpoints(&config.cluster()?.servers))
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let cluster = config.cluster().map_err(CheckError::InvalidConfig)?;
        let mut healthy = sonde_kafka_wire::check(cluster)?;
        if let Some(group) = &config.group_id {
            healthy = healthy.detail("group_id", group.as_str());
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(KafkaCloud);

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sonde_sdk::TlsMode;

    use super::Config;

    fn config(value: serde_json::Value) -> Config {
        serde_json::from_value(value).expect("a config")
    }

    #[test]
    fn credentials_go_together_and_tls_verifies_by_default() {
        let both =
            config(json!({"bootstrap_servers": "a", "topic": "t", "kafka_api_key": "k", "secret": "s"}));
        let cluster = both.cluster().expect("a cluster");
        assert_eq!(cluster.login.as_ref().map(|l| (l.user, l.password)), Some(("k", "s")));
        assert_eq!(cluster.tls.mode, Some(TlsMode::VerifyFull));
        let one = config(json!({"bootstrap_servers": "a", "topic": "t", "kafka_api_key": "k"}));
        assert!(one.cluster().is_err());
        let mechanism =
            config(json!({"bootstrap_servers": "a", "topic": "t", "sasl_mechanism": "SCRAM-SHA-512"}));
        assert_eq!(mechanism.sasl_mechanism.name(), "SCRAM-SHA-512");
        assert!(
            serde_json::from_value::<Config>(json!({"bootstrap_servers": "a", "topic": "t", "x": 1}))
                .is_err()
        );
    }
}
