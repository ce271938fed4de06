//! Alerts (DESIGN §8): routes watch sources' outcomes and notify receivers
//! when one goes down or comes back.
//!
//! # Layout
//! - [`route`]: a configured route, its secrets resolved.
//! - [`rules`]: the pure down/up/reminder state machine; [`depends`]: the
//!   hold a dependency's outage puts on its dependents.
//! - [`judge`]: the decision the store makes with them while it records a
//!   check, so a group of replicas decides once.
//! - [`payload`]: what each channel (webhook, Slack, PagerDuty, e-mail,
//!   Teams, Opsgenie) gets for an event or a batch; [`sign`]: the HMAC.
//! - [`outbox`]: what the store keeps (notifications, route states);
//!   [`batch`]: a grouped route's open batch.
//! - [`delivery`]: the worker that sends, retries and settles them;
//!   [`transport`]: HTTP ([`http`], the host's own outbound client) or
//!   SMTP ([`mail`]), by what the channel renders.
//! - [`silences`], [`maintenance`]: what holds notifications back.
//!
//! [`Alerts`] is the check path's side: it is the [`judge::Judge`] the store
//! consults while it records each finished check, moving the stored views
//! and writing notifications in the check's transaction. It touches no
//! network; that is the delivery worker's business alone. Its own map of
//! views only feeds the page and `/metrics`.

pub mod batch;
pub mod delivery;
pub mod depends;
pub mod http;
pub mod judge;
pub mod mail;
pub mod maintenance;
pub mod outbox;
pub mod payload;
pub mod route;
pub mod rules;
pub mod sign;
pub mod silences;
pub mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::model::{CheckRecord, CheckStatus, Source};
use judge::{DepViews, Grouping, Judge, Views};
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
    /// By (route name, source id): the views as this process last saw
    /// them (for the page and metrics; the store holds the truth).
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
        self.held_named(&source.organization, &source.name, now)
    }

    /// [`Alerts::held`] of the source named `name` in `org`.
    pub fn held_named(&self, org: &str, name: &str, now: DateTime<Utc>) -> bool {
        self.silences.holds(org, name, now)
            || self
                .windows
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|w| w.covers(org, name) && w.is_open(now))
    }

    /// Takes in what a recorded check changed, for [`Alerts::views`].
    pub fn committed(&self, write: &AlertWrite) {
        if write.states.is_empty() {
            return;
        }
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        for s in &write.states {
            states.insert((s.route.clone(), s.source_id), s.state.clone());
        }
    }

    /// Replaces every view (a group's replica re-reading the store).
    pub fn reload(&self, stored: Vec<StoredState>) {
        let fresh: HashMap<_, _> = stored.into_iter().map(|s| ((s.route, s.source_id), s.state)).collect();
        *self.states.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    /// Forgets a deleted source.
    pub fn remove(&self, source: Uuid) {
        self.states.lock().unwrap_or_else(|p| p.into_inner()).retain(|(_, id), _| *id != source);
    }

    /// The dependency holding `source`'s "down" back for some route.
    pub fn suppressed_by(&self, source: Uuid) -> Option<String> {
        let routes = self.routes();
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        routes.iter().find_map(|r| states.get(&(r.name.clone(), source)).and_then(|s| s.suppressed.clone()))
    }

    /// Every configured route's view of every source: `(route, source id,
    /// down, the dependency holding its "down" back)`.
    pub fn views(&self) -> Vec<(String, Uuid, bool, Option<String>)> {
        let routes = self.routes();
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .iter()
            .filter(|((route, _), _)| routes.iter().any(|r| &r.name == route))
            .map(|((route, id), s)| (route.clone(), *id, s.down, s.suppressed.clone()))
            .collect()
    }
}

/// After the store committed `writes`: the views for the page, the
/// suppressed count, and a wake-up for the delivery worker.
pub fn publish(alerts: &Alerts, metrics: &crate::metrics::Metrics, writes: &[AlertWrite]) {
    let mut wake = false;
    for w in writes {
        alerts.committed(w);
        for route in &w.suppressed {
            metrics.count_notification(route, "suppressed");
        }
        wake |= !w.notifications.is_empty();
    }
    if wake {
        alerts.wake.notify_one();
    }
}

impl Judge for Alerts {
    fn watching(&self, source: &Source) -> Vec<String> {
        self.routes().iter().filter(|r| r.watches(&source.organization)).map(|r| r.name.clone()).collect()
    }

    fn dependencies(&self, source: &Source) -> Vec<String> {
        source.depends_on.clone()
    }

    fn grouping(&self, route: &str) -> Option<Grouping> {
        let routes = self.routes();
        let r = routes.iter().find(|r| r.name == route)?;
        let wait = r.group_wait?;
        Some(Grouping { wait, interval: r.group_interval.unwrap_or(wait) })
    }

    fn judge(&self, source: &Source, check: &CheckRecord, own: &Views, deps: &DepViews) -> AlertWrite {
        let mut write = AlertWrite::default();
        if !check.status.is_finished() {
            return write;
        }
        let now = Utc::now();
        let at = check.reported_at.unwrap_or(now);
        let ok = check.status == CheckStatus::Ok;
        let held = self.held(source, now);
        let dependencies = self.dependencies(source);
        for route in self.routes().iter().filter(|r| r.watches(&source.organization)) {
            let mut state = own.get(&route.name).cloned().unwrap_or_default();
            // A check counted already (a retried write, a check two
            // replicas finished), or older than the last one counted.
            if state.last_check == Some(check.id) || state.last_created.is_some_and(|t| check.created_at < t)
            {
                continue;
            }
            state.last_check = Some(check.id);
            state.last_created = Some(check.created_at);
            let rule = route.rule();
            let views: Vec<depends::DependencyView> = dependencies
                .iter()
                .map(|d| (d.as_str(), deps.get(&(route.name.clone(), d.clone()))))
                .collect();
            let by_dependency = depends::hold(&mut state, &rule, ok, check.created_at, &views);
            let event = state.observe(&rule, ok, at, held || by_dependency);
            if depends::settle(&mut state, by_dependency) {
                write.suppressed.push(route.name.clone());
            }
            if let Some(kind) = event {
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
            write.states.push(StoredState { route: route.name.clone(), source_id: source.id, state });
        }
        write
    }
}
