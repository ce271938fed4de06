//! The embedded store: SQLite in WAL mode under `data_dir`.
//!
//! WAL with `synchronous = NORMAL` keeps every committed transaction across a
//! process crash (`kill -9`); only an OS crash could lose the last ones.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlitePool};
use uuid::Uuid;

use super::{OutcomeCounts, Retention, SourceKey, Store, StoreError, StoreResult};
use crate::alerts::judge::Judge;
use crate::alerts::outbox::{AlertWrite, Notification, NotificationLog, Settle, StoredState};
use crate::alerts::silences::Silence;
use crate::model::{ChartPoint, CheckRecord, Source, SourceSpec};

mod agents;
mod alerts;
mod chart;
mod incidents;
mod record;
mod rows;
mod scrub;
mod sessions;

use alerts::write_check;

use rows::{
    CHECK_COLUMNS, SOURCE_COLUMNS, backend, bind_definition, check_from_row, conflict_or, source_from_row, ts,
};

/// Definitions written per transaction in [`Store::upsert_sources`]: few
/// enough that the write lock (the whole database) is held for
/// milliseconds, many enough that commits stop dominating.
pub const UPSERT_CHUNK: usize = 256;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/sonde.db` and runs the migrations.
    /// A created `dir` is `0700` and the database files are `0600` (they
    /// hold every source's secrets).
    pub async fn open(dir: &Path) -> StoreResult<Self> {
        let path = dir.join("sonde.db");
        let io = |e: std::io::Error| StoreError::Backend(format!("cannot create {}: {e}", path.display()));
        crate::private_fs::create_dir(dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        // Made 0600 before SQLite opens it: SQLite gives the `-wal` and
        // `-shm` files it creates the database file's permissions.
        crate::private_fs::create_file(&path).map_err(io)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool =
            SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(backend)?;
        // Files an older version left with the umask's permissions.
        for suffix in ["-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            crate::private_fs::restrict_file(Path::new(&file)).map_err(io)?;
        }
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool })
    }

    async fn write_source(
        &self,
        id: Uuid,
        spec: &SourceSpec,
        secrets: &Value,
        upsert: bool,
    ) -> StoreResult<Source> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let source = write_source_in(&mut tx, id, spec, secrets, upsert).await?;
        tx.commit().await.map_err(backend)?;
        Ok(source)
    }

    async fn checks(&self, sql: String, bind: Option<String>) -> StoreResult<Vec<CheckRecord>> {
        // Only ever built from this file's constants and integers.
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(b) = bind {
            q = q.bind(b);
        }
        q.fetch_all(&self.pool).await.map_err(backend)?.iter().map(check_from_row).collect()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create_source(&self, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source> {
        self.write_source(Uuid::new_v4(), spec, secrets, false).await
    }

    async fn upsert_source(&self, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source> {
        self.write_source(Uuid::new_v4(), spec, secrets, true).await
    }

    async fn upsert_sources(&self, specs: &[(SourceSpec, Value)]) -> StoreResult<Vec<Source>> {
        let mut out = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(UPSERT_CHUNK) {
            let mut tx = self.pool.begin().await.map_err(backend)?;
            for (spec, secrets) in chunk {
                out.push(write_source_in(&mut tx, Uuid::new_v4(), spec, secrets, true).await?);
            }
            tx.commit().await.map_err(backend)?;
        }
        Ok(out)
    }

    async fn replace_source(&self, id: Uuid, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source> {
        let now = ts(Utc::now());
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let sql = format!(
            "UPDATE sources SET organization = ?, name = ?, workspace = ?, source_type = ?, config = ?, \
             state = ?, interval_ms = ?, timeout_ms = ?, retries = ?, retry_interval_ms = ?, depends_on = ?, \
             placement = ?, updated_at = ? \
             WHERE id = ? RETURNING {SOURCE_COLUMNS}"
        );
        let q = sqlx::query(AssertSqlSafe(sql)).bind(&spec.organization).bind(&spec.name);
        let row = bind_definition(q, spec)
            .bind(&now)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(conflict_or(spec))?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE source_secrets SET secrets = ? WHERE source_id = ?")
            .bind(secrets.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        source_from_row(&row)
    }

    async fn delete_source(&self, id: Uuid) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM sources WHERE id = ?").bind(id.to_string()).execute(&self.pool).await;
        Ok(done.map_err(backend)?.rows_affected() > 0)
    }

    async fn get_source(&self, id: Uuid) -> StoreResult<Option<Source>> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(source_from_row).transpose()
    }

    async fn list_sources(&self) -> StoreResult<Vec<Source>> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources ORDER BY organization, name");
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(source_from_row).collect()
    }

    async fn source_keys(&self) -> StoreResult<Vec<SourceKey>> {
        let sql = "SELECT id, organization, name, source_type, state FROM sources";
        let rows = sqlx::query(sql).fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(rows::source_key_from_row).collect()
    }

    async fn source_secrets(&self, id: Uuid) -> StoreResult<Value> {
        let row = sqlx::query("SELECT secrets FROM source_secrets WHERE source_id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            None => Ok(Value::Object(Default::default())),
            Some(row) => {
                let text: String = row.try_get("secrets").map_err(backend)?;
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))
            }
        }
    }

    async fn scrub_history(&self, source_id: Uuid, secrets: &[String]) -> StoreResult<u64> {
        scrub::scrub_history(&self.pool, source_id, secrets).await
    }

    async fn insert_check(&self, c: &CheckRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_check(&mut conn, c, true).await
    }

    async fn update_check(&self, c: &CheckRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        write_check(&mut conn, c, false).await
    }

    async fn latest_checks(&self) -> StoreResult<Vec<CheckRecord>> {
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER \
             (PARTITION BY source_id ORDER BY created_at DESC) AS rn FROM checks) WHERE rn = 1"
        );
        self.checks(sql, None).await
    }

    async fn latest_finished_checks(&self) -> StoreResult<Vec<CheckRecord>> {
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER \
             (PARTITION BY source_id ORDER BY created_at DESC) AS rn FROM checks \
             WHERE status NOT IN ('SCHEDULED', 'RUNNING')) WHERE rn = 1"
        );
        self.checks(sql, None).await
    }

    async fn history(
        &self,
        source_id: Uuid,
        limit: u32,
        before: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CheckRecord>> {
        // Timestamps are stored fixed-width (microseconds, `Z`): text order is time order.
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM checks WHERE source_id = ? AND created_at < ? \
             ORDER BY created_at DESC LIMIT {limit}"
        );
        let before = before.map_or_else(|| "9999".to_string(), ts);
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(source_id.to_string())
            .bind(before)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(check_from_row).collect()
    }

    async fn unfinished_checks(&self) -> StoreResult<Vec<CheckRecord>> {
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM checks WHERE status IN ('SCHEDULED', 'RUNNING') ORDER BY created_at"
        );
        self.checks(sql, None).await
    }

    async fn prune(&self, retention: Retention, now: DateTime<Utc>) -> StoreResult<u64> {
        let cutoff = now - chrono::Duration::from_std(retention.max_age).unwrap_or(chrono::Duration::MAX);
        let by_age =
            sqlx::query("DELETE FROM checks WHERE created_at < ? AND status NOT IN ('SCHEDULED', 'RUNNING')")
                .bind(ts(cutoff))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        let by_count = sqlx::query(
            "DELETE FROM checks WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER \
             (PARTITION BY source_id ORDER BY created_at DESC) AS rn FROM checks) WHERE rn > ?)",
        )
        .bind(i64::from(retention.max_per_source))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        self.prune_alerts(now).await?;
        Ok(by_age.rows_affected() + by_count.rows_affected())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn record_check(
        &self,
        source: &Source,
        check: &CheckRecord,
        insert: bool,
        judge: &dyn Judge,
    ) -> StoreResult<AlertWrite> {
        self.record(source, check, insert, judge).await
    }

    async fn alert_states(&self) -> StoreResult<Vec<StoredState>> {
        self.stored_alert_states().await
    }

    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        self.claim(now, lease_until, limit).await
    }

    async fn settle_notification(&self, id: Uuid, settle: &Settle) -> StoreResult<()> {
        self.settle(id, settle).await
    }

    async fn pending_notifications(&self) -> StoreResult<Vec<(String, u64)>> {
        self.pending().await
    }

    async fn source_notifications(&self, source_id: Uuid, limit: u32) -> StoreResult<Vec<NotificationLog>> {
        self.notifications_of(source_id, limit).await
    }

    async fn create_silence(&self, silence: &Silence) -> StoreResult<()> {
        self.insert_silence(silence).await
    }

    async fn list_silences(&self, now: DateTime<Utc>) -> StoreResult<Vec<Silence>> {
        self.silences(now).await
    }

    async fn delete_silence(&self, id: Uuid) -> StoreResult<bool> {
        self.remove_silence(id).await
    }

    async fn chart_points(
        &self,
        source_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        buckets: u32,
    ) -> StoreResult<Vec<ChartPoint>> {
        self.chart(source_id, since, until, buckets).await
    }

    async fn outcome_counts(&self, source_id: Uuid, since: DateTime<Utc>) -> StoreResult<OutcomeCounts> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS finished, COALESCE(SUM(status = 'OK'), 0) AS ok FROM checks \
             WHERE source_id = ? AND created_at >= ? AND status NOT IN ('SCHEDULED', 'RUNNING') \
             AND (location = 'combined' OR NOT EXISTS \
               (SELECT 1 FROM checks c2 WHERE c2.source_id = ? AND c2.location = 'combined'))",
        )
        .bind(source_id.to_string())
        .bind(ts(since))
        .bind(source_id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let count =
            |c: &str| row.try_get::<i64, _>(c).map(|n| u64::try_from(n).unwrap_or(0)).map_err(backend);
        Ok(OutcomeCounts { ok: count("ok")?, finished: count("finished")? })
    }
}

/// Inserts (or, with `upsert`, updates by name) a source and its secrets
/// inside `tx`.
async fn write_source_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: Uuid,
    spec: &SourceSpec,
    secrets: &Value,
    upsert: bool,
) -> StoreResult<Source> {
    let now = ts(Utc::now());
    // An upsert that changes nothing keeps `updated_at`.
    let conflict = if upsert {
        "ON CONFLICT (organization, name) DO UPDATE SET workspace = excluded.workspace, \
         source_type = excluded.source_type, config = excluded.config, state = excluded.state, \
         interval_ms = excluded.interval_ms, timeout_ms = excluded.timeout_ms, retries = excluded.retries, \
         retry_interval_ms = excluded.retry_interval_ms, depends_on = excluded.depends_on, \
         placement = excluded.placement, updated_at = excluded.updated_at \
         WHERE (sources.workspace, sources.source_type, sources.config, sources.state, sources.interval_ms, \
         sources.timeout_ms, sources.retries, sources.retry_interval_ms, sources.depends_on, sources.placement) IS NOT \
         (excluded.workspace, excluded.source_type, excluded.config, excluded.state, excluded.interval_ms, \
         excluded.timeout_ms, excluded.retries, excluded.retry_interval_ms, excluded.depends_on, excluded.placement)"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO sources ({SOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {conflict} \
         RETURNING {SOURCE_COLUMNS}"
    );
    let q = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).bind(&spec.organization).bind(&spec.name);
    let row = bind_definition(q, spec)
        .bind(&now)
        .bind(&now)
        .fetch_optional(&mut **tx)
        .await
        .map_err(conflict_or(spec))?;
    let row = match row {
        Some(row) => row,
        None => {
            let sql = format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE organization = ? AND name = ?");
            sqlx::query(AssertSqlSafe(sql))
                .bind(&spec.organization)
                .bind(&spec.name)
                .fetch_one(&mut **tx)
                .await
                .map_err(backend)?
        }
    };
    let source = source_from_row(&row)?;
    sqlx::query(
        "INSERT INTO source_secrets (source_id, secrets) VALUES (?, ?) \
         ON CONFLICT (source_id) DO UPDATE SET secrets = excluded.secrets",
    )
    .bind(source.id.to_string())
    .bind(secrets.to_string())
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(source)
}
