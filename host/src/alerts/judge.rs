//! Alert decisions made inside the store's transaction (DESIGN §8 "One
//! view per group").
//!
//! A route's view of a source belongs to the source, not to a process. So
//! the store, while it records finished checks, locks the views of the
//! routes watching each source ([`Judge::watching`]), reads the views of
//! the sources it depends on, and lets the [`Judge`] move them, in check
//! order; then it writes the views and the notifications in the same
//! transaction. However a group of replicas shares the checks, each
//! transition is decided once, at the check one process would have decided
//! it at. [`decide`] is the part both store backends share; they only read
//! and write.

use std::collections::HashMap;
use std::time::Duration;

use uuid::Uuid;

use super::outbox::AlertWrite;
use super::rules::RouteState;
use crate::model::{CheckRecord, Source};

/// A route's `group_wait` and `group_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    pub wait: Duration,
    pub interval: Duration,
}

/// What the store asks of the alert routes.
pub trait Judge: Send + Sync {
    /// The routes watching `source`, whose views the store locks.
    fn watching(&self, source: &Source) -> Vec<String>;
    /// The names of the sources (of its organization) `source` depends on.
    fn dependencies(&self, source: &Source) -> Vec<String>;
    /// Moves the views of one finished check of `source`: `own` holds the
    /// stored view per watching route (absent: none yet), `deps` the view
    /// per (route, dependency name).
    fn judge(&self, source: &Source, check: &CheckRecord, own: &Views, deps: &DepViews) -> AlertWrite;
    /// The route's grouping, if notifications gather into batches.
    fn grouping(&self, route: &str) -> Option<Grouping>;
}

/// The views of one source, by route.
pub type Views = HashMap<String, RouteState>;
/// The views of dependencies, by (route, dependency name).
pub type DepViews = HashMap<(String, String), RouteState>;

/// One finished check to record.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    pub source: &'a Source,
    pub check: &'a CheckRecord,
}

/// The views to lock, as (route, source id), and the dependencies to
/// read, as (organization, name).
pub type Keys = (Vec<(String, Uuid)>, Vec<(String, String)>);

/// The rows a batch needs: the views to lock, sorted (so concurrent
/// transactions lock in one order), and the dependencies to read.
pub fn keys(judge: &dyn Judge, items: &[Finished]) -> Keys {
    let mut own = Vec::new();
    let mut deps = Vec::new();
    for item in items.iter().filter(|i| i.check.status.is_finished() && !i.check.is_part_of(i.source)) {
        let routes = judge.watching(item.source);
        if routes.is_empty() {
            continue;
        }
        own.extend(routes.into_iter().map(|r| (r, item.source.id)));
        deps.extend(
            judge.dependencies(item.source).into_iter().map(|d| (item.source.organization.clone(), d)),
        );
    }
    own.sort();
    own.dedup();
    deps.sort();
    deps.dedup();
    (own, deps)
}

/// A stored view of a dependency, as read: (route, organization, name).
pub type DepKey = (String, String, String);

/// Judges `items` in order against the views read, each seeing the views
/// the ones before it moved (a switch judged first in a batch holds back
/// its dependents judged after it). One write per item, in order.
pub fn decide(
    judge: &dyn Judge,
    items: &[Finished],
    mut own: HashMap<(String, Uuid), RouteState>,
    mut deps: HashMap<DepKey, RouteState>,
) -> Vec<AlertWrite> {
    let mut writes = Vec::with_capacity(items.len());
    for item in items {
        let source = item.source;
        let routes = judge.watching(source);
        // A location's check of a source checked from several is judged
        // through their combined outcome (DESIGN §10), never alone.
        if routes.is_empty() || !item.check.status.is_finished() || item.check.is_part_of(source) {
            writes.push(AlertWrite::default());
            continue;
        }
        let views: Views = routes
            .iter()
            .filter_map(|r| own.get(&(r.clone(), source.id)).map(|s| (r.clone(), s.clone())))
            .collect();
        let mut dep_views = DepViews::new();
        for name in judge.dependencies(source) {
            for route in &routes {
                let key = (route.clone(), source.organization.clone(), name.clone());
                if let Some(view) = deps.get(&key) {
                    dep_views.insert((route.clone(), name.clone()), view.clone());
                }
            }
        }
        let write = judge.judge(source, item.check, &views, &dep_views);
        for s in &write.states {
            own.insert((s.route.clone(), source.id), s.state.clone());
            deps.insert((s.route.clone(), source.organization.clone(), source.name.clone()), s.state.clone());
        }
        writes.push(write);
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Alerts;
    use crate::model::{CheckStatus, Trigger};

    fn alerts() -> Alerts {
        let text = "[[alerts]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\
                    failure_threshold = 1\n";
        let config = crate::config::Config::parse(text, "t.toml").expect("config");
        Alerts::new(config.alert_routes().expect("routes"), vec![])
    }

    fn failed(source: &Source) -> CheckRecord {
        let mut c = CheckRecord::new(source.id, Trigger::Schedule, CheckStatus::Error);
        c.reported_at = Some(c.created_at);
        c
    }

    #[test]
    fn a_dependency_judged_earlier_in_a_batch_holds_its_dependents_back() {
        let alerts = alerts();
        let switch = Source::for_test("switch", "org_a", "tcp");
        let db = Source { depends_on: vec!["switch".into()], ..Source::for_test("db", "org_a", "tcp") };
        let (a, b) = (failed(&switch), failed(&db));
        let items = [Finished { source: &switch, check: &a }, Finished { source: &db, check: &b }];
        let (own, deps) = keys(&alerts, &items);
        assert_eq!(own.len(), 2);
        assert_eq!(deps, [("org_a".to_string(), "switch".to_string())]);
        let writes = decide(&alerts, &items, HashMap::new(), HashMap::new());
        assert_eq!(writes[0].notifications.len(), 1, "the switch pages");
        assert!(writes[1].notifications.is_empty(), "the database is held back");
        assert_eq!(writes[1].suppressed, ["ops"]);
        assert_eq!(writes[1].states[0].state.suppressed.as_deref(), Some("switch"));
    }

    #[test]
    fn a_check_counted_once_is_not_counted_again() {
        let alerts = alerts();
        let s = Source::for_test("s", "org_a", "tcp");
        let c = failed(&s);
        let items = [Finished { source: &s, check: &c }];
        let first = decide(&alerts, &items, HashMap::new(), HashMap::new());
        let stored: HashMap<(String, Uuid), RouteState> =
            first[0].states.iter().map(|w| ((w.route.clone(), s.id), w.state.clone())).collect();
        let again = decide(&alerts, &items, stored, HashMap::new());
        assert!(again[0].states.is_empty() && again[0].notifications.is_empty(), "{again:?}");
    }
}
