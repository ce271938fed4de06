//! The [`Group`] half of the PostgreSQL store: claims through row leases
//! (`FOR UPDATE SKIP LOCKED` on `schedule`), their renewal, and the latest
//! result per source read from `latest`.
//!
//! A claim is one statement for any number of checks: it picks due rows
//! that nobody holds (or whose holder's lease expired), leases them, moves
//! their next due time, and stores their checks RUNNING. Times come from
//! the database's clock, so replicas with skewed clocks still agree.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::PgStore;
use super::rows::{backend, check_columns, check_from_row, source_columns, source_from_row};
use crate::alerts::judge::{Finished, Judge};
use crate::alerts::outbox::AlertWrite;
use crate::model::{CheckRecord, CheckStatus, SourceHealth, Trigger};
use crate::store::{Claim, Group, StoreResult};

#[async_trait::async_trait]
impl Group for PgStore {
    async fn claim_due(&self, replica: &str, lease: Duration, limit: u32) -> StoreResult<Vec<Claim>> {
        // `due.prev` is the check of an expired lease: it is taken over
        // under its id (and keeps its due time); otherwise a new check id.
        let sql = format!(
            "WITH due AS ( \
               SELECT s.source_id, s.check_id AS prev FROM schedule s JOIN sources src ON src.id = s.source_id \
               WHERE src.state = 'active' \
                 AND (src.placement IS NULL OR src.placement->'locations' ? 'central') \
                 AND ((s.lease_owner IS NULL AND s.next_due <= now()) \
                 OR (s.lease_owner IS NOT NULL AND s.lease_until < now())) \
               ORDER BY s.next_due LIMIT $2 FOR UPDATE OF s SKIP LOCKED), \
             claimed AS ( \
               UPDATE schedule s SET lease_owner = $1, lease_until = now() + make_interval(secs => $3), \
                 check_id = COALESCE(due.prev, gen_random_uuid()), \
                 next_due = CASE WHEN due.prev IS NULL \
                   THEN GREATEST(s.next_due + src.interval_ms * interval '1 millisecond', now()) \
                   ELSE s.next_due END \
               FROM due, sources src WHERE s.source_id = due.source_id AND src.id = s.source_id \
               RETURNING s.source_id, s.check_id, due.prev IS NOT NULL AS resumed), \
             c AS ( \
               INSERT INTO checks (id, source_id, trigger, status, attempts, created_at, started_at, replica) \
               SELECT check_id, source_id, 'schedule', 'RUNNING', 0, now(), now(), $1 FROM claimed \
               ON CONFLICT (id) DO UPDATE SET status = 'RUNNING', attempts = 0, started_at = now(), \
                 replica = excluded.replica, message = NULL, extra = NULL \
               RETURNING id, source_id, created_at, started_at), \
             l AS ( \
               INSERT INTO latest (source_id, current_check) SELECT source_id, id FROM c \
               ON CONFLICT (source_id) DO UPDATE SET current_check = excluded.current_check) \
             SELECT {}, c.id AS check_id, c.created_at AS check_created_at, c.started_at AS check_started_at, \
               claimed.resumed, COALESCE(sec.secrets, '{{}}'::jsonb) AS secrets \
             FROM c JOIN claimed ON claimed.check_id = c.id JOIN sources src ON src.id = c.source_id \
             LEFT JOIN source_secrets sec ON sec.source_id = c.source_id",
            source_columns("src")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(replica)
            .bind(i64::from(limit))
            .bind(lease.as_secs_f64())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let source = source_from_row(row)?;
                let mut check = CheckRecord::new(source.id, Trigger::Schedule, CheckStatus::Running);
                check.id = row.try_get("check_id").map_err(backend)?;
                check.created_at = row.try_get("check_created_at").map_err(backend)?;
                check.started_at = row.try_get("check_started_at").map_err(backend)?;
                check.replica = Some(replica.to_string());
                let resumed = row.try_get("resumed").map_err(backend)?;
                let secrets = row.try_get("secrets").map_err(backend)?;
                Ok(Claim { source, check, resumed, secrets })
            })
            .collect()
    }

    async fn renew(&self, replica: &str, lease: Duration) -> StoreResult<u64> {
        let row = sqlx::query(
            "WITH alive AS (INSERT INTO replicas (id, seen_until) VALUES ($1, now() + make_interval(secs => $2)) \
               ON CONFLICT (id) DO UPDATE SET seen_until = excluded.seen_until), \
             renewed AS (UPDATE schedule SET lease_until = now() + make_interval(secs => $2) \
               WHERE lease_owner = $1 RETURNING 1) \
             SELECT count(*) AS held FROM renewed",
        )
        .bind(replica)
        .bind(lease.as_secs_f64())
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let held: i64 = row.try_get("held").map_err(backend)?;
        Ok(u64::try_from(held).unwrap_or(0))
    }

    async fn adopt_orphans(&self, replica: &str, lease: Duration, limit: u32) -> StoreResult<Vec<Claim>> {
        // A replica that never renewed has no row: its checks are orphans
        // once they are older than a lease. Checks asked of an agent's
        // location are its to run (DESIGN §10), never a replica's.
        let sql = format!(
            "WITH orphans AS ( \
               SELECT k.id FROM checks k WHERE k.status IN ('SCHEDULED', 'RUNNING') AND k.trigger = 'manual' \
               AND k.location IS NULL AND k.created_at < now() - make_interval(secs => $2) \
               AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = k.replica AND r.seen_until > now()) \
               LIMIT $3 FOR UPDATE OF k SKIP LOCKED), \
             c AS (UPDATE checks k SET replica = $1, status = 'SCHEDULED', attempts = 0 FROM orphans \
               WHERE k.id = orphans.id RETURNING k.id, k.source_id, k.created_at) \
             SELECT {}, c.id AS check_id, c.created_at AS check_created_at \
             FROM c JOIN sources src ON src.id = c.source_id",
            source_columns("src")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(replica)
            .bind(lease.as_secs_f64())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in &rows {
            let source = source_from_row(row)?;
            let mut check = CheckRecord::new(source.id, Trigger::Manual, CheckStatus::Scheduled);
            check.id = row.try_get("check_id").map_err(backend)?;
            check.created_at = row.try_get("check_created_at").map_err(backend)?;
            check.replica = Some(replica.to_string());
            // Run through `RunNow`, which reads the secrets itself.
            out.push(Claim { source, check, resumed: true, secrets: Value::Null });
        }
        Ok(out)
    }

    async fn finish(&self, _replica: &str, check: &CheckRecord) -> StoreResult<Option<CheckStatus>> {
        // The check names its replica; the update releases that one's lease.
        super::checks::update(&self.pool, check).await
    }

    async fn finish_many(
        &self,
        items: &[Finished<'_>],
        judge: &dyn Judge,
    ) -> StoreResult<(Vec<Option<CheckStatus>>, Vec<AlertWrite>)> {
        self.finish_judged(items, judge).await
    }

    async fn health(&self, source_id: Uuid) -> StoreResult<SourceHealth> {
        let all = self.read_health(Some(source_id)).await?;
        Ok(all.into_values().next().unwrap_or_default())
    }

    async fn health_all(&self) -> StoreResult<HashMap<Uuid, SourceHealth>> {
        self.read_health(None).await
    }
}

impl PgStore {
    /// `latest`'s checks, of one source or of all: one statement.
    async fn read_health(&self, source: Option<Uuid>) -> StoreResult<HashMap<Uuid, SourceHealth>> {
        let cols = check_columns("k");
        let sql = format!(
            "SELECT TRUE AS is_last, {cols} FROM latest l JOIN checks k ON k.id = l.last_check \
             WHERE ($1::uuid IS NULL OR l.source_id = $1) \
             UNION ALL SELECT FALSE, {cols} FROM latest l JOIN checks k ON k.id = l.current_check \
             WHERE ($1::uuid IS NULL OR l.source_id = $1) AND k.status IN ('SCHEDULED', 'RUNNING')"
        );
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(source).fetch_all(&self.pool).await.map_err(backend)?;
        let mut out: HashMap<Uuid, SourceHealth> = HashMap::new();
        for row in &rows {
            let check = check_from_row(row)?;
            let entry = out.entry(check.source_id).or_default();
            if row.try_get::<bool, _>("is_last").map_err(backend)? {
                entry.last = Some(check);
            } else {
                entry.current = Some(check);
            }
        }
        Ok(out)
    }
}
