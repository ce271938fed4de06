//! A source's incidents for its page: each run of failed checks between
//! OK ones (down, then up), with the notifications the alert routes wrote
//! about it and how their delivery went. A run that made no notification
//! was held back (a silence, a maintenance window, a dependency that was
//! down) or stayed under its route's threshold; the page says so.

use chrono::{DateTime, Utc};

use crate::alerts::outbox::{Delivery, NotificationLog};
use crate::alerts::payload::Stored;
use crate::model::{CheckRecord, CheckStatus};

/// One notification, as the page shows it.
#[derive(Debug, Clone)]
pub struct Note {
    pub route: String,
    /// `down`, `up` or `reminder`.
    pub kind: &'static str,
    pub state: Delivery,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Note {
    /// None for a stored payload that is not about one event (a batch).
    fn of(log: NotificationLog) -> Option<Self> {
        let kind = match Stored::parse(&log.notification.payload).ok()? {
            Stored::One(e) => e.event.as_str(),
            Stored::Batch(_) => return None,
        };
        Some(Note {
            route: log.notification.route,
            kind,
            state: log.state,
            attempts: log.notification.attempts,
            created_at: log.notification.created_at,
            settled_at: log.settled_at,
            last_error: log.last_error,
        })
    }
}

/// One run of failed checks.
#[derive(Debug, Clone)]
pub struct Incident {
    /// The first failed check's time.
    pub down_at: DateTime<Utc>,
    /// The next OK check's time; None while it lasts.
    pub up_at: Option<DateTime<Utc>>,
    /// The first failed check's status and message.
    pub status: CheckStatus,
    pub message: Option<String>,
    /// Failed checks in the run.
    pub failures: u32,
    /// Notifications written from its start until the next incident's.
    pub notes: Vec<Note>,
}

/// The incidents in `checks` (any order; unfinished ones are skipped),
/// newest first, each with the notifications of `logs` written while it
/// was the latest. Notifications older than every incident are returned
/// apart (their incident is older than the checks read).
pub fn incidents(checks: &[CheckRecord], logs: Vec<NotificationLog>) -> (Vec<Incident>, Vec<Note>) {
    let mut finished: Vec<&CheckRecord> = checks.iter().filter(|c| c.status.is_finished()).collect();
    finished.sort_by_key(|c| c.created_at);
    let mut runs: Vec<Incident> = Vec::new();
    let mut open = false;
    for c in finished {
        match (c.status == CheckStatus::Ok, open) {
            (true, true) => {
                if let Some(last) = runs.last_mut() {
                    last.up_at = Some(c.created_at);
                }
                open = false;
            }
            (false, true) => {
                if let Some(last) = runs.last_mut() {
                    last.failures += 1;
                }
            }
            (false, false) => {
                runs.push(Incident {
                    down_at: c.created_at,
                    up_at: None,
                    status: c.status,
                    message: c.message.clone(),
                    failures: 1,
                    notes: Vec::new(),
                });
                open = true;
            }
            (true, false) => {}
        }
    }
    let mut earlier = Vec::new();
    let mut notes: Vec<Note> = logs.into_iter().filter_map(Note::of).collect();
    notes.sort_by_key(|n| n.created_at);
    for note in notes {
        match runs.iter_mut().rev().find(|r| r.down_at <= note.created_at) {
            Some(run) => run.notes.push(note),
            None => earlier.push(note),
        }
    }
    runs.reverse();
    earlier.reverse();
    (runs, earlier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Trigger;

    fn check(minutes_ago: i64, status: CheckStatus) -> CheckRecord {
        let mut c = CheckRecord::new(uuid::Uuid::nil(), Trigger::Schedule, status);
        c.created_at = Utc::now() - chrono::Duration::minutes(minutes_ago);
        c
    }

    #[test]
    fn runs_of_failures_become_incidents_newest_first() {
        use CheckStatus::{Error, Ok, Running, Timeout};
        let checks = [
            check(10, Ok),
            check(9, Error),
            check(8, Timeout),
            check(7, Ok),
            check(6, Ok),
            check(5, Error),
            check(4, Running),
        ];
        let (runs, earlier) = incidents(&checks, Vec::new());
        assert_eq!(runs.len(), 2);
        assert!(runs[0].up_at.is_none() && runs[0].failures == 1, "{runs:?}");
        assert_eq!((runs[1].failures, runs[1].status), (2, Error));
        assert_eq!(runs[1].up_at, Some(checks[3].created_at));
        assert!(earlier.is_empty());
    }
}
