//! The combined outcome of a source checked from several locations
//! (DESIGN §10): recomputed each time a location reports, from each
//! location's newest check; down when at least `min_locations_failed` of
//! them are not OK, with the status and message of the worst, the
//! location named in `extra`. It is stored as a check of its own
//! (`location` [`COMBINED`]): the one the seeds' routes, metrics and alert
//! routes read, while each location's checks stay in history beside it.

use chrono::Utc;
use serde_json::{Map, Value};

use crate::alerts::Alerts;
use crate::metrics::Metrics;
use crate::model::{CENTRAL, COMBINED, CheckRecord, CheckStatus, Source};
use crate::store::{Store, StoreError};

use super::health::Health;

/// How bad a failed outcome is, for picking the worst.
fn severity(s: CheckStatus) -> u8 {
    match s {
        CheckStatus::Error => 3,
        CheckStatus::Timeout => 2,
        CheckStatus::Failed => 1,
        _ => 0,
    }
}

/// The combined check after `part` (just recorded) from `newest`, each
/// location's newest check; `None` while no location of the source has a
/// result.
pub fn combine(source: &Source, newest: &[CheckRecord], part: &CheckRecord) -> Option<CheckRecord> {
    let at = |location: &str| {
        newest.iter().find(|c| c.location.as_deref().unwrap_or(CENTRAL) == location && c.status.is_finished())
    };
    let results: Vec<(&str, &CheckRecord)> =
        source.placement.locations.iter().filter_map(|l| at(l).map(|c| (l.as_str(), c))).collect();
    if results.is_empty() {
        return None;
    }
    let failing: Vec<&(&str, &CheckRecord)> =
        results.iter().filter(|(_, c)| c.status != CheckStatus::Ok).collect();
    let down = failing.len() >= source.placement.min_locations_failed as usize;
    let mut combined = CheckRecord::new(source.id, part.trigger, CheckStatus::Ok);
    combined.location = Some(COMBINED.into());
    combined.attempts = part.attempts;
    combined.items = part.items;
    combined.started_at = part.started_at;
    combined.reported_at = part.reported_at.or(Some(Utc::now()));
    combined.duration_ms = part.duration_ms;
    combined.replica = part.replica.clone();
    // After the part, so it is the source's newest.
    combined.created_at = Utc::now().max(part.created_at + chrono::Duration::microseconds(1));
    let names = |list: &[&(&str, &CheckRecord)]| list.iter().map(|(l, _)| *l).collect::<Vec<_>>().join(", ");
    if down {
        let (location, worst) = failing.iter().max_by_key(|(_, c)| severity(c.status)).copied()?;
        combined.status = worst.status;
        combined.message = worst.message.clone();
        let mut extra = format!(
            "location {location}: {} of {} locations failing ({})",
            failing.len(),
            results.len(),
            names(&failing)
        );
        if let Some(more) = &worst.extra {
            extra.push('\n');
            extra.push_str(more);
        }
        combined.extra = Some(extra);
    } else if !failing.is_empty() {
        combined.extra = Some(format!(
            "{} of {} locations failing ({}), under min_locations_failed {}",
            failing.len(),
            results.len(),
            names(&failing),
            source.placement.min_locations_failed
        ));
    }
    // The reporting location's facts (TLS chain, versions), and every
    // location's status.
    let mut details = match &part.details {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let by_location: Map<String, Value> =
        results.iter().map(|(l, c)| (l.to_string(), Value::from(c.status.as_str()))).collect();
    details.insert("locations".into(), Value::Object(by_location));
    combined.details = Some(Value::Object(details));
    Some(combined)
}

/// After `part` is stored: computes and stores the combined check, with
/// its alert decisions, and makes it the source's latest in `health` (one
/// process) or in the store (a group).
pub async fn record(
    store: &dyn Store,
    alerts: &Alerts,
    metrics: &Metrics,
    health: Option<&Health>,
    source: &Source,
    part: &CheckRecord,
) -> Result<(), StoreError> {
    let newest = store.newest_by_location(source.id).await?;
    let Some(combined) = combine(source, &newest, part) else { return Ok(()) };
    let write = store.record_check(source, &combined, true, alerts).await?;
    crate::alerts::publish(alerts, metrics, std::slice::from_ref(&write));
    if let Some(health) = health {
        health.finish(source, &combined);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Placement, Trigger};

    fn source(locations: &[&str], min: u32) -> Source {
        let placement =
            Placement::normalized(locations.iter().map(|l| l.to_string()).collect(), min).expect("fixture");
        Source { placement, ..Source::for_test("s", "org_a", "tcp") }
    }

    fn at(source: &Source, location: Option<&str>, status: CheckStatus, message: &str) -> CheckRecord {
        let mut c = CheckRecord::new(source.id, Trigger::Schedule, status);
        c.location = location.map(String::from);
        c.message = (!message.is_empty()).then(|| message.to_string());
        c
    }

    #[test]
    fn quorum_decides_and_the_worst_failure_speaks() {
        let s = source(&["central", "site-a", "site-b"], 2);
        let ok = at(&s, None, CheckStatus::Ok, "");
        let a = at(&s, Some("site-a"), CheckStatus::Timeout, "slow");
        let b = at(&s, Some("site-b"), CheckStatus::Error, "refused");
        // One failing of three, quorum two: OK, with the failure said.
        let c = combine(&s, &[ok.clone(), a.clone()], &a).expect("fixture");
        assert_eq!(c.status, CheckStatus::Ok);
        assert!(
            c.extra.as_deref().expect("fixture").contains("1 of 2 locations failing (site-a)"),
            "{:?}",
            c.extra
        );
        assert_eq!(c.location.as_deref(), Some(COMBINED));
        // Two failing: down, as the worst (ERROR over TIMEOUT), named.
        let c = combine(&s, &[ok, a, b.clone()], &b).expect("fixture");
        assert_eq!((c.status, c.message.as_deref()), (CheckStatus::Error, Some("refused")));
        assert!(c.extra.as_deref().expect("fixture").starts_with("location site-b: 2 of 3"), "{:?}", c.extra);
        assert_eq!(c.details.expect("fixture")["locations"]["site-a"], "TIMEOUT");
        // Quorum one: any failure is down.
        let s1 = source(&["site-a", "site-b"], 1);
        let a = at(&s1, Some("site-a"), CheckStatus::Failed, "bad config");
        let c =
            combine(&s1, &[a.clone(), at(&s1, Some("site-b"), CheckStatus::Ok, "")], &a).expect("fixture");
        assert_eq!(c.status, CheckStatus::Failed);
        // Nothing yet, nothing combined; a location not placed does not count.
        assert!(combine(&s1, &[], &a).is_none());
        assert!(combine(&s1, &[at(&s1, Some("site-z"), CheckStatus::Error, "")], &a).is_none());
    }

    #[test]
    fn parts_are_told_from_outcomes() {
        let one = source(&["site-a"], 1);
        let two = source(&["central", "site-a"], 1);
        assert!(!at(&one, Some("site-a"), CheckStatus::Ok, "").is_part_of(&one));
        assert!(at(&two, Some("site-a"), CheckStatus::Ok, "").is_part_of(&two));
        assert!(at(&two, None, CheckStatus::Ok, "").is_part_of(&two));
        assert!(!at(&two, Some(COMBINED), CheckStatus::Ok, "").is_part_of(&two));
    }
}
