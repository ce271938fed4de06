//! The PostgreSQL side of a source's notification log (the incidents on
//! its page): its notifications, newest first, with how each delivery went.

use sqlx::Row;
use uuid::Uuid;

use super::PgStore;
use super::rows::backend;
use crate::alerts::outbox::{Delivery, Notification, NotificationLog};
use crate::store::{StoreResult, corrupt};

fn log_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<NotificationLog> {
    let state: String = row.try_get("state").map_err(backend)?;
    Ok(NotificationLog {
        notification: Notification {
            id: row.try_get("id").map_err(backend)?,
            route: row.try_get("route").map_err(backend)?,
            source_id: row.try_get("source_id").map_err(backend)?,
            seq: u64::try_from(row.try_get::<i64, _>("seq").map_err(backend)?).unwrap_or(0),
            payload: row.try_get("payload").map_err(backend)?,
            created_at: row.try_get("created_at").map_err(backend)?,
            attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(backend)?).unwrap_or(u32::MAX),
        },
        state: Delivery::parse(&state).ok_or_else(|| corrupt(format!("notification state {state:?}")))?,
        settled_at: row.try_get("settled_at").map_err(backend)?,
        last_error: row.try_get("last_error").map_err(backend)?,
    })
}

impl PgStore {
    pub(super) async fn notifications_of(
        &self,
        source_id: Uuid,
        limit: u32,
    ) -> StoreResult<Vec<NotificationLog>> {
        let rows = sqlx::query(
            "SELECT id, route, source_id, seq, payload, state, attempts, created_at, settled_at, last_error \
             FROM notifications WHERE source_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2",
        )
        .bind(source_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(log_from_row).collect()
    }
}
