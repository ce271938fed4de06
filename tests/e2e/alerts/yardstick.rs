//! The yardstick of the group alert tests: what *one* process would have
//! sent for the checks a group actually ran, the rule of DESIGN §8 replayed
//! over the stored history in check order; and the shapes both sides are
//! read into (a route's [`Rule`], a finished [`Check`], a received [`Note`]).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A route's thresholds, as the test configured them.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub failure: usize,
    pub success: usize,
    pub repeat: Option<Duration>,
}

impl Rule {
    /// The route's TOML lines.
    pub fn toml(&self) -> String {
        let mut lines =
            format!("failure_threshold = {}\nsuccess_threshold = {}\n", self.failure, self.success);
        if let Some(r) = self.repeat {
            lines.push_str(&format!("repeat_interval = \"{}ms\"\n", r.as_millis()));
        }
        lines
    }
}

/// One finished check from `GET /v1/sources/{id}/checks`.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub status: String,
    pub reported_at: DateTime<Utc>,
    pub replica: String,
    /// Attempts made, retries included.
    pub attempts: u64,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.status == "OK"
    }
}

/// One notification as the receiver got it (the first delivery of its `id`).
#[derive(Debug, Clone)]
pub struct Note {
    pub id: String,
    pub event: String,
    pub source: String,
    pub check_id: String,
    pub timestamp: DateTime<Utc>,
}

/// How many of the newest checks are all OK (`ok`) or all not OK.
pub fn streak(history: &[Check], ok: bool) -> usize {
    history.iter().rev().take_while(|c| c.ok() == ok).count()
}

/// What one process would have sent for `history` (oldest first): the
/// rule of DESIGN §8 replayed, as `(event, check id)`. A reminder is due at
/// the first check reported `repeat` or more after the last announcement.
pub fn expected(history: &[Check], rule: &Rule) -> Vec<(String, String)> {
    let (mut failures, mut successes, mut down) = (0, 0, false);
    let mut last: Option<DateTime<Utc>> = None;
    let mut out = Vec::new();
    for c in history {
        if c.ok() {
            (failures, successes) = (0, successes + 1);
        } else {
            (failures, successes) = (failures + 1, 0);
        }
        if !down && failures >= rule.failure {
            down = true;
            last = Some(c.reported_at);
            out.push(("down".to_string(), c.id.clone()));
        } else if down && successes >= rule.success {
            down = false;
            out.push(("up".to_string(), c.id.clone()));
        } else if let (true, Some(every), Some(at)) = (down, rule.repeat, last)
            && (c.reported_at - at).to_std().is_ok_and(|gap| gap >= every)
        {
            last = Some(c.reported_at);
            out.push(("reminder".to_string(), c.id.clone()));
        }
    }
    out
}

/// A check id as a reader wants it: its place in the history, its status
/// and the replica that ran it.
pub fn describe(history: &[Check], check_id: &str) -> String {
    match history.iter().position(|c| c.id == check_id) {
        Some(i) => format!("check #{} ({}, {})", i + 1, history[i].status, history[i].replica),
        None => format!("check {check_id} (not in the history)"),
    }
}

/// The source's history as one line: `o` OK, `x` not OK, in brackets
/// where a notification's check is.
pub fn sketch(history: &[Check], notes: &[&Note]) -> String {
    history
        .iter()
        .map(|c| {
            let mark = if c.ok() { 'o' } else { 'x' };
            if notes.iter().any(|n| n.check_id == c.id) { format!("[{mark}]") } else { mark.to_string() }
        })
        .collect()
}
