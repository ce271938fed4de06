//! What a store shared by several replicas adds to [`Store`](super::Store):
//! one schedule for the whole group, claimed through row leases, and the
//! latest result per source kept in the database so every replica reads
//! the same.
//!
//! A claim names the replica and carries an expiry (`lease`). The replica
//! renews all its leases at once ([`Group::renew`]) while it lives; when it
//! dies they expire and the next claim by another replica takes over its
//! checks, under the same check ids, so nothing stays RUNNING and nothing
//! is recorded twice. Only the embedded SQLite store, owned by one process,
//! has no group: its scheduler keeps due times in memory.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::StoreResult;
use crate::alerts::judge::{Finished, Judge};
use crate::alerts::outbox::AlertWrite;
use crate::model::{CheckRecord, CheckStatus, Source, SourceHealth};

/// A due check this replica now holds the lease of.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The source as stored at claim time.
    pub source: Source,
    /// Stored RUNNING, naming this replica.
    pub check: CheckRecord,
    /// The check was another replica's, whose lease expired: it runs again.
    pub resumed: bool,
    /// The source's secrets, read with the claim for the check path (the
    /// only reader of secrets), so an attempt costs no read of its own.
    pub secrets: Value,
}

#[async_trait::async_trait]
pub trait Group: Send + Sync {
    /// Claims up to `limit` due checks of active sources for `replica`,
    /// leased for `lease`: scheduled ones whose time has come, and those
    /// whose holder's lease ran out. Each is stored RUNNING, and its
    /// source's next due time moves one interval on.
    async fn claim_due(&self, replica: &str, lease: Duration, limit: u32) -> StoreResult<Vec<Claim>>;
    /// Extends every lease `replica` holds by `lease` from now, and marks
    /// the replica alive as long; returns how many leases it holds.
    async fn renew(&self, replica: &str, lease: Duration) -> StoreResult<u64>;
    /// Takes over up to `limit` unfinished manual checks whose replica is
    /// no longer alive (it stopped renewing `lease` ago): they become
    /// `replica`'s, SCHEDULED, to run again.
    async fn adopt_orphans(&self, replica: &str, lease: Duration, limit: u32) -> StoreResult<Vec<Claim>>;
    /// Stores a finished check, releases its lease if `replica` holds it,
    /// and makes it the source's latest result. Returns the status of the
    /// result it replaces, for logging transitions once for the group.
    async fn finish(&self, replica: &str, check: &CheckRecord) -> StoreResult<Option<CheckStatus>>;
    /// [`Group::finish`] of many checks, each naming its replica, at most
    /// one per source, in one transaction with the alert decisions `judge`
    /// makes on them ([`crate::alerts::judge`]). The previous statuses and
    /// the decisions come back in the order of `items`.
    async fn finish_many(
        &self,
        items: &[Finished<'_>],
        judge: &dyn Judge,
    ) -> StoreResult<(Vec<Option<CheckStatus>>, Vec<AlertWrite>)>;
    /// The newest finished and the pending check of one source.
    async fn health(&self, source_id: Uuid) -> StoreResult<SourceHealth>;
    /// [`Group::health`] of every source that has any check.
    async fn health_all(&self) -> StoreResult<HashMap<Uuid, SourceHealth>>;
}
