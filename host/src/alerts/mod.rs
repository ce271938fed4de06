//! Alerts (DESIGN §8): routes watch sources' outcomes and notify receivers
//! when one goes down or comes back.
//!
//! # Layout
//! - [`route`]: a configured route, its secrets resolved.
//! - [`rules`]: the pure down/up/reminder state machine.
//! - [`payload`]: webhook, Slack and PagerDuty bodies; [`sign`]: the HMAC.
//! - [`outbox`]: what the store keeps (notifications, route states).
//! - [`delivery`]: the worker that sends, retries and settles them; [`http`]:
//!   the host's own outbound client.
//! - [`silences`], [`maintenance`]: what holds notifications back.
//!
//! [`Alerts`] is the check path's side: the scheduler hands it every
//! finished check ([`Alerts::evaluate`]) and stores what it returns in the
//! same transaction as the check. It only touches memory, so it never slows
//! a check down; the network is the delivery worker's business alone.

pub mod delivery;
pub mod http;
pub mod maintenance;
pub mod outbox;
pub mod payload;
pub mod route;
pub mod rules;
pub mod sign;
pub mod silences;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::model::{CheckRecord, CheckStatus, Source};
use maintenance::Window;
use outbox::{AlertWrite, Notification, StoredState};
use payload::Event;
use route::Route;
use rules::RouteState;
use silences::Silences;

/// The routes, windows and silences in force, and every route's view of
/// every source it watches.
#[derive(Debug, Default)]
pub struct Alerts {
    routes: RwLock<Arc<Vec<Route>>>,
    windows: RwLock<Arc<Vec<Window>>>,
    pub silences: Silences,
    /// By (route name, source id).
    states: Mutex<HashMap<(String, Uuid), RouteState>>,
    /// Wakes the delivery worker when notifications were stored.
    pub(crate) wake: Notify,
}

impl Alerts {
    pub fn new(routes: Vec<Route>, windows: Vec<Window>) -> Self {
        let alerts = Self::default();
        alerts.reconfigure(routes, windows);
        alerts
    }

    /// Replaces routes and windows (a configuration reload). A route that
    /// keeps its name keeps its views of sources.
    pub fn reconfigure(&self, routes: Vec<Route>, windows: Vec<Window>) {
        *self.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routes);
        *self.windows.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(windows);
    }

    pub fn routes(&self) -> Arc<Vec<Route>> {
        Arc::clone(&self.routes.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn route(&self, name: &str) -> Option<Route> {
        self.routes().iter().find(|r| r.name == name).cloned()
    }

    /// Seeds the views from the store at start-up.
    pub fn warm(&self, stored: Vec<StoredState>) {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        for s in stored {
            states.insert((s.route, s.source_id), s.state);
        }
    }

    /// Whether a silence or a maintenance window holds `source`'s
    /// notifications at `now`.
    pub fn held(&self, source: &Source, now: DateTime<Utc>) -> bool {
        let (org, name) = (source.organization.as_str(), source.name.as_str());
        self.silences.holds(org, name, now)
            || self
                .windows
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|w| w.covers(org, name) && w.is_open(now))
    }

    /// One finished check of `source`: moves every watching route's view
    /// and returns the states and notifications to store with the check.
    /// Called in check order per source (the scheduler's loop), so the
    /// views move in that order too.
    pub fn evaluate(&self, source: &Source, check: &CheckRecord) -> AlertWrite {
        let mut write = AlertWrite::default();
        if !check.status.is_finished() {
            return write;
        }
        let routes = self.routes();
        if routes.is_empty() {
            return write;
        }
        let now = Utc::now();
        let at = check.reported_at.unwrap_or(now);
        let ok = check.status == CheckStatus::Ok;
        let held = self.held(source, now);
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        for route in routes.iter().filter(|r| r.watches(&source.organization)) {
            let state = states.entry((route.name.clone(), source.id)).or_default();
            if let Some(kind) = state.observe(&route.rule(), ok, at, held) {
                let event = Event::new(kind, &route.name, source, check, state.since.unwrap_or(at), now);
                let payload = serde_json::to_string(&event).unwrap_or_default();
                write.notifications.push(Notification {
                    id: event.id,
                    route: route.name.clone(),
                    source_id: source.id,
                    seq: state.seq,
                    payload,
                    created_at: now,
                    attempts: 0,
                });
            }
            write.states.push(StoredState {
                route: route.name.clone(),
                source_id: source.id,
                state: state.clone(),
            });
        }
        write
    }

    /// Forgets a deleted source.
    pub fn remove(&self, source: Uuid) {
        self.states.lock().unwrap_or_else(|p| p.into_inner()).retain(|(_, id), _| *id != source);
    }

    /// Every configured route's view of every source: `(route, source id, down)`.
    pub fn views(&self) -> Vec<(String, Uuid, bool)> {
        let routes = self.routes();
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .iter()
            .filter(|((route, _), _)| routes.iter().any(|r| &r.name == route))
            .map(|((route, id), s)| (route.clone(), *id, s.down))
            .collect()
    }
}
