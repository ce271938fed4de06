//! The `mongodb` probe: Unstructured's MongoDB connector keys (`uri`,
//! `database`, `collection`) checked the way a driver connects: `hello`,
//! SCRAM authentication against `authSource`, `ping`, then the collection
//! must exist (`listCollections`), and its document count is `items`.
//! `expect.rows` counts the documents matching `filter`; `expect.max_age`
//! holds the newest `time_field` to an age.
//!
//! The whole `uri` is a secret (it carries the password): no message,
//! `extra` or detail quotes it. TLS is the host's, from the first byte
//! (MongoDB has no STARTTLS); the uri's `tls=true`/`ssl=true` asks for it
//! as `tls.mode: require` does, and `tls.mode` says how it is verified.
//!
//! `mongodb+srv://` names its hosts in DNS SRV and TXT records, which the
//! sandbox cannot look up: such a uri is FAILED with the hosts to give
//! instead. Of several hosts (a replica set's seed list), the first that
//! accepts a connection is checked, as a driver's first contact would be:
//! a member that is down does not make the deployment unhealthy, and every
//! listed host is declared in `endpoints`, so none other can be reached.

mod scram;
mod session;
mod uri;
mod wire;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use sonde_sdk::{CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls, TlsMode, io_problem};

use crate::uri::Uri;

/// A MongoDB deployment (or anything speaking its wire protocol 3.6+:
/// FerretDB, SecantusDB, Amazon DocumentDB, Azure Cosmos DB for MongoDB).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Connection string, `mongodb://user:password@host:port/?authSource=admin`
    /// (user and password percent-encoded). Several hosts are tried in
    /// order; `tls=true` starts TLS. `mongodb+srv://` needs DNS lookups a
    /// probe cannot make: give the hosts.
    uri: Secret,
    /// The database that holds `collection`.
    #[schemars(length(min = 1))]
    database: String,
    /// The collection that must exist.
    #[schemars(length(min = 1))]
    collection: String,
    /// What the collection must hold: `rows` (documents matching `filter`)
    /// and `max_age` (the newest `time_field`).
    #[serde(default)]
    expect: Option<Expect>,
    /// A query filter (plain JSON; extended JSON such as `{"$date": …}` is
    /// read too): the documents `items`, `expect.rows` and `max_age` count.
    #[serde(default)]
    filter: Option<Map<String, Value>>,
    /// The field holding each document's time (a date, Unix seconds or an
    /// RFC 3339 string), for `expect.max_age`; its newest value is reported.
    #[serde(default)]
    #[schemars(length(min = 1))]
    time_field: Option<String>,
    /// TLS from the first byte; off (`disable`) by default, unless the uri
    /// says `tls=true`.
    #[serde(default)]
    tls: Tls,
}

/// What `validate` makes of a config: the uri read and the TLS decided.
struct Plan {
    uri: Uri,
    tls: bool,
    filter: Option<bson::Document>,
}

struct MongoDb;

impl Probe for MongoDb {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "mongodb";
    const DESCRIPTION: &'static str =
        "A MongoDB server authenticates and has the collection (documents counted, newest dated)";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        let plan = validate(config)?;
        Ok(plan.uri.hosts.iter().map(|(host, port)| Endpoint::new(host, *port)).collect())
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let plan = validate(&config).map_err(CheckError::InvalidConfig)?;
        let (stream, (host, port)) = connect(&plan.uri)?;
        let mut tls = config.tls.clone();
        if plan.tls {
            // The host verifies `tls.server_name` or, as this config has no
            // `host` key, the name the guest gives: the uri's host.
            tls.server_name.get_or_insert_with(|| host.clone());
        }
        let healthy = session::run(stream, &config, &plan, &tls)?;
        Ok(healthy.detail("host", format!("{host}:{port}")))
    }
}

/// What the schema cannot say. Checked before anything is resolved; no
/// message quotes the uri.
fn validate(config: &Config) -> Result<Plan, String> {
    let uri = uri::parse(config.uri.expose())?;
    if let Some(mechanism) = &uri.auth_mechanism
        && scram::Mechanism::parse(mechanism).is_none()
    {
        return Err(format!(
            "authMechanism {mechanism} is not supported: the probe speaks SCRAM-SHA-256 and SCRAM-SHA-1"
        ));
    }
    if uri.user.is_some() && uri.password.is_none() {
        return Err("the uri names a user but no password".into());
    }
    if uri.password.is_some() && uri.user.as_deref().is_none_or(str::is_empty) {
        return Err("the uri has a password but no user".into());
    }
    let tls = match (uri.tls, config.tls.mode) {
        (Some(true), Some(TlsMode::Disable)) => {
            return Err("the uri says tls=true but tls.mode is disable".into());
        }
        (Some(false), Some(mode)) if mode != TlsMode::Disable => {
            return Err("the uri says tls=false but tls.mode asks for TLS".into());
        }
        (_, Some(mode)) => mode != TlsMode::Disable,
        (on, None) => on.unwrap_or(false),
    };
    if uri.tls_insecure && matches!(config.tls.mode, Some(TlsMode::VerifyCa | TlsMode::VerifyFull)) {
        return Err("the uri skips certificate checks (tlsInsecure) but tls.mode verifies".into());
    }
    let expect = config.expect.clone().unwrap_or_default();
    expect.only("mongodb", &["rows", "max_age"])?;
    if expect.max_age.is_some() && config.time_field.is_none() {
        return Err("expect.max_age needs time_field: the field that dates each document".into());
    }
    let filter = config
        .filter
        .clone()
        .map(|f| bson::Document::try_from(f).map_err(|e| format!("filter is not a query document: {e}")))
        .transpose()?;
    Ok(Plan { uri, tls, filter })
}

/// Connects to the first host that accepts; a host refused or unreachable
/// passes to the next, any other failure is that host's answer.
fn connect(uri: &Uri) -> Result<(sonde_sdk::net::Stream, (String, u16)), CheckError> {
    use std::io::ErrorKind as K;
    let mut last = None;
    for (host, port) in &uri.hosts {
        match sonde_sdk::net::connect(host, *port) {
            Ok(stream) => return Ok((stream, (host.clone(), *port))),
            Err(e)
                if matches!(
                    e.kind(),
                    K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable | K::NotFound
                ) =>
            {
                last = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::new(K::NotFound, "the uri names no host"));
    Err(io_problem(&e).into())
}

sonde_sdk::export_probe!(MongoDb);

#[cfg(test)]
mod tests;
