//! The `postgres` probe: a PostgreSQL startup, authentication (trust,
//! cleartext password, MD5 or SCRAM-SHA-256) and a test query, over plain TCP
//! with the frontend/backend protocol 3.0 of `postgres-protocol`.
//!
//! Healthy reports `server_version` in details and, as `items`, the tables
//! the user can see outside `pg_catalog` and `information_schema`.

use sonde_sdk::net::Stream as TcpStream;
use std::io::{self, Read, Write};

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::{backend, backend::Message, frontend};
use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, io_problem, messages};

/// How to reach and log in to a PostgreSQL server.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    host: String,
    /// TCP port.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1))]
    port: u16,
    /// The role to log in as.
    #[serde(default = "default_user")]
    #[schemars(length(min = 1))]
    user: String,
    /// The role's password; not needed under `trust` authentication.
    #[serde(default)]
    password: Option<Secret>,
    /// The database to connect to; defaults to the user name.
    #[serde(default)]
    #[schemars(length(min = 1))]
    database: Option<String>,
    /// The test query, run with the simple query protocol.
    #[serde(default = "default_query")]
    #[schemars(length(min = 1))]
    query: String,
}

fn default_port() -> u16 {
    5432
}

fn default_user() -> String {
    "postgres".to_string()
}

fn default_query() -> String {
    "SELECT 1".to_string()
}

/// Tables the user can see, as `items`.
const COUNT_TABLES: &str = "SELECT count(*) FROM information_schema.tables \
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema')";

/// Largest backend message accepted: anything bigger is not PostgreSQL (or
/// not a health check's business).
const MAX_MESSAGE: u32 = 16 << 20;

/// The backend message tags of protocol 3.0.
const BACKEND_TAGS: &[u8] = b"123AcCdDEGHIKnNRsStTZ";

struct Postgres;

impl Probe for Postgres {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "postgres";
    const DESCRIPTION: &'static str = "PostgreSQL: startup, authentication and a test query";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![Endpoint::new(&config.host, config.port)])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let database = config.database.as_deref().unwrap_or(&config.user);
        for (field, value) in [("user", config.user.as_str()), ("database", database)] {
            if value.contains('\0') {
                return Err(CheckError::invalid_config(format!("{field} must not contain NUL")));
            }
        }
        if config.query.contains('\0') {
            return Err(CheckError::invalid_config("query must not contain NUL"));
        }
        if config.password.as_ref().is_some_and(|p| p.expose().contains('\0')) {
            return Err(CheckError::invalid_config("password must not contain NUL"));
        }

        let stream = sonde_sdk::net::connect(&config.host, config.port)?;
        let mut conn = Conn { stream, buf: BytesMut::with_capacity(8192), seen: false };
        let server_version = conn.startup(&config.user, database, config.password.as_ref())?;

        let rows = conn.query(&config.query).map_err(|e| match e {
            QueryError::Server(p) => CheckError::Unhealthy(Problem::new("query failed").with_extra(p)),
            QueryError::Check(e) => e,
        })?;
        let tables = match conn.query(COUNT_TABLES) {
            Ok(rows) => rows.first().and_then(|v| v.as_deref()).and_then(|v| v.parse::<u64>().ok()),
            Err(QueryError::Server(_)) => None,
            Err(QueryError::Check(e)) => return Err(e),
        };
        conn.terminate();

        let mut healthy = Healthy::new().detail("query_rows", rows.len());
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

/// A failed query: the server's error (with its SQLSTATE), or the check's.
enum QueryError {
    Server(String),
    Check(CheckError),
}

impl From<CheckError> for QueryError {
    fn from(e: CheckError) -> Self {
        Self::Check(e)
    }
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    /// Whether a valid backend message arrived yet.
    seen: bool,
}

impl Conn {
    fn send(&mut self, out: &BytesMut) -> Result<(), CheckError> {
        self.stream.write_all(out).map_err(CheckError::from)
    }

    /// The next backend message, after checking that the bytes look like one.
    fn next(&mut self) -> Result<Message, CheckError> {
        loop {
            if let Some(&tag) = self.buf.first()
                && !BACKEND_TAGS.contains(&tag)
            {
                return Err(self.unexpected(format!("unknown message tag {:?}", tag as char)));
            }
            if let Some(len) = self.buf.get(1..5) {
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                if !(4..=MAX_MESSAGE).contains(&len) {
                    return Err(self.unexpected(format!("message length {len}")));
                }
            }
            match Message::parse(&mut self.buf) {
                Ok(Some(m)) => {
                    self.seen = true;
                    return Ok(m);
                }
                Ok(None) => {}
                Err(e) => return Err(self.unexpected(e.to_string())),
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) if self.buf.is_empty() => {
                    let e = io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection");
                    return Err(io_problem(&e).into());
                }
                Ok(0) => return Err(self.unexpected("the connection closed inside a message".to_string())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// "unexpected protocol", with what was wrong and the first bytes seen.
    fn unexpected(&self, what: String) -> CheckError {
        let head = &self.buf[..self.buf.len().min(64)];
        let extra = if self.seen {
            what
        } else {
            format!("{what}; the server sent {:?}", String::from_utf8_lossy(head))
        };
        Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra(extra).into()
    }

    /// Startup and authentication, up to the first ReadyForQuery. Returns the
    /// `server_version` parameter.
    fn startup(
        &mut self,
        user: &str,
        database: &str,
        password: Option<&Secret>,
    ) -> Result<Option<String>, CheckError> {
        let mut out = BytesMut::new();
        let params = [("user", user), ("database", database), ("application_name", "sonde")];
        frontend::startup_message(params, &mut out).map_err(|e| self.unexpected(e.to_string()))?;
        self.send(&out)?;

        let mut first = true;
        let mut scram: Option<sasl::ScramSha256> = None;
        let mut version = None;
        loop {
            let message = self.next()?;
            if first && !matches!(message, Message::ErrorResponse(_)) && !is_authentication(&message) {
                return Err(self.unexpected("the first message is not an authentication request".into()));
            }
            first = false;
            let mut out = BytesMut::new();
            match message {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    let password = need_password(password)?;
                    frontend::password_message(password.expose().as_bytes(), &mut out)
                        .map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let password = need_password(password)?;
                    let hash = md5_hash(user.as_bytes(), password.expose().as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut out)
                        .map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = Vec::new();
                    let mut it = body.mechanisms();
                    while let Ok(Some(m)) = it.next() {
                        mechanisms.push(m.to_string());
                    }
                    if !mechanisms.iter().any(|m| m == sasl::SCRAM_SHA_256) {
                        return Err(auth_failed(format!(
                            "no supported SASL mechanism among {mechanisms:?} (the probe does SCRAM-SHA-256 without TLS)"
                        )));
                    }
                    let password = need_password(password)?;
                    let s = sasl::ScramSha256::new(
                        password.expose().as_bytes(),
                        sasl::ChannelBinding::unsupported(),
                    );
                    frontend::sasl_initial_response(sasl::SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let Some(s) = scram.as_mut() else {
                        return Err(self.unexpected("SASL continue without SASL start".into()));
                    };
                    s.update(body.data()).map_err(|e| auth_failed(format!("SCRAM: {e}")))?;
                    frontend::sasl_response(s.message(), &mut out).map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let Some(mut s) = scram.take() else {
                        return Err(self.unexpected("SASL final without SASL start".into()));
                    };
                    s.finish(body.data()).map_err(|e| auth_failed(format!("SCRAM server proof: {e}")))?;
                }
                Message::AuthenticationGss
                | Message::AuthenticationKerberosV5
                | Message::AuthenticationScmCredential
                | Message::AuthenticationSspi
                | Message::AuthenticationGssContinue(_) => {
                    return Err(auth_failed(
                        "the server asks for an authentication method the probe does not support (GSSAPI, SSPI, Kerberos or SCM)",
                    ));
                }
                Message::ParameterStatus(body) => {
                    if let (Ok("server_version"), Ok(value)) = (body.name(), body.value()) {
                        version = Some(value.to_string());
                    }
                }
                Message::BackendKeyData(_) | Message::NoticeResponse(_) => {}
                Message::ReadyForQuery(_) => return Ok(version),
                Message::ErrorResponse(body) => return Err(startup_error(&body)),
                _ => return Err(self.unexpected("an unexpected message during startup".into())),
            }
        }
    }

    /// Runs one simple query; returns the first column of each row.
    fn query(&mut self, sql: &str) -> Result<Vec<Option<String>>, QueryError> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(|e| CheckError::invalid_config(format!("query: {e}")))?;
        self.send(&out)?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.next()? {
                Message::DataRow(row) => {
                    let mut ranges = row.ranges();
                    let first = match ranges.next() {
                        Ok(Some(Some(r))) => {
                            row.buffer().get(r).map(|v| String::from_utf8_lossy(v).into_owned())
                        }
                        _ => None,
                    };
                    rows.push(first);
                }
                Message::ErrorResponse(body) => error = Some(describe(&body).text()),
                Message::ReadyForQuery(_) => break,
                Message::CopyInResponse(_) | Message::CopyOutResponse(_) => {
                    return Err(CheckError::invalid_config("the query must not be a COPY").into());
                }
                _ => {}
            }
        }
        match error {
            Some(e) => Err(QueryError::Server(e)),
            None => Ok(rows),
        }
    }

    fn terminate(&mut self) {
        let mut out = BytesMut::new();
        frontend::terminate(&mut out);
        let _ = self.stream.write_all(&out);
    }
}

fn is_authentication(m: &Message) -> bool {
    matches!(
        m,
        Message::AuthenticationOk
            | Message::AuthenticationCleartextPassword
            | Message::AuthenticationMd5Password(_)
            | Message::AuthenticationSasl(_)
            | Message::AuthenticationGss
            | Message::AuthenticationKerberosV5
            | Message::AuthenticationScmCredential
            | Message::AuthenticationSspi
            | Message::AuthenticationGssContinue(_)
    )
}

fn need_password(password: Option<&Secret>) -> Result<&Secret, CheckError> {
    password.ok_or_else(|| auth_failed("the server asks for a password and the config has none"))
}

fn auth_failed(extra: impl Into<String>) -> CheckError {
    Problem::new(messages::AUTHENTICATION_FAILED).with_extra(extra).into()
}

/// The fields of an ErrorResponse that matter here.
#[derive(Default)]
struct ServerError {
    severity: String,
    code: String,
    message: String,
}

impl ServerError {
    fn text(&self) -> String {
        format!("{} {}: {}", self.severity, self.code, self.message)
    }
}

fn describe(body: &backend::ErrorResponseBody) -> ServerError {
    let mut e = ServerError::default();
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        let value = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'V' => e.severity = value,
            b'S' if e.severity.is_empty() => e.severity = value,
            b'C' => e.code = value,
            b'M' => e.message = value,
            _ => {}
        }
    }
    e
}

/// An ErrorResponse before ReadyForQuery, by SQLSTATE.
fn startup_error(body: &backend::ErrorResponseBody) -> CheckError {
    let e = describe(body);
    let message = match e.code.as_str() {
        "28P01" | "28000" => messages::AUTHENTICATION_FAILED,
        "3D000" => messages::DATABASE_DOES_NOT_EXIST,
        _ => "server error",
    };
    Problem::new(message).with_extra(e.text()).into()
}
