//! The agent protocol (DESIGN §10): plain HTTP + JSON under `/v1/agent/`,
//! spoken by `sonde agent` and served by `sonde serve`. Agent keys reach
//! these routes and nothing else.
//!
//! - `POST /v1/agent/poll` ([`Poll`] → [`Claims`]): takes and renews the
//!   agent's claims, waiting up to `[agents] poll_wait` while nothing
//!   changed since the claims it holds (`known`).
//! - `GET /v1/agent/plugins/{sha256}`: a plugin's bytes, by digest.
//! - `POST /v1/agent/results` ([`Results`] → [`Accepted`]): finished
//!   checks, in the order they finished.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::runtime::sandbox::egress::EgressWire;

/// Most results one batch carries.
pub const MAX_BATCH: usize = 500;

/// What an agent says of itself at each poll.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// Unique within its location (`--name`; the host name by default).
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// `sonde --version` of the agent.
    #[schema(max_length = 64)]
    pub version: String,
    /// [`Claims::digest`] of the claims it holds; the poll waits while
    /// they are still the same.
    #[serde(default)]
    pub known: Option<String>,
    #[serde(default)]
    pub checks_per_second: f64,
    /// Results waiting in its memory.
    #[serde(default)]
    pub queue: u64,
    /// Results it dropped (its buffer was full) since it started.
    #[serde(default)]
    pub dropped: u64,
}

/// The claims an agent holds after a poll: everything it must check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Claims {
    /// Changes when any claim, or any claimed source, changes.
    pub digest: String,
    /// Poll again well within this, or lose the claims.
    pub lease_ms: u64,
    /// Linear memory one check may use (`[checks] memory_mib`).
    pub memory_mib: u64,
    /// PEM CAs every check trusts beside the web PKI (`[tls] ca_files`):
    /// the service's, for every source alike.
    pub ca_pems: Vec<String>,
    pub claims: Vec<Claim>,
}

/// One source to check, with everything the check needs from the service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Claim {
    pub source_id: Uuid,
    pub name: String,
    pub organization: String,
    #[serde(rename = "type")]
    pub source_type: String,
    /// Hex SHA-256 of the plugin to run (`GET /v1/agent/plugins/{sha256}`).
    pub plugin_sha256: String,
    /// The config with its secrets: only ever sent over HTTPS or loopback,
    /// and kept in the agent's memory alone.
    #[schema(value_type = Object)]
    pub config: Value,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub retries: u32,
    pub retry_interval_ms: u64,
    /// The egress policy of the source's organization.
    #[schema(value_type = Object)]
    pub egress: EgressWire,
    /// An on-demand check asked of this location: run it now, and report
    /// it under this id.
    #[serde(default)]
    pub run_now: Option<Uuid>,
}

/// A batch of finished checks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    #[schema(max_items = 500)]
    pub results: Vec<AgentResult>,
}

/// One finished check, as the agent ran it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentResult {
    /// Made by the agent; a batch sent again is recognised by it.
    pub check_id: Uuid,
    pub source_id: Uuid,
    /// `OK`, `TIMEOUT`, `ERROR` or `FAILED`.
    #[schema(examples("OK"))]
    pub status: String,
    pub attempts: u32,
    pub message: Option<String>,
    pub extra: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    pub items: Option<u64>,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub reported_at: DateTime<Utc>,
    pub duration_ms: u64,
}

/// What became of a batch: each result is accepted or refused alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub accepted: u32,
    pub refused: Vec<Refused>,
}

/// A result the service did not record, and why: the source is not this
/// agent's (never claimed, or another agent took it since), or gone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Refused {
    pub check_id: Uuid,
    pub reason: String,
}

/// An agent as `GET /v1/agents` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentOut {
    pub name: String,
    pub location: String,
    pub organization: Option<String>,
    pub version: String,
    #[schema(format = DateTime)]
    pub last_poll: String,
    /// Whether it polled within the lease.
    pub live: bool,
    pub checks_per_second: f64,
    pub queue: u64,
    pub dropped: u64,
}
