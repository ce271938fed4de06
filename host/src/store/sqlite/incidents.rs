//! The SQLite side of a source's notification log (the incidents on its
//! page): its notifications, newest first, with how each delivery went.

use sqlx::Row;
use uuid::Uuid;

use super::SqliteStore;
use super::rows::{backend, parse_ts, parse_uuid};
use crate::alerts::outbox::{Delivery, Notification, NotificationLog};
use crate::store::{StoreResult, corrupt};

fn log_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<NotificationLog> {
    let get = |c: &str| row.try_get::<String, _>(c).map_err(backend);
    let state = get("state")?;
    let settled_at: Option<String> = row.try_get("settled_at").map_err(backend)?;
    Ok(NotificationLog {
        notification: Notification {
            id: parse_uuid(&get("id")?)?,
            route: get("route")?,
            source_id: parse_uuid(&get("source_id")?)?,
            seq: u64::try_from(row.try_get::<i64, _>("seq").map_err(backend)?).unwrap_or(0),
            payload: get("payload")?,
            created_at: parse_ts(&get("created_at")?)?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(backend)?).unwrap_or(u32::MAX),
        },
        state: Delivery::parse(&state).ok_or_else(|| corrupt(format!("notification state {state:?}")))?,
        settled_at: settled_at.as_deref().map(parse_ts).transpose()?,
        last_error: row.try_get("last_error").map_err(backend)?,
    })
}

impl SqliteStore {
    pub(super) async fn notifications_of(
        &self,
        source_id: Uuid,
        limit: u32,
    ) -> StoreResult<Vec<NotificationLog>> {
        let rows = sqlx::query(
            "SELECT id, route, source_id, seq, payload, state, attempts, created_at, settled_at, last_error \
             FROM notifications WHERE source_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
        )
        .bind(source_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(log_from_row).collect()
    }
}
