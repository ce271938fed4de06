//! Conversions between SQLite rows and the domain types, and the bind
//! lists shared by the store's statements.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::super::{SourceKey, StoreError, StoreResult};
use crate::model::{CheckRecord, CheckStatus, Placement, Policy, Source, SourceSpec, SourceState, Trigger};

pub(super) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

pub(super) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn dur(v: i64) -> Duration {
    Duration::from_millis(u64::try_from(v).unwrap_or(0))
}

pub(super) const SOURCE_COLUMNS: &str = "id, organization, name, workspace, source_type, config, state, interval_ms, \
     timeout_ms, retries, retry_interval_ms, depends_on, placement, created_at, updated_at";

pub(super) const CHECK_COLUMNS: &str = "id, source_id, trigger, status, attempts, message, extra, details, items, \
     created_at, started_at, reported_at, duration_ms, replica, location";

pub(super) type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds the definition columns, in the order `workspace, source_type,
/// config, state, interval_ms, timeout_ms, retries, retry_interval_ms,
/// depends_on, placement`.
pub(super) fn bind_definition<'q>(q: SqliteQuery<'q>, spec: &'q SourceSpec) -> SqliteQuery<'q> {
    q.bind(spec.workspace.map(|w| w.to_string()))
        .bind(&spec.source_type)
        .bind(spec.config.to_string())
        .bind(spec.state.as_str())
        .bind(ms(spec.policy.interval))
        .bind(ms(spec.policy.timeout))
        .bind(i64::from(spec.policy.retries))
        .bind(ms(spec.policy.retry_interval))
        .bind(depends_on_text(&spec.depends_on))
        .bind(placement_text(&spec.placement))
}

/// A placement as stored: NULL for the default (`central` alone), else JSON.
pub(super) fn placement_text(p: &Placement) -> Option<String> {
    (!p.is_default()).then(|| serde_json::to_string(p).unwrap_or_default())
}

/// `depends_on` as stored: a JSON array of names.
pub(super) fn depends_on_text(names: &[String]) -> String {
    serde_json::to_string(names).unwrap_or_else(|_| "[]".into())
}

pub(super) fn conflict_or(spec: &SourceSpec) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict { organization: spec.organization.clone(), name: spec.name.clone() }
        }
        _ => backend(e),
    }
}

pub(super) fn source_key_from_row(row: &SqliteRow) -> StoreResult<SourceKey> {
    let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
    Ok(SourceKey {
        id: parse_uuid(&get("id")?)?,
        organization: get("organization")?,
        name: get("name")?,
        source_type: get("source_type")?,
        state: if get("state")? == "paused" { SourceState::Paused } else { SourceState::Active },
    })
}

pub(super) fn source_from_row(row: &SqliteRow) -> StoreResult<Source> {
    let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
    let int = |c: &str| row.try_get::<i64, _>(c).map_err(backend);
    let workspace: Option<String> = row.try_get("workspace").map_err(backend)?;
    Ok(Source {
        id: parse_uuid(&get("id")?)?,
        name: get("name")?,
        organization: get("organization")?,
        workspace: workspace.as_deref().map(parse_uuid).transpose()?,
        source_type: get("source_type")?,
        config: serde_json::from_str(&get("config")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        state: if get("state")? == "paused" { SourceState::Paused } else { SourceState::Active },
        policy: Policy {
            interval: dur(int("interval_ms")?),
            timeout: dur(int("timeout_ms")?),
            retries: u32::try_from(int("retries")?).unwrap_or(0),
            retry_interval: dur(int("retry_interval_ms")?),
        },
        depends_on: serde_json::from_str(&get("depends_on")?)
            .map_err(|e| StoreError::Corrupt(format!("depends_on: {e}")))?,
        placement: match row.try_get::<Option<String>, _>("placement").map_err(backend)? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("placement: {e}")))?
            }
            None => Placement::default(),
        },
        created_at: parse_ts(&get("created_at")?)?,
        updated_at: parse_ts(&get("updated_at")?)?,
    })
}

pub(super) fn check_from_row(row: &SqliteRow) -> StoreResult<CheckRecord> {
    let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
    let opt = |c: &str| row.try_get::<Option<String>, _>(c).map_err(backend);
    let status = get("status")?;
    Ok(CheckRecord {
        id: parse_uuid(&get("id")?)?,
        source_id: parse_uuid(&get("source_id")?)?,
        trigger: if get("trigger")? == "manual" { Trigger::Manual } else { Trigger::Schedule },
        status: CheckStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(backend)?).unwrap_or(0),
        message: opt("message")?,
        extra: opt("extra")?,
        details: opt("details")?.and_then(|d| serde_json::from_str(&d).ok()),
        items: row.try_get::<Option<i64>, _>("items").map_err(backend)?.and_then(|i| u64::try_from(i).ok()),
        created_at: parse_ts(&get("created_at")?)?,
        started_at: opt("started_at")?.as_deref().map(parse_ts).transpose()?,
        reported_at: opt("reported_at")?.as_deref().map(parse_ts).transpose()?,
        duration_ms: row
            .try_get::<Option<i64>, _>("duration_ms")
            .map_err(backend)?
            .and_then(|d| u64::try_from(d).ok()),
        replica: opt("replica")?,
        location: opt("location")?,
    })
}
