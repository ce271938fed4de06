//! Persistence of sources and checks, behind a narrow trait.
//!
//! The scheduler and the routes only see [`Store`]; the embedded SQLite
//! backend ([`sqlite`]) is the default for one process, and the PostgreSQL
//! backend ([`postgres`]) is shared by several replicas, which coordinate
//! through its [`Group`] half (DESIGN §9).

pub mod agents;
pub mod chart;
pub mod group;
pub mod postgres;
mod scrub;
pub mod sessions;
pub mod sqlite;

pub use agents::AgentStore;
pub use group::{Claim, Group};
pub use sessions::{Session, SessionStore};

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::alerts::judge::Judge;
use crate::alerts::outbox::{AlertWrite, Notification, NotificationLog, Settle, StoredState};
use crate::alerts::silences::Silence;
use crate::model::{ChartPoint, CheckRecord, Source, SourceSpec, SourceState};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a source named {name:?} already exists in {organization}")]
    Conflict { organization: String, name: String },
    #[error("not found")]
    NotFound,
    #[error("store unavailable: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Stored data that does not parse.
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A count as a SQL integer (saturating).
pub(crate) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How much history to keep per source.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_per_source: u32,
    pub max_age: std::time::Duration,
}

/// Sessions ([`SessionStore`]) are in `sessions.rs` of each backend, agents
/// and their claims ([`AgentStore`]) in `agents.rs`.
#[async_trait::async_trait]
pub trait Store: SessionStore + AgentStore + Send + Sync + 'static {
    /// Creates a source; `secrets` holds the secret values apart from `spec.config`.
    async fn create_source(&self, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source>;
    /// Creates or replaces the source named `(organization, name)`; keeps its id.
    async fn upsert_source(&self, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source>;
    /// [`Store::upsert_source`] of each definition, in order (the
    /// configured sources at start-up and on a reload), in as few
    /// transactions as the backend can safely use: SQLite, one writer at a
    /// time, takes [`sqlite::UPSERT_CHUNK`] per transaction. A failure leaves the
    /// transactions before it written.
    async fn upsert_sources(&self, specs: &[(SourceSpec, Value)]) -> StoreResult<Vec<Source>>;
    /// Replaces a source's definition, keeping its id and history.
    async fn replace_source(&self, id: Uuid, spec: &SourceSpec, secrets: &Value) -> StoreResult<Source>;
    async fn delete_source(&self, id: Uuid) -> StoreResult<bool>;
    async fn get_source(&self, id: Uuid) -> StoreResult<Option<Source>>;
    async fn list_sources(&self) -> StoreResult<Vec<Source>>;
    /// Every source's [`SourceKey`], in no particular order: what a list
    /// of all of them needs (the status page's) without the cost of
    /// reading and parsing each definition.
    async fn source_keys(&self) -> StoreResult<Vec<SourceKey>>;
    /// Only the check path reads secrets.
    async fn source_secrets(&self, id: Uuid) -> StoreResult<Value>;
    /// Masks each of `secrets` (every spelling, as guest output is masked)
    /// in the source's stored history: its checks' message, extra and
    /// details, and its alert payloads. Returns how many rows changed.
    async fn scrub_history(&self, source_id: Uuid, secrets: &[String]) -> StoreResult<u64>;

    async fn insert_check(&self, check: &CheckRecord) -> StoreResult<()>;
    async fn update_check(&self, check: &CheckRecord) -> StoreResult<()>;
    /// The newest check of every source, to warm the in-memory state.
    async fn latest_checks(&self) -> StoreResult<Vec<CheckRecord>>;
    /// The newest finished check of every source.
    async fn latest_finished_checks(&self) -> StoreResult<Vec<CheckRecord>>;
    /// A source's checks, newest first: at most `limit`, created before
    /// `before` if given.
    async fn history(
        &self,
        source_id: Uuid,
        limit: u32,
        before: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CheckRecord>>;
    /// Checks left SCHEDULED or RUNNING by a previous process.
    async fn unfinished_checks(&self) -> StoreResult<Vec<CheckRecord>>;
    /// Drops history beyond `retention`; returns how many checks went.
    async fn prune(&self, retention: Retention, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Whether the store answers.
    async fn ping(&self) -> StoreResult<()>;
    /// How many of a source's checks created at or after `since` finished,
    /// and how many of those were OK (for uptime).
    async fn outcome_counts(&self, source_id: Uuid, since: DateTime<Utc>) -> StoreResult<OutcomeCounts>;
    /// A source's finished checks created in `[since, until]`, for a
    /// response-time chart: gathered into at most `buckets` (up to
    /// [`chart::MAX_BUCKETS`]) equal spans of whole seconds, one
    /// [`ChartPoint`] per span that has checks, oldest first. However many
    /// checks the window holds, the answer stays that small.
    async fn chart_points(
        &self,
        source_id: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        buckets: u32,
    ) -> StoreResult<Vec<ChartPoint>>;

    // Alerts (DESIGN §8; `crate::alerts::outbox` says why these shapes).

    /// Stores a finished check of `source` (inserted when `insert`, else
    /// updated: a manual check's row exists from its request) and, in the
    /// same transaction, lets `judge` move the stored views of the routes
    /// watching the source and writes the notifications it makes
    /// ([`crate::alerts::judge`]). Returns what it decided.
    async fn record_check(
        &self,
        source: &Source,
        check: &CheckRecord,
        insert: bool,
        judge: &dyn Judge,
    ) -> StoreResult<AlertWrite>;
    /// The stored views that are down or held back by a dependency (the
    /// ones the page and metrics show).
    async fn alert_states(&self) -> StoreResult<Vec<StoredState>>;
    /// Claims up to `limit` pending notifications due at `now`, each the
    /// oldest pending one of its (route, source), and leases them until
    /// `lease_until` (they are due again then, unless settled).
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>>;
    /// Records how a claimed notification's send ended; counts the attempt.
    async fn settle_notification(&self, id: Uuid, settle: &Settle) -> StoreResult<()>;
    /// Pending notifications per route name.
    async fn pending_notifications(&self) -> StoreResult<Vec<(String, u64)>>;
    /// The newest `limit` notifications about `source_id` (sent, pending
    /// or dropped), newest first: the incidents on the source's page.
    async fn source_notifications(&self, source_id: Uuid, limit: u32) -> StoreResult<Vec<NotificationLog>>;
    async fn create_silence(&self, silence: &Silence) -> StoreResult<()>;
    /// Silences that have not ended at `now`, by start.
    async fn list_silences(&self, now: DateTime<Utc>) -> StoreResult<Vec<Silence>>;
    async fn delete_silence(&self, id: Uuid) -> StoreResult<bool>;
    /// The group schedule and shared latest results, when several replicas
    /// share this store; None when one process owns it.
    fn group(&self) -> Option<&dyn Group> {
        None
    }
}

/// A source's identity, type and state, without its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceKey {
    pub id: Uuid,
    pub organization: String,
    pub name: String,
    pub source_type: String,
    pub state: SourceState,
}

/// Finished checks in a window, and the OK ones among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub ok: u64,
    pub finished: u64,
}
