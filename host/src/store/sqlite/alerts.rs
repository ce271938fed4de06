//! The SQLite side of alerts: the outbox, route states and silences
//! (`migrations/sqlite/0003_alerts.sql`), and the check writes they share a
//! transaction with (recording itself is `record.rs`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Row, SqliteConnection};
use uuid::Uuid;

use super::SqliteStore;
use super::rows::{CHECK_COLUMNS, backend, parse_ts, parse_uuid, ts};
use crate::alerts::outbox::{MAX_AGE, Notification, Settle, StoredState};
use crate::alerts::silences::Silence;
use crate::model::CheckRecord;
use crate::store::{StoreResult, corrupt, int};

/// Inserts a check, or updates the row of one requested earlier.
pub(super) async fn write_check(
    conn: &mut SqliteConnection,
    c: &CheckRecord,
    insert: bool,
) -> StoreResult<()> {
    let q = if insert {
        let sql = format!(
            "INSERT INTO checks ({CHECK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(c.id.to_string())
            .bind(c.source_id.to_string())
            .bind(c.trigger.as_str())
            .bind(c.status.as_str())
            .bind(i64::from(c.attempts))
            .bind(c.message.clone())
            .bind(c.extra.clone())
            .bind(c.details.as_ref().map(Value::to_string))
            .bind(c.items.map(int))
            .bind(ts(c.created_at))
            .bind(c.started_at.map(ts))
            .bind(c.reported_at.map(ts))
            .bind(c.duration_ms.map(int))
            .bind(c.replica.clone())
            .bind(c.location.clone())
    } else {
        sqlx::query(AssertSqlSafe(
            "UPDATE checks SET status = ?, attempts = ?, message = ?, extra = ?, details = ?, items = ?, \
             started_at = ?, reported_at = ?, duration_ms = ?, replica = ? WHERE id = ?"
                .to_string(),
        ))
        .bind(c.status.as_str())
        .bind(i64::from(c.attempts))
        .bind(c.message.clone())
        .bind(c.extra.clone())
        .bind(c.details.as_ref().map(Value::to_string))
        .bind(c.items.map(int))
        .bind(c.started_at.map(ts))
        .bind(c.reported_at.map(ts))
        .bind(c.duration_ms.map(int))
        .bind(c.replica.clone())
        .bind(c.id.to_string())
    };
    q.execute(conn).await.map_err(backend)?;
    Ok(())
}

fn notification_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Notification> {
    let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
    Ok(Notification {
        id: parse_uuid(&get("id")?)?,
        route: get("route")?,
        source_id: parse_uuid(&get("source_id")?)?,
        seq: u64::try_from(row.try_get::<i64, _>("seq").map_err(backend)?).unwrap_or(0),
        payload: get("payload")?,
        created_at: parse_ts(&get("created_at")?)?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(backend)?).unwrap_or(u32::MAX),
    })
}

fn silence_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Silence> {
    let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
    let sources: Option<String> = row.try_get("sources").map_err(backend)?;
    Ok(Silence {
        id: parse_uuid(&get("id")?)?,
        organization: row.try_get("organization").map_err(backend)?,
        sources: sources.map(|s| serde_json::from_str(&s)).transpose().map_err(corrupt)?,
        starts_at: parse_ts(&get("starts_at")?)?,
        ends_at: parse_ts(&get("ends_at")?)?,
        comment: get("comment")?,
        created_at: parse_ts(&get("created_at")?)?,
    })
}

const SILENCE_COLUMNS: &str = "id, organization, sources, starts_at, ends_at, comment, created_at";

impl SqliteStore {
    pub(super) async fn stored_alert_states(&self) -> StoreResult<Vec<StoredState>> {
        // Only the views the page and metrics show: down, or held back.
        let rows = sqlx::query(
            "SELECT route, source_id, state FROM alert_states \
             WHERE json_extract(state, '$.down') = 1 OR json_extract(state, '$.suppressed') IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
                Ok(StoredState {
                    route: get("route")?,
                    source_id: parse_uuid(&get("source_id")?)?,
                    state: serde_json::from_str(&get("state")?).map_err(corrupt)?,
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
        // One statement, so the claim is atomic. A leased head keeps
        // `state = 'pending'`, so the ones behind it wait: order per
        // (route, source) holds across retries and leases.
        let rows = sqlx::query(
            "UPDATE notifications SET next_attempt_at = ?, open = 0 WHERE id IN (\
               SELECT n.id FROM notifications n WHERE n.state = 'pending' AND n.next_attempt_at <= ? \
               AND NOT EXISTS (SELECT 1 FROM notifications p WHERE p.state = 'pending' \
                 AND p.route = n.route AND p.source_id = n.source_id AND p.seq < n.seq) \
               ORDER BY n.created_at, n.seq LIMIT ?) \
             RETURNING id, route, source_id, seq, payload, created_at, attempts",
        )
        .bind(ts(lease_until))
        .bind(ts(now))
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
        let now = ts(Utc::now());
        let q = match settle {
            Settle::Sent => sqlx::query(
                "UPDATE notifications SET state = 'sent', attempts = attempts + 1, settled_at = ?, \
                 last_error = NULL WHERE id = ?",
            )
            .bind(now),
            Settle::Retry { at, error } => sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? \
                 WHERE id = ? AND state = 'pending'",
            )
            .bind(ts(*at))
            .bind(error.clone()),
            Settle::Dropped { error } => sqlx::query(
                "UPDATE notifications SET state = 'dropped', settled_at = ?, last_error = ? WHERE id = ?",
            )
            .bind(now)
            .bind(error.clone()),
        };
        q.bind(id.to_string()).execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    pub(super) async fn pending(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT route, COUNT(*) AS n FROM notifications WHERE state = 'pending' GROUP BY route ORDER BY route",
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
        let sources = s.sources.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default());
        let sql = format!("INSERT INTO silences ({SILENCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)");
        sqlx::query(AssertSqlSafe(sql))
            .bind(s.id.to_string())
            .bind(s.organization.clone())
            .bind(sources)
            .bind(ts(s.starts_at))
            .bind(ts(s.ends_at))
            .bind(&s.comment)
            .bind(ts(s.created_at))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn silences(&self, now: DateTime<Utc>) -> StoreResult<Vec<Silence>> {
        let sql = format!("SELECT {SILENCE_COLUMNS} FROM silences WHERE ends_at > ? ORDER BY starts_at, id");
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(ts(now)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(silence_from_row).collect()
    }

    pub(super) async fn remove_silence(&self, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM silences WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    /// Drops notifications settled more than a day ago and silences that
    /// ended more than a week ago; pending ones are never pruned here.
    pub(super) async fn prune_alerts(&self, now: DateTime<Utc>) -> StoreResult<()> {
        let day = chrono::Duration::from_std(MAX_AGE).unwrap_or_default();
        sqlx::query("DELETE FROM notifications WHERE state <> 'pending' AND settled_at < ?")
            .bind(ts(now - day))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM silences WHERE ends_at < ?")
            .bind(ts(now - day * 7))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
