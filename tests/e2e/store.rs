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
