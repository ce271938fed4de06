//! [`crate::store::Store::chart_points`] on SQLite.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::SqliteStore;
use super::rows::{backend, parse_ts, ts};
use crate::model::ChartPoint;
use crate::store::StoreResult;
use crate::store::chart::{bucket_seconds, point};

impl SqliteStore {
    pub(super) async fn chart(
        &self,
        source_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        buckets: u32,
    ) -> StoreResult<Vec<ChartPoint>> {
        // Stored times are fixed-width RFC 3339 text: text order is time
        // order (the index serves the range), and strftime reads them.
        let rows = sqlx::query(
            "SELECT MAX(created_at) AS at, MAX(duration_ms) AS max_ms, \
               MAX(CASE WHEN status <> 'OK' THEN status END) AS worst FROM \
             (SELECT created_at, duration_ms, status, \
                (CAST(strftime('%s', created_at) AS INTEGER) - ?) / ? AS bucket \
              FROM checks WHERE source_id = ? AND created_at >= ? AND created_at <= ? \
                AND status NOT IN ('SCHEDULED', 'RUNNING') \
                AND (location = 'combined' OR NOT EXISTS \
                  (SELECT 1 FROM checks c2 WHERE c2.source_id = ? AND c2.location = 'combined'))) \
             GROUP BY bucket ORDER BY bucket",
        )
        .bind(since.timestamp())
        .bind(bucket_seconds(since, until, buckets))
        .bind(source_id.to_string())
        .bind(ts(since))
        .bind(ts(until))
        .bind(source_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("at").map_err(backend)?;
                let worst: Option<String> = r.try_get("worst").map_err(backend)?;
                point(parse_ts(&at)?, r.try_get("max_ms").map_err(backend)?, worst.as_deref())
            })
            .collect()
    }
}
