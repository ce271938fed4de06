//! The body of `GET /healthz/sources` for a process that owns its store,
//! kept between requests: each source's `HealthStatus` is rendered once
//! per finished check rather than once per request, and the sorted,
//! qualified keys are rebuilt only when a source is added, renamed or
//! removed. At 100,000 sources a request then costs one pass under the
//! health map's read lock and a copy of the bytes, instead of a store
//! read of every source and a render of every check.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{HealthStatus, qualified_keys};
use crate::service::health::{Health, Named};

#[derive(Debug, Default)]
pub struct Memo {
    inner: Mutex<Rows>,
}

#[derive(Debug, Default)]
struct Rows {
    /// The names version the rows were built at; `None` before the first.
    version: Option<u64>,
    rows: Vec<Row>,
    /// The last body's length, to size the next one.
    len: usize,
}

#[derive(Debug)]
struct Row {
    id: Uuid,
    /// The key as JSON, quotes included.
    key: String,
    /// The check `value` was rendered from, and when it was reported.
    check: Option<(Uuid, DateTime<Utc>)>,
    /// `HealthStatus` as JSON; empty for a source without a finished check.
    value: String,
}

impl Memo {
    /// The JSON object of every source's latest finished check, by key.
    pub fn body(&self, health: &Health) -> Vec<u8> {
        let mut memo = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if memo.version != Some(health.names_version()) {
            let (version, names) = health.names();
            memo.rebuild(version, names);
        }
        // Copy out only what changed since the last request, then render
        // with the lock released.
        let mut stale = Vec::new();
        {
            let snapshot = health.snapshot();
            for (i, row) in memo.rows.iter_mut().enumerate() {
                let last = snapshot.last(row.id);
                let seen = last.map(|c| (c.id, c.reported_at.unwrap_or(c.created_at)));
                if seen != row.check {
                    row.check = seen;
                    match last {
                        Some(c) => stale.push((i, c.clone())),
                        None => row.value.clear(),
                    }
                }
            }
        }
        for (i, check) in stale {
            memo.rows[i].value = HealthStatus::from_check(&check)
                .map(|s| serde_json::to_string(&s).expect("a HealthStatus serializes"))
                .unwrap_or_default();
        }
        let mut body = Vec::with_capacity(memo.len + 64);
        body.push(b'{');
        for row in memo.rows.iter().filter(|r| !r.value.is_empty()) {
            if body.len() > 1 {
                body.push(b',');
            }
            body.extend_from_slice(row.key.as_bytes());
            body.push(b':');
            body.extend_from_slice(row.value.as_bytes());
        }
        body.push(b'}');
        memo.len = body.len();
        body
    }
}

impl Rows {
    /// New keys in key order, keeping what was rendered for each source.
    fn rebuild(&mut self, version: u64, names: Vec<(Uuid, Named)>) {
        let mut old: HashMap<Uuid, Row> = self.rows.drain(..).map(|r| (r.id, r)).collect();
        let keyed =
            qualified_keys(names.iter().map(|(id, n)| (*id, n.name.as_str(), n.organization.as_str())));
        self.rows = keyed
            .into_iter()
            .map(|(key, id)| {
                let key = serde_json::to_string(&key).expect("a string serializes");
                match old.remove(&id) {
                    Some(row) => Row { key, ..row },
                    None => Row { id, key, check: None, value: String::new() },
                }
            })
            .collect();
        self.version = Some(version);
    }
}
