//! Silences (`/v1/silences`, DESIGN §5): a span of time in which an
//! organization's sources, or some of them, send no alerts. They live in the
//! store; [`Silences`] keeps the current list in memory for the check path,
//! refreshed after every change made here and periodically (another replica
//! may have made one).

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub id: Uuid,
    /// Every organization's sources when `None` (admin keys only).
    pub organization: Option<String>,
    /// All of the organization's sources when `None`.
    pub sources: Option<Vec<String>>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

impl Silence {
    /// Whether it holds notifications of `source` of `organization` at `now`.
    pub fn holds(&self, organization: &str, source: &str, now: DateTime<Utc>) -> bool {
        self.starts_at <= now
            && now < self.ends_at
            && self.organization.as_deref().is_none_or(|o| o == organization)
            && self.sources.as_ref().is_none_or(|names| names.iter().any(|n| n == source))
    }
}

/// The silences not yet over, as last read from the store.
#[derive(Debug, Default)]
pub struct Silences {
    list: RwLock<Arc<Vec<Silence>>>,
}

impl Silences {
    pub fn set(&self, list: Vec<Silence>) {
        *self.list.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(list);
    }

    pub fn get(&self) -> Arc<Vec<Silence>> {
        Arc::clone(&self.list.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether any silence holds `source` of `organization` at `now`.
    pub fn holds(&self, organization: &str, source: &str, now: DateTime<Utc>) -> bool {
        self.get().iter().any(|s| s.holds(organization, source, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_holds_its_sources_in_its_span_only() {
        let now = Utc::now();
        let minute = chrono::Duration::minutes(1);
        let s = Silence {
            id: Uuid::new_v4(),
            organization: Some("org_acme".into()),
            sources: Some(vec!["orders-db".into()]),
            starts_at: now - minute,
            ends_at: now + minute,
            comment: "upgrade".into(),
            created_at: now,
        };
        assert!(s.holds("org_acme", "orders-db", now));
        assert!(!s.holds("org_acme", "other", now));
        assert!(!s.holds("org_other", "orders-db", now), "another organization's source of the same name");
        assert!(!s.holds("org_acme", "orders-db", now + minute), "the end is exclusive");
        assert!(!s.holds("org_acme", "orders-db", now - minute * 2));
        let everything = Silence { organization: None, sources: None, ..s };
        assert!(everything.holds("org_other", "x", now));
    }
}
