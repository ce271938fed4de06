//! The JSON shape of one check result, as `sonde check` prints it and as
//! Hasura's `HealthStatus` spells `status` and `error`.

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{Value, json};

use crate::runtime::{CheckReport, Status};

/// `{"status", "error", "timestamp", "duration_ms", "details", "items"}`.
#[derive(Debug, Serialize)]
pub struct CheckOutput {
    pub status: Status,
    pub error: Value,
    pub timestamp: String,
    pub duration_ms: u64,
    pub details: Option<Value>,
    pub items: Option<u64>,
}

impl From<&CheckReport> for CheckOutput {
    fn from(r: &CheckReport) -> Self {
        Self {
            status: r.status,
            error: hasura_error(r.status, r.message.as_deref(), r.extra.as_deref()),
            timestamp: rfc3339(r.reported_at()),
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            details: r.details.clone(),
            items: r.items,
        }
    }
}

/// Hasura's `error` column: null for OK and TIMEOUT, `{message, extra}` for
/// ERROR, the reason string for FAILED.
pub fn hasura_error(status: Status, message: Option<&str>, extra: Option<&str>) -> Value {
    match status {
        Status::Ok | Status::Timeout => Value::Null,
        Status::Failed => Value::String(message.unwrap_or_default().to_string()),
        Status::Error => {
            // `extra` is "any json": keep structured detail structured.
            let extra = extra.map(|x| match serde_json::from_str::<Value>(x) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
                _ => Value::String(x.to_string()),
            });
            json!({ "message": message.unwrap_or_default(), "extra": extra })
        }
    }
}

/// RFC 3339 in UTC, as every surface prints timestamps.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Cause;

    fn column(r: &CheckReport) -> Value {
        hasura_error(r.status, r.message.as_deref(), r.extra.as_deref())
    }

    #[test]
    fn error_column_per_status() {
        let ok = CheckReport::new(Status::Ok, Cause::Healthy, None);
        assert_eq!(column(&ok), Value::Null);
        assert_eq!(column(&CheckReport::timeout(std::time::Duration::from_secs(10))), Value::Null);
        assert_eq!(column(&CheckReport::failed("bad port")), json!("bad port"));
        let err = CheckReport::error(Cause::Unhealthy, "connection refused", Some("os error 111".into()));
        assert_eq!(column(&err), json!({"message": "connection refused", "extra": "os error 111"}));
        let err = CheckReport::error(Cause::Unhealthy, "m", Some(r#"{"code":"28P01"}"#.into()));
        assert_eq!(column(&err)["extra"], json!({"code": "28P01"}));
    }

    #[test]
    fn output_has_exactly_the_documented_keys() {
        let out = serde_json::to_value(CheckOutput::from(&CheckReport::failed("x"))).expect("json");
        let mut keys: Vec<_> = out.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["details", "duration_ms", "error", "items", "status", "timestamp"]);
        assert!(out["timestamp"].as_str().expect("string").ends_with('Z'));
    }
}
