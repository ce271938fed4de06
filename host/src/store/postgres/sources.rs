//! Sources and their secrets: create, upsert by (organization, name),
//! replace, delete, read. Each write also keeps the source's row in the
//! group's `schedule`, so a source created through any replica is due for
//! the whole group at once.

use chrono::Utc;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::rows::{SOURCE_COLUMNS, backend, ms, source_from_row};
use crate::model::{Source, SourceSpec, SourceState};
use crate::service::scheduler::spread;
use crate::store::{SourceKey, StoreError, StoreResult};

fn conflict_or(spec: &SourceSpec) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict { organization: spec.organization.clone(), name: spec.name.clone() }
        }
        _ => backend(e),
    }
}

/// Binds the definition columns, in the order `workspace, source_type,
/// config, state, interval_ms, timeout_ms, retries, retry_interval_ms,
/// depends_on, placement`.
fn bind_definition<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    spec: &'q SourceSpec,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    q.bind(spec.workspace)
        .bind(&spec.source_type)
        .bind(&spec.config)
        .bind(spec.state.as_str())
        .bind(ms(spec.policy.interval))
        .bind(ms(spec.policy.timeout))
        .bind(i32::try_from(spec.policy.retries).unwrap_or(i32::MAX))
        .bind(ms(spec.policy.retry_interval))
        .bind(sqlx::types::Json(&spec.depends_on))
        .bind((!spec.placement.is_default()).then_some(sqlx::types::Json(&spec.placement)))
}

/// Inserts (or, with `upsert`, updates by name) a source, its secrets and
/// its schedule row, in one transaction.
pub(super) async fn write(
    pool: &PgPool,
    id: Uuid,
    spec: &SourceSpec,
    secrets: &Value,
    upsert: bool,
) -> StoreResult<Source> {
    let now = Utc::now();
    let mut tx = pool.begin().await.map_err(backend)?;
    // An upsert that changes nothing keeps `updated_at`.
    let conflict = if upsert {
        "ON CONFLICT (organization, name) DO UPDATE SET workspace = excluded.workspace, \
         source_type = excluded.source_type, config = excluded.config, state = excluded.state, \
         interval_ms = excluded.interval_ms, timeout_ms = excluded.timeout_ms, retries = excluded.retries, \
         retry_interval_ms = excluded.retry_interval_ms, depends_on = excluded.depends_on, \
         placement = excluded.placement, updated_at = excluded.updated_at \
         WHERE (sources.workspace, sources.source_type, sources.config, sources.state, sources.interval_ms, \
         sources.timeout_ms, sources.retries, sources.retry_interval_ms, sources.depends_on, sources.placement) IS DISTINCT FROM \
         (excluded.workspace, excluded.source_type, excluded.config, excluded.state, excluded.interval_ms, \
         excluded.timeout_ms, excluded.retries, excluded.retry_interval_ms, excluded.depends_on, excluded.placement)"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO sources ({SOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15) {conflict} RETURNING {SOURCE_COLUMNS}"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(id).bind(&spec.organization).bind(&spec.name);
    let row = bind_definition(q, spec)
        .bind(now)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(conflict_or(spec))?;
    let row = match row {
        Some(row) => row,
        None => {
            let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE organization = $1 AND name = $2");
            sqlx::query(AssertSqlSafe(sql))
                .bind(&spec.organization)
                .bind(&spec.name)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?
        }
    };
    let source = source_from_row(&row)?;
    sqlx::query(
        "INSERT INTO source_secrets (source_id, secrets) VALUES ($1, $2) \
         ON CONFLICT (source_id) DO UPDATE SET secrets = excluded.secrets",
    )
    .bind(source.id)
    .bind(secrets)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    schedule(&mut tx, &source).await?;
    tx.commit().await.map_err(backend)?;
    Ok(source)
}

/// [`write`] with `upsert` of each definition, one transaction each. Not
/// chunked as in SQLite: a chunk would hold the schedule rows of the
/// sources before it while waiting for the next, and other replicas'
/// batched releases and renewals lock schedule rows in their own order,
/// which can deadlock a replica's start against the running group.
pub(super) async fn upsert_many(pool: &PgPool, specs: &[(SourceSpec, Value)]) -> StoreResult<Vec<Source>> {
    let mut out = Vec::with_capacity(specs.len());
    for (spec, secrets) in specs {
        out.push(write(pool, Uuid::new_v4(), spec, secrets, true).await?);
    }
    Ok(out)
}

/// Gives a source its schedule row: first due within one interval, spread
/// by id as the in-memory scheduler does; a changed interval takes effect
/// by the next due time at the latest.
async fn schedule(tx: &mut Transaction<'_, Postgres>, source: &Source) -> StoreResult<()> {
    let first = Utc::now()
        + chrono::Duration::from_std(spread(source.id, source.policy.interval)).unwrap_or_default();
    let interval_end =
        Utc::now() + chrono::Duration::from_std(source.policy.interval).unwrap_or(chrono::Duration::MAX);
    sqlx::query(
        "INSERT INTO schedule (source_id, next_due) VALUES ($1, $2) \
         ON CONFLICT (source_id) DO UPDATE SET next_due = LEAST(schedule.next_due, $3)",
    )
    .bind(source.id)
    .bind(first)
    .bind(interval_end)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(super) async fn replace(
    pool: &PgPool,
    id: Uuid,
    spec: &SourceSpec,
    secrets: &Value,
) -> StoreResult<Source> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let sql = format!(
        "UPDATE sources SET organization = $1, name = $2, workspace = $3, source_type = $4, config = $5, \
         state = $6, interval_ms = $7, timeout_ms = $8, retries = $9, retry_interval_ms = $10, depends_on = $11, \
         placement = $12, updated_at = $13 WHERE id = $14 RETURNING {SOURCE_COLUMNS}"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(&spec.organization).bind(&spec.name);
    let row = bind_definition(q, spec)
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(conflict_or(spec))?
        .ok_or(StoreError::NotFound)?;
    sqlx::query("UPDATE source_secrets SET secrets = $1 WHERE source_id = $2")
        .bind(secrets)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let source = source_from_row(&row)?;
    schedule(&mut tx, &source).await?;
    tx.commit().await.map_err(backend)?;
    Ok(source)
}

pub(super) async fn delete(pool: &PgPool, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM sources WHERE id = $1").bind(id).execute(pool).await;
    Ok(done.map_err(backend)?.rows_affected() > 0)
}

pub(super) async fn get(pool: &PgPool, id: Uuid) -> StoreResult<Option<Source>> {
    let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await.map_err(backend)?;
    row.as_ref().map(source_from_row).transpose()
}

pub(super) async fn keys(pool: &PgPool) -> StoreResult<Vec<SourceKey>> {
    let sql = "SELECT id, organization, name, source_type, state FROM sources";
    let rows = sqlx::query(sql).fetch_all(pool).await.map_err(backend)?;
    let key = |row: &sqlx::postgres::PgRow| -> Result<SourceKey, sqlx::Error> {
        let state: String = row.try_get("state")?;
        Ok(SourceKey {
            id: row.try_get("id")?,
            organization: row.try_get("organization")?,
            name: row.try_get("name")?,
            source_type: row.try_get("source_type")?,
            state: if state == "paused" { SourceState::Paused } else { SourceState::Active },
        })
    };
    rows.iter().map(|r| key(r).map_err(backend)).collect()
}

pub(super) async fn list(pool: &PgPool) -> StoreResult<Vec<Source>> {
    // COLLATE "C": the same byte order as SQLite's.
    let sql = format!(
        "SELECT {SOURCE_COLUMNS} FROM sources ORDER BY organization COLLATE \"C\", name COLLATE \"C\""
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await.map_err(backend)?;
    rows.iter().map(source_from_row).collect()
}

/// The only statement that reads `source_secrets`.
pub(super) async fn secrets(pool: &PgPool, id: Uuid) -> StoreResult<Value> {
    let row = sqlx::query("SELECT secrets FROM source_secrets WHERE source_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    match row {
        None => Ok(Value::Object(Default::default())),
        Some(row) => row.try_get("secrets").map_err(backend),
    }
}
