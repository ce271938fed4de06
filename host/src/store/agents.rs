//! What the store keeps of private agents (DESIGN §10): the agents as
//! they last polled, and who holds each (source, location). Claims live
//! in the store, as the group's schedule does, so any replica can serve
//! any agent with no other coordination. Each backend implements
//! [`AgentStore`] in its own `agents.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;

/// The holder of a claim while no agent of its location is alive: the
/// service, which records ERROR "no agent for location …" for it.
pub const SERVICE_HOLDER: &str = "@service";

/// An agent as it says it is, at a poll.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSeen {
    pub location: String,
    pub name: String,
    /// The organization its key is bound to, if any.
    pub organization: Option<String>,
    pub version: String,
    pub checks_per_second: f64,
    /// Results waiting in its memory to be sent.
    pub queue: u64,
    /// Results it dropped, oldest first, when its buffer was full.
    pub dropped: u64,
}

/// An agent and when it last polled.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    pub seen: AgentSeen,
    pub last_poll: DateTime<Utc>,
}

/// Who holds a (source, location), as a poll reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub source_id: Uuid,
    pub agent: String,
    pub lease_until: DateTime<Utc>,
    pub run_now: Option<Uuid>,
}

/// What the service's fallback found for a (source, location).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Nobody held it: the service holds it for one lease, a grace period
    /// for an agent to come.
    Grace,
    /// Its holder's lease had run out: the service took it, and the
    /// location's result is now ERROR.
    Expired,
    /// Someone's lease is still running.
    Held,
}

#[async_trait::async_trait]
pub trait AgentStore: Send + Sync {
    /// Records a poll.
    async fn agent_seen(&self, agent: &AgentSeen, now: DateTime<Utc>) -> StoreResult<()>;
    /// Takes or renews `agent`'s claim on `source_id` in `location` until
    /// `now + lease`: when nobody holds it, `agent` or the service does, or
    /// the holder's lease has run out. `None` when another agent holds it;
    /// else the on-demand check asked of the location, if any.
    async fn take_claim(
        &self,
        source_id: Uuid,
        location: &str,
        agent: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<Option<Uuid>>>;
    /// Every claim in `location`, in one read.
    async fn location_claims(&self, location: &str) -> StoreResult<Vec<ClaimRow>>;
    /// Renews every claim `agent` holds in `location` until `now + lease`,
    /// in one statement.
    async fn renew_claims(
        &self,
        location: &str,
        agent: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<()>;
    /// Asks `location` for an on-demand check of `source_id`, by the id its
    /// result will carry; whoever holds the claim, or takes it, runs it.
    async fn request_run(&self, source_id: Uuid, location: &str, check_id: Uuid) -> StoreResult<()>;
    /// The on-demand check `check_id` arrived: no longer asked.
    async fn clear_run(&self, source_id: Uuid, location: &str, check_id: Uuid) -> StoreResult<()>;
    /// The service's side of a claim no live agent serves; see [`Fallback`].
    /// `hold` is how long the service keeps an expired claim (the source's
    /// interval), `lease` the grace of a new one.
    async fn fallback_claim(
        &self,
        source_id: Uuid,
        location: &str,
        now: DateTime<Utc>,
        lease: Duration,
        hold: Duration,
    ) -> StoreResult<Fallback>;
    /// Every agent, by location and name.
    async fn list_agents(&self) -> StoreResult<Vec<AgentRow>>;
    /// The status of the check with this id, if it is stored (a batch sent
    /// again, or an on-demand check waiting for its result).
    async fn check_status(&self, id: Uuid) -> StoreResult<Option<crate::model::CheckStatus>>;
    /// The newest finished check of each location of a source (the
    /// service's own as `location` `None`), never a combined one.
    async fn newest_by_location(&self, source_id: Uuid) -> StoreResult<Vec<crate::model::CheckRecord>>;
}

/// `now + d`, saturating.
pub(crate) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX / 2)
}
