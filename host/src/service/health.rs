//! The latest health of every source, in memory: what readers are served
//! without touching the store, and where state changes are logged once.

use std::collections::HashMap;
use std::sync::RwLock;

use uuid::Uuid;

pub use crate::model::SourceHealth;
use crate::model::{CheckRecord, CheckStatus, Source};

#[derive(Debug, Default)]
pub struct Health {
    map: RwLock<HashMap<Uuid, SourceHealth>>,
}

impl Health {
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
