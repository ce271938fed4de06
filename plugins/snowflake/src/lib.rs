//! The `snowflake` probe: Snowflake's SQL API runs one statement on the
//! table the connector reads, as Unstructured's `user`.
//!
//! Unstructured's `password` is a programmatic access token (PAT), which
//! the SQL API takes as `Authorization: Bearer` (root mapping; the probe adds
//! `X-Snowflake-Authorization-Token-Type: PROGRAMMATIC_ACCESS_TOKEN`). A
//! plain password cannot be checked: the SQL API takes no password. The
//! `auth` object takes the key pair instead: `{"kind": "signed_jwt",
//! "issuer": "ACCOUNT.USER.{public_key_fingerprint}", "subject":
//! "ACCOUNT.USER", "private_key": …, "methods": ["POST"]}` (the host fills
//! in `SHA256:` + base64 of the public key's SHA-256; the probe then says
//! `KEYPAIR_JWT`).
//!
//! One call: `POST https://<host>/api/v2/statements` with
//! `SELECT COUNT(*) FROM IDENTIFIER(?)` bound to `database.schema.table_name`
//! (or `SELECT 1` without a table), `database`, `schema` and `role`. A 422
//! with `sqlState` `42S02` ("does not exist or not authorized") is "table
//! does not exist", 401 "authentication failed", 403 "permission denied",
//! 429 "rate limited"; the count is the check's `items`.
//!
//! Docs used:
//! - https://docs.unstructured.io/api-reference/workflow/sources/snowflake (config keys; password is a PAT)
//! - https://docs.snowflake.com/en/developer-guide/sql-api/reference (POST /api/v2/statements, 200/422 bodies)
//! - https://docs.snowflake.com/en/developer-guide/sql-api/authenticating (token type header, key-pair JWT claims)
//! - https://docs.snowflake.com/en/user-guide/programmatic-access-tokens (PATs in the SQL API)
//! - https://docs.snowflake.com/en/developer-guide/sql-api/handling-errors

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sonde_saas::{address, web};
use sonde_sdk::{
    Auth, AuthKind, CheckError, Endpoint, Expect, Healthy, Probe, Problem, Secret, Tls, messages, stage,
};

/// Unstructured's Snowflake source keys, plus Sonde's own.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = auth)]
struct Config {
    /// The account identifier.
    #[allow(dead_code)]
    account: Option<String>,
    /// The user's login name.
    #[allow(dead_code)]
    user: Option<String>,
    /// The account's host name (`<account>.snowflakecomputing.com`): the
    /// auth target.
    #[schemars(length(min = 1), regex(pattern = r"^[A-Za-z0-9.-]+$"))]
    host: String,
    /// Only 443 is supported: the SQL API is HTTPS on the host's default port.
    #[serde(default = "default_port")]
    port: u16,
    /// The database.
    #[schemars(length(min = 1))]
    database: String,
    /// The schema.
    #[schemars(length(min = 1))]
    schema: String,
    /// The role to run as.
    role: Option<String>,
    /// The user's programmatic access token (PAT). Kept by the host.
    #[allow(dead_code)]
    password: Option<Secret>,
    /// The table the connector reads; `SELECT 1` is run without it.
    table_name: Option<String>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    id_column: Option<String>,
    /// Unstructured's: not needed for the check.
    #[allow(dead_code)]
    batch_size: Option<u64>,
    /// Unstructured's: not needed for the check.
    #[serde(default)]
    #[allow(dead_code)]
    fields: Vec<String>,
    /// `equals`: the value the statement must return (the table's row
    /// count, or 1 without a table).
    expect: Option<Expect>,
    /// The `auth` object instead of `password` (the key pair as `signed_jwt`).
    auth: Option<Auth>,
    /// How the host verifies Snowflake's certificate.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_port() -> u16 {
    443
}

fn auth(schema: &mut schemars::Schema) {
    sonde_saas::root_auth(schema, json!({"kind": "bearer", "token": "/password", "methods": ["POST"]}));
    sonde_saas::root_target(schema, "https://{/host}");
    sonde_saas::widen_methods(schema, &["POST"]);
}

/// The statement's request body.
fn statement(c: &Config) -> Value {
    let mut body = json!({"timeout": 30, "database": c.database, "schema": c.schema});
    match &c.table_name {
        Some(table) => {
            body["statement"] = "SELECT COUNT(*) FROM IDENTIFIER(?)".into();
            let name = format!("{}.{}.{}", c.database, c.schema, table);
            body["bindings"] = json!({"1": {"type": "TEXT", "value": name}});
        }
        None => body["statement"] = "SELECT 1".into(),
    }
    if let Some(role) = &c.role {
        body["role"] = role.as_str().into();
    }
    body
}

/// The token type header value for the credential the host applies.
fn token_type(auth: Option<&Auth>) -> &'static str {
    match auth.map(|a| a.kind) {
        Some(AuthKind::SignedJwt) => "KEYPAIR_JWT",
        Some(AuthKind::Oauth2 | AuthKind::JwtBearer) => "OAUTH",
        _ => "PROGRAMMATIC_ACCESS_TOKEN",
    }
}

/// The first cell of a result set (`data` holds strings).
fn first_cell(result: &Value) -> Option<u64> {
    result.pointer("/data/0/0")?.as_str()?.parse().ok()
}

struct Snowflake;

impl Probe for Snowflake {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "snowflake";
    const DESCRIPTION: &'static str = "Snowflake's SQL API runs a statement on the table";

    fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![Endpoint::new(c.host.as_str(), 443)])
    }

    fn check(c: Config) -> Result<Healthy, CheckError> {
        if c.port != 443 {
            return Err(CheckError::invalid_config(
                "port must be 443: the SQL API is served over HTTPS there",
            ));
        }
        if let Some(expect) = &c.expect {
            expect.only(Self::SOURCE_TYPE, &["equals"]).map_err(CheckError::InvalidConfig)?;
        }
        let base =
            address::base(&format!("https://{}", c.host), "host").map_err(CheckError::InvalidConfig)?;
        let url = address::join(&base, &["api", "v2", "statements"], &[]);
        let headers = [("x-snowflake-authorization-token-type", token_type(c.auth.as_ref()))];
        let resp = web::post_json(&url, &statement(&c), &headers)?;
        if resp.status == 422 && resp.json().is_ok_and(|b| b["sqlState"] == "42S02") {
            let detail = resp.json().ok().and_then(|b| sonde_saas::vendor::message(&b)).unwrap_or_default();
            return Err(Problem::staged(messages::does_not_exist("table"), stage::RESOURCE, detail).into());
        }
        if resp.status == 202 {
            return Err(Problem::staged(
                messages::TIMED_OUT,
                stage::PROTOCOL,
                "the statement is still running",
            )
            .into());
        }
        let result = web::ok_json(&resp, "table")?;
        if let Some(expect) = &c.expect {
            expect.check_equals(&first_cell(&result).map_or(Value::Null, Value::from))?;
        }
        let healthy =
            Healthy::new().detail("database", c.database.as_str()).detail("schema", c.schema.as_str());
        Ok(match (&c.table_name, first_cell(&result)) {
            (Some(table), Some(rows)) => healthy.items(rows).detail("table", table.as_str()),
            _ => healthy,
        })
    }
}

sonde_sdk::export_probe!(Snowflake);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_follows_the_auth_contract() {
        sonde_saas::cases::schema_rules::<Snowflake>().expect("the auth contract of COMMON.md");
    }

    #[test]
    fn reads_the_documented_result_set() {
        // https://docs.snowflake.com/en/developer-guide/sql-api/reference#resultset (data rows hold strings)
        let result = json!({"resultSetMetaData": {"numRows": 1, "format": "jsonv2", "rowType": [{"name": "COUNT(*)",
            "type": "fixed"}]}, "data": [["102"]], "code": "090001", "statementStatusUrl": "/api/v2/statements/h",
            "sqlState": "00000", "statementHandle": "h", "message": "Statement executed successfully.",
            "createdOn": 1620151693299_u64});
        assert_eq!(first_cell(&result), Some(102));
    }

    #[test]
    fn builds_a_bound_count_statement() {
        let c: Config =
            serde_json::from_value(json!({"host": "acme.snowflakecomputing.com", "database": "DB",
            "schema": "PUBLIC", "table_name": "ELEMENTS", "role": "R"}))
            .expect("as documented");
        let body = statement(&c);
        assert_eq!(body["bindings"]["1"]["value"], "DB.PUBLIC.ELEMENTS");
        assert_eq!(body["role"], "R");
        assert_eq!(token_type(None), "PROGRAMMATIC_ACCESS_TOKEN");
    }

    #[test]
    fn reads_the_documented_failure_body() {
        // https://docs.snowflake.com/en/developer-guide/sql-api/reference#queryfailurestatus
        let body = json!({"code": "002003", "sqlState": "42S02", "message":
            "SQL compilation error:\nObject 'DB.PUBLIC.NOPE' does not exist or not authorized.",
            "statementHandle": "h", "createdOn": 1620151693299_u64, "statementStatusUrl": "/api/v2/statements/h"});
        assert_eq!(body["sqlState"], "42S02");
        assert!(sonde_saas::vendor::message(&body).is_some_and(|m| m.contains("does not exist")));
    }
}
