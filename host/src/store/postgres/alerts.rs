//! The PostgreSQL side of alerts: route states, the outbox and silences
//! (`migrations/postgres/0003_alerts.sql`), as the SQLite store keeps them
//! (recording itself is `record.rs`).
//! Notifications are claimed with `FOR UPDATE SKIP LOCKED`, so with
//! several replicas each one is sent by one replica at a time.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::PgStore;
use super::rows::backend;
use crate::alerts::outbox::{MAX_AGE, Notification, Settle, StoredState};
use crate::alerts::silences::Silence;
use crate::store::{StoreResult, corrupt};

fn notification_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.try_get("id").map_err(backend)?,
        route: row.try_get("route").map_err(backend)?,
        source_id: row.try_get("source_id").map_err(backend)?,
        seq: u64::try_from(row.try_get::<i64, _>("seq").map_err(backend)?).unwrap_or(0),
        payload: row.try_get("payload").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(backend)?).unwrap_or(u32::MAX),
    })
}

fn silence_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<Silence> {
    let sources: Option<serde_json::Value> = row.try_get("sources").map_err(backend)?;
    Ok(Silence {
        id: row.try_get("id").map_err(backend)?,
        organization: row.try_get("organization").map_err(backend)?,
        sources: sources.map(serde_json::from_value).transpose().map_err(corrupt)?,
        starts_at: row.try_get("starts_at").map_err(backend)?,
        ends_at: row.try_get("ends_at").map_err(backend)?,
        comment: row.try_get("comment").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

const SILENCE_COLUMNS: &str = "id, organization, sources, starts_at, ends_at, comment, created_at";

impl PgStore {
    pub(super) async fn stored_alert_states(&self) -> StoreResult<Vec<StoredState>> {
        // Only the views the page and metrics show: down, or held back.
        let rows = sqlx::query(
            "SELECT route, source_id, state FROM alert_states \
             WHERE (state ->> 'down')::boolean OR state ->> 'suppressed' IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let state: serde_json::Value = row.try_get("state").map_err(backend)?;
                Ok(StoredState {
                    route: row.try_get("route").map_err(backend)?,
                    source_id: row.try_get("source_id").map_err(backend)?,
                    state: serde_json::from_value(state).map_err(corrupt)?,
                })
            })
            .collect()
    }

    pub(super) async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        // One statement: the heads of their (route, source) queues that are
        // due, locked so that another replica claiming at the same moment
        // skips them. A leased head stays 'pending', so the ones behind it
        // wait: order per (route, source) holds across retries and leases.
        let rows = sqlx::query(
            "UPDATE notifications SET next_attempt_at = $1, open = FALSE WHERE id IN (\
               SELECT n.id FROM notifications n WHERE n.state = 'pending' AND n.next_attempt_at <= $2 \
               AND NOT EXISTS (SELECT 1 FROM notifications p WHERE p.state = 'pending' \
                 AND p.route = n.route AND p.source_id = n.source_id AND p.seq < n.seq) \
               ORDER BY n.created_at, n.seq LIMIT $3 FOR UPDATE OF n SKIP LOCKED) \
             RETURNING id, route, source_id, seq, payload, created_at, attempts",
        )
        .bind(lease_until)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut claimed: Vec<Notification> =
            rows.iter().map(notification_from_row).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|a| (a.created_at, a.seq));
        Ok(claimed)
    }

    pub(super) async fn settle(&self, id: Uuid, settle: &Settle) -> StoreResult<()> {
        let now = Utc::now();
        let q = match settle {
            Settle::Sent => sqlx::query(
                "UPDATE notifications SET state = 'sent', attempts = attempts + 1, settled_at = $1, \
                 last_error = NULL WHERE id = $2",
            )
            .bind(now),
            Settle::Retry { at, .. } => sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1, last_error = $3 \
                 WHERE id = $2 AND state = 'pending'",
            )
            .bind(*at),
            Settle::Dropped { .. } => sqlx::query(
                "UPDATE notifications SET state = 'dropped', settled_at = $1, last_error = $3 WHERE id = $2",
            )
            .bind(now),
        };
        let q = q.bind(id);
        let q = match settle {
            Settle::Sent => q,
            Settle::Retry { error, .. } | Settle::Dropped { error } => q.bind(error.clone()),
        };
        q.execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    pub(super) async fn pending(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT route, COUNT(*) AS n FROM notifications WHERE state = 'pending' \
             GROUP BY route ORDER BY route COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n").map_err(backend)?;
                Ok((r.try_get("route").map_err(backend)?, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    pub(super) async fn insert_silence(&self, s: &Silence) -> StoreResult<()> {
        let sources = s.sources.as_ref().map(|v| serde_json::json!(v));
        let sql = format!("INSERT INTO silences ({SILENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(s.id)
            .bind(s.organization.clone())
            .bind(sources)
            .bind(s.starts_at)
            .bind(s.ends_at)
            .bind(&s.comment)
            .bind(s.created_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn silences(&self, now: DateTime<Utc>) -> StoreResult<Vec<Silence>> {
        let sql = format!("SELECT {SILENCE_COLUMNS} FROM silences WHERE ends_at > $1 ORDER BY starts_at, id");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(now).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(silence_from_row).collect()
    }

    pub(super) async fn remove_silence(&self, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM silences WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    /// Drops notifications settled more than a day ago and silences that
    /// ended more than a week ago; pending ones are never pruned here.
    pub(super) async fn prune_alerts(&self, now: DateTime<Utc>) -> StoreResult<()> {
        let day = chrono::Duration::from_std(MAX_AGE).unwrap_or_default();
        sqlx::query("DELETE FROM notifications WHERE state <> 'pending' AND settled_at < $1")
            .bind(now - day)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM silences WHERE ends_at < $1")
            .bind(now - day * 7)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
