//! The latest health of every source, in memory: what readers are served
//! without touching the store, and where state changes are logged once.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{CheckRecord, CheckStatus, Source};

/// What is known of one source right now.
#[derive(Debug, Clone, Default)]
pub struct SourceHealth {
    /// The newest finished check.
    pub last: Option<CheckRecord>,
    /// A check queued or running, if any.
    pub current: Option<CheckRecord>,
    /// The earliest `not_after` of the peer chain the newest TLS handshake
    /// saw (`sonde_source_tls_cert_expiry_timestamp_seconds`, the days left
    /// on the status page).
    pub tls_not_after: Option<DateTime<Utc>>,
}

impl SourceHealth {
    /// The most recent check, finished or not.
    pub fn newest(&self) -> Option<&CheckRecord> {
        match (&self.current, &self.last) {
            (Some(c), Some(l)) => Some(if c.created_at >= l.created_at { c } else { l }),
            (c, l) => c.as_ref().or(l.as_ref()),
        }
    }
}

#[derive(Debug, Default)]
pub struct Health {
    map: RwLock<HashMap<Uuid, SourceHealth>>,
}

impl Health {
    pub fn get(&self, id: Uuid) -> SourceHealth {
        self.map.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned().unwrap_or_default()
    }

    /// Seeds the map from the store at start-up.
    pub fn warm(&self, last: Vec<CheckRecord>) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for c in last {
            let id = c.source_id;
            let entry = map.entry(id).or_default();
            // After a restart the stored `details.tls` of an OK check still
            // tells the expiry; an ERROR record has none until it is checked.
            entry.tls_not_after = c.details.as_ref().and_then(earliest_not_after);
            entry.last = Some(c);
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

    /// Notes the TLS expiry one attempt saw. An attempt that never reached
    /// a handshake (refused, timed out) keeps the one known, since the
    /// certificate did not change by the server going away; an OK one
    /// without TLS clears it, since the source no longer uses TLS.
    pub fn observe_tls(&self, id: Uuid, ok: bool, not_after: Option<DateTime<Utc>>) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(id).or_default();
        if not_after.is_some() || ok {
            entry.tls_not_after = not_after;
        }
    }

    pub fn remove(&self, id: Uuid) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

/// The earliest `not_after` in `details.tls.peer`.
fn earliest_not_after(details: &Value) -> Option<DateTime<Utc>> {
    details["tls"]["peer"]
        .as_array()?
        .iter()
        .filter_map(|c| DateTime::parse_from_rfc3339(c["not_after"].as_str()?).ok())
        .map(|t| t.with_timezone(&Utc))
        .min()
}

/// Logs every finished check once, with its source, type, check id, outcome
/// and duration: at debug while the status holds, at info (to OK) or warn
/// (to anything else) when it changes.
fn log_transition(source: &Source, previous: Option<CheckStatus>, check: &CheckRecord) {
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
