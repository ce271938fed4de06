//! The `expect` object of DESIGN §3: assertions on what a check read, one
//! type every probe that reads data embeds, so `rows`, `equals`, `max_age`
//! and `json` read the same everywhere.
//!
//! A probe embeds `expect: Option<Expect>`, refuses the members it has no
//! meaning for with [`Expect::only`] (an `invalid-config`), and calls the
//! `check_*` helpers on what it read. A member left out always passes. A
//! failure is ERROR "assertion failed" with `extra` = `{"stage":
//! "assertion", "detail", "expected", "observed"}`.
//!
//! ```
//! use sonde_sdk::Expect;
//! let e: Expect = serde_json::from_value(serde_json::json!({"rows": {"min": 1}, "max_age": "1d"})).unwrap();
//! e.only("s3", &["rows", "max_age"]).unwrap();
//! assert!(e.check_rows(3).is_ok());
//! let p = e.check_rows(0).unwrap_err();
//! assert_eq!(p.message, "assertion failed");
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::clock;
use crate::outcome::{Problem, messages, stage};

/// The members of [`Expect`], as the config spells them.
const MEMBERS: [&str; 4] = ["rows", "equals", "max_age", "json"];

/// What a check must find, beyond reaching the source.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// How many rows, documents or objects: a number, or `{min, max}`.
    pub rows: Option<Rows>,
    /// A JSON scalar the first value read must equal (`null` included).
    #[serde(default, deserialize_with = "present")]
    #[schemars(schema_with = "scalar", transform = no_default)]
    pub equals: Option<Value>,
    /// The newest value read must be younger than this: `7d`, `12h`,
    /// `30m`, `90s`.
    #[schemars(regex(pattern = r"^\s*\d+\s*(ms|s|m|h|d)(\s*\d+\s*(ms|s|m|h|d))*\s*$"))]
    pub max_age: Option<String>,
    /// Equalities on a JSON answer: `{"/json/pointer": value}`.
    #[serde(default)]
    pub json: BTreeMap<String, Value>,
}

/// `rows`: exactly `n`, or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Rows {
    Exactly(u64),
    Between(RowRange),
}

/// `rows` as `{min, max}`, both inclusive, either optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowRange {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

impl Rows {
    fn holds(self, n: u64) -> bool {
        match self {
            Rows::Exactly(want) => n == want,
            Rows::Between(RowRange { min, max }) => min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m),
        }
    }

    fn as_json(self) -> Value {
        match self {
            Rows::Exactly(n) => n.into(),
            Rows::Between(RowRange { min, max }) => json!({"min": min, "max": max}),
        }
    }
}

/// Keeps an explicit `null` as `Some(Null)`: `"equals": null` asserts null.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_array() || v.is_object() {
        return Err(serde::de::Error::custom(
            "equals must be a JSON scalar (string, number, boolean or null)",
        ));
    }
    Ok(Some(v))
}

/// An absent `equals` asserts nothing; a `"default": null` would read as
/// "equals null" to a form built from the schema.
fn no_default(schema: &mut Schema) {
    schema.remove("default");
}

fn scalar(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A JSON scalar the first value read must equal (`null` included).",
        "type": ["string", "number", "boolean", "null"]
    })
}

/// "assertion failed", staged, with what was expected and what was seen.
pub fn assertion_failed(
    detail: impl Into<String>,
    expected: impl Into<Value>,
    observed: impl Into<Value>,
) -> Problem {
    Problem::staged(messages::ASSERTION_FAILED, stage::ASSERTION, detail)
        .with_member("expected", expected)
        .with_member("observed", observed)
}

impl Expect {
    /// The members a SQL result has a meaning for (`json` has none).
    pub const SQL: &'static [&'static str] = &["rows", "equals", "max_age"];

    /// Refuses (as an invalid-config message) the members this probe has
    /// no meaning for, and any member that cannot be evaluated (a bad
    /// `max_age`, a `json` key that is no JSON pointer, `min > max`).
    pub fn only(&self, probe: &str, allowed: &[&str]) -> Result<(), String> {
        let set = [self.rows.is_some(), self.equals.is_some(), self.max_age.is_some(), !self.json.is_empty()];
        for (member, set) in MEMBERS.iter().zip(set) {
            if set && !allowed.contains(member) {
                let wanted = allowed.iter().map(|m| format!("expect.{m}")).collect::<Vec<_>>().join(", ");
                return Err(format!("expect.{member} has no meaning for {probe}: it takes {wanted}"));
            }
        }
        self.validate()
    }

    /// The members are well-formed.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(Rows::Between(RowRange { min: Some(min), max: Some(max) })) = self.rows
            && min > max
        {
            return Err(format!("expect.rows: min {min} is above max {max}"));
        }
        if let Some(age) = &self.max_age {
            clock::parse_duration(age).map_err(|e| format!("expect.max_age: {e}"))?;
        }
        if let Some(key) = self.json.keys().find(|k| !(k.is_empty() || k.starts_with('/'))) {
            return Err(format!("expect.json: {key:?} is not a JSON pointer (it starts with '/')"));
        }
        Ok(())
    }

    /// A listing's count and newest timestamp (objects in a bucket, blobs in
    /// a container) held to `rows` and `max_age`; on success `healthy`
    /// gains `newest` and, when the listing stopped short, `truncated`,
    /// where the expectation needed them.
    pub fn check_listing(
        &self,
        listed: u64,
        newest: Option<String>,
        truncated: bool,
        mut healthy: crate::Healthy,
    ) -> Result<crate::Healthy, Problem> {
        self.check_rows(listed)?;
        let observed = newest.clone().map_or(Value::Null, Value::from);
        self.check_max_age(&observed, SystemTime::now())?;
        if let Some(newest) = newest.filter(|_| self.needs_rows()) {
            healthy = healthy.detail("newest", newest);
        }
        if truncated && self.needs_rows() {
            healthy = healthy.detail("truncated", true);
        }
        Ok(healthy)
    }

    /// Whether `rows` or `max_age` asks the probe to read (list, count).
    pub fn needs_rows(&self) -> bool {
        self.rows.is_some() || self.max_age.is_some()
    }

    /// A SQL result held to `rows` (its row count), `equals` and `max_age`
    /// (its first column of the first row, [`crate::sql::Column::value`]).
    /// With no row, `equals` fails even for `null`: a SQL NULL read and
    /// nothing read are not the same answer.
    pub fn check_query(&self, rows: u64, first: &Value) -> Result<(), Problem> {
        self.check_result(rows, first)?;
        self.check_max_age(first, SystemTime::now())
    }

    /// [`Self::check_query`] without `max_age`, for a probe that dates
    /// its first value another way (ClickHouse prints `DateTime` in the
    /// server's zone, and asks the server for Unix seconds).
    pub fn check_result(&self, rows: u64, first: &Value) -> Result<(), Problem> {
        self.check_rows(rows)?;
        if rows == 0
            && let Some(want) = &self.equals
        {
            return Err(assertion_failed("no row came back", want.clone(), Value::Null));
        }
        self.check_equals(first)
    }

    /// `rows` holds for `n` rows, documents or objects.
    pub fn check_rows(&self, n: u64) -> Result<(), Problem> {
        match self.rows {
            Some(rows) if !rows.holds(n) => Err(assertion_failed(format!("{n} rows"), rows.as_json(), n)),
            _ => Ok(()),
        }
    }

    /// `equals` holds for the first value read (numbers compare by value:
    /// `1` equals `1.0`).
    pub fn check_equals(&self, first: &Value) -> Result<(), Problem> {
        match &self.equals {
            Some(want) if !same(want, first) => {
                Err(assertion_failed("the first value differs", want.clone(), excerpt(first)))
            }
            _ => Ok(()),
        }
    }

    /// `max_age` holds for `newest`: Unix seconds (a number) or a timestamp
    /// in RFC 3339 (UTC when it has no zone) or RFC 1123. `null` (nothing
    /// read) fails.
    pub fn check_max_age(&self, newest: &Value, now: SystemTime) -> Result<(), Problem> {
        let Some(max_age) = &self.max_age else { return Ok(()) };
        let limit = clock::parse_duration(max_age)
            .map_err(|e| assertion_failed(format!("expect.max_age: {e}"), max_age.as_str(), Value::Null))?;
        let at = match newest {
            Value::Null => {
                return Err(assertion_failed("nothing was read to date", max_age.as_str(), Value::Null));
            }
            Value::Number(n) => n.as_f64().map(|f| f as i64),
            Value::String(s) => clock::parse_timestamp(s).ok(),
            _ => None,
        };
        let Some(at) = at else {
            return Err(assertion_failed(
                "the newest value is not a timestamp",
                max_age.as_str(),
                excerpt(newest),
            ));
        };
        let age = clock::unix_of(now).saturating_sub(at).max(0);
        let age = Duration::from_secs(u64::try_from(age).unwrap_or(0));
        if age >= limit {
            return Err(assertion_failed(
                format!(
                    "the newest ({}) is {} old",
                    newest.as_str().map_or_else(|| newest.to_string(), str::to_string),
                    clock::format_duration(age)
                ),
                max_age.as_str(),
                clock::format_duration(age),
            ));
        }
        Ok(())
    }

    /// Every `json` equality holds on `doc`. A pointer to nothing fails
    /// whatever was expected, `null` included (observed as `null`, with a
    /// detail that says it is missing).
    pub fn check_json(&self, doc: &Value) -> Result<(), Problem> {
        for (pointer, want) in &self.json {
            match doc.pointer(pointer) {
                Some(got) if same(want, got) => {}
                Some(got) => {
                    return Err(assertion_failed(format!("{pointer} differs"), want.clone(), excerpt(got)));
                }
                None => {
                    return Err(assertion_failed(format!("{pointer} is missing"), want.clone(), Value::Null));
                }
            }
        }
        Ok(())
    }
}

/// JSON equality, numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64().is_some_and(|x| y.as_f64() == Some(x)),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// What was observed, cut short: an answer's value can be large, and
/// `extra` is stored with every failed check.
fn excerpt(v: &Value) -> Value {
    const MAX: usize = 256;
    match v {
        Value::String(s) if s.len() > MAX => {
            Value::String(format!("{}…", s.chars().take(MAX).collect::<String>()))
        }
        Value::Array(_) | Value::Object(_) => {
            let text = v.to_string();
            if text.len() > MAX {
                Value::String(format!("{}…", text.chars().take(MAX).collect::<String>()))
            } else {
                v.clone()
            }
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
#[path = "expect_tests.rs"]
mod tests;
