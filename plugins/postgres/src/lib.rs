//! The `postgres` probe: a PostgreSQL startup, authentication (trust,
//! cleartext password, MD5 or SCRAM-SHA-256) and a test query, over TCP
//! with the frontend/backend protocol 3.0 of `postgres-protocol`.
//!
//! Healthy reports `server_version` in details and, as `items`, the tables
//! the user can see outside `pg_catalog` and `information_schema`.
//!
//! TLS follows libpq's `sslmode` ([`ssl`]): `prefer` by default.
//!
//! # Layout
//! - [`ssl`]: the `SSLRequest` and the upgrade, before the startup.
//! - [`conn`]: messages out and in, checked to be protocol 3.0.
//! - [`startup`]: the startup message and authentication.
//! - [`query`]: the simple query protocol.
//! - [`server_error`]: ErrorResponses and their stable messages.

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::{Account, DefaultUser, Server};
use sonde_sdk::{CheckError, Endpoint, Expect, Healthy, Probe, Problem, Tls};

mod conn;
mod query;
mod server_error;
mod ssl;
mod startup;

use conn::Conn;
use query::QueryError;

/// How to reach and log in to a PostgreSQL server.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<5432>,
    #[serde(flatten)]
    account: Account<Postgres>,
    /// The database to connect to; defaults to the user name.
    #[serde(default)]
    #[schemars(length(min = 1))]
    database: Option<String>,
    /// The test query, run with the simple query protocol.
    #[serde(default = "default_query")]
    #[schemars(length(min = 1))]
    query: String,
    /// What the test query must read: `rows` (its row count), `equals`
    /// (its first value) and `max_age` (its first value as a timestamp,
    /// e.g. `SELECT max(updated_at) FROM orders`).
    #[serde(default)]
    expect: Expect,
    /// TLS after an `SSLRequest`; `prefer` (TLS when the server offers it)
    /// by default, as libpq.
    #[serde(default)]
    tls: Tls,
}

/// The shared connection fields, worded for PostgreSQL.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("user", "The role to log in as."),
            ("password", "The role's password; not needed under `trust` authentication."),
        ],
    );
}

fn default_query() -> String {
    "SELECT 1".to_string()
}

/// Tables the user can see, as `items`.
const COUNT_TABLES: &str = "SELECT count(*) FROM information_schema.tables \
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema')";

struct Postgres;

impl DefaultUser for Postgres {
    const USER: &'static str = "postgres";
}

impl Probe for Postgres {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "postgres";
    const DESCRIPTION: &'static str = "PostgreSQL: startup, authentication and a test query";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let (user, password) = (&config.account.user, config.account.password.as_ref());
        let database = config.database.as_deref().unwrap_or(user);
        for (field, value) in [("user", user.as_str()), ("database", database)] {
            if value.contains('\0') {
                return Err(CheckError::invalid_config(format!("{field} must not contain NUL")));
            }
        }
        if config.query.contains('\0') {
            return Err(CheckError::invalid_config("query must not contain NUL"));
        }
        if password.is_some_and(|p| p.expose().contains('\0')) {
            return Err(CheckError::invalid_config("password must not contain NUL"));
        }
        config.expect.only(Self::SOURCE_TYPE, Expect::SQL).map_err(CheckError::invalid_config)?;

        let mut stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        ssl::negotiate(&mut stream, &config.tls)?;
        let mut conn = Conn::new(stream);
        let server_version = conn.startup(user, database, password)?;

        let answer = conn.query(&config.query).map_err(|e| match e {
            QueryError::Server(p) => CheckError::Unhealthy(Problem::new("query failed").with_extra(p)),
            QueryError::Check(e) => e,
        })?;
        let tables = match conn.query(COUNT_TABLES) {
            Ok(count) => count.first.and_then(|v| v.parse::<u64>().ok()),
            Err(QueryError::Server(_)) => None,
            Err(QueryError::Check(e)) => return Err(e),
        };
        conn.terminate();
        config.expect.check_query(answer.rows, &answer.first_value())?;

        let mut healthy = Healthy::new().detail("query_rows", answer.rows);
        if let Some(version) = server_version {
            healthy = healthy.detail("server_version", version);
        }
        if let Some(tables) = tables {
            healthy = healthy.items(tables);
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(Postgres);
