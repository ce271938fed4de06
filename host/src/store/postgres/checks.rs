//! Checks: inserts and updates (each also moving the source's row in
//! `latest`, in the same statement), history, recovery and pruning.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgPool, Row};
use uuid::Uuid;

use super::rows::{CHECK_COLUMNS, backend, check_from_row, int};
use crate::model::{CheckRecord, CheckStatus};
use crate::store::{OutcomeCounts, Retention, StoreResult};

/// Upserts `latest` from a CTE `c (id, source_id, created_at, status)`: a
/// finished check becomes the source's last result unless a newer one is
/// there already (and stops being its current one); an unfinished check
/// becomes its current one.
const LATEST_FROM_C: &str = "INSERT INTO latest (source_id, last_check, last_created_at, current_check) \
     SELECT source_id, \
       CASE WHEN status IN ('SCHEDULED', 'RUNNING') THEN NULL ELSE id END, \
       CASE WHEN status IN ('SCHEDULED', 'RUNNING') THEN NULL ELSE created_at END, \
       CASE WHEN status IN ('SCHEDULED', 'RUNNING') THEN id END FROM c \
     ON CONFLICT (source_id) DO UPDATE SET \
       last_check = CASE WHEN excluded.last_check IS NOT NULL AND (latest.last_created_at IS NULL \
         OR latest.last_created_at <= excluded.last_created_at) THEN excluded.last_check ELSE latest.last_check END, \
       last_created_at = CASE WHEN excluded.last_check IS NOT NULL AND (latest.last_created_at IS NULL \
         OR latest.last_created_at <= excluded.last_created_at) THEN excluded.last_created_at \
         ELSE latest.last_created_at END, \
       current_check = CASE WHEN excluded.current_check IS NOT NULL THEN excluded.current_check \
         WHEN latest.current_check = excluded.last_check THEN NULL ELSE latest.current_check END";

pub(super) async fn insert<'e>(pool: impl sqlx::PgExecutor<'e>, c: &CheckRecord) -> StoreResult<()> {
    let sql = format!(
        "WITH c AS (INSERT INTO checks ({CHECK_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         RETURNING id, source_id, created_at, status) {LATEST_FROM_C}"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(c.id)
        .bind(c.source_id)
        .bind(c.trigger.as_str())
        .bind(c.status.as_str())
        .bind(i32::try_from(c.attempts).unwrap_or(i32::MAX))
        .bind(&c.message)
        .bind(&c.extra)
        .bind(&c.details)
        .bind(int(c.items))
        .bind(c.created_at)
        .bind(c.started_at)
        .bind(c.reported_at)
        .bind(int(c.duration_ms))
        .bind(&c.replica)
        .bind(&c.location)
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Updates a check; once it is finished, in the same statement: it becomes
/// the source's latest result and the lease its replica held on it, if any,
/// is released. Returns the status of the result it replaced.
pub(super) async fn update<'e>(
    pool: impl sqlx::PgExecutor<'e>,
    c: &CheckRecord,
) -> StoreResult<Option<CheckStatus>> {
    let sql = format!(
        "WITH c AS (UPDATE checks SET status = $2, attempts = $3, message = $4, extra = $5, details = $6, \
           items = $7, started_at = $8, reported_at = $9, duration_ms = $10, replica = $11 WHERE id = $1 \
           RETURNING id, source_id, created_at, status, replica), \
         prev AS (SELECT p.status FROM latest l JOIN checks p ON p.id = l.last_check \
           WHERE l.source_id = (SELECT source_id FROM c)), \
         released AS (UPDATE schedule SET lease_owner = NULL, lease_until = NULL, check_id = NULL \
           WHERE source_id = (SELECT source_id FROM c) AND check_id = $1 \
           AND lease_owner = (SELECT replica FROM c) AND $2 NOT IN ('SCHEDULED', 'RUNNING')), \
         l AS ({LATEST_FROM_C}) \
         SELECT (SELECT status FROM prev) AS previous"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(c.id)
        .bind(c.status.as_str())
        .bind(i32::try_from(c.attempts).unwrap_or(i32::MAX))
        .bind(&c.message)
        .bind(&c.extra)
        .bind(&c.details)
        .bind(int(c.items))
        .bind(c.started_at)
        .bind(c.reported_at)
        .bind(int(c.duration_ms))
        .bind(&c.replica)
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    let previous: Option<String> = row.try_get("previous").map_err(backend)?;
    Ok(previous.as_deref().and_then(CheckStatus::parse))
}

pub(super) async fn fetch(pool: &PgPool, sql: String) -> StoreResult<Vec<CheckRecord>> {
    // Only ever built from this module's constants.
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await.map_err(backend)?;
    rows.iter().map(check_from_row).collect()
}

pub(super) async fn latest(pool: &PgPool, finished_only: bool) -> StoreResult<Vec<CheckRecord>> {
    let filter = if finished_only { "WHERE status NOT IN ('SCHEDULED', 'RUNNING')" } else { "" };
    fetch(
        pool,
        format!(
            "SELECT DISTINCT ON (source_id) {CHECK_COLUMNS} FROM checks {filter} \
             ORDER BY source_id, created_at DESC"
        ),
    )
    .await
}

pub(super) async fn history(
    pool: &PgPool,
    source_id: Uuid,
    limit: u32,
    before: Option<DateTime<Utc>>,
) -> StoreResult<Vec<CheckRecord>> {
    let sql = format!(
        "SELECT {CHECK_COLUMNS} FROM checks WHERE source_id = $1 AND ($2::timestamptz IS NULL OR created_at < $2) \
         ORDER BY created_at DESC LIMIT $3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(source_id)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(check_from_row).collect()
}

/// Key of the advisory lock that one pruning replica holds at a time.
const PRUNE_LOCK: i64 = 0x736f_6e64_6570_7275; // "sondepru"

pub(super) async fn prune(pool: &PgPool, retention: Retention, now: DateTime<Utc>) -> StoreResult<u64> {
    // Every replica runs the pruner; one at a time does the work, the
    // others find the lock taken and skip this round.
    let mut tx = pool.begin().await.map_err(backend)?;
    let row = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS mine")
        .bind(PRUNE_LOCK)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    if !row.try_get::<bool, _>("mine").map_err(backend)? {
        return Ok(0);
    }
    // A large history takes longer to prune than a request may wait.
    sqlx::query("SET LOCAL statement_timeout = '300s'").execute(&mut *tx).await.map_err(backend)?;
    let cutoff = now - chrono::Duration::from_std(retention.max_age).unwrap_or(chrono::Duration::MAX);
    // What a source's latest result points at is kept whatever its age.
    let by_age = sqlx::query(
        "DELETE FROM checks c WHERE created_at < $1 AND status NOT IN ('SCHEDULED', 'RUNNING') \
         AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.last_check = c.id)",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    let by_count = sqlx::query(
        "DELETE FROM checks c WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER \
         (PARTITION BY source_id ORDER BY created_at DESC) AS rn FROM checks) r WHERE rn > $1) \
         AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.last_check = c.id)",
    )
    .bind(i64::from(retention.max_per_source))
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(by_age.rows_affected() + by_count.rows_affected())
}

pub(super) async fn outcome_counts(
    pool: &PgPool,
    source_id: Uuid,
    since: DateTime<Utc>,
) -> StoreResult<OutcomeCounts> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS finished, COUNT(*) FILTER (WHERE status = 'OK') AS ok FROM checks \
         WHERE source_id = $1 AND created_at >= $2 AND status NOT IN ('SCHEDULED', 'RUNNING') \
         AND (location = 'combined' OR NOT EXISTS \
           (SELECT 1 FROM checks c2 WHERE c2.source_id = $1 AND c2.location = 'combined'))",
    )
    .bind(source_id)
    .bind(since)
    .fetch_one(pool)
    .await
    .map_err(backend)?;
    let count = |c: &str| row.try_get::<i64, _>(c).map(|n| u64::try_from(n).unwrap_or(0)).map_err(backend);
    Ok(OutcomeCounts { ok: count("ok")?, finished: count("finished")? })
}

/// [`update`] of many finished checks in one statement (at most one per
/// source: `latest` takes one row per source per statement). Returns, per
/// check in order, the status of the result it replaced.
pub(super) async fn finish_many<'e>(
    pool: impl sqlx::PgExecutor<'e>,
    checks: &[CheckRecord],
) -> StoreResult<Vec<Option<CheckStatus>>> {
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let col = |f: &dyn Fn(&CheckRecord) -> Option<String>| checks.iter().map(f).collect::<Vec<_>>();
    let sql = format!(
        "WITH i AS (SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], \
           $7::bigint[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::text[]) \
           AS i (id, status, attempts, message, extra, details, items, started_at, reported_at, duration_ms, replica)), \
         c AS (UPDATE checks k SET status = i.status, attempts = i.attempts, message = i.message, extra = i.extra, \
           details = i.details::jsonb, items = i.items, started_at = i.started_at, reported_at = i.reported_at, \
           duration_ms = i.duration_ms, replica = i.replica FROM i WHERE k.id = i.id \
           RETURNING k.id, k.source_id, k.created_at, k.status, k.replica), \
         prev AS (SELECT c.id, p.status FROM c JOIN latest l ON l.source_id = c.source_id \
           JOIN checks p ON p.id = l.last_check), \
         released AS (UPDATE schedule s SET lease_owner = NULL, lease_until = NULL, check_id = NULL FROM c \
           WHERE s.source_id = c.source_id AND s.check_id = c.id AND s.lease_owner = c.replica), \
         l AS ({LATEST_FROM_C}) \
         SELECT i.id, prev.status AS previous FROM i LEFT JOIN prev ON prev.id = i.id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(checks.iter().map(|c| c.id).collect::<Vec<Uuid>>())
        .bind(checks.iter().map(|c| c.status.as_str().to_string()).collect::<Vec<_>>())
        .bind(checks.iter().map(|c| i32::try_from(c.attempts).unwrap_or(i32::MAX)).collect::<Vec<_>>())
        .bind(col(&|c| c.message.clone()))
        .bind(col(&|c| c.extra.clone()))
        .bind(col(&|c| c.details.as_ref().map(|d| d.to_string())))
        .bind(checks.iter().map(|c| int(c.items)).collect::<Vec<_>>())
        .bind(checks.iter().map(|c| c.started_at).collect::<Vec<_>>())
        .bind(checks.iter().map(|c| c.reported_at).collect::<Vec<_>>())
        .bind(checks.iter().map(|c| int(c.duration_ms)).collect::<Vec<_>>())
        .bind(col(&|c| c.replica.clone()))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    let mut previous = std::collections::HashMap::new();
    for row in &rows {
        let id: Uuid = row.try_get("id").map_err(backend)?;
        let status: Option<String> = row.try_get("previous").map_err(backend)?;
        previous.insert(id, status.as_deref().and_then(CheckStatus::parse));
    }
    Ok(checks.iter().map(|c| previous.get(&c.id).copied().flatten()).collect())
}
