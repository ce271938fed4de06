//! `Store::scrub_history` for SQLite: a source's checks and alert payloads
//! rewritten with its secrets masked, in one transaction.

use serde_json::Value;
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::rows::backend;
use crate::schema::Redactor;
use crate::store::{StoreResult, scrub};

pub(super) async fn scrub_history(
    pool: &SqlitePool,
    source_id: Uuid,
    secrets: &[String],
) -> StoreResult<u64> {
    let r = Redactor::new(secrets.to_vec());
    if r.is_empty() {
        return Ok(0);
    }
    let id = source_id.to_string();
    let mut tx = pool.begin().await.map_err(backend)?;
    let mut changed = 0;
    let rows = sqlx::query("SELECT id, message, extra, details FROM checks WHERE source_id = ?")
        .bind(&id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    for row in rows {
        let details: Option<String> = row.try_get("details").map_err(backend)?;
        let details: Option<Value> = details.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)));
        let (message, extra) =
            (row.try_get("message").map_err(backend)?, row.try_get("extra").map_err(backend)?);
        let Some((m, e, d)) = scrub::check_text(&r, &message, &extra, &details) else { continue };
        sqlx::query("UPDATE checks SET message = ?, extra = ?, details = ? WHERE id = ?")
            .bind(m)
            .bind(e)
            .bind(d.map(|d| d.to_string()))
            .bind(row.try_get::<String, _>("id").map_err(backend)?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        changed += 1;
    }
    let rows = sqlx::query("SELECT id, payload FROM notifications WHERE source_id = ?")
        .bind(&id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    for row in rows {
        let text: String = row.try_get("payload").map_err(backend)?;
        let Some(masked) = scrub::payload(&r, &text) else { continue };
        sqlx::query("UPDATE notifications SET payload = ? WHERE id = ?")
            .bind(masked)
            .bind(row.try_get::<String, _>("id").map_err(backend)?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        changed += 1;
    }
    tx.commit().await.map_err(backend)?;
    Ok(changed)
}
