//! The SQLite store on its own: history retention by count and by age, and
//! secrets kept apart from every read path.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sonde::model::{CheckRecord, CheckStatus, Policy, SourceSpec, SourceState, Trigger};
use sonde::store::sqlite::SqliteStore;
use sonde::store::{Retention, Store, StoreError};

fn spec(name: &str) -> SourceSpec {
    SourceSpec {
        name: name.into(),
        organization: "org_a".into(),
        workspace: None,
        source_type: "tcp".into(),
        config: json!({"host": "127.0.0.1", "port": 1}),
        state: SourceState::Active,
        policy: Policy::default(),
    }
}

fn finished_check(source: uuid::Uuid, age: Duration) -> CheckRecord {
    let mut c = CheckRecord::new(source, Trigger::Schedule, CheckStatus::Ok);
    c.created_at = Utc::now() - chrono::Duration::from_std(age).expect("age");
    c.reported_at = Some(c.created_at);
    c
}

#[tokio::test]
async fn history_is_bounded_by_count_and_by_age() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let b = store.create_source(&spec("b"), &json!({})).await.expect("b");
    for i in 0..10 {
        store.insert_check(&finished_check(a.id, Duration::from_secs(i * 60))).await.expect("insert");
    }
    store.insert_check(&finished_check(b.id, Duration::from_secs(3600 * 24 * 30))).await.expect("old");
    store.insert_check(&finished_check(b.id, Duration::from_secs(1))).await.expect("new");
    // An unfinished check is never pruned by age.
    let mut pending = CheckRecord::new(b.id, Trigger::Manual, CheckStatus::Scheduled);
    pending.created_at = Utc::now() - chrono::Duration::days(40);
    store.insert_check(&pending).await.expect("pending");

    let removed = store
        .prune(Retention { max_per_source: 4, max_age: Duration::from_secs(3600 * 24 * 7) }, Utc::now())
        .await
        .expect("prune");
    assert_eq!(removed, 7, "6 over the count for a, 1 too old for b, none pending");
    let kept = store.history(a.id, 100, None).await.expect("history");
    assert_eq!(kept.len(), 4);
    assert!(kept.windows(2).all(|w| w[0].created_at >= w[1].created_at), "newest first");
    let kept_b = store.history(b.id, 100, None).await.expect("history");
    assert_eq!(kept_b.len(), 2, "the recent check and the pending one");
}

#[tokio::test]
async fn secrets_live_apart_and_names_are_unique_per_organization() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let s = store.create_source(&spec("a"), &json!({"password": "hunter2"})).await.expect("create");
    assert_eq!(store.source_secrets(s.id).await.expect("secrets"), json!({"password": "hunter2"}));
    let listed = format!("{:?}", store.list_sources().await.expect("list"));
    assert!(!listed.contains("hunter2"));
    assert!(matches!(store.create_source(&spec("a"), &json!({})).await, Err(StoreError::Conflict { .. })));
    let other_org = SourceSpec { organization: "org_b".into(), ..spec("a") };
    store.create_source(&other_org, &json!({})).await.expect("same name, other organization");
    // An unchanged upsert keeps updated_at; a changed one moves it.
    let again = store.upsert_source(&spec("a"), &json!({"password": "hunter2"})).await.expect("upsert");
    assert_eq!((again.id, again.updated_at), (s.id, s.updated_at));
    let changed = SourceSpec { config: json!({"host": "127.0.0.1", "port": 2}), ..spec("a") };
    let moved = store.upsert_source(&changed, &json!({})).await.expect("upsert");
    assert_eq!(moved.id, s.id);
    assert!(moved.updated_at > s.updated_at);
}

/// The alert outbox through the `Store` trait alone (so a second backend
/// can run the same test): a notification and its route state commit with
/// their check; claims take only the oldest pending one per route and
/// source and lease it; settling releases the next; an older state never
/// overwrites a newer one.
#[tokio::test]
async fn the_alert_outbox_claims_in_order_leases_and_settles() {
    use sonde::alerts::outbox::{AlertWrite, Notification, Settle, StoredState};
    use sonde::alerts::rules::RouteState;

    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path()).await.expect("open");
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
        state: RouteState { down: version % 2 == 1, version, ..RouteState::default() },
    };
    let (first, second) = (note(1), note(2));
    // Committed out of order: seq 2's check first.
    let write = AlertWrite { states: vec![state(2)], notifications: vec![second.clone()] };
    store.record_check(&finished_check(a.id, Duration::ZERO), true, &write).await.expect("record 2");
    let write = AlertWrite { states: vec![state(1)], notifications: vec![first.clone()] };
    store.record_check(&finished_check(a.id, Duration::ZERO), true, &write).await.expect("record 1");
    let states = store.alert_states().await.expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].state.version, 2, "the older write did not win");
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
}

#[tokio::test]
async fn silences_are_stored_and_listed_until_they_end() {
    use sonde::alerts::silences::Silence;

    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let now = Utc::now();
    let silence = |minutes: i64, sources: Option<Vec<String>>| Silence {
        id: uuid::Uuid::new_v4(),
        organization: Some("org_a".into()),
        sources,
        starts_at: now - chrono::Duration::minutes(10),
        ends_at: now + chrono::Duration::minutes(minutes),
        comment: "why".into(),
        created_at: now,
    };
    let (over, open) = (silence(-1, None), silence(5, Some(vec!["a".into(), "b".into()])));
    store.create_silence(&over).await.expect("over");
    store.create_silence(&open).await.expect("open");
    let listed = store.list_silences(now).await.expect("list");
    let ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(ids, [open.id], "ended ones are not listed");
    assert_eq!(listed[0].sources, open.sources);
    assert!(store.delete_silence(open.id).await.expect("delete"));
    assert!(!store.delete_silence(open.id).await.expect("delete again"));
}
