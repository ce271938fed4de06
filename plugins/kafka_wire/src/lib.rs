//! What the `kafka` and `kafka-cloud` probes share: [`check`] connects to a
//! bootstrap broker, asks ApiVersions, authenticates with SASL (PLAIN, or
//! SCRAM-SHA-256/512), then asks Metadata for the topic. OK when the topic
//! exists and every partition has a leader; `items` = its partitions, and
//! the brokers the cluster advertises are in `details`. Each probe maps its
//! own keys (Unstructured's for `kafka-cloud`) to a [`Cluster`].
//!
//! Requests and responses are `kafka-protocol`'s ([`wire`] frames them);
//! the SASL payloads are [`sasl`]'s. A check never produces, consumes or
//! joins a group.
//!
//! TLS is from the first byte (Kafka's SSL listeners have no upgrade), done
//! by the host under the cluster's `tls`, whose default mode each probe
//! sets.

pub mod sasl;
pub mod wire;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sonde_sdk::{CheckError, Endpoint, Healthy, Problem, Tls, TlsMode, messages};

use wire::{Conn, Failure, error_name, protocol};

/// A cluster to check, from either probe's config.
pub struct Cluster<'a> {
    /// The bootstrap servers, tried in order until one connects.
    pub servers: Vec<(String, u16)>,
    pub topic: &'a str,
    pub login: Option<Login<'a>>,
    /// The config keys that carry the login, for a message that asks for
    /// them (`kafka_api_key` and `secret`).
    pub login_keys: &'static str,
    /// With its mode set: the probe's default applied.
    pub tls: Tls,
}

/// SASL credentials.
pub struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub mechanism: Mechanism,
}

/// Serialize gives the schema its default.
#[derive(Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
pub enum Mechanism {
    #[default]
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// A partition without a leader cannot be read or written.
const LEADERLESS: &str = "partition has no leader";

/// The newest versions this probe speaks; a broker's own maximum, from
/// ApiVersions, lowers them.
const METADATA_MAX: i16 = 12;
const HANDSHAKE_MAX: i16 = 1;
const AUTHENTICATE_MAX: i16 = 2;
/// ApiVersions v3 is the first with flexible fields; an older broker
/// answers it with UNSUPPORTED_VERSION in v0 form, and v0 is asked then.
const API_VERSIONS: i16 = 3;

/// The check of DESIGN §3 on `cluster`.
pub fn check(cluster: Cluster<'_>) -> Result<Healthy, CheckError> {
    let (mut conn, host) = connect(&cluster.servers)?;
    if cluster.tls.mode_or(TlsMode::Disable) != TlsMode::Disable {
        let mut tls = cluster.tls.clone();
        tls.server_name.get_or_insert(host);
        conn.stream.start_tls(&tls)?;
    }

    let versions = api_versions(&mut conn)?;
    let max = |key: ApiKey, ours: i16| versions.iter().find(|v| v.0 == key as i16).map(|v| v.1.min(ours));

    let mut healthy = Healthy::new();
    if let Some(login) = &cluster.login {
        authenticate(&mut conn, login, &max)?;
        healthy = healthy.detail("sasl_mechanism", login.mechanism.name());
    }

    let version = max(ApiKey::Metadata, METADATA_MAX)
        .ok_or_else(|| protocol("the broker lists no Metadata API in ApiVersions".into()))?;
    let topic = MetadataRequestTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(cluster.topic.to_string()))));
    let request =
        MetadataRequest::default().with_topics(Some(vec![topic])).with_allow_auto_topic_creation(false);
    let metadata = match conn.send(&request, version) {
        Ok(m) => m,
        // A SASL listener hangs up on any request but ApiVersions and
        // SASL's own before authentication: what a check without
        // credentials meets there.
        Err(Failure::Closed) if cluster.login.is_none() => {
            return Err(Problem::new(messages::AUTHENTICATION_FAILED)
                .with_extra(format!(
                    "the broker closed the connection on Metadata without authentication: \
                         its listener wants SASL ({})",
                    cluster.login_keys
                ))
                .into());
        }
        Err(Failure::Closed) => {
            return Err(Problem::new(messages::CONNECTION_RESET)
                .with_extra("the broker closed the connection on Metadata")
                .into());
        }
        Err(Failure::Error(e)) => return Err(e),
    };

    let brokers: Vec<_> = metadata
        .brokers
        .iter()
        .map(|b| json!({"node_id": b.node_id.0, "host": b.host.as_str(), "port": b.port}))
        .collect();
    healthy = healthy.detail("brokers", brokers);
    if let Some(id) = &metadata.cluster_id {
        healthy = healthy.detail("cluster_id", id.as_str());
    }
    if metadata.controller_id.0 >= 0 {
        healthy = healthy.detail("controller_id", metadata.controller_id.0);
    }

    let Some(found) =
        metadata.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| *n.0 == *cluster.topic))
    else {
        return Err(protocol(format!("the Metadata response leaves out topic {:?}", cluster.topic)));
    };
    match found.error_code {
        0 => {}
        3 => {
            return Err(Problem::new(messages::does_not_exist("topic"))
                .with_extra(format!("{}: {:?}", error_name(3), cluster.topic))
                .into());
        }
        29 => {
            return Err(Problem::new(messages::PERMISSION_DENIED).with_extra(error_name(29)).into());
        }
        5 => return Err(Problem::new(LEADERLESS).with_extra(error_name(5)).into()),
        code => return Err(Problem::new("broker error").with_extra(error_name(code)).into()),
    }
    let leaderless: Vec<i32> = found
        .partitions
        .iter()
        .filter(|p| p.leader_id.0 < 0 || p.error_code == 5)
        .map(|p| p.partition_index)
        .collect();
    if found.partitions.is_empty() || !leaderless.is_empty() {
        return Err(Problem::new(LEADERLESS)
            .with_extra(format!("partitions without a leader: {leaderless:?} of {}", found.partitions.len()))
            .into());
    }

    healthy = healthy.detail("topic", cluster.topic).detail("partitions", found.partitions.len());
    Ok(healthy.items(found.partitions.len() as u64))
}

/// The endpoints a check may connect to: the bootstrap servers.
pub fn endpoints(servers: &[(String, u16)]) -> Vec<Endpoint> {
    servers.iter().map(|(host, port)| Endpoint::new(host, *port)).collect()
}

/// `bootstrap_servers` (`host`, `host:port`, `[v6]:port`, comma-separated)
/// as (host, port), `port` where one names none.
pub fn servers(list: &str, port: u16) -> Result<Vec<(String, u16)>, String> {
    let config_port = port;
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim) {
        let (host, port) = match entry.rsplit_once(':') {
            // `host:port`, or `[v6]:port`; a bare IPv6 address has colons too.
            Some((host, port)) if !host.contains(':') || host.starts_with('[') => {
                let port: u16 =
                    port.parse().map_err(|_| format!("bad port in bootstrap server {entry:?}"))?;
                (host.trim_start_matches('[').trim_end_matches(']'), port)
            }
            _ => (entry.trim_start_matches('[').trim_end_matches(']'), config_port),
        };
        if host.is_empty() || port == 0 {
            return Err(format!("bad bootstrap server {entry:?}"));
        }
        out.push((host.to_string(), port));
    }
    Ok(out)
}

/// The first bootstrap server that accepts a connection, and its host.
fn connect(servers: &[(String, u16)]) -> Result<(Conn, String), CheckError> {
    let mut last = None;
    for (host, port) in servers {
        match sonde_sdk::net::connect(host, *port) {
            Ok(stream) => return Ok((Conn::new(stream), host.clone())),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(|| CheckError::InvalidConfig("no bootstrap server".into()), CheckError::from))
}

/// The broker's (api key, max version) pairs.
fn api_versions(conn: &mut Conn) -> Result<Vec<(i16, i16)>, CheckError> {
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("sonde-probe"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    let mut response = ask(conn, &request, API_VERSIONS, "ApiVersions")?;
    if response.error_code == 35 {
        response = ask(conn, &request, 0, "ApiVersions")?;
    }
    if response.error_code != 0 {
        return Err(Problem::new("broker error")
            .with_extra(format!("ApiVersions: {}", error_name(response.error_code)))
            .into());
    }
    Ok(response.api_keys.iter().map(|k| (k.api_key, k.max_version)).collect())
}

/// A request whose closed connection means the peer is no broker.
fn ask<R: kafka_protocol::protocol::Request>(
    conn: &mut Conn,
    request: &R,
    version: i16,
    what: &str,
) -> Result<R::Response, CheckError> {
    match conn.send(request, version) {
        Ok(r) => Ok(r),
        Err(Failure::Closed) if conn.responses == 0 => {
            Err(protocol(format!("the server closed the connection without answering {what}")))
        }
        Err(Failure::Closed) => Err(Problem::new(messages::CONNECTION_RESET)
            .with_extra(format!("the broker closed the connection on {what}"))
            .into()),
        Err(Failure::Error(e)) => Err(e),
    }
}

/// SaslHandshake, then the mechanism's SaslAuthenticate exchange.
fn authenticate(
    conn: &mut Conn,
    login: &Login<'_>,
    max: &dyn Fn(ApiKey, i16) -> Option<i16>,
) -> Result<(), CheckError> {
    let Login { user, password, mechanism } = *login;
    let failed = |extra: String| -> CheckError {
        Problem::new(messages::AUTHENTICATION_FAILED).with_extra(extra).into()
    };
    let (Some(handshake), Some(auth)) =
        (max(ApiKey::SaslHandshake, HANDSHAKE_MAX), max(ApiKey::SaslAuthenticate, AUTHENTICATE_MAX))
    else {
        return Err(failed("the broker lists no SaslHandshake/SaslAuthenticate in ApiVersions".into()));
    };
    let request = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let response = sasl_step(conn, &request, handshake)?;
    if response.error_code != 0 {
        let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(failed(format!(
            "SaslHandshake {}: {}; the broker offers {offered:?}",
            mechanism.name(),
            error_name(response.error_code)
        )));
    }

    let mut exchange = |bytes: Vec<u8>| -> Result<Vec<u8>, CheckError> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(bytes.into());
        let response = sasl_step(conn, &request, auth)?;
        if response.error_code != 0 {
            let said = response.error_message.as_ref().map_or("", |m| m.as_str());
            return Err(failed(format!("{}: {said}", error_name(response.error_code))));
        }
        Ok(response.auth_bytes.to_vec())
    };
    match mechanism {
        Mechanism::Plain => exchange(sasl::plain(user, password)).map(drop),
        Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            let hash = if matches!(mechanism, Mechanism::ScramSha256) {
                sasl::Hash::Sha256
            } else {
                sasl::Hash::Sha512
            };
            let (mut scram, first) = sasl::Scram::start(hash, user, password)
                .map_err(|e| Problem::new(messages::IO_ERROR).with_extra(e))?;
            let server_first = exchange(first)?;
            let last = scram.respond(&server_first).map_err(failed)?;
            let server_final = exchange(last)?;
            scram.finish(&server_final).map_err(failed)
        }
    }
}

/// A SASL request: a broker that hangs up here refused the login.
fn sasl_step<R: kafka_protocol::protocol::Request>(
    conn: &mut Conn,
    request: &R,
    version: i16,
) -> Result<R::Response, CheckError> {
    match conn.send(request, version) {
        Ok(r) => Ok(r),
        Err(Failure::Closed) => Err(Problem::new(messages::AUTHENTICATION_FAILED)
            .with_extra("the broker closed the connection during SASL authentication")
            .into()),
        Err(Failure::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::servers;

    #[test]
    fn bootstrap_servers() {
        let want = [("a", 29092), ("b", 9093), ("::1", 9094), ("::1", 29092)];
        let got = servers("a, b:9093,[::1]:9094,::1", 29092).expect("servers");
        assert_eq!(got, want.map(|(h, p)| (h.to_string(), p)));
        for bad in ["a,,b", "a:0", "a:x", ":9092"] {
            assert!(servers(bad, 9092).is_err(), "{bad}");
        }
    }
}
