//! Agents and their claims in the store (DESIGN §10), on both backends:
//! one holder per (source, location); a lease that runs out hands the
//! claim over; the service's fallback holds what no agent serves; on-demand
//! requests ride on the claim; a source's placement round-trips; each
//! location's newest check is found, never a combined one; uptime and
//! charts of a source with combined checks read those alone.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sonde::model::{CheckRecord, CheckStatus, Placement, SourceSpec, Trigger};
use sonde::store::agents::{AgentSeen, Fallback};

use super::{Backend, spec};

pub async fn agent_claims_have_one_holder_and_move_when_a_lease_runs_out(b: Backend) {
    let store = &b.store;
    let placement = Placement::normalized(vec!["central".into(), "site-a".into()], 2).expect("as set up");
    let source = store
        .create_source(&SourceSpec { placement: placement.clone(), ..spec("a") }, &json!({}))
        .await
        .expect("as set up");
    assert_eq!(
        store.get_source(source.id).await.expect("as set up").expect("as set up").placement,
        placement,
        "placement round-trips"
    );
    assert!(spec("plain").placement.is_default());

    let now = Utc::now();
    let lease = Duration::from_secs(30);
    assert_eq!(
        store.take_claim(source.id, "site-a", "one", now, lease).await.expect("as set up"),
        Some(None)
    );
    assert_eq!(
        store.take_claim(source.id, "site-a", "two", now, lease).await.expect("as set up"),
        None,
        "held by one"
    );
    assert_eq!(
        store.take_claim(source.id, "site-a", "one", now, lease).await.expect("as set up"),
        Some(None),
        "renewed"
    );
    // Another location is another claim.
    assert_eq!(
        store.take_claim(source.id, "site-b", "two", now, lease).await.expect("as set up"),
        Some(None)
    );
    assert_eq!(holder(store, source.id, "site-a").await.as_deref(), Some("one"));
    // The lease runs out: the next taker has it, and the old holder does not.
    let later = now + chrono::Duration::seconds(31);
    assert_eq!(
        store.take_claim(source.id, "site-a", "two", later, lease).await.expect("as set up"),
        Some(None)
    );
    assert_eq!(holder(store, source.id, "site-a").await.as_deref(), Some("two"), "no longer one's");
    assert_eq!(store.take_claim(source.id, "site-a", "one", later, lease).await.expect("as set up"), None);

    // An on-demand request rides on the claim until its result clears it.
    let asked = uuid::Uuid::new_v4();
    store.request_run(source.id, "site-a", asked).await.expect("as set up");
    assert_eq!(
        store.take_claim(source.id, "site-a", "two", later, lease).await.expect("as set up"),
        Some(Some(asked))
    );
    store.clear_run(source.id, "site-a", uuid::Uuid::new_v4()).await.expect("as set up");
    assert_eq!(
        store.take_claim(source.id, "site-a", "two", later, lease).await.expect("as set up"),
        Some(Some(asked)),
        "another id clears nothing"
    );
    store.clear_run(source.id, "site-a", asked).await.expect("as set up");
    assert_eq!(
        store.take_claim(source.id, "site-a", "two", later, lease).await.expect("as set up"),
        Some(None)
    );

    // The fallback: a grace for a new claim, nothing while one is held,
    // the claim once its lease ran out; an agent takes it back at once.
    let c = store.create_source(&spec("c"), &json!({})).await.expect("as set up");
    assert_eq!(
        store.fallback_claim(c.id, "site-a", now, lease, lease).await.expect("as set up"),
        Fallback::Grace
    );
    assert_eq!(
        store.fallback_claim(c.id, "site-a", now, lease, lease).await.expect("as set up"),
        Fallback::Held
    );
    assert_eq!(
        store.fallback_claim(c.id, "site-a", later, lease, lease).await.expect("as set up"),
        Fallback::Expired
    );
    assert_eq!(
        store.fallback_claim(c.id, "site-a", later, lease, lease).await.expect("as set up"),
        Fallback::Held
    );
    assert_eq!(
        store.take_claim(c.id, "site-a", "one", later, lease).await.expect("as set up"),
        Some(None),
        "from the service"
    );
    assert_eq!(
        store.fallback_claim(c.id, "site-a", later, lease, lease).await.expect("as set up"),
        Fallback::Held
    );

    // Agents as they polled.
    let seen = |name: &str| AgentSeen {
        location: "site-a".into(),
        name: name.into(),
        organization: None,
        version: "1".into(),
        checks_per_second: 0.5,
        queue: 3,
        dropped: 1,
    };
    store.agent_seen(&seen("two"), later).await.expect("as set up");
    store.agent_seen(&seen("one"), now).await.expect("as set up");
    store.agent_seen(&AgentSeen { queue: 0, ..seen("one") }, later).await.expect("as set up");
    let agents = store.list_agents().await.expect("as set up");
    assert_eq!(agents.iter().map(|a| a.seen.name.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    assert_eq!((agents[0].seen.queue, agents[0].seen.dropped), (0, 1));
    assert!((agents[0].last_poll - later).num_milliseconds().abs() < 1);
}

/// Who holds the claim on `source` in `location`, as a poll reads it.
async fn holder(
    store: &std::sync::Arc<dyn sonde::store::Store>,
    source: uuid::Uuid,
    location: &str,
) -> Option<String> {
    let claims = store.location_claims(location).await.expect("claims");
    claims.into_iter().find(|c| c.source_id == source).map(|c| c.agent)
}

pub async fn the_newest_check_of_each_location_is_found(b: Backend) {
    let store = &b.store;
    let source = store.create_source(&spec("a"), &json!({})).await.expect("as set up");
    let check = |location: Option<&str>, status: CheckStatus, age_ms: i64| {
        let mut c = CheckRecord::new(source.id, Trigger::Schedule, status);
        c.location = location.map(String::from);
        c.created_at = Utc::now() - chrono::Duration::milliseconds(age_ms);
        c.reported_at = Some(c.created_at);
        c
    };
    let rows = [
        check(None, CheckStatus::Error, 3000),
        check(None, CheckStatus::Ok, 2000),
        check(Some("site-a"), CheckStatus::Timeout, 1500),
        check(Some("combined"), CheckStatus::Ok, 100),
        check(None, CheckStatus::Running, 50),
    ];
    for c in &rows {
        store.insert_check(c).await.expect("as set up");
    }
    assert!(store.check_status(rows[2].id).await.expect("as set up") == Some(CheckStatus::Timeout));
    assert!(store.check_status(uuid::Uuid::new_v4()).await.expect("as set up").is_none());
    let mut newest = store.newest_by_location(source.id).await.expect("as set up");
    newest.sort_by_key(|c| c.location.clone());
    let got: Vec<_> = newest.iter().map(|c| (c.location.as_deref(), c.status)).collect();
    assert_eq!(got, [(None, CheckStatus::Ok), (Some("site-a"), CheckStatus::Timeout)]);

    // A source with combined checks: its uptime and chart are theirs alone
    // (one here, OK), not its locations' (three more, two failed).
    let since = Utc::now() - chrono::Duration::hours(1);
    let counts = store.outcome_counts(source.id, since).await.expect("counts");
    assert_eq!((counts.finished, counts.ok), (1, 1), "{counts:?}");
    let points = store.chart_points(source.id, since, Utc::now(), 60).await.expect("chart");
    assert_eq!(points.iter().map(|p| p.status).collect::<Vec<_>>(), [CheckStatus::Ok]);
    // One without: every finished check counts, wherever it ran.
    let single = store.create_source(&spec("single"), &json!({})).await.expect("source");
    for (location, status) in [(None, CheckStatus::Ok), (Some("site-a"), CheckStatus::Error)] {
        let mut c = CheckRecord::new(single.id, Trigger::Schedule, status);
        c.location = location.map(String::from);
        store.insert_check(&c).await.expect("check");
    }
    let counts = store.outcome_counts(single.id, since).await.expect("counts");
    assert_eq!((counts.finished, counts.ok), (2, 1), "{counts:?}");
}
