//! [`SessionStore`] on PostgreSQL: the `sessions` table of migration 0004,
//! which every replica reads, so a session made on one works on all.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use super::rows::backend;
use crate::store::sessions::MAX_PER_ORGANIZATION;
use crate::store::{Session, SessionStore, StoreResult};

const COLUMNS: &str = "token_hash, key_fingerprint, organization, created_at, last_seen_at, expires_at";

fn session_from_row(row: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        token_hash: row.try_get("token_hash").map_err(backend)?,
        key_fingerprint: row.try_get("key_fingerprint").map_err(backend)?,
        organization: row.try_get("organization").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        last_seen_at: row.try_get("last_seen_at").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
    })
}

#[async_trait::async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(s.created_at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, key_fingerprint, organization, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.token_hash)
        .bind(&s.key_fingerprint)
        .bind(&s.organization)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "DELETE FROM sessions WHERE organization IS NOT DISTINCT FROM $1 AND token_hash NOT IN \
             (SELECT token_hash FROM sessions WHERE organization IS NOT DISTINCT FROM $1 \
             ORDER BY created_at DESC, token_hash LIMIT $2)",
        )
        .bind(&s.organization)
        .bind(i64::from(MAX_PER_ORGANIZATION))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1 AND expires_at > $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2")
            .bind(token_hash)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }
}
