//! The `mysql` probe: the MySQL/MariaDB handshake, TLS when the server
//! offers it ([`ssl`]), authentication (`mysql_native_password`, and
//! `caching_sha2_password` with its fast path and its full path: the
//! password in clear inside TLS, else encrypted with the server's RSA public
//! key) and a test query (`COM_QUERY`).
//!
//! Packets are framed and the handshake parsed and answered with
//! `mysql_common`; the full `caching_sha2_password` path without TLS
//! encrypts with `rsa` (RSA-OAEP/SHA-1, as the server expects).
//!
//! Healthy reports `server_version` (MariaDB's `5.5.5-` prefix removed) and
//! `query_rows` in details.
//!
//! # Layout
//! - [`conn`]: packets over a connection that can turn to TLS in place.
//! - [`ssl`]: whether to ask for TLS, and the SSL request.
//! - [`login`]: the greeting, the handshake response and authentication.
//! - [`auth`]: the auth plugins' answers.
//! - [`query`]: the test query and its result.
//! - [`packet`]: reading ERR, EOF and OK packets.

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Account, DefaultUser, Server};
use sonde_sdk::{CheckError, Endpoint, Expect, Healthy, Probe, Tls};

mod auth;
mod conn;
mod login;
mod packet;
mod query;
mod ssl;

use conn::{Conn, Transport};

/// How to reach and log in to a MySQL or MariaDB server.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<3306>,
    #[serde(flatten)]
    account: Account<Mysql>,
    /// The default database of the session; none selects no database.
    #[serde(default)]
    #[schemars(length(min = 1))]
    database: Option<String>,
    /// The test query, sent as `COM_QUERY`.
    #[serde(default = "default_query")]
    #[schemars(length(min = 1))]
    query: String,
    /// What the test query must read: `rows` (its first result's row
    /// count), `equals` (its first value) and `max_age` (its first value
    /// as a timestamp, e.g. `SELECT max(updated_at) FROM orders`).
    #[serde(default)]
    expect: Expect,
    /// TLS after the server's greeting (its SSL request); off by default
    /// (DESIGN §4), `prefer` for TLS when the server offers it.
    #[serde(default)]
    tls: Tls,
}

/// The shared connection fields, worded for MySQL.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("user", "The account to log in as."),
            ("password", "The account's password; none means an empty password."),
        ],
    );
}

fn default_query() -> String {
    "SELECT 1".to_string()
}

struct Mysql;

impl DefaultUser for Mysql {
    const USER: &'static str = "root";
}

impl Probe for Mysql {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "mysql";
    const DESCRIPTION: &'static str = "MySQL or MariaDB: handshake, authentication and a test query";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        for (field, value) in
            [("user", Some(config.account.user.as_str())), ("database", config.database.as_deref())]
        {
            if value.is_some_and(|v| v.contains('\0')) {
                return Err(CheckError::invalid_config(format!("{field} must not contain NUL")));
            }
        }
        config.expect.only(Self::SOURCE_TYPE, Expect::SQL).map_err(CheckError::invalid_config)?;
        let stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        check_on(stream, &config)
    }
}

sonde_sdk::export_probe!(Mysql);

/// The check on an open connection.
fn check_on<S: Transport>(stream: S, config: &Config) -> Result<Healthy, CheckError> {
    let (mut conn, version) = login::login(Conn::new(stream), config)?;
    if config.expect.max_age.is_some() {
        // A TIMESTAMP reads out in the session's zone, and DESIGN §3 reads
        // a zoneless timestamp as UTC: make the two agree.
        conn.query("SET time_zone = '+00:00'")?;
    }
    let answer = conn.query(&config.query)?;
    conn.quit();
    config.expect.check_query(answer.rows, &answer.first_value())?;
    Ok(Healthy::new().detail("server_version", version).detail("query_rows", answer.rows))
}

#[cfg(test)]
mod tests;
