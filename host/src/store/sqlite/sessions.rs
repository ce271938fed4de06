//! [`SessionStore`] on SQLite: the `sessions` table of migration 0004.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::rows::{backend, parse_ts, ts};
use crate::store::sessions::MAX_PER_ORGANIZATION;
use crate::store::{Session, SessionStore, StoreResult};

const COLUMNS: &str = "token_hash, key_fingerprint, organization, created_at, last_seen_at, expires_at";

fn session_from_row(row: &SqliteRow) -> StoreResult<Session> {
    let time = |c: &str| row.try_get::<String, _>(c).map_err(backend).and_then(|t| parse_ts(&t));
    Ok(Session {
        token_hash: row.try_get("token_hash").map_err(backend)?,
        key_fingerprint: row.try_get("key_fingerprint").map_err(backend)?,
        organization: row.try_get("organization").map_err(backend)?,
        created_at: time("created_at")?,
        last_seen_at: time("last_seen_at")?,
        expires_at: time("expires_at")?,
    })
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(ts(s.created_at))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, key_fingerprint, organization, created_at, last_seen_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.token_hash)
        .bind(&s.key_fingerprint)
        .bind(&s.organization)
        .bind(ts(s.created_at))
        .bind(ts(s.last_seen_at))
        .bind(ts(s.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "DELETE FROM sessions WHERE organization IS ? AND token_hash NOT IN (SELECT token_hash \
             FROM sessions WHERE organization IS ? ORDER BY created_at DESC, token_hash LIMIT ?)",
        )
        .bind(&s.organization)
        .bind(&s.organization)
        .bind(i64::from(MAX_PER_ORGANIZATION))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = ? AND expires_at > ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(ts(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?")
            .bind(ts(now))
            .bind(token_hash)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }
}
