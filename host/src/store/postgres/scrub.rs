//! `Store::scrub_history` for PostgreSQL: a source's checks and alert
//! payloads rewritten with its secrets masked, in one transaction.

use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::rows::backend;
use crate::schema::Redactor;
use crate::store::{StoreResult, scrub};

pub(super) async fn scrub_history(pool: &PgPool, source_id: Uuid, secrets: &[String]) -> StoreResult<u64> {
    let r = Redactor::new(secrets.to_vec());
    if r.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await.map_err(backend)?;
    let mut changed = 0;
    let rows = sqlx::query("SELECT id, message, extra, details FROM checks WHERE source_id = $1 FOR UPDATE")
        .bind(source_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    for row in rows {
        let details: Option<Value> = row.try_get("details").map_err(backend)?;
        let (message, extra) =
            (row.try_get("message").map_err(backend)?, row.try_get("extra").map_err(backend)?);
        let Some((m, e, d)) = scrub::check_text(&r, &message, &extra, &details) else { continue };
        sqlx::query("UPDATE checks SET message = $1, extra = $2, details = $3 WHERE id = $4")
            .bind(m)
            .bind(e)
            .bind(d)
            .bind(row.try_get::<Uuid, _>("id").map_err(backend)?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        changed += 1;
    }
    let rows = sqlx::query("SELECT id, payload FROM notifications WHERE source_id = $1 FOR UPDATE")
        .bind(source_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    for row in rows {
        let text: String = row.try_get("payload").map_err(backend)?;
        let Some(masked) = scrub::payload(&r, &text) else { continue };
        sqlx::query("UPDATE notifications SET payload = $1 WHERE id = $2")
            .bind(masked)
            .bind(row.try_get::<Uuid, _>("id").map_err(backend)?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        changed += 1;
    }
    tx.commit().await.map_err(backend)?;
    Ok(changed)
}
