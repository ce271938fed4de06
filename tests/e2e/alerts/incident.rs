//! The harness of the group alert tests ([`super::group`], [`super::storms`]):
//! N `sonde serve` processes (one on SQLite, or replicas on a fresh
//! PostgreSQL database of the shared server) watching many http sources
//! against one loopback [`Target`], one webhook route to a loopback
//! [`Receiver`]; an incident run through them, and its [`Outcome`] held to
//! the [`super::yardstick`].

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_test_support::pgdb::TestDatabase;

use super::receiver::Receiver;
use super::yardstick::{Check, Note, Rule, describe, expected, sketch, streak};
use super::{ADMIN, Target, call, env, webhook};
use crate::serve::Serve;

pub const HOOK: &str = "/hook";

/// The group under test.
pub struct Group {
    pub label: String,
    pub replicas: Vec<Serve>,
    dead: HashSet<usize>,
    toml: String,
    pub target: Target,
    pub receiver: Receiver,
    /// Source name to id, in name order.
    pub sources: BTreeMap<String, String>,
    // Dropped last: the database goes after the processes using it.
    _db: Option<TestDatabase>,
}

/// The keys, `count` http sources named s00… against `target` every
/// `interval`, each failed check retried once (retries must not count
/// twice), and one webhook route "ops" with `rule`.
pub fn config(target: &Target, receiver: &Receiver, count: usize, interval: &str, rule: &str) -> String {
    let mut toml = keys();
    for i in 0..count {
        toml.push_str(&source(
            &format!("s{i:02}"),
            target,
            interval,
            "retries = 1\nretry_interval = \"100ms\"\n",
        ));
    }
    toml.push_str(&webhook("ops", &receiver.url(HOOK), rule));
    toml
}

/// The admin key.
pub fn keys() -> String {
    format!("[[keys]]\nkey = \"{ADMIN}\"\nrole = \"admin\"\n\n")
}

/// One http source of org_acme against `target`, plus `extra` lines (the
/// policy but `interval` and `timeout`: `retries` is 0 unless given).
pub fn source(name: &str, target: &Target, interval: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\norganization = \"org_acme\"\ntype = \"http\"\n\
         config = {{ url = \"{}\" }}\ninterval = \"{interval}\"\ntimeout = \"2s\"\n{}{extra}\n",
        target.url(),
        if extra.contains("retries") { "" } else { "retries = 0\n" }
    )
}

impl Group {
    /// [`Group::start_with`] on [`config`].
    pub fn start(replicas: usize, count: usize, interval: &str, rule: &Rule) -> Option<Self> {
        let group = Self::start_with(replicas, |t, r| config(t, r, count, interval, &rule.toml()))?;
        assert_eq!(group.sources.len(), count);
        Some(group)
    }

    /// `replicas` processes on the config `body` makes for the group's
    /// target and receiver: one on SQLite when 1, else replicas r1… on a
    /// fresh PostgreSQL database (None, a printed skip, without the server).
    pub fn start_with(replicas: usize, body: impl FnOnce(&Target, &Receiver) -> String) -> Option<Self> {
        let (target, receiver) = (Target::start(), Receiver::start());
        let (store, db, label) = if replicas == 1 {
            (String::new(), None, "1 process on SQLite".to_string())
        } else {
            let db = TestDatabase::create()?;
            // Short leases: a killed replica's sources move on within 2 s.
            let store = format!("store = \"{}\"\n[postgres]\nlease = \"2s\"\npoll = \"100ms\"\n", db.url());
            (store, Some(db), format!("{replicas} replicas on PostgreSQL"))
        };
        let toml = format!("{store}\n{}", body(&target, &receiver));
        let mut group = Self {
            label,
            replicas: Vec::new(),
            dead: HashSet::new(),
            toml,
            target,
            receiver,
            sources: BTreeMap::new(),
            _db: db,
        };
        for i in 0..replicas {
            let serve = group.spawn(i);
            group.replicas.push(serve);
        }
        let (_, list) = call(group.live(), "GET", "/api/v1/sources", ADMIN, None);
        for s in list.as_array().into_iter().flatten() {
            if let (Some(name), Some(id)) = (s["name"].as_str(), s["id"].as_str()) {
                group.sources.insert(name.to_string(), id.to_string());
            }
        }
        Some(group)
    }

    fn spawn(&self, i: usize) -> Serve {
        let id = format!("r{}", i + 1);
        Serve::start_with(&self.toml, |c| {
            env(c);
            c.args(["--replica-id", &id]);
        })
    }

    /// `kill -9` of replica `i` (0-based; it was started as `r{i+1}`).
    pub fn kill(&mut self, i: usize) {
        self.replicas[i].kill();
        self.dead.insert(i);
    }

    /// A new process in the place of replica `i`, with its replica id.
    pub fn restart(&mut self, i: usize) {
        self.replicas[i] = self.spawn(i);
        self.dead.remove(&i);
    }

    /// A replica that is running, to read from.
    pub fn live(&self) -> &Serve {
        let i = (0..self.replicas.len()).find(|i| !self.dead.contains(i)).expect("a live replica");
        &self.replicas[i]
    }

    /// The source's finished checks, oldest first (the order of the store's
    /// history, which is check order).
    pub fn history(&self, name: &str) -> Vec<Check> {
        let id = &self.sources[name];
        let (_, h) = call(self.live(), "GET", &format!("/v1/sources/{id}/checks?limit=1000"), ADMIN, None);
        let mut checks: Vec<Check> = h["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(Check {
                    id: c["id"].as_str()?.to_string(),
                    status: c["status"]
                        .as_str()
                        .filter(|s| *s != "SCHEDULED" && *s != "RUNNING")?
                        .to_string(),
                    reported_at: c["reported_at"].as_str()?.parse().ok()?,
                    replica: c["replica"].as_str().unwrap_or("?").to_string(),
                    attempts: c["attempts"].as_u64().unwrap_or(0),
                })
            })
            .collect();
        checks.reverse();
        checks
    }

    /// Every source's history.
    pub fn histories(&self) -> BTreeMap<String, Vec<Check>> {
        self.sources.keys().map(|n| (n.clone(), self.history(n))).collect()
    }

    /// Waits until every source's newest `n` finished checks are all OK
    /// (`ok`) or all not OK.
    pub fn wait_streak(&self, ok: bool, n: usize, within: Duration) {
        let end = Instant::now() + within;
        let short = |h: &BTreeMap<String, Vec<Check>>| -> Vec<String> {
            h.iter()
                .filter(|(_, c)| streak(c, ok) < n)
                .map(|(name, c)| format!("{name}: {}", streak(c, ok)))
                .collect()
        };
        loop {
            let behind = short(&self.histories());
            if behind.is_empty() {
                return;
            }
            assert!(
                Instant::now() < end,
                "{}: not every source had {n} checks {} in a row within {within:?}: {behind:?}\n{}",
                self.label,
                if ok { "OK" } else { "not OK" },
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What the receiver got, de-duplicated by `id` (a duplicate after a
    /// crash is allowed: delivery is at least once), in arrival order.
    pub fn notes(&self) -> Vec<Note> {
        let mut seen = HashSet::new();
        self.receiver
            .delivered()
            .iter()
            .filter(|r| r.path == HOOK)
            .map(|r| r.json())
            .filter_map(|v: Value| {
                Some(Note {
                    id: v["id"].as_str()?.to_string(),
                    event: v["event"].as_str()?.to_string(),
                    source: v["source"]["name"].as_str()?.to_string(),
                    check_id: v["check_id"].as_str().unwrap_or_default().to_string(),
                    timestamp: v["timestamp"].as_str().and_then(|t| t.parse().ok()).unwrap_or_default(),
                })
            })
            .filter(|n| seen.insert(n.id.clone()))
            .collect()
    }

    /// Waits until every source has had at least one of each of `events`
    /// delivered, or `within` passed (the caller's comparison then says what
    /// is missing).
    pub fn wait_notes(&self, events: &[&str], within: Duration) {
        let end = Instant::now() + within;
        while Instant::now() < end {
            let notes = self.notes();
            let all = self
                .sources
                .keys()
                .all(|name| events.iter().all(|e| notes.iter().any(|n| &n.source == name && n.event == *e)));
            if all {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The tail of every process's log, for a failure message.
    pub fn logs(&self) -> String {
        self.replicas
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let log = r.logs();
                let lines: Vec<&str> = log.lines().collect();
                format!("--- r{} ---\n{}", i + 1, lines[lines.len().saturating_sub(20)..].join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One incident's result: what was received, and every way it differs from
/// what one process would have sent (empty when it holds).
pub struct Outcome {
    pub label: String,
    pub sources: usize,
    /// Distinct notification ids received.
    pub notifications: usize,
    /// Deliveries, duplicates of one id included.
    pub deliveries: usize,
    /// Failed checks that were retried: each must still count once.
    pub retried: usize,
    pub problems: Vec<String>,
}

impl Outcome {
    /// One line for the test's output.
    pub fn line(&self) -> String {
        format!(
            "{}: {} notifications ({} deliveries) for {} sources; {} failed checks were retried",
            self.label, self.notifications, self.deliveries, self.sources, self.retried
        )
    }

    pub fn per_incident(&self) -> f64 {
        self.notifications as f64 / self.sources.max(1) as f64
    }
}

/// Compares, per source, the down and up notifications received (by
/// distinct id) with [`expected`]'s, check for check. Reminders are left to
/// the caller.
pub fn compare(group: &Group, rule: &Rule) -> Outcome {
    let histories = group.histories();
    let notes = group.notes();
    let mut problems = Vec::new();
    for (name, history) in &histories {
        let mine: Vec<&Note> = notes.iter().filter(|n| &n.source == name && n.event != "reminder").collect();
        let want: Vec<(String, String)> =
            expected(history, rule).into_iter().filter(|(e, _)| e != "reminder").collect();
        let got: Vec<(String, String)> = mine.iter().map(|n| (n.event.clone(), n.check_id.clone())).collect();
        if got != want || want.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>() != ["down", "up"] {
            let list = |l: &[(String, String)]| -> String {
                l.iter()
                    .map(|(e, c)| format!("{e} at {}", describe(history, c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            problems.push(format!(
                "{name}: received [{}]; one process would have sent [{}]; history {}",
                list(&got),
                list(&want),
                sketch(history, &mine)
            ));
        }
    }
    let retried = histories.values().flatten().filter(|c| !c.ok() && c.attempts > 1).count();
    Outcome {
        label: group.label.clone(),
        sources: histories.len(),
        notifications: notes.len(),
        deliveries: group.receiver.delivered().len(),
        retried,
        problems,
    }
}

/// The whole incident of [`super::group`]: every source OK, then down for
/// `down_checks` checks in a row, then OK for `up_checks`; waits for the
/// notifications and a little longer for any duplicate, then compares.
pub fn incident(group: &Group, rule: &Rule, down_checks: usize, up_checks: usize) -> Outcome {
    group.wait_streak(true, 1, Duration::from_secs(30));
    group.target.down();
    group.wait_streak(false, down_checks, Duration::from_secs(40));
    group.target.up();
    group.wait_streak(true, up_checks, Duration::from_secs(30));
    group.wait_notes(&["down", "up"], Duration::from_secs(15));
    // Late duplicates (another replica's view) arrive within a check or two.
    std::thread::sleep(Duration::from_millis(1500));
    compare(group, rule)
}
