//! The status page's sessions in the store, on both backends: found by the
//! token's hash until they expire or are deleted, with every field kept;
//! the expired ones cleared by the next sign-in; an organization's oldest
//! pushed out beyond the cap, and no one else's.

use chrono::{Duration, DurationRound, Utc};
use sonde::store::Session;
use sonde::store::sessions::MAX_PER_ORGANIZATION;

use super::Backend;

fn session(hash: &str, organization: Option<&str>, expires_in: Duration) -> Session {
    // Whole microseconds: what both backends keep.
    let now = Utc::now().duration_trunc(Duration::microseconds(1)).expect("trunc");
    Session {
        token_hash: hash.into(),
        key_fingerprint: format!("fp-{hash}"),
        organization: organization.map(String::from),
        created_at: now,
        last_seen_at: now,
        expires_at: now + expires_in,
    }
}

async fn sessions_live_until_they_expire_or_end(b: Backend) {
    let store = b.store.as_ref();
    let admin = session("h-admin", None, Duration::hours(12));
    let org = session("h-org", Some("org_a"), Duration::hours(12));
    store.create_session(&admin).await.expect("create");
    store.create_session(&org).await.expect("create");
    let now = Utc::now();
    assert_eq!(store.find_session("h-admin", now).await.expect("find"), Some(admin.clone()));
    assert_eq!(store.find_session("h-org", now).await.expect("find"), Some(org.clone()));
    assert_eq!(store.find_session("h-nobody", now).await.expect("find"), None);
    assert!(store.create_session(&admin).await.is_err(), "a token hash is unique");

    // Expiry is absolute: past `expires_at` the session is not found.
    assert_eq!(store.find_session("h-org", org.expires_at).await.expect("find"), None);

    // Touching moves `last_seen_at` forward only.
    let later = admin.last_seen_at + Duration::minutes(5);
    store.touch_session("h-admin", later).await.expect("touch");
    store.touch_session("h-admin", admin.last_seen_at).await.expect("touch back");
    let seen = store.find_session("h-admin", now).await.expect("find").expect("there");
    assert_eq!(seen.last_seen_at, later);

    // Deleting ends it once.
    assert!(store.delete_session("h-admin").await.expect("delete"));
    assert!(!store.delete_session("h-admin").await.expect("delete again"));
    assert_eq!(store.find_session("h-admin", now).await.expect("find"), None);

    // A sign-in clears the sessions expired by then.
    let mut gone = session("h-gone", Some("org_b"), Duration::seconds(1));
    gone.created_at -= Duration::hours(1);
    gone.expires_at -= Duration::hours(1);
    store.create_session(&gone).await.expect("create expired");
    store.create_session(&session("h-next", None, Duration::hours(12))).await.expect("create");
    let far_past = gone.created_at - Duration::hours(1);
    assert_eq!(
        store.find_session("h-gone", far_past).await.expect("find"),
        None,
        "deleted, not just expired"
    );
    assert!(store.find_session("h-org", now).await.expect("find").is_some(), "a live one stays");
}

async fn an_organization_keeps_its_newest_sessions_up_to_the_cap(b: Backend) {
    let store = b.store.as_ref();
    let admin = session("h-admin", None, Duration::hours(12));
    store.create_session(&admin).await.expect("admin");
    let other = session("h-other", Some("org_b"), Duration::hours(12));
    store.create_session(&other).await.expect("other");
    let base = Utc::now().duration_trunc(Duration::microseconds(1)).expect("trunc");
    for i in 0..=MAX_PER_ORGANIZATION {
        let mut s = session(&format!("h-{i:03}"), Some("org_a"), Duration::hours(12));
        s.created_at = base + Duration::milliseconds(i64::from(i));
        store.create_session(&s).await.expect("create");
    }
    let now = Utc::now();
    assert_eq!(store.find_session("h-000", now).await.expect("find"), None, "the oldest went");
    for kept in ["h-001", &format!("h-{MAX_PER_ORGANIZATION:03}"), "h-admin", "h-other"] {
        assert!(store.find_session(kept, now).await.expect("find").is_some(), "{kept}");
    }
}

both_backends!(
    sessions_live_until_they_expire_or_end,
    an_organization_keeps_its_newest_sessions_up_to_the_cap
);
