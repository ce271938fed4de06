//! [`crate::store::Store::chart_points`] on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::rows::backend;
use crate::model::ChartPoint;
use crate::store::StoreResult;
use crate::store::chart::{bucket_seconds, point};

pub(super) async fn chart(
    pool: &PgPool,
    source_id: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    buckets: u32,
) -> StoreResult<Vec<ChartPoint>> {
    let rows = sqlx::query(
        "SELECT MAX(created_at) AS at, MAX(duration_ms) AS max_ms, \
           MAX(CASE WHEN status <> 'OK' THEN status END) AS worst FROM \
         (SELECT created_at, duration_ms, status, \
            FLOOR((EXTRACT(EPOCH FROM created_at)::float8 - $1::float8) / $2::float8)::bigint AS bucket \
          FROM checks WHERE source_id = $3 AND created_at >= $4 AND created_at <= $5 \
            AND status NOT IN ('SCHEDULED', 'RUNNING') \
            AND (location = 'combined' OR NOT EXISTS \
              (SELECT 1 FROM checks c2 WHERE c2.source_id = $3 AND c2.location = 'combined'))) AS b \
         GROUP BY bucket ORDER BY bucket",
    )
    .bind(since.timestamp() as f64)
    .bind(bucket_seconds(since, until, buckets) as f64)
    .bind(source_id)
    .bind(since)
    .bind(until)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let worst: Option<String> = r.try_get("worst").map_err(backend)?;
            point(r.try_get("at").map_err(backend)?, r.try_get("max_ms").map_err(backend)?, worst.as_deref())
        })
        .collect()
}
