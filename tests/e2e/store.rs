//! The store suite: one set of tests, run against both backends, the
//! embedded SQLite store and PostgreSQL (a fresh database per test on the
//! local server, dropped afterwards). Each case is `store::<case>::sqlite`
//! and `store::<case>::postgres`; the PostgreSQL half skips without the
//! server, and fails without it under `CI=true`.
//!
//! Cases: history retention by count and by age; secrets kept apart from
//! every read path and names unique per organization; replace and delete;
//! upserts of many definitions at once; a check's round trip with every field; history pages; recovery reads
//! (unfinished, latest); outcome counts; the alert outbox, the views the
//! store moves and grouped batches (`alerts`); silences;
//! the status page's sessions (`sessions`); history scrubbing (`scrub`);
//! `depends_on` on every source path (`depends`); response-time chart
//! buckets (`chart`); the status page's bulk read of every source's key;
//! agents, their claims and each location's newest check (`agents`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sonde::model::{CheckRecord, CheckStatus, Policy, SourceSpec, SourceState, Trigger};
use sonde::store::postgres::{PgOptions, PgStore};
use sonde::store::sqlite::SqliteStore;
use sonde::store::{Retention, Store, StoreError};
use sonde_test_support::pgdb::TestDatabase;

mod agents;
mod alerts;
mod chart;
mod depends;
mod group;
mod scrub;

use agents::{
    agent_claims_have_one_holder_and_move_when_a_lease_runs_out, the_newest_check_of_each_location_is_found,
};
use alerts::{
    a_grouped_route_gathers_its_notifications_into_one_batch,
    the_alert_outbox_claims_in_order_leases_and_settles,
    views_move_in_the_store_once_per_check_whichever_replica_records_it,
};
use chart::chart_points_gather_a_window_into_bounded_buckets;
use depends::depends_on_round_trips_on_every_path;
use scrub::history_scrubbing_masks_one_sources_secrets_everywhere;

/// A store under test and what keeps it alive (its directory or database).
pub struct Backend {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pub db: Option<TestDatabase>,
}

impl Backend {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path()).await.expect("open sqlite");
        Self { store: Arc::new(store), _dir: Some(dir), db: None }
    }

    /// None (skipped) without the local PostgreSQL, outside CI.
    pub async fn postgres() -> Option<Self> {
        let db = TestDatabase::create()?;
        let store = PgStore::open(&db.url(), &PgOptions::default()).await.expect("open postgres");
        Some(Self { store: Arc::new(store), _dir: None, db: Some(db) })
    }
}

/// `store::<case>::{sqlite, postgres}` for an `async fn case(Backend)`.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                super::$case(super::Backend::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(backend) = super::Backend::postgres().await {
                    super::$case(backend).await;
                }
            }
        }
    )*};
}

both_backends!(
    history_is_bounded_by_count_and_by_age,
    secrets_live_apart_and_names_are_unique_per_organization,
    replace_keeps_the_id_and_delete_takes_the_history,
    many_upserts_span_chunks_in_order,
    a_check_round_trips_every_field,
    history_pages_newest_first,
    recovery_reads_find_unfinished_and_latest_checks,
    outcome_counts_cover_finished_checks_in_the_window,
    the_alert_outbox_claims_in_order_leases_and_settles,
    views_move_in_the_store_once_per_check_whichever_replica_records_it,
    a_grouped_route_gathers_its_notifications_into_one_batch,
    silences_are_stored_and_listed_until_they_end,
    history_scrubbing_masks_one_sources_secrets_everywhere,
    depends_on_round_trips_on_every_path,
    chart_points_gather_a_window_into_bounded_buckets,
    source_keys_match_the_listed_sources,
    agent_claims_have_one_holder_and_move_when_a_lease_runs_out,
    the_newest_check_of_each_location_is_found,
);

mod sessions;

pub fn spec(name: &str) -> SourceSpec {
    SourceSpec {
        name: name.into(),
        organization: "org_a".into(),
        workspace: None,
        source_type: "tcp".into(),
        config: json!({"host": "127.0.0.1", "port": 1}),
        state: SourceState::Active,
        policy: Policy::default(),
        depends_on: Vec::new(),
        placement: Default::default(),
    }
}

pub fn finished_check(source: uuid::Uuid, age: Duration) -> CheckRecord {
    let mut c = CheckRecord::new(source, Trigger::Schedule, CheckStatus::Ok);
    c.created_at = Utc::now() - chrono::Duration::from_std(age).expect("age");
    c.reported_at = Some(c.created_at);
    c
}

async fn history_is_bounded_by_count_and_by_age(b: Backend) {
    let store = b.store.as_ref();
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let bs = store.create_source(&spec("b"), &json!({})).await.expect("b");
    for i in 0..10 {
        store.insert_check(&finished_check(a.id, Duration::from_secs(i * 60))).await.expect("insert");
    }
    store.insert_check(&finished_check(bs.id, Duration::from_secs(3600 * 24 * 30))).await.expect("old");
    store.insert_check(&finished_check(bs.id, Duration::from_secs(1))).await.expect("new");
    // An unfinished check is never pruned by age.
    let mut pending = CheckRecord::new(bs.id, Trigger::Manual, CheckStatus::Scheduled);
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
    let kept_b = store.history(bs.id, 100, None).await.expect("history");
    assert_eq!(kept_b.len(), 2, "the recent check and the pending one");
}

async fn secrets_live_apart_and_names_are_unique_per_organization(b: Backend) {
    let store = b.store.as_ref();
    let s = store.create_source(&spec("a"), &json!({"password": "hunter2"})).await.expect("create");
    assert_eq!(store.source_secrets(s.id).await.expect("secrets"), json!({"password": "hunter2"}));
    let listed = format!("{:?}", store.list_sources().await.expect("list"));
    assert!(!listed.contains("hunter2"));
    let got = format!("{:?}", store.get_source(s.id).await.expect("get"));
    assert!(!got.contains("hunter2"));
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
    assert_eq!(store.source_secrets(s.id).await.expect("secrets"), json!({}), "upsert replaces secrets");
    if let Some(db) = &b.db {
        // PostgreSQL: the secret is in its own table and nowhere else.
        assert_eq!(db.query("SELECT count(*) FROM sources WHERE config::text LIKE '%hunter2%'"), "0");
    }
}

/// The configured sources at start-up: more than one chunk's worth, each
/// answered in order, ids kept and unchanged ones untouched on the next run.
async fn many_upserts_span_chunks_in_order(b: Backend) {
    let store = b.store.as_ref();
    let n = sonde::store::sqlite::UPSERT_CHUNK * 2 + 3;
    let specs: Vec<_> =
        (0..n).map(|i| (spec(&format!("s{i:04}")), json!({"password": format!("p{i}")}))).collect();
    let first = store.upsert_sources(&specs).await.expect("upsert");
    let names: Vec<_> = first.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, specs.iter().map(|(s, _)| s.name.clone()).collect::<Vec<_>>(), "answered in order");
    assert_eq!(store.list_sources().await.expect("list").len(), n);

    // Again, with the last one changed: the same ids, only it moves.
    let mut again = specs.clone();
    let (last_spec, last_secrets) = again.last_mut().expect("one");
    last_spec.config = json!({"host": "127.0.0.1", "port": 2});
    *last_secrets = json!({});
    let second = store.upsert_sources(&again).await.expect("upsert again");
    for (a, b) in first.iter().zip(&second).take(n - 1) {
        assert_eq!((a.id, a.updated_at), (b.id, b.updated_at), "{} unchanged", a.name);
    }
    let (a, b) = (first.last().expect("one"), second.last().expect("one"));
    assert_eq!(a.id, b.id);
    assert!(b.updated_at > a.updated_at && b.config["port"] == 2, "{b:?}");
    assert_eq!(store.source_secrets(b.id).await.expect("secrets"), json!({}));
    assert_eq!(store.source_secrets(first[0].id).await.expect("secrets"), json!({"password": "p0"}));
    assert_eq!(store.list_sources().await.expect("list").len(), n);
}

/// The status page's bulk read: each source's id, organization, name, type
/// and state, as the full list has them, and no secret.
async fn source_keys_match_the_listed_sources(b: Backend) {
    let store = b.store.as_ref();
    assert!(store.source_keys().await.expect("keys").is_empty());
    store.create_source(&spec("a"), &json!({"password": "hunter2"})).await.expect("a");
    let paused = SourceSpec { state: SourceState::Paused, organization: "org_b".into(), ..spec("a") };
    store.create_source(&paused, &json!({})).await.expect("paused");
    let web = SourceSpec {
        source_type: "http".into(),
        config: json!({"url": "http://127.0.0.1:1/"}),
        ..spec("web")
    };
    let web = store.create_source(&web, &json!({})).await.expect("web");
    let mut keys = store.source_keys().await.expect("keys");
    keys.sort_by(|a, b| (&a.organization, &a.name).cmp(&(&b.organization, &b.name)));
    let listed: Vec<_> = store
        .list_sources()
        .await
        .expect("list")
        .into_iter()
        .map(|s| sonde::store::SourceKey {
            id: s.id,
            organization: s.organization,
            name: s.name,
            source_type: s.source_type,
            state: s.state,
        })
        .collect();
    assert_eq!(keys, listed);
    assert_eq!(
        keys.iter().map(|k| k.state).collect::<Vec<_>>(),
        [SourceState::Active, SourceState::Active, SourceState::Paused]
    );
    assert!(!format!("{keys:?}").contains("hunter2"));
    store.delete_source(web.id).await.expect("delete");
    assert_eq!(store.source_keys().await.expect("keys").len(), 2);
}

async fn replace_keeps_the_id_and_delete_takes_the_history(b: Backend) {
    let store = b.store.as_ref();
    let s = store.create_source(&spec("a"), &json!({"password": "x"})).await.expect("create");
    store.create_source(&spec("b"), &json!({})).await.expect("create b");
    let paused =
        SourceSpec { state: SourceState::Paused, workspace: Some(uuid::Uuid::new_v4()), ..spec("a2") };
    let r = store.replace_source(s.id, &paused, &json!({"password": "y"})).await.expect("replace");
    assert_eq!(
        (r.id, r.name.as_str(), r.state, r.workspace),
        (s.id, "a2", SourceState::Paused, paused.workspace)
    );
    assert_eq!(store.get_source(s.id).await.expect("get"), Some(r.clone()));
    assert_eq!(store.source_secrets(s.id).await.expect("secrets"), json!({"password": "y"}));
    let clash = store.replace_source(s.id, &spec("b"), &json!({})).await;
    assert!(matches!(clash, Err(StoreError::Conflict { .. })), "{clash:?}");
    let missing = store.replace_source(uuid::Uuid::new_v4(), &spec("c"), &json!({})).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    store.insert_check(&finished_check(s.id, Duration::from_secs(1))).await.expect("check");
    assert!(store.delete_source(s.id).await.expect("delete"));
    assert!(!store.delete_source(s.id).await.expect("delete again"));
    assert_eq!(store.get_source(s.id).await.expect("get"), None);
    assert!(store.history(s.id, 10, None).await.expect("history").is_empty());
    let names: Vec<String> = store.list_sources().await.expect("list").into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["b"]);
}

async fn a_check_round_trips_every_field(b: Backend) {
    let store = b.store.as_ref();
    let s = store.create_source(&spec("a"), &json!({})).await.expect("create");
    let mut c = CheckRecord::new(s.id, Trigger::Manual, CheckStatus::Scheduled);
    store.insert_check(&c).await.expect("insert");
    c.status = CheckStatus::Error;
    c.attempts = 4;
    c.message = Some("connection refused".into());
    c.extra = Some("{\"errno\": 111}".into());
    c.details = Some(json!({"server_version": "15", "n": [1, 2]}));
    c.items = Some(42);
    c.started_at = Some(c.created_at + chrono::Duration::milliseconds(5));
    c.reported_at = Some(c.created_at + chrono::Duration::milliseconds(105));
    c.duration_ms = Some(100);
    c.replica = Some("replica-a".into());
    store.update_check(&c).await.expect("update");
    let got = store.history(s.id, 10, None).await.expect("history");
    // Both stores keep microseconds.
    let micros = |t: chrono::DateTime<Utc>| t.timestamp_micros();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!((g.id, g.trigger, g.status, g.attempts), (c.id, Trigger::Manual, CheckStatus::Error, 4));
    assert_eq!((&g.message, &g.extra, &g.details, g.items), (&c.message, &c.extra, &c.details, c.items));
    assert_eq!((g.duration_ms, &g.replica), (Some(100), &c.replica));
    assert_eq!(micros(g.created_at), micros(c.created_at));
    assert_eq!(g.started_at.map(micros), c.started_at.map(micros));
    assert_eq!(g.reported_at.map(micros), c.reported_at.map(micros));
}

async fn history_pages_newest_first(b: Backend) {
    let store = b.store.as_ref();
    let s = store.create_source(&spec("a"), &json!({})).await.expect("create");
    for i in 0..7 {
        store.insert_check(&finished_check(s.id, Duration::from_secs(i * 10))).await.expect("insert");
    }
    let first = store.history(s.id, 3, None).await.expect("page 1");
    assert_eq!(first.len(), 3);
    let next = store.history(s.id, 3, Some(first[2].created_at)).await.expect("page 2");
    let last = store.history(s.id, 3, Some(next[2].created_at)).await.expect("page 3");
    assert_eq!((next.len(), last.len()), (3, 1));
    let all: Vec<_> = first.iter().chain(&next).chain(&last).map(|c| c.created_at).collect();
    assert!(all.windows(2).all(|w| w[0] > w[1]), "strictly newest first, no repeats: {all:?}");
}

async fn recovery_reads_find_unfinished_and_latest_checks(b: Backend) {
    let store = b.store.as_ref();
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let bs = store.create_source(&spec("b"), &json!({})).await.expect("b");
    let old = finished_check(a.id, Duration::from_secs(60));
    store.insert_check(&old).await.expect("old");
    let mut running = CheckRecord::new(a.id, Trigger::Manual, CheckStatus::Running);
    running.created_at = Utc::now();
    store.insert_check(&running).await.expect("running");
    let only_b = finished_check(bs.id, Duration::from_secs(5));
    store.insert_check(&only_b).await.expect("b");

    let unfinished: Vec<_> =
        store.unfinished_checks().await.expect("unfinished").into_iter().map(|c| c.id).collect();
    assert_eq!(unfinished, [running.id]);
    let mut latest: Vec<_> = store.latest_checks().await.expect("latest").into_iter().map(|c| c.id).collect();
    latest.sort();
    let mut want = vec![running.id, only_b.id];
    want.sort();
    assert_eq!(latest, want, "the newest of each source, finished or not");
    let mut finished: Vec<_> =
        store.latest_finished_checks().await.expect("finished").into_iter().map(|c| c.id).collect();
    finished.sort();
    let mut want = vec![old.id, only_b.id];
    want.sort();
    assert_eq!(finished, want, "the newest finished of each source");
    store.ping().await.expect("ping");
}

async fn outcome_counts_cover_finished_checks_in_the_window(b: Backend) {
    let store = b.store.as_ref();
    let s = store.create_source(&spec("a"), &json!({})).await.expect("a");
    for (age, status) in
        [(10, CheckStatus::Ok), (20, CheckStatus::Error), (30, CheckStatus::Ok), (4000, CheckStatus::Ok)]
    {
        let mut c = finished_check(s.id, Duration::from_secs(age));
        c.status = status;
        store.insert_check(&c).await.expect("insert");
    }
    store
        .insert_check(&CheckRecord::new(s.id, Trigger::Manual, CheckStatus::Scheduled))
        .await
        .expect("pending");
    let counts = store.outcome_counts(s.id, Utc::now() - chrono::Duration::hours(1)).await.expect("counts");
    assert_eq!((counts.ok, counts.finished), (2, 3));
}

async fn silences_are_stored_and_listed_until_they_end(b: Backend) {
    use sonde::alerts::silences::Silence;

    let store = b.store.as_ref();
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
