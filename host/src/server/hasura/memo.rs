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
        if let Some((version, names)) = health.names_since(memo.version) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::model::{CheckRecord, CheckStatus, Source, Trigger};

    fn finished(health: &Health, source: &Source, status: CheckStatus) {
        let mut c = CheckRecord::new(source.id, Trigger::Schedule, status);
        c.reported_at = Some(Utc::now());
        health.finish(source, &c);
    }

    /// The map as the replicas' path builds it, for comparison.
    fn expected(health: &Health, sources: &[&Source]) -> Vec<u8> {
        let keys = qualified_keys(sources.iter().map(|s| (s.id, s.name.as_str(), s.organization.as_str())));
        let snapshot = health.snapshot();
        let map: BTreeMap<String, HealthStatus> = keys
            .into_iter()
            .filter_map(|(k, id)| Some((k, HealthStatus::from_check(snapshot.last(id)?)?)))
            .collect();
        serde_json::to_vec(&map).expect("serializes")
    }

    #[test]
    fn the_kept_body_is_the_map_as_rendered_afresh() {
        let health = Health::default();
        let memo = Memo::default();
        let a = Source::for_test("zeta", "org_a", "tcp");
        let b = Source::for_test("alpha", "org_a", "tcp");
        let c = Source::for_test("alpha", "org_b", "tcp");
        let never = Source::for_test("never", "org_a", "tcp");
        for s in [&a, &b, &never] {
            health.name(s);
        }
        assert_eq!(memo.body(&health), b"{}");

        finished(&health, &a, CheckStatus::Ok);
        finished(&health, &b, CheckStatus::Failed);
        assert_eq!(memo.body(&health), expected(&health, &[&a, &b, &never]));

        // A clash, a newer result and a rename, each seen on the next call.
        health.name(&c);
        finished(&health, &c, CheckStatus::Error);
        finished(&health, &a, CheckStatus::Timeout);
        let body = memo.body(&health);
        assert_eq!(body, expected(&health, &[&a, &b, &c, &never]));
        let map: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(map["org_a/alpha"]["status"], "FAILED", "{map}");
        assert_eq!(map["zeta"]["status"], "TIMEOUT", "{map}");

        let renamed = Source { name: "omega".into(), ..a.clone() };
        health.name(&renamed);
        health.unname(c.id);
        assert_eq!(memo.body(&health), expected(&health, &[&renamed, &b, &never]));
    }
}
