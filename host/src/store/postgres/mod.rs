//! The shared store: PostgreSQL, for several replicas (DESIGN §9).
//!
//! Same semantics as the SQLite store behind the same [`Store`] trait, plus
//! the [`Group`](crate::store::Group) half ([`group`]) through which
//! replicas share one schedule and one view of the latest results.
//!
//! # Layout
//! - [`rows`]: row conversions and column lists.
//! - [`sources`]: sources and their secrets.
//! - [`checks`]: checks, history, pruning; keeps `latest` in step.
//! - [`group`]: leases and the shared latest results.
//! - [`alerts`]: route states, the outbox and silences.
//! - [`record`]: a batch of results with the alert decisions they cause.
//! - [`sessions`]: the status page's sign-in sessions.
//!
//! Every connection has a `statement_timeout`, and waiting for a pooled
//! connection is bounded, so an unreachable database turns into a quick
//! [`StoreError::Backend`] (a 503 for readers) instead of a hung request.

mod agents;
mod alerts;
mod chart;
mod checks;
mod group;
mod incidents;
mod record;
mod rows;
mod scrub;
mod sessions;
mod sources;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use super::{OutcomeCounts, Retention, SourceKey, Store, StoreError, StoreResult};
use crate::alerts::judge::Judge;
use crate::alerts::outbox::{AlertWrite, Notification, NotificationLog, Settle, StoredState};
use crate::alerts::silences::Silence;
use crate::model::{CheckRecord, Source, SourceSpec};
use rows::backend;

/// How to connect: `[postgres]` in the configuration.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections this replica opens at most.
    pub max_connections: u32,
    /// Longest a statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// Longest a caller waits for a connection (also bounds connecting).
    pub acquire_timeout: Duration,
    /// `application_name`, so `pg_stat_activity` tells replicas apart.
    pub application_name: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(3),
            application_name: "sonde".into(),
        }
    }
}

pub struct PgStore {
    pool: PgPool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` and runs the migrations. Replicas starting together
    /// are safe: the migrator holds an advisory lock while it works.
    pub async fn open(url: &str, options: &PgOptions) -> StoreResult<Self> {
        let ms = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {}", redact(&e.to_string(), url))))?
            .application_name(&options.application_name)
            .options([("statement_timeout", ms.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            // A connection that failed while the database was away is
            // replaced rather than handed out again.
            .test_before_acquire(true)
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::Backend(redact(&e.to_string(), url)))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool })
    }

    /// The pool, for tests and measurements.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// `text` with `url` (which may hold a password) taken out.
fn redact(text: &str, url: &str) -> String {
    text.replace(url, "<store URL>")
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn create_source(&self, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source> {
        sources::write(&self.pool, Uuid::new_v4(), spec, secrets, false).await
    }

    async fn upsert_source(&self, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source> {
        sources::write(&self.pool, Uuid::new_v4(), spec, secrets, true).await
    }

    async fn upsert_sources(&self, specs: &[(SourceSpec, Value)]) -> StoreResult<Vec<Source>> {
        sources::upsert_many(&self.pool, specs).await
    }

    async fn replace_source(&self, id: Uuid, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source> {
        sources::replace(&self.pool, id, spec, secrets).await
    }

    async fn delete_source(&self, id: Uuid) -> StoreResult<bool> {
        sources::delete(&self.pool, id).await
    }

    async fn get_source(&self, id: Uuid) -> StoreResult<Option<Source>> {
        sources::get(&self.pool, id).await
    }

    async fn list_sources(&self) -> StoreResult<Vec<Source>> {
        sources::list(&self.pool).await
    }

    async fn source_keys(&self) -> StoreResult<Vec<SourceKey>> {
        sources::keys(&self.pool).await
    }

    async fn source_secrets(&self, id: Uuid) -> StoreResult<Value> {
        sources::secrets(&self.pool, id).await
    }

    async fn scrub_history(&self, source_id: Uuid, secrets: &[String]) -> StoreResult<u64> {
        scrub::scrub_history(&self.pool, source_id, secrets).await
    }

    async fn insert_check(&self, check: &CheckRecord) -> StoreResult<()> {
        checks::insert(&self.pool, check).await
    }

    async fn update_check(&self, check: &CheckRecord) -> StoreResult<()> {
        checks::update(&self.pool, check).await.map(|_| ())
    }

    async fn latest_checks(&self) -> StoreResult<Vec<CheckRecord>> {
        checks::latest(&self.pool, false).await
    }

    async fn latest_finished_checks(&self) -> StoreResult<Vec<CheckRecord>> {
        checks::latest(&self.pool, true).await
    }

    async fn history(
        &self,
        source_id: Uuid,
        limit: u32,
        before: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CheckRecord>> {
        checks::history(&self.pool, source_id, limit, before).await
    }

    async fn unfinished_checks(&self) -> StoreResult<Vec<CheckRecord>> {
        let sql = format!(
            "SELECT {} FROM checks WHERE status IN ('SCHEDULED', 'RUNNING') ORDER BY created_at",
            rows::CHECK_COLUMNS
        );
        checks::fetch(&self.pool, sql).await
    }

    async fn prune(&self, retention: Retention, now: DateTime<Utc>) -> StoreResult<u64> {
        let removed = checks::prune(&self.pool, retention, now).await?;
        self.prune_alerts(now).await?;
        Ok(removed)
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

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn chart_points(
        &self,
        source_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        buckets: u32,
    ) -> StoreResult<Vec<crate::model::ChartPoint>> {
        chart::chart(&self.pool, source_id, since, until, buckets).await
    }

    async fn outcome_counts(&self, source_id: Uuid, since: DateTime<Utc>) -> StoreResult<OutcomeCounts> {
        checks::outcome_counts(&self.pool, source_id, since).await
    }

    fn group(&self) -> Option<&dyn crate::store::Group> {
        Some(self)
    }
}
