//! The alert half of the store suite (both backends): the outbox's order,
//! leases and settling, and a source's notification log; the views the store moves while it records checks,
//! once per check whichever "replica" (an `Alerts` with its own memory)
//! records it; and a grouped route's batch.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sonde::alerts::Alerts;
use sonde::alerts::judge::{DepViews, Grouping, Judge, Views};
use sonde::alerts::outbox::{AlertWrite, Delivery, Notification, Settle, StoredState};
use sonde::alerts::payload::Stored;
use sonde::alerts::rules::{EventKind, RouteState};
use sonde::config::Config;
use sonde::model::{CheckRecord, CheckStatus, Source, Trigger};

use super::{Backend, finished_check, spec};

/// A judge that decides what it is told: the outbox test's fixed writes.
pub struct Scripted(pub AlertWrite);

impl Judge for Scripted {
    fn watching(&self, _: &Source) -> Vec<String> {
        let mut routes: Vec<String> = self.0.states.iter().map(|s| s.route.clone()).collect();
        routes.extend(self.0.notifications.iter().map(|n| n.route.clone()));
        routes.sort();
        routes.dedup();
        routes
    }
    fn dependencies(&self, _: &Source) -> Vec<String> {
        Vec::new()
    }
    fn judge(&self, _: &Source, _: &CheckRecord, _: &Views, _: &DepViews) -> AlertWrite {
        self.0.clone()
    }
    fn grouping(&self, _: &str) -> Option<Grouping> {
        None
    }
}

/// Alert routes from `[[alerts]]` TOML lines added to a webhook route "ops".
pub fn routes(extra: &str) -> Alerts {
    let text =
        format!("[[alerts]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n{extra}");
    let config = Config::parse(&text, "t.toml").expect("config");
    Alerts::new(config.alert_routes().expect("routes"), vec![])
}

fn check(source: uuid::Uuid, status: CheckStatus, age_ms: i64) -> CheckRecord {
    let mut c = CheckRecord::new(source, Trigger::Schedule, status);
    c.created_at = Utc::now() - chrono::Duration::milliseconds(age_ms);
    c.reported_at = Some(c.created_at);
    if status != CheckStatus::Ok {
        c.message = Some("connection refused".into());
    }
    c
}

fn kinds(write: &AlertWrite) -> Vec<EventKind> {
    write
        .notifications
        .iter()
        .map(|n| match Stored::parse(&n.payload).expect("payload") {
            Stored::One(e) => e.event,
            Stored::Batch(_) => panic!("not grouped"),
        })
        .collect()
}

/// The outbox through the `Store` trait alone: a notification commits with
/// its check and view; claims take only the oldest pending one per route
/// and source and lease it; settling releases the next.
pub async fn the_alert_outbox_claims_in_order_leases_and_settles(b: Backend) {
    let store = b.store.as_ref();
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let now = Utc::now();
    let note = |seq: u64| Notification {
        id: uuid::Uuid::new_v4(),
        route: "ops".into(),
        source_id: a.id,
        seq,
        payload: format!("{{\"seq\":{seq}}}"),
        created_at: now,
        attempts: 0,
    };
    let state = |version: u64| StoredState {
        route: "ops".into(),
        source_id: a.id,
        state: RouteState { down: true, version, ..RouteState::default() },
    };
    let (first, second) = (note(1), note(2));
    let write =
        AlertWrite { states: vec![state(1)], notifications: vec![first.clone()], ..Default::default() };
    store.record_check(&a, &finished_check(a.id, Duration::ZERO), true, &Scripted(write)).await.expect("1");
    let write =
        AlertWrite { states: vec![state(2)], notifications: vec![second.clone()], ..Default::default() };
    store.record_check(&a, &finished_check(a.id, Duration::ZERO), true, &Scripted(write)).await.expect("2");
    let states = store.alert_states().await.expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].state.version, 2, "the last write is the view");
    assert_eq!(store.history(a.id, 10, None).await.expect("history").len(), 2, "checks stored too");
    assert_eq!(store.pending_notifications().await.expect("pending"), [("ops".to_string(), 2)]);

    let later = Utc::now() + chrono::Duration::seconds(1);
    let lease = later + chrono::Duration::seconds(60);
    let claimed = store.claim_notifications(later, lease, 10).await.expect("claim");
    assert_eq!(claimed.iter().map(|n| n.seq).collect::<Vec<_>>(), [1], "only the head of the queue");
    assert_eq!(claimed[0].payload, first.payload);
    assert!(store.claim_notifications(later, lease, 10).await.expect("claim").is_empty(), "leased");
    // A failed send goes back with its next attempt time; nothing passes it.
    let retry_at = later + chrono::Duration::seconds(5);
    store
        .settle_notification(first.id, &Settle::Retry { at: retry_at, error: "refused".into() })
        .await
        .expect("retry");
    assert!(store.claim_notifications(later, lease, 10).await.expect("claim").is_empty());
    let again = store.claim_notifications(retry_at, lease, 10).await.expect("claim");
    assert_eq!((again[0].id, again[0].attempts), (first.id, 1));
    store.settle_notification(first.id, &Settle::Sent).await.expect("sent");
    let next = store.claim_notifications(retry_at, lease, 10).await.expect("claim");
    assert_eq!(next.iter().map(|n| n.id).collect::<Vec<_>>(), [second.id]);
    // A lease that runs out (a process died mid-send) makes it due again.
    let expired =
        store.claim_notifications(lease, lease + chrono::Duration::seconds(60), 10).await.expect("claim");
    assert_eq!(expired.iter().map(|n| n.id).collect::<Vec<_>>(), [second.id]);
    store.settle_notification(second.id, &Settle::Dropped { error: "too old".into() }).await.expect("drop");
    assert!(store.pending_notifications().await.expect("pending").is_empty());

    // The source's page reads them back, newest first, with how each went.
    let log = store.source_notifications(a.id, 10).await.expect("log");
    let seen: Vec<_> = log.iter().map(|l| (l.notification.seq, l.state, l.last_error.as_deref())).collect();
    assert_eq!(seen, [(2, Delivery::Dropped, Some("too old")), (1, Delivery::Sent, None)]);
    assert!(log.iter().all(|l| l.settled_at.is_some() && l.notification.source_id == a.id));
    assert_eq!(log[1].notification.attempts, 2, "a retry and the send");
    assert_eq!(store.source_notifications(a.id, 1).await.expect("log").len(), 1, "the limit");
    let b = store.create_source(&spec("b"), &json!({})).await.expect("b");
    assert!(store.source_notifications(b.id, 10).await.expect("log").is_empty(), "another source's");
}

/// Two `Alerts` with their own memory stand for two replicas: the count
/// is the source's, in the store, so the second replica's check completes
/// the first's streak; a check recorded twice, or one older than the last
/// counted, moves nothing.
pub async fn views_move_in_the_store_once_per_check_whichever_replica_records_it(b: Backend) {
    let store = b.store.as_ref();
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let rules = "failure_threshold = 2\nsuccess_threshold = 1\n";
    let (r1, r2) = (routes(rules), routes(rules));
    let first = check(a.id, CheckStatus::Error, 3000);
    let second = check(a.id, CheckStatus::Timeout, 2000);
    let older = check(a.id, CheckStatus::Error, 2500);
    let third = check(a.id, CheckStatus::Ok, 1000);
    assert_eq!(kinds(&store.record_check(&a, &first, true, &r1).await.expect("1")), []);
    let down = store.record_check(&a, &second, true, &r2).await.expect("2");
    assert_eq!(kinds(&down), [EventKind::Down], "the streak spans replicas");
    assert_eq!(down.notifications[0].seq, 1);
    let again = store.record_check(&a, &second, false, &r1).await.expect("2 again");
    assert!(again.notifications.is_empty() && again.states.is_empty(), "counted once: {again:?}");
    let stale = store.record_check(&a, &older, true, &r1).await.expect("older");
    assert!(stale.states.is_empty(), "an older check does not move the view");
    let views = store.alert_states().await.expect("views");
    assert_eq!(views.len(), 1);
    assert!(views[0].state.down && views[0].state.failures == 2, "{views:?}");
    let up = store.record_check(&a, &third, true, &r1).await.expect("3");
    assert_eq!(kinds(&up), [EventKind::Up]);
    assert_eq!(up.notifications[0].seq, 2);
    assert!(store.alert_states().await.expect("views").is_empty(), "no view is down");
    assert_eq!(store.pending_notifications().await.expect("pending"), [("ops".to_string(), 2)]);
}

/// A route with `group_wait` keeps one open batch: the first notification
/// opens it (due after the wait), later ones join it, claiming closes it,
/// and the next batch waits `group_interval` after the last.
pub async fn a_grouped_route_gathers_its_notifications_into_one_batch(b: Backend) {
    let store = b.store.as_ref();
    let alerts = routes("failure_threshold = 1\ngroup_wait = \"1s\"\ngroup_interval = \"1m\"\n");
    let mut sources = Vec::new();
    for name in ["a", "b", "c"] {
        sources.push(store.create_source(&spec(name), &json!({})).await.expect("source"));
    }
    for s in &sources[..2] {
        let write =
            store.record_check(s, &check(s.id, CheckStatus::Error, 10), true, &alerts).await.expect("rec");
        assert_eq!(write.notifications.len(), 1, "decided per source");
    }
    assert_eq!(store.pending_notifications().await.expect("pending"), [("ops".to_string(), 1)], "one row");
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(600);
    assert!(store.claim_notifications(now, lease, 10).await.expect("claim").is_empty(), "within the wait");
    let soon = now + chrono::Duration::seconds(2);
    let claimed = store.claim_notifications(soon, lease, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let Stored::Batch(batch) = Stored::parse(&claimed[0].payload).expect("payload") else {
        panic!("not a batch: {}", claimed[0].payload)
    };
    assert_eq!((batch.id, batch.route.as_str()), (claimed[0].id, "ops"));
    let names: Vec<&str> = batch.notifications.iter().map(|e| e.source.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    store.settle_notification(claimed[0].id, &Settle::Sent).await.expect("sent");

    let c = &sources[2];
    store.record_check(c, &check(c.id, CheckStatus::Error, 10), true, &alerts).await.expect("c");
    assert!(store.claim_notifications(soon, lease, 10).await.expect("claim").is_empty(), "group_interval");
    let minute = now + chrono::Duration::seconds(62);
    let next = store.claim_notifications(minute, lease, 10).await.expect("claim");
    let Stored::Batch(batch) = Stored::parse(&next[0].payload).expect("payload") else {
        panic!("not a batch")
    };
    assert_eq!(batch.notifications.iter().map(|e| e.source.name.as_str()).collect::<Vec<_>>(), ["c"]);
    assert_ne!(batch.id, claimed[0].id, "a new batch");
}
