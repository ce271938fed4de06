//! The group half of the PostgreSQL store on its own: claims, leases,
//! batched results, and the adoption of a dead replica's manual checks.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sonde::alerts::judge::Finished;
use sonde::alerts::outbox::AlertWrite;
use sonde::model::{CheckRecord, CheckStatus, Policy, SourceSpec, Trigger};

use super::alerts::Scripted;
use super::{Backend, spec};

/// The group half, PostgreSQL only: two replicas claiming at once get
/// disjoint checks; a claimed source is not due again while leased; a
/// finished check releases its lease and becomes the latest result; the
/// checks of a replica that stops renewing move, under their ids, to the
/// next claimer once its lease expires.
#[tokio::test]
async fn claims_are_disjoint_and_expired_leases_move() {
    let Some(b) = Backend::postgres().await else { return };
    let store = b.store.as_ref();
    let group = store.group().expect("PostgreSQL has a group");
    let fast = Policy { interval: Duration::from_millis(100), ..Policy::default() };
    for i in 0..20 {
        store
            .create_source(&SourceSpec { policy: fast, ..spec(&format!("s{i}")) }, &json!({}))
            .await
            .expect("create");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lease = Duration::from_secs(1);
    let (a, bb) = tokio::join!(group.claim_due("a", lease, 100), group.claim_due("b", lease, 100));
    let (a, bb) = (a.expect("claim a"), bb.expect("claim b"));
    let mut ids: Vec<_> = a.iter().chain(&bb).map(|c| c.source.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (ids.len(), a.len() + bb.len()),
        (20, 20),
        "every due source once: a {} b {}",
        a.len(),
        bb.len()
    );
    assert!(a.iter().chain(&bb).all(|c| !c.resumed && c.check.status == CheckStatus::Running));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(group.claim_due("c", lease, 100).await.expect("claim").is_empty(), "all leased");

    // a finishes its checks: released, latest; b renews, then goes silent.
    for claim in &a {
        let mut check = claim.check.clone();
        check.status = CheckStatus::Ok;
        check.reported_at = Some(Utc::now());
        group.finish("a", &check).await.expect("finish");
    }
    assert_eq!(group.renew("b", lease).await.expect("renew"), bb.len() as u64);
    let health = group.health_all().await.expect("health");
    for claim in &a {
        let h = &health[&claim.source.id];
        assert_eq!(h.last.as_ref().map(|c| c.id), Some(claim.check.id));
        assert!(h.current.is_none());
    }
    for claim in &bb {
        assert_eq!(health[&claim.source.id].current.as_ref().map(|c| c.id), Some(claim.check.id));
    }
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let c = group.claim_due("c", lease, 100).await.expect("claim c");
    let resumed: Vec<_> = c.iter().filter(|c| c.resumed).map(|c| c.check.id).collect();
    let mut want: Vec<_> = bb.iter().map(|c| c.check.id).collect();
    let mut got = resumed.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "b's checks are taken over under their own ids");
    assert_eq!(c.len(), 20, "a's sources were due again, b's taken over");
    // All of c's results in one statement; each replaces an OK or nothing.
    let done: Vec<CheckRecord> = c
        .iter()
        .map(|claim| CheckRecord {
            status: CheckStatus::Ok,
            reported_at: Some(Utc::now()),
            ..claim.check.clone()
        })
        .collect();
    let items: Vec<Finished> =
        c.iter().zip(&done).map(|(claim, check)| Finished { source: &claim.source, check }).collect();
    let no_routes = Scripted(AlertWrite::default());
    let (previous, _) = group.finish_many(&items, &no_routes).await.expect("finish many");
    assert_eq!(previous.len(), 20);
    for (claim, previous) in c.iter().zip(&previous) {
        let was_a = a.iter().any(|x| x.source.id == claim.source.id);
        assert_eq!(*previous, was_a.then_some(CheckStatus::Ok), "{}", claim.source.name);
    }
    assert!(store.unfinished_checks().await.expect("unfinished").is_empty(), "nothing left RUNNING");
    let db = b.db.as_ref().expect("db");
    assert_eq!(db.query("SELECT count(*) FROM schedule WHERE lease_owner IS NOT NULL"), "0");
    // Each of b's sources has one check, run twice, not two checks.
    for claim in &bb {
        assert_eq!(store.history(claim.source.id, 10, None).await.expect("history").len(), 1);
    }
}

/// A manual check whose replica stops renewing is adopted, once, by a live
/// replica; one whose replica is alive is left alone.
#[tokio::test]
async fn the_manual_checks_of_a_dead_replica_are_adopted() {
    let Some(b) = Backend::postgres().await else { return };
    let store = b.store.as_ref();
    let group = store.group().expect("group");
    let lease = Duration::from_millis(500);
    let s = store.create_source(&spec("a"), &json!({})).await.expect("create");
    group.renew("alive", Duration::from_secs(60)).await.expect("renew alive");
    group.renew("dying", lease).await.expect("renew dying");
    group.renew("c", Duration::from_secs(60)).await.expect("renew c");
    let mut mine = CheckRecord::new(s.id, Trigger::Manual, CheckStatus::Running);
    mine.replica = Some("alive".into());
    let mut theirs = CheckRecord::new(s.id, Trigger::Manual, CheckStatus::Scheduled);
    theirs.replica = Some("dying".into());
    store.insert_check(&mine).await.expect("insert");
    store.insert_check(&theirs).await.expect("insert");
    assert!(group.adopt_orphans("c", lease, 10).await.expect("adopt").is_empty(), "dying still renews");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let adopted = group.adopt_orphans("c", lease, 10).await.expect("adopt");
    assert_eq!(adopted.iter().map(|c| c.check.id).collect::<Vec<_>>(), [theirs.id]);
    assert_eq!(adopted[0].source.id, s.id);
    assert!(group.adopt_orphans("d", lease, 10).await.expect("adopt").is_empty(), "adopted once");
}
