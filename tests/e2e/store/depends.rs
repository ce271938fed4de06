//! A source's `depends_on` through every path that writes or reads a
//! source: create, upsert (one and many), replace, get, list, and a group
//! claim (PostgreSQL). The store keeps what it is given; the rules
//! (same organization, no cycle) are the service's (`service::depends`).

use std::time::Duration;

use serde_json::json;
use sonde::model::{Policy, SourceSpec};

use super::{Backend, spec};

fn with_deps(name: &str, deps: &[&str]) -> SourceSpec {
    SourceSpec { depends_on: deps.iter().map(|d| d.to_string()).collect(), ..spec(name) }
}

pub async fn depends_on_round_trips_on_every_path(b: Backend) {
    let store = b.store.as_ref();
    let plain = store.create_source(&spec("switch"), &json!({})).await.expect("switch");
    assert!(plain.depends_on.is_empty(), "empty by default");
    let a = store.create_source(&with_deps("app", &["switch", "db"]), &json!({})).await.expect("app");
    assert_eq!(a.depends_on, ["switch", "db"], "order kept");
    let got = store.get_source(a.id).await.expect("get").expect("stored");
    assert_eq!(got.depends_on, ["switch", "db"]);
    let listed = store.list_sources().await.expect("list");
    let listed = listed.iter().find(|s| s.id == a.id).expect("listed");
    assert_eq!(listed.depends_on, ["switch", "db"]);

    // An upsert that changes nothing keeps `updated_at`; one that changes
    // only `depends_on` moves it.
    let same = store.upsert_source(&with_deps("app", &["switch", "db"]), &json!({})).await.expect("upsert");
    assert_eq!((same.id, same.updated_at), (a.id, a.updated_at));
    let moved = store.upsert_source(&with_deps("app", &["switch"]), &json!({})).await.expect("upsert");
    assert_eq!((moved.id, moved.depends_on.as_slice()), (a.id, &["switch".to_string()][..]));
    assert!(moved.updated_at > a.updated_at, "a changed depends_on is a change");

    let many = store
        .upsert_sources(&[(with_deps("db", &["switch"]), json!({})), (with_deps("app", &[]), json!({}))])
        .await
        .expect("upsert many");
    assert_eq!(many[0].depends_on, ["switch"]);
    assert!(many[1].depends_on.is_empty(), "cleared by an upsert");

    let replaced = store.replace_source(a.id, &with_deps("app", &["db"]), &json!({})).await.expect("replace");
    assert_eq!(replaced.depends_on, ["db"]);
    assert_eq!(store.get_source(a.id).await.expect("get").expect("stored").depends_on, ["db"]);

    if let Some(db) = &b.db {
        // A row written without the column (as before the migration) reads
        // as depending on nothing; the stored form is a JSON array.
        assert_eq!(
            db.query(&format!("SELECT depends_on::text FROM sources WHERE id = '{}'", a.id)),
            "[\"db\"]"
        );
        db.query(
            "INSERT INTO sources (id, organization, name, source_type, config, state, interval_ms, timeout_ms, \
             retries, retry_interval_ms, created_at, updated_at) VALUES (gen_random_uuid(), 'org_a', 'legacy', \
             'tcp', '{}', 'active', 60000, 10000, 3, 10000, now(), now())",
        );
        let legacy = store.list_sources().await.expect("list");
        let legacy = legacy.iter().find(|s| s.name == "legacy").expect("legacy row");
        assert!(legacy.depends_on.is_empty());
    }
    let Some(group) = store.group() else { return };
    // A claim carries the source as stored, dependencies included.
    let fast = Policy { interval: Duration::from_millis(100), ..Policy::default() };
    let due = store
        .create_source(&SourceSpec { policy: fast, ..with_deps("claimed", &["switch"]) }, &json!({}))
        .await
        .expect("claimed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let claims = group.claim_due("r1", Duration::from_secs(5), 100).await.expect("claim");
    let claim = claims.iter().find(|c| c.source.id == due.id).expect("claimed");
    assert_eq!(claim.source.depends_on, ["switch"]);
}
