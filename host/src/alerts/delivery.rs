//! The delivery worker: one task, apart from the scheduler, that claims due
//! notifications from the store, posts them, and settles each one.
//!
//! - A receiver that is slow or dead costs this task a timeout
//!   ([`REQUEST_TIMEOUT`]) on one of its [`MAX_IN_FLIGHT`] sends, never a
//!   check: the check path only writes to the store.
//! - 2xx settles a notification as sent. Anything else (refused, timed out,
//!   a 500) is retried with capped exponential backoff ([`backoff`]) until
//!   it is [`MAX_AGE`] old; then it is dropped and counted.
//! - A claim is a lease ([`LEASE`]): if the process dies mid-send the
//!   notification is due again once the lease runs out, after a restart or
//!   on another replica. Receivers may see a duplicate then, never a loss.
//! - One log line per notification sent or given up, naming the route, the
//!   event and the source (for a batch: how many it carries, not each
//!   source), and the receiver's scheme, host and port only.
//! - The channel decides only what is sent and how ([`render`], then
//!   [`Transport`]: HTTP or SMTP); the retries and settling here are the
//!   same for all.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;

use super::Alerts;
use super::outbox::{MAX_AGE, Notification, Settle, backoff};
use super::payload::{Stored, render};
use super::transport::Transport;
use crate::metrics::Metrics;
use crate::store::Store;

/// How long a claimed notification is reserved for its sender.
pub const LEASE: Duration = Duration::from_secs(60);
/// The deadline of one send: connect to response head for a POST, connect
/// to the server's answer to the mail for SMTP.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Sends at once, across routes.
pub const MAX_IN_FLIGHT: usize = 32;
/// How often the worker looks for due retries without being woken.
const TICK: Duration = Duration::from_millis(250);
/// How often silences and the pending gauge are re-read from the store.
const REFRESH: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Worker {
    store: Arc<dyn Store>,
    alerts: Arc<Alerts>,
    metrics: Arc<Metrics>,
    transport: Transport,
}

/// Starts the worker for the life of the process.
pub fn spawn(store: Arc<dyn Store>, alerts: Arc<Alerts>, metrics: Arc<Metrics>, transport: Transport) {
    let worker = Worker { store, alerts, metrics, transport };
    tokio::spawn(worker.run());
}

impl Worker {
    async fn run(self) {
        let mut in_flight = JoinSet::new();
        let mut last_refresh: Option<tokio::time::Instant> = None;
        loop {
            if last_refresh.is_none_or(|t| t.elapsed() >= REFRESH) {
                self.refresh().await;
                last_refresh = Some(tokio::time::Instant::now());
            }
            let free = MAX_IN_FLIGHT - in_flight.len();
            if free > 0 {
                let now = Utc::now();
                let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
                match self.store.claim_notifications(now, lease, free).await {
                    Ok(batch) => {
                        for n in batch {
                            in_flight.spawn(self.clone().deliver(n));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot claim notifications; retrying"),
                }
            }
            tokio::select! {
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = self.alerts.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Re-reads the silences (another replica may have changed them), the
    /// pending counts and, in a group, the views other replicas moved.
    async fn refresh(&self) {
        if self.store.group().is_some() {
            match self.store.alert_states().await {
                Ok(views) => self.alerts.reload(views),
                Err(e) => tracing::warn!(error = %e, "cannot read alert views; keeping the last ones"),
            }
        }
        match self.store.list_silences(Utc::now()).await {
            Ok(list) => self.alerts.silences.set(list),
            Err(e) => tracing::warn!(error = %e, "cannot read silences; keeping the last ones"),
        }
        if let Ok(pending) = self.store.pending_notifications().await {
            let routes = self.alerts.routes();
            let counts: Vec<(String, u64)> = routes
                .iter()
                .map(|r| {
                    let n = pending.iter().find(|(name, _)| *name == r.name).map_or(0, |(_, n)| *n);
                    (r.name.clone(), n)
                })
                .collect();
            self.metrics.set_notifications_pending(&counts);
        }
    }

    async fn deliver(self, n: Notification) {
        let (kind, source) = match Stored::parse(&n.payload) {
            Ok(Stored::One(e)) => (e.event.as_str(), e.source.name),
            Ok(Stored::Batch(b)) => ("batch", format!("{} sources", b.notifications.len())),
            Err(_) => ("?", "?".to_string()),
        };
        let Some(route) = self.alerts.route(&n.route) else {
            return self.give_up(&n, kind, &source, "its route is no longer configured".into()).await;
        };
        let outgoing = match render(&route, &n.payload) {
            Ok(r) => r,
            Err(e) => return self.give_up(&n, kind, &source, e.to_string()).await,
        };
        let attempts = n.attempts + 1;
        let result = self.transport.send(&route, outgoing, REQUEST_TIMEOUT).await;
        let error = match result {
            Ok(status) => {
                self.settle(&n, Settle::Sent).await;
                self.metrics.count_notification(&n.route, "sent");
                tracing::info!(
                    route = %n.route, notification = %n.id, event = kind, source = %source,
                    attempts, receiver = %route.origin(), status, "notification sent"
                );
                return;
            }
            Err(e) => e.to_string(),
        };
        self.metrics.count_notification(&n.route, "failed");
        let now = Utc::now();
        if now - n.created_at >= chrono::Duration::from_std(MAX_AGE).unwrap_or_default() {
            return self.give_up(&n, kind, &source, format!("older than a day; last: {error}")).await;
        }
        let wait = backoff(attempts);
        tracing::debug!(route = %n.route, notification = %n.id, attempts, error = %error, retry_in = ?wait, "notification not delivered");
        let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
        self.settle(&n, Settle::Retry { at, error }).await;
    }

    async fn give_up(&self, n: &Notification, kind: &str, source: &str, error: String) {
        self.metrics.count_notification(&n.route, "dropped");
        tracing::warn!(
            route = %n.route, notification = %n.id, event = kind, source = %source,
            attempts = n.attempts, error = %error, "notification given up"
        );
        self.settle(n, Settle::Dropped { error }).await;
    }

    async fn settle(&self, n: &Notification, settle: Settle) {
        // If this fails the lease runs out and the notification is sent
        // again: a duplicate, not a loss.
        if let Err(e) = self.store.settle_notification(n.id, &settle).await {
            tracing::warn!(route = %n.route, notification = %n.id, error = %e, "notification outcome not stored");
        }
        self.alerts.wake.notify_one();
    }
}
