//! Conversions between PostgreSQL rows and the domain types, and the column
//! lists shared by the store's statements. Types are native (UUID,
//! TIMESTAMPTZ, JSONB), so only durations and enums need converting.

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::super::{StoreError, StoreResult};
use crate::model::{CheckRecord, CheckStatus, Policy, Source, SourceState, Trigger};

pub(super) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn dur(v: i64) -> Duration {
    Duration::from_millis(u64::try_from(v).unwrap_or(0))
}

pub(super) fn int(v: Option<u64>) -> Option<i64> {
    v.map(|i| i64::try_from(i).unwrap_or(i64::MAX))
}

pub(super) const SOURCE_COLUMNS: &str = "id, organization, name, workspace, source_type, config, state, interval_ms, \
     timeout_ms, retries, retry_interval_ms, depends_on, placement, created_at, updated_at";

pub(super) const CHECK_COLUMNS: &str = "id, source_id, trigger, status, attempts, message, extra, details, items, \
     created_at, started_at, reported_at, duration_ms, replica, location";

/// [`SOURCE_COLUMNS`] qualified by a table alias, for joins.
pub(super) fn source_columns(alias: &str) -> String {
    SOURCE_COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// [`CHECK_COLUMNS`] qualified by a table alias, for joins.
pub(super) fn check_columns(alias: &str) -> String {
    CHECK_COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

pub(super) fn source_from_row(row: &PgRow) -> StoreResult<Source> {
    let int = |c: &str| row.try_get::<i64, _>(c).map_err(backend);
    let state: String = row.try_get("state").map_err(backend)?;
    Ok(Source {
        id: row.try_get("id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        organization: row.try_get("organization").map_err(backend)?,
        workspace: row.try_get("workspace").map_err(backend)?,
        source_type: row.try_get("source_type").map_err(backend)?,
        config: row.try_get("config").map_err(backend)?,
        state: if state == "paused" { SourceState::Paused } else { SourceState::Active },
        policy: Policy {
            interval: dur(int("interval_ms")?),
            timeout: dur(int("timeout_ms")?),
            retries: u32::try_from(row.try_get::<i32, _>("retries").map_err(backend)?).unwrap_or(0),
            retry_interval: dur(int("retry_interval_ms")?),
        },
        depends_on: row.try_get::<sqlx::types::Json<Vec<String>>, _>("depends_on").map_err(backend)?.0,
        placement: row
            .try_get::<Option<sqlx::types::Json<crate::model::Placement>>, _>("placement")
            .map_err(backend)?
            .map(|p| p.0)
            .unwrap_or_default(),
        created_at: row.try_get("created_at").map_err(backend)?,
        updated_at: row.try_get("updated_at").map_err(backend)?,
    })
}

pub(super) fn check_from_row(row: &PgRow) -> StoreResult<CheckRecord> {
    let status: String = row.try_get("status").map_err(backend)?;
    let trigger: String = row.try_get("trigger").map_err(backend)?;
    let opt_int = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(backend);
    Ok(CheckRecord {
        id: row.try_get("id").map_err(backend)?,
        source_id: row.try_get("source_id").map_err(backend)?,
        trigger: if trigger == "manual" { Trigger::Manual } else { Trigger::Schedule },
        status: CheckStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(backend)?).unwrap_or(0),
        message: row.try_get("message").map_err(backend)?,
        extra: row.try_get("extra").map_err(backend)?,
        details: row.try_get("details").map_err(backend)?,
        items: opt_int("items")?.and_then(|i| u64::try_from(i).ok()),
        created_at: row.try_get("created_at").map_err(backend)?,
        started_at: row.try_get("started_at").map_err(backend)?,
        reported_at: row.try_get("reported_at").map_err(backend)?,
        duration_ms: opt_int("duration_ms")?.and_then(|d| u64::try_from(d).ok()),
        replica: row.try_get("replica").map_err(backend)?,
        location: row.try_get("location").map_err(backend)?,
    })
}
