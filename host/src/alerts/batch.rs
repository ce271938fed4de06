//! Grouping (DESIGN §8): the open batch of a route with `group_wait`.
//!
//! Such a route's notifications are not stored one per row: each check's
//! transaction appends them to the route's one open batch row (created by
//! the first, due `group_wait` later, and no sooner than `group_interval`
//! after the route's previous batch). Claiming it for sending closes it,
//! and the next notification opens another. Because the batch is a row of
//! the store, a group of replicas appends to the same one and sends it
//! once, and a retry sends the same bytes under the same `id`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::judge::Grouping;
use super::outbox::Notification;
use super::payload::{Batch, BatchTag, Event};

/// The `source_id` of a batch row: it is about many sources.
pub const BATCH_SOURCE: Uuid = Uuid::nil();

/// Why a batch could not be built: a stored event is not JSON.
pub type BatchError = serde_json::Error;

/// A new batch's payload, holding `items`.
pub fn open(
    id: Uuid,
    route: &str,
    now: DateTime<Utc>,
    items: &[&Notification],
) -> Result<String, BatchError> {
    let notifications =
        items.iter().map(|n| serde_json::from_str::<Event>(&n.payload)).collect::<Result<_, _>>()?;
    let batch = Batch {
        id,
        event: BatchTag::Batch,
        route: route.to_string(),
        timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        notifications,
    };
    serde_json::to_string(&batch)
}

/// An open batch's payload with `items` appended.
pub fn append(payload: &str, items: &[&Notification]) -> Result<String, BatchError> {
    let mut batch: Value = serde_json::from_str(payload)?;
    let list = batch.get_mut("notifications").and_then(Value::as_array_mut);
    let Some(list) = list else {
        return Err(serde::de::Error::custom("a batch without notifications"));
    };
    for n in items {
        list.push(serde_json::from_str(&n.payload)?);
    }
    serde_json::to_string(&batch)
}

/// When a batch opened at `now` is due: after `group_wait`, and at least
/// `group_interval` after the route's previous batch was opened.
pub fn due(now: DateTime<Utc>, grouping: Grouping, previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let span = |d| chrono::Duration::from_std(d).unwrap_or_default();
    let after_wait = now + span(grouping.wait);
    previous.map_or(after_wait, |p| after_wait.max(p + span(grouping.interval)))
}

/// A grouped route's new notifications, for its open batch.
pub type Gathered<'a> = (String, Grouping, Vec<&'a Notification>);

/// Splits `writes`' notifications into those stored one per row and, per
/// grouped route, those its open batch gathers.
pub fn split<'a>(
    notifications: impl Iterator<Item = &'a Notification>,
    grouping: impl Fn(&str) -> Option<Grouping>,
) -> (Vec<&'a Notification>, Vec<Gathered<'a>>) {
    let mut single = Vec::new();
    let mut grouped: Vec<Gathered> = Vec::new();
    for n in notifications {
        match grouping(&n.route) {
            None => single.push(n),
            Some(g) => match grouped.iter_mut().find(|(r, _, _)| *r == n.route) {
                Some((_, _, list)) => list.push(n),
                None => grouped.push((n.route.clone(), g, vec![n])),
            },
        }
    }
    (single, grouped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::payload::Stored;
    use std::time::Duration;

    fn note(route: &str, n: u8) -> Notification {
        let event = serde_json::json!({
            "id": Uuid::from_u128(u128::from(n)), "event": "down", "route": route,
            "source": {"id": Uuid::from_u128(1000 + u128::from(n)), "name": format!("s{n}"), "organization": "org_a", "type": "tcp"},
            "status": "ERROR", "error": "refused", "check_id": Uuid::from_u128(2000 + u128::from(n)),
            "since": "2026-01-01T00:00:00.000Z", "timestamp": "2026-01-01T00:00:01.000Z",
        });
        Notification {
            id: Uuid::from_u128(u128::from(n)),
            route: route.into(),
            source_id: Uuid::from_u128(1000 + u128::from(n)),
            seq: 1,
            payload: event.to_string(),
            created_at: Utc::now(),
            attempts: 0,
        }
    }

    #[test]
    fn a_batch_opens_with_its_items_and_appends_more_in_order() {
        let (a, b, c) = (note("ops", 1), note("ops", 2), note("ops", 3));
        let id = Uuid::from_u128(7);
        let payload = open(id, "ops", Utc::now(), &[&a, &b]).expect("open");
        let payload = append(&payload, &[&c]).expect("append");
        let Stored::Batch(batch) = Stored::parse(&payload).expect("parse") else { panic!("not a batch") };
        assert_eq!(batch.id, id);
        assert_eq!(batch.route, "ops");
        let ids: Vec<Uuid> = batch.notifications.iter().map(|e| e.id).collect();
        assert_eq!(ids, [a.id, b.id, c.id], "each item keeps its own id");
    }

    #[test]
    fn a_batch_waits_group_wait_and_keeps_group_interval_from_the_last() {
        let g = Grouping { wait: Duration::from_secs(2), interval: Duration::from_secs(30) };
        let now = Utc::now();
        assert_eq!(due(now, g, None), now + chrono::Duration::seconds(2));
        let previous = now - chrono::Duration::seconds(10);
        assert_eq!(due(now, g, Some(previous)), previous + chrono::Duration::seconds(30));
        let long_ago = now - chrono::Duration::seconds(300);
        assert_eq!(due(now, g, Some(long_ago)), now + chrono::Duration::seconds(2));
    }

    #[test]
    fn only_grouped_routes_gather() {
        let g = Grouping { wait: Duration::from_secs(1), interval: Duration::from_secs(1) };
        let notes = [note("hook", 1), note("slack", 2), note("hook", 3)];
        let (single, grouped) = split(notes.iter(), |r| (r == "hook").then_some(g));
        assert_eq!(single.len(), 1);
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[0].2.len(), 2);
    }
}
