//! Two `sonde serve` replicas on one PostgreSQL database (a fresh one for
//! the test): a session made on one is honoured by the other, and signing
//! out on the other ends it on both.

use super::{ADMIN, ORG_A, open_port, page, post, sign_in};
use crate::serve::Serve;
use sonde_test_support::pgdb::TestDatabase;

#[test]
fn a_session_made_on_one_replica_works_on_another_until_signed_out() {
    let Some(db) = TestDatabase::create() else { return };
    let toml = format!("store = \"{}\"\n{}", db.url(), super::toml(open_port(), true));
    let one = Serve::start_with(&toml, |c| {
        c.args(["--replica-id", "one"]);
    });
    let two = Serve::start_with(&toml, |c| {
        c.args(["--replica-id", "two"]);
    });

    let admin = sign_in(&one.base, ADMIN);
    let org = sign_in(&one.base, ORG_A);
    let there = page(&two.base, Some(&admin));
    assert!(there.signed_in() && there.body.contains("bravo-db"), "{there:?}\n{}", two.logs());
    let own = page(&two.base, Some(&org));
    assert!(own.signed_in() && own.body.contains("alpha-db") && !own.body.contains("bravo-db"), "{own:?}");

    // Signed out on the second, with the second's page's token.
    let out = post(&two.base, "/logout", Some(&admin), &[("csrf", &there.csrf())]);
    assert_eq!(out.status, 303, "{out:?}");
    assert!(!page(&one.base, Some(&admin)).signed_in(), "the first replica still honoured it");
    assert!(page(&one.base, Some(&org)).signed_in(), "the other session stays");

    // Only hashes are stored.
    let stored = db.query("SELECT token_hash || key_fingerprint || coalesce(organization, '') FROM sessions");
    let token = org.trim_start_matches("sonde_session=");
    assert!(!stored.is_empty() && !stored.contains(token) && !stored.contains(ORG_A), "{stored}");
}
