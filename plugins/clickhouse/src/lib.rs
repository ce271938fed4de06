//! The `clickhouse` probe: a ClickHouse server's HTTP interface answers
//! `GET /ping` with `Ok.`, then runs the test `query` as the configured user
//! and the answer is held to `expect` (`rows`, `equals`, `max_age`).
//!
//! Requests go over `wasi:http` (the SDK's [`api`], as the http and search
//! probes do): the host resolves and pins the address, and does TLS. With a
//! `tls.mode` other than `disable` the URL is `https` and the host verifies
//! the server under the `tls` policy; the default port follows (8123 for
//! HTTP, 8443 for HTTPS, ClickHouse's own `http_port` and `https_port`).
//!
//! The query is a GET (`?query=`): ClickHouse runs a GET as `readonly`, so a
//! health check can never change data whatever `query` says. The user and
//! password go in the `X-ClickHouse-User` and `X-ClickHouse-Key` headers
//! (18.x and later read them), never in the URL, which proxies and the
//! server's query log keep. The probe sends them itself, as the postgres and
//! mysql probes send theirs: the host's `auth` sends credentials over plain
//! `http` only to loopback (DESIGN §4), and ClickHouse's port 8123 is plain.
//!
//! Docs used: https://clickhouse.com/docs/en/interfaces/http (ping, query
//! parameters, headers, `default_format`, readonly GET) and
//! https://clickhouse.com/docs/en/interfaces/formats#jsoncompact.

use std::time::SystemTime;

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::api::{self, Response};
use sonde_sdk::conn::{Account, DefaultUser};
use sonde_sdk::{CheckError, Endpoint, Expect, Healthy, Probe, Problem, Tls, TlsMode, messages, stage};
use url::Url;

mod answer;

const HTTP_PORT: u16 = 8123;
const HTTPS_PORT: u16 = 8443;
/// What `/ping` answers on every ClickHouse since 1.1.
const PING_OK: &str = "Ok.\n";
/// The tables of the database, as `items`; its failure (a user without
/// access to `system.tables`) leaves `items` out.
const COUNT_TABLES: &str = "SELECT count() FROM system.tables WHERE database = currentDatabase()";

/// How to reach and log in to a ClickHouse server's HTTP interface.
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    host: String,
    /// The HTTP interface's port: 8123, or 8443 when `tls.mode` is not
    /// `disable`.
    #[serde(default)]
    #[schemars(range(min = 1))]
    port: Option<u16>,
    #[serde(flatten)]
    account: Account<ClickHouse>,
    /// The database the query runs in; the user's default database when
    /// absent (`default` unless the server says otherwise).
    #[serde(default)]
    #[schemars(length(min = 1))]
    database: Option<String>,
    /// The test query, without a FORMAT clause (the probe asks for
    /// JSONCompact). It runs read-only.
    #[serde(default = "default_query")]
    #[schemars(length(min = 1))]
    query: String,
    /// What the query must return: `rows` (result rows), `equals` (the
    /// first column of the first row), `max_age` (that value as a
    /// timestamp, a `DateTime` in the server's time zone).
    expect: Option<Expect>,
    /// `disable` (the default): plain HTTP; any other mode: HTTPS, the
    /// server verified by the host under this policy.
    #[serde(default)]
    tls: Tls,
}

/// The shared fields, worded for ClickHouse.
fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(
        schema,
        &[
            ("user", "The user to run the query as (`X-ClickHouse-User`)."),
            ("password", "The user's password (`X-ClickHouse-Key`); none for a user without one."),
        ],
    );
}

fn default_query() -> String {
    "SELECT 1".to_string()
}

impl Config {
    fn tls(&self) -> bool {
        self.tls.mode_or(TlsMode::Disable) != TlsMode::Disable
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(if self.tls() { HTTPS_PORT } else { HTTP_PORT })
    }

    /// `http(s)://host:port/`, the host bracketed when it is IPv6.
    fn base(&self) -> Result<Url, String> {
        let scheme = if self.tls() { "https" } else { "http" };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let url = api::parse_url(&format!("{scheme}://{host}:{}/", self.port()))
            .map_err(|e| format!("host {:?}: {e}", self.host))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!("host {:?} must be a host name or an IP address", self.host));
        }
        Ok(url)
    }

    /// What only this probe can refuse (the host validated the schema).
    fn validate(&self) -> Result<(), String> {
        self.base()?;
        let header_safe = |v: &str| !v.chars().any(char::is_control);
        if !header_safe(&self.account.user) {
            return Err("user must not contain control characters".into());
        }
        if self.account.password.as_ref().is_some_and(|p| !header_safe(p.expose())) {
            return Err("password must not contain control characters".into());
        }
        if self.query.trim().is_empty() {
            return Err("query must not be empty".into());
        }
        if let Some(expect) = &self.expect {
            expect.only("the clickhouse probe", Expect::SQL)?;
        }
        Ok(())
    }
}

/// One server, with the user's headers for every query.
struct Session<'a> {
    base: Url,
    config: &'a Config,
}

impl Session<'_> {
    /// `GET /ping`: proves the peer is a ClickHouse HTTP interface before
    /// any credential is sent to it.
    fn ping(&self) -> Result<(), CheckError> {
        let resp = api::get(
            self.base.join("ping").map_err(|e| CheckError::invalid_config(e.to_string()))?.as_str(),
        )?;
        if resp.status == 200 && resp.body == PING_OK.as_bytes() {
            return Ok(());
        }
        let detail =
            format!("GET /ping answered {}, not ClickHouse's {PING_OK:?}", api::status_detail(&resp));
        Err(Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into())
    }

    /// `GET /?database=…&default_format=JSONCompact&query=…`.
    fn query(&self, sql: &str) -> Result<Response, CheckError> {
        let mut params = vec![("default_format", "JSONCompact"), ("query", sql)];
        if let Some(database) = &self.config.database {
            params.insert(0, ("database", database.as_str()));
        }
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", api::escape(v))).collect();
        let mut url = self.base.clone();
        url.set_query(Some(&query.join("&")));
        let account = &self.config.account;
        let mut headers = vec![("accept", "application/json"), ("x-clickhouse-user", account.user.as_str())];
        if let Some(password) = &account.password {
            headers.push(("x-clickhouse-key", password.expose()));
        }
        api::request("GET", url.as_str(), &headers, None)
    }

    /// `sql`'s result set; a refusal is the stable failure for its code.
    fn rows(&self, sql: &str) -> Result<answer::ResultSet, CheckError> {
        let resp = self.query(sql)?;
        if resp.status != 200 {
            return Err(answer::failure(&resp));
        }
        answer::result_set(&resp)
    }

    /// The newest value for `max_age`: a `DateTime` as Unix seconds (the
    /// server converts it from its time zone), anything else as read.
    fn newest(&self, set: &answer::ResultSet) -> Result<serde_json::Value, CheckError> {
        let Some(sql) = set.first_datetime() else { return Ok(set.first()) };
        let converted = self.rows(&sql)?;
        Ok(converted.first())
    }
}

struct ClickHouse;

impl DefaultUser for ClickHouse {
    const USER: &'static str = "default";
}

impl Probe for ClickHouse {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "clickhouse";
    const DESCRIPTION: &'static str = "ClickHouse: its HTTP interface answers /ping and a test query";

    /// Refuses a config that cannot work here, before the host resolves
    /// anything: that is FAILED, not an ERROR about the name.
    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        config.validate()?;
        Ok(vec![Endpoint::new(&config.host, config.port())])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        config.validate().map_err(CheckError::InvalidConfig)?;
        let session = Session { base: config.base().map_err(CheckError::InvalidConfig)?, config: &config };
        session.ping()?;
        let set = session.rows(&config.query)?;
        if let Some(expect) = &config.expect {
            expect.check_result(set.rows.len() as u64, &set.first())?;
            if expect.max_age.is_some() {
                expect.check_max_age(&session.newest(&set)?, SystemTime::now())?;
            }
        }
        let mut healthy = Healthy::new().detail("query_rows", set.rows.len());
        if let Some(database) = &config.database {
            healthy = healthy.detail("database", database.as_str());
        }
        if let Ok(tables) = session.rows(COUNT_TABLES)
            && let Some(n) = tables.first().as_u64()
        {
            healthy = healthy.items(n);
        }
        Ok(healthy)
    }
}

sonde_sdk::export_probe!(ClickHouse);

#[cfg(test)]
mod tests;
