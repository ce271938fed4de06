//! The latest health of every source, in memory: what readers are served
//! without touching the store, and where state changes are logged once.
//! Beside it, the name, organization, type and state of every source this
//! process schedules, so that a reader of every source's health (Hasura's
//! map, the status page's list) needs no store read either.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard};

use uuid::Uuid;

pub use crate::model::SourceHealth;
use crate::model::{CheckRecord, CheckStatus, Source};

#[derive(Debug, Default)]
pub struct Health {
    map: RwLock<HashMap<Uuid, SourceHealth>>,
    names: RwLock<Names>,
}

/// Every known source's name and organization, and a counter that moves
/// whenever one of them is added, renamed or removed.
#[derive(Debug, Default)]
struct Names {
    version: u64,
    by_id: HashMap<Uuid, Named>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub organization: String,
    /// Beside the name, for the status page's list.
    pub source_type: String,
    pub paused: bool,
}

/// A read lock on every source's health, for one pass over many of them.
pub struct Snapshot<'a>(RwLockReadGuard<'a, HashMap<Uuid, SourceHealth>>);

impl Snapshot<'_> {
    /// The newest finished check of `id`, if any.
    pub fn last(&self, id: Uuid) -> Option<&CheckRecord> {
        self.0.get(&id).and_then(|h| h.last.as_ref())
    }
}

impl Health {
    /// Records `source`'s name and organization (created, changed or
    /// loaded); the version moves only if they changed.
    pub fn name(&self, source: &Source) {
        let named = Named {
            name: source.name.clone(),
            organization: source.organization.clone(),
            source_type: source.source_type.clone(),
            paused: source.state == crate::model::SourceState::Paused,
        };
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        if names.by_id.get(&source.id) != Some(&named) {
            names.by_id.insert(source.id, named);
            names.version += 1;
        }
    }

    /// Forgets a deleted source's name.
    pub fn unname(&self, id: Uuid) {
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        if names.by_id.remove(&id).is_some() {
            names.version += 1;
        }
    }

    /// Every known source's name and the version they stand at, unless
    /// that is still `seen`.
    pub fn names_since(&self, seen: Option<u64>) -> Option<(u64, Vec<(Uuid, Named)>)> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        (seen != Some(names.version))
            .then(|| (names.version, names.by_id.iter().map(|(id, n)| (*id, n.clone())).collect()))
    }

    /// Calls `f` with every known source's id, name and newest finished
    /// check, under both read locks: one pass for a list of every source
    /// (the status page's), holding writers off, so keep `f` short.
    pub fn visit(&self, mut f: impl FnMut(Uuid, &Named, Option<&CheckRecord>)) {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        for (id, named) in &names.by_id {
            f(*id, named, map.get(id).and_then(|h| h.last.as_ref()));
        }
    }

    /// Holds writers off until dropped: keep the pass short.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot(self.map.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn get(&self, id: Uuid) -> SourceHealth {
        self.map.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned().unwrap_or_default()
    }

    /// Every source's entry, copied.
    pub fn all(&self) -> HashMap<Uuid, SourceHealth> {
        self.map.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Seeds the map from the store at start-up.
    pub fn warm(&self, last: Vec<CheckRecord>) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for c in last {
            let id = c.source_id;
            map.entry(id).or_default().last = Some(c);
        }
    }

    pub fn begin(&self, check: &CheckRecord) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.entry(check.source_id).or_default().current = Some(check.clone());
    }

    /// Records a finished check; logs only when the status changes.
    pub fn finish(&self, source: &Source, check: &CheckRecord) {
        let previous = {
            let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry(check.source_id).or_default();
            if entry.current.as_ref().is_some_and(|c| c.id == check.id) {
                entry.current = None;
            }
            entry.last.replace(check.clone()).map(|c| c.status)
        };
        log_transition(source, previous, check);
    }

    /// A check that finished without becoming the source's latest (one
    /// location's, of a source checked from several): no longer current.
    pub fn end(&self, check: &CheckRecord) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(&check.source_id)
            && entry.current.as_ref().is_some_and(|c| c.id == check.id)
        {
            entry.current = None;
        }
    }

    pub fn remove(&self, id: Uuid) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

/// Logs every finished check once, with its source, type, check id, outcome
/// and duration: at debug while the status holds, at info (to OK) or warn
/// (to anything else) when it changes.
pub(crate) fn log_transition(source: &Source, previous: Option<CheckStatus>, check: &CheckRecord) {
    let from = previous.map_or("UNKNOWN", CheckStatus::as_str);
    let outcome = check.status.as_str();
    let message = check.message.as_deref().unwrap_or("");
    let duration_ms = check.duration_ms.unwrap_or(0);
    let (steady, healthy) = (previous == Some(check.status), check.status == CheckStatus::Ok);
    let (source, organization, source_type, check) =
        (&source.name, &source.organization, &source.source_type, check.id);
    if steady {
        tracing::debug!(source = %source, organization = %organization, source_type = %source_type, check = %check, outcome, duration_ms, message, "check finished");
    } else if healthy {
        tracing::info!(source = %source, organization = %organization, source_type = %source_type, check = %check, outcome, duration_ms, from, to = outcome, "source is healthy");
    } else {
        tracing::warn!(source = %source, organization = %organization, source_type = %source_type, check = %check, outcome, duration_ms, from, to = outcome, message, "source is unhealthy");
    }
}
