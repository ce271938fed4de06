//! What ClickHouse's HTTP interface answers, read: an exception's code and
//! text mapped to DESIGN §3's messages, a `JSONCompact` result set, and its
//! first value as `expect` compares it.
//!
//! An exception is a non-200 answer whose body is `Code: 81, e.displayText()
//! = DB::Exception: …` (18.x) or `Code: 81. DB::Exception: … (UNKNOWN_DATABASE)`
//! (20.x and later, which also send the code as `X-ClickHouse-Exception-Code`).
//! Codes are ClickHouse's `src/Common/ErrorCodes.cpp`.

use serde_json::Value;
use sonde_sdk::api::Response;
use sonde_sdk::{CheckError, Problem, messages, stage};

/// UNKNOWN_DATABASE.
const UNKNOWN_DATABASE: u32 = 81;
/// UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD (18.x and 19.x; the
/// server answers 401 with them) and AUTHENTICATION_FAILED (20.x and later,
/// which folds the three into one so as not to tell which users exist).
const AUTHENTICATION: [u32; 4] = [192, 193, 194, 516];
/// ACCESS_DENIED (20.x and later, SQL-driven access control: a user without
/// the grant on a database or table).
const ACCESS_DENIED: u32 = 497;
/// Characters of the server's text kept in `extra`.
const MAX_TEXT: usize = 300;

/// The message for a query that the server refused for any other reason
/// (a syntax error, a missing table, a readonly user writing): the table
/// and columns live in `query`, not in a config key that would name a noun.
pub const QUERY_FAILED: &str = "query failed";

/// A ClickHouse exception: its code, when the answer carries one, and its
/// text (the body's first line, cut short).
#[derive(Debug, PartialEq)]
pub struct Exception {
    pub code: Option<u32>,
    pub text: String,
}

pub fn exception(resp: &Response) -> Exception {
    let body = resp.text();
    let text = body.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    let text = if text.chars().count() > MAX_TEXT {
        format!("{}…", text.chars().take(MAX_TEXT).collect::<String>())
    } else {
        text.to_string()
    };
    let from_header = resp.header("x-clickhouse-exception-code").and_then(|c| c.trim().parse().ok());
    Exception { code: from_header.or_else(|| code_in(&body)), text }
}

/// The `N` of `Code: N` at the start of an exception's text.
fn code_in(body: &str) -> Option<u32> {
    let rest = body.trim_start().strip_prefix("Code: ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The failure for a non-200 answer to a query.
pub fn failure(resp: &Response) -> CheckError {
    let e = exception(resp);
    let (message, at) = match (e.code, resp.status) {
        (Some(code), _) if AUTHENTICATION.contains(&code) => {
            (messages::AUTHENTICATION_FAILED.into(), stage::AUTH)
        }
        (None, 401) => (messages::AUTHENTICATION_FAILED.into(), stage::AUTH),
        (Some(UNKNOWN_DATABASE), _) => (messages::does_not_exist("database"), stage::RESOURCE),
        (Some(ACCESS_DENIED), _) | (None, 403) => (messages::PERMISSION_DENIED.into(), stage::PERMISSION),
        (Some(_), _) => (QUERY_FAILED.into(), stage::RESOURCE),
        // No ClickHouse code at all: a proxy or another HTTP server.
        (None, _) => (messages::UNEXPECTED_PROTOCOL.into(), stage::PROTOCOL),
    };
    let detail = if e.text.is_empty() { format!("HTTP {}", resp.status) } else { e.text };
    let mut problem = Problem::staged(message, at, detail).with_member("status", resp.status);
    if let Some(code) = e.code {
        problem = problem.with_member("code", code);
    }
    problem.into()
}

/// A result set: each column's type, and the rows as JSON arrays.
#[derive(Debug, PartialEq)]
pub struct ResultSet {
    pub types: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// The `meta` and `data` of a `JSONCompact` answer; anything else is
/// "unexpected protocol". A server may still fail a query after its 200
/// has gone out, and then appends its exception to the body: that is
/// "query failed" with the code.
pub fn result_set(resp: &Response) -> Result<ResultSet, CheckError> {
    let doc: Value = match serde_json::from_slice(&resp.body) {
        Ok(doc) => doc,
        Err(_) => {
            let text = resp.text();
            if let Some(at) = text.find("Code: ")
                && let Some(code) = code_in(&text[at..])
            {
                let line =
                    text[at..].lines().next().unwrap_or_default().chars().take(MAX_TEXT).collect::<String>();
                return Err(Problem::staged(QUERY_FAILED, stage::RESOURCE, line)
                    .with_member("code", code)
                    .into());
            }
            return Err(resp.json().err().unwrap_or_else(|| unexpected("the answer is not JSON")));
        }
    };
    let types = doc["meta"]
        .as_array()
        .map(|m| m.iter().map(|c| c["type"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>());
    let rows =
        doc["data"].as_array().map(|d| d.iter().map(|r| r.as_array().cloned()).collect::<Option<Vec<_>>>());
    match (types, rows) {
        (Some(types), Some(Some(rows))) => Ok(ResultSet { types, rows }),
        _ => Err(unexpected(
            "the answer has no JSONCompact `meta` and `data`: leave FORMAT out of `query`, the probe asks for \
             JSONCompact",
        )),
    }
}

fn unexpected(detail: &str) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
}

impl ResultSet {
    /// The first column of the first row as JSON, `null` without rows:
    /// what `expect.equals` compares.
    pub fn first(&self) -> Value {
        match (self.types.first(), self.rows.first().and_then(|r| r.first())) {
            (Some(ty), Some(v)) => as_json(ty, v),
            (None, Some(v)) => v.clone(),
            _ => Value::Null,
        }
    }

    /// The first value as a `DateTime` to convert to Unix seconds on the
    /// server ([`to_unix_query`]), when it is one.
    pub fn first_datetime(&self) -> Option<String> {
        let ty = self.types.first()?;
        to_unix_query(ty, self.rows.first()?.first()?)
    }
}

/// `ty` without the wrappers that do not change how a value prints.
fn inner(mut ty: &str) -> &str {
    for wrapper in ["Nullable(", "LowCardinality("] {
        if let Some(rest) = ty.strip_prefix(wrapper).and_then(|r| r.strip_suffix(')')) {
            ty = rest;
        }
    }
    ty
}

/// A value as JSON: 64-bit and wider integers come quoted in ClickHouse's
/// JSON formats (`output_format_json_quote_64bit_integers`, on by default,
/// and a readonly user may not change it), so `count()` would read `"3"`;
/// they are numbers again here when they fit.
pub fn as_json(ty: &str, v: &Value) -> Value {
    let ty = inner(ty);
    let integer = ty.starts_with("Int") || ty.starts_with("UInt");
    match v {
        Value::String(s) if integer => s
            .parse::<u64>()
            .map(Value::from)
            .or_else(|_| s.parse::<i64>().map(Value::from))
            .unwrap_or_else(|_| v.clone()),
        _ => v.clone(),
    }
}

/// The query that turns a `DateTime` value into Unix seconds. ClickHouse
/// prints a `DateTime` in the column's time zone (`DateTime('UTC')`) or
/// the server's (`<timezone>`), without saying which offset that is; the
/// server itself knows, so it converts. `None` for any other value.
pub fn to_unix_query(ty: &str, v: &Value) -> Option<String> {
    let ty = inner(ty);
    let rest = ty.strip_prefix("DateTime64").or_else(|| ty.strip_prefix("DateTime"))?;
    // `YYYY-MM-DD hh:mm:ss`, then a DateTime64's fraction, dropped: only
    // digits, dashes, colons and a space go into the query.
    let text = v.as_str()?.get(..19)?;
    let shape = text.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    if !shape {
        return None;
    }
    let zone = rest.split('\'').nth(1).filter(|z| !z.is_empty());
    Some(match zone {
        Some(zone) => format!("SELECT toUnixTimestamp(toDateTime('{text}', '{}'))", quote(zone)),
        None => format!("SELECT toUnixTimestamp(toDateTime('{text}'))"),
    })
}

/// `text` inside a ClickHouse single-quoted string literal.
fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
