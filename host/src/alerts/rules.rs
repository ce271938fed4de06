//! The down/up state machine of one source as one route sees it: pure, no
//! clock and no I/O, so every rule of DESIGN §8 is a unit test here.
//!
//! - A finished check moves a counter, whatever its retries: the scheduler
//!   calls [`RouteState::observe`] once per finished check, never per attempt.
//! - The view turns **down** after `failure_threshold` consecutive checks
//!   that are not OK (TIMEOUT, ERROR and FAILED alike), **up** after
//!   `success_threshold` consecutive OK ones. A streak shorter than the
//!   threshold changes nothing, so flapping sends nothing.
//! - What was *announced* is kept apart from the view. While notifications
//!   are held (a silence, a maintenance window) the view still moves; once
//!   they are not, the first check announces the difference: a source still
//!   down when a silence ends is announced then, and one that went down and
//!   came back inside the silence is never announced at all.
//! - "up" is only ever sent for a "down" that was sent.
//! - With `failure_window`, "down" means `failure_threshold` failed checks
//!   within the window, in a row or not (a source that flaps).
//!
//! The state is the *source's* for the route, not a process's: the store
//! keeps it and moves it in the transaction that records each check
//! ([`super::judge`]), so a group of replicas counts like one process.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A route's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub send_on_resolved: bool,
    pub repeat_interval: Option<Duration>,
    pub failure_window: Option<Duration>,
}

/// What one notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Down,
    Up,
    Reminder,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Down => "down",
            EventKind::Up => "up",
            EventKind::Reminder => "reminder",
        }
    }
}

/// The last thing a route told its receiver about a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Announced {
    /// Nothing yet: a healthy source is not announced.
    #[default]
    Nothing,
    Down,
    Up,
}

/// One route's view of one source. Persisted (as JSON) with the check that
/// changed it, so a restart neither forgets a down source nor re-announces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteState {
    /// The view: down after `failure_threshold` failures in a row.
    pub down: bool,
    /// Consecutive finished checks that were not OK / were OK.
    pub failures: u32,
    pub successes: u32,
    /// When the current streak's first check reported.
    pub streak_since: Option<DateTime<Utc>>,
    /// When the view last changed: the first check of the streak that changed it.
    pub since: Option<DateTime<Utc>>,
    pub announced: Announced,
    /// When "down" or the last reminder was announced, for `repeat_interval`.
    pub last_announced: Option<DateTime<Utc>>,
    /// Notifications created so far: orders them per route and source.
    pub seq: u64,
    /// Bumped on every change.
    pub version: u64,
    /// The failures inside `failure_window` (at most `failure_threshold`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<DateTime<Utc>>,
    /// When the last check that was not OK reported.
    pub last_failure: Option<DateTime<Utc>>,
    /// The last check counted, and when it was created: a check counted
    /// once already, or older than the last one, does not move the view.
    pub last_check: Option<uuid::Uuid>,
    pub last_created: Option<DateTime<Utc>>,
    /// The dependency whose outage holds this source's "down" back
    /// ([`super::depends`]), and the failures counted since it recovered.
    pub suppressed: Option<String>,
    pub fresh: u32,
    /// Whether the held "down" of this incident was counted as suppressed.
    pub withheld: bool,
}

impl RouteState {
    /// One finished check, OK or not, reported at `at`. `held` is true while
    /// a silence or maintenance window covers the source. Returns what to
    /// announce, if anything; the caller stores it with the check.
    pub fn observe(&mut self, rule: &Rule, ok: bool, at: DateTime<Utc>, held: bool) -> Option<EventKind> {
        self.version += 1;
        let streak = if ok { &mut self.successes } else { &mut self.failures };
        *streak = streak.saturating_add(1);
        if *streak == 1 {
            self.streak_since = Some(at);
        }
        if ok {
            self.failures = 0;
        } else {
            self.successes = 0;
            self.last_failure = Some(at);
        }
        let tripped = match rule.failure_window {
            Some(window) if !self.down => {
                if !ok {
                    self.recent.push(at);
                }
                let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
                self.recent.retain(|t| at - *t < window);
                let keep = usize::try_from(rule.failure_threshold).unwrap_or(usize::MAX);
                let extra = self.recent.len().saturating_sub(keep);
                self.recent.drain(..extra);
                self.recent.len() >= keep
            }
            _ => self.failures >= rule.failure_threshold,
        };
        if !self.down && tripped {
            self.down = true;
            self.since = match rule.failure_window {
                Some(_) => self.recent.first().copied(),
                None => self.streak_since,
            };
            self.recent.clear();
        } else if self.down && self.successes >= rule.success_threshold {
            self.down = false;
            self.since = self.streak_since;
        }
        if held {
            return None;
        }
        let event = match (self.down, self.announced) {
            (true, Announced::Nothing | Announced::Up) => {
                self.announced = Announced::Down;
                self.last_announced = Some(at);
                Some(EventKind::Down)
            }
            (false, Announced::Down) => {
                self.announced = Announced::Up;
                rule.send_on_resolved.then_some(EventKind::Up)
            }
            (true, Announced::Down) => {
                let due = match (rule.repeat_interval, self.last_announced) {
                    (Some(every), Some(last)) => {
                        chrono::Duration::from_std(every).is_ok_and(|every| at - last >= every)
                    }
                    _ => false,
                };
                if due {
                    self.last_announced = Some(at);
                }
                due.then_some(EventKind::Reminder)
            }
            (false, Announced::Nothing | Announced::Up) => None,
        };
        if event.is_some() {
            self.seq += 1;
        }
        event
    }
}

/// What the alert rules' unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Three failures down, two successes up, nothing else.
    pub const RULE: Rule = Rule {
        failure_threshold: 3,
        success_threshold: 2,
        send_on_resolved: true,
        repeat_interval: None,
        failure_window: None,
    };

    /// `secs` after a fixed instant.
    pub fn t(secs: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("time").with_timezone(&Utc)
            + chrono::Duration::seconds(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{RULE, t};
    use super::*;

    /// Feeds `outcomes` ('o' OK, 'x' not OK) one second apart; returns what was announced.
    fn run(state: &mut RouteState, rule: &Rule, outcomes: &str, held: bool) -> Vec<EventKind> {
        let start = state.version as i64;
        outcomes
            .chars()
            .enumerate()
            .filter_map(|(i, c)| state.observe(rule, c == 'o', t(start + i as i64), held))
            .collect()
    }

    #[test]
    fn flapping_below_the_thresholds_sends_nothing() {
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &RULE, "xxoxxoxxoxxoxoxxo", false), vec![]);
        assert!(!s.down);
    }

    #[test]
    fn down_after_the_failure_threshold_then_up_after_the_success_threshold() {
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &RULE, "oxx", false), vec![]);
        assert_eq!(run(&mut s, &RULE, "x", false), vec![EventKind::Down]);
        assert!(s.down);
        // Still down: no second "down", no reminder without repeat_interval.
        assert_eq!(run(&mut s, &RULE, "xxxxo", false), vec![]);
        assert_eq!(run(&mut s, &RULE, "o", false), vec![EventKind::Up]);
        assert_eq!(run(&mut s, &RULE, "ooo", false), vec![]);
        assert_eq!(s.seq, 2, "one sequence number per notification");
    }

    #[test]
    fn since_is_the_first_check_of_the_streak() {
        let mut s = RouteState::default();
        run(&mut s, &RULE, "oxxx", false);
        assert_eq!(s.since, s.streak_since);
        let first_failure = s.since.expect("since");
        run(&mut s, &RULE, "x", false);
        assert_eq!(s.since, Some(first_failure), "more failures do not move `since`");
    }

    #[test]
    fn reminders_come_once_per_repeat_interval_while_down() {
        let rule = Rule { repeat_interval: Some(Duration::from_secs(3)), ..RULE };
        let mut s = RouteState::default();
        // Down at the 3rd check (t=2), reminders at t=5 and t=8, then up.
        let events = run(&mut s, &rule, "xxxxxxxxxxoo", false);
        use EventKind::*;
        assert_eq!(events, vec![Down, Reminder, Reminder, Up]);
    }

    #[test]
    fn failed_counts_as_down_like_any_other_non_ok() {
        // The state machine sees OK or not OK; the caller maps FAILED to not OK.
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &Rule { failure_threshold: 1, ..RULE }, "x", false), vec![EventKind::Down]);
    }

    #[test]
    fn a_held_down_is_announced_when_the_hold_ends() {
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &RULE, "xxxxx", true), vec![]);
        assert!(s.down, "the view moves while held");
        assert_eq!(run(&mut s, &RULE, "x", false), vec![EventKind::Down]);
    }

    #[test]
    fn a_down_and_up_inside_a_hold_is_never_announced() {
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &RULE, "xxxoo", true), vec![]);
        assert_eq!(run(&mut s, &RULE, "oo", false), vec![]);
    }

    #[test]
    fn an_up_inside_a_hold_is_announced_after_it() {
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &RULE, "xxx", false), vec![EventKind::Down]);
        assert_eq!(run(&mut s, &RULE, "oo", true), vec![]);
        assert_eq!(run(&mut s, &RULE, "o", false), vec![EventKind::Up]);
    }

    #[test]
    fn send_on_resolved_false_sends_no_up_but_a_later_down_again() {
        let rule = Rule { send_on_resolved: false, ..RULE };
        let mut s = RouteState::default();
        assert_eq!(run(&mut s, &rule, "xxxoo", false), vec![EventKind::Down]);
        assert_eq!(run(&mut s, &rule, "xxx", false), vec![EventKind::Down]);
    }

    #[test]
    fn thresholds_of_one_follow_every_check() {
        let rule = Rule { failure_threshold: 1, success_threshold: 1, ..RULE };
        let mut s = RouteState::default();
        use EventKind::*;
        assert_eq!(run(&mut s, &rule, "xoxo", false), vec![Down, Up, Down, Up]);
    }

    #[test]
    fn a_failure_window_counts_failures_that_are_not_in_a_row() {
        let rule = Rule { failure_window: Some(Duration::from_secs(10)), ..RULE };
        let mut s = RouteState::default();
        // Three failures within 10 s, OKs between them: down at the third.
        assert_eq!(run(&mut s, &rule, "xoxox", false), vec![EventKind::Down]);
        assert_eq!(s.since, Some(t(0)), "since the first failure in the window");
        assert_eq!(run(&mut s, &rule, "oo", false), vec![EventKind::Up]);
        assert!(s.recent.is_empty(), "an incident's failures do not count toward the next");
    }

    #[test]
    fn failures_that_leave_the_window_no_longer_count() {
        let rule = Rule { failure_window: Some(Duration::from_secs(4)), ..RULE };
        let mut s = RouteState::default();
        // Failures at 0, 4 and 8 s: never three within 4 s.
        assert_eq!(run(&mut s, &rule, "xoooxooox", false), vec![]);
        assert!(s.recent.len() <= 3);
        // Without a window the same outcomes are three streaks of one.
        let mut plain = RouteState::default();
        assert_eq!(run(&mut plain, &RULE, "xoooxooox", false), vec![]);
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let mut s = RouteState::default();
        run(&mut s, &RULE, "xxx", false);
        let back: RouteState =
            serde_json::from_str(&serde_json::to_string(&s).expect("json")).expect("parse");
        assert_eq!(back, s);
    }
}
