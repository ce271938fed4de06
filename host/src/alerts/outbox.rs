//! The outbox: what the store keeps of alerts, in backend-neutral types.
//!
//! A [`Notification`] is written in the same transaction as the finished
//! check that caused it, together with the route states that check moved
//! ([`AlertWrite`]), so a crash either keeps all three or none. The delivery
//! worker then claims due notifications (the claim is a lease: a claimed
//! notification is due again when the lease runs out, so one that a dead
//! process was sending is sent again: at least once, never lost), sends them,
//! and settles each one ([`Settle`]).
//!
//! Order: a notification is only claimed when no earlier one of the same
//! route and source is still pending (`seq` orders them), so a receiver sees
//! "down" before "up" even across retries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rules::RouteState;

/// How long a notification is tried before it is dropped (and counted).
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// One notification, pending or claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The payload's `id`.
    pub id: Uuid,
    pub route: String,
    pub source_id: Uuid,
    /// Its place among the route's notifications about the source.
    pub seq: u64,
    /// The [`Event`](super::payload::Event) as JSON text: the webhook body.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    /// Sends tried so far.
    pub attempts: u32,
}

/// One route's state for one source, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredState {
    pub route: String,
    pub source_id: Uuid,
    pub state: RouteState,
}

/// What one finished check changes besides itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertWrite {
    /// The views it moved, written under the lock they were read with.
    pub states: Vec<StoredState>,
    /// Notifications to send; a route with `group_wait` gathers them into
    /// its open batch instead.
    pub notifications: Vec<Notification>,
    /// Routes whose "down" it held back for a dependency (counted as
    /// `outcome="suppressed"`).
    pub suppressed: Vec<String>,
}

impl AlertWrite {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.notifications.is_empty()
    }
}

/// Where a notification stands, as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Pending,
    Sent,
    Dropped,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Delivery::Pending),
            "sent" => Some(Delivery::Sent),
            "dropped" => Some(Delivery::Dropped),
            _ => None,
        }
    }
}

/// A notification about one source with how its delivery went, for the
/// source's page (grouped batches are not about one source and are left
/// out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationLog {
    pub notification: Notification,
    pub state: Delivery,
    pub settled_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// How a claimed notification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// The receiver answered 2xx.
    Sent,
    /// Try again at `at`.
    Retry { at: DateTime<Utc>, error: String },
    /// Given up: too old, or its route is gone.
    Dropped { error: String },
}

/// The delay before retry number `attempts` (1 after the first failure).
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    FIRST_BACKOFF.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(30), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
