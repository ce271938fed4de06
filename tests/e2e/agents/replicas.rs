//! Agents and a group of replicas (DESIGN §9, §10): two `sonde serve`
//! processes on one PostgreSQL database, an agent polling each. Claims go
//! through the store, so one agent holds a source whichever replica it
//! polls; the group reads the same results and combined outcomes
//! everywhere; a killed agent's claims move to the other within a lease;
//! with none left, the group records ERROR "no agent" once per lease, not
//! once per replica.

use std::time::Duration;

use serde_json::Value;
use sonde_test_support::open_port;
use sonde_test_support::pgdb::TestDatabase;

use super::*;

#[test]
fn a_group_of_replicas_serves_agents_through_the_store() {
    let Some(db) = TestDatabase::create() else { return };
    let port = open_port();
    let toml = format!(
        "store = \"{}\"\n[postgres]\nlease = \"2s\"\npoll = \"100ms\"\n{}{}{}",
        db.url(),
        keys_and_locations("2s"),
        tcp_source("behind", "org_a", port, "\"site-a\""),
        tcp_source("both", "org_a", port, "\"central\", \"site-a\""),
    );
    let r1 = Serve::start_with(&toml, |c| {
        c.args(["--replica-id", "r1"]);
    });
    let r2 = Serve::start_with(&toml, |c| {
        c.args(["--replica-id", "r2"]);
    });
    let behind = source_id(&r1, ORG_A, "behind");
    let both = source_id(&r2, ORG_A, "both");
    let mut one = Agent::start(&r1.base, "site-a", "one", AGENT_A, &[], &[]);
    let mut two = Agent::start(&r2.base, "site-a", "two", AGENT_A, &[], &[]);
    wait_check(&r2, &behind, "an agent's OK, read on the other replica", Duration::from_secs(60), |c| {
        c["status"] == "OK" && c["location"] == "site-a"
    });
    // One holder for the source, whichever replica each agent polls.
    std::thread::sleep(Duration::from_secs(2));
    let by: Vec<String> =
        checks(&r1, &behind).iter().filter_map(|c| c["replica"].as_str().map(String::from)).collect();
    let holder = by[0].clone();
    assert!(by.iter().all(|r| *r == holder), "one agent at a time: {by:?}");
    // Both replicas read the same combined outcome of `both`.
    wait_check(&r1, &both, "a combined outcome", Duration::from_secs(30), |c| c["location"] == "combined");
    for r in [&r1, &r2] {
        let (_, latest) = r.call("GET", &format!("/api/v1/sources/{both}/connection-check"), ORG_A, None);
        assert_eq!(latest["status"], "SUCCESS", "{latest}");
    }
    let locations: Vec<Value> = checks(&r2, &both).iter().map(|c| c["location"].clone()).collect();
    assert!(locations.contains(&"central".into()) && locations.contains(&"site-a".into()), "{locations:?}");

    // The holder dies: the other agent takes over within a lease or two.
    let (survivor, dead) = if holder == "one" { ("two", &mut one) } else { ("one", &mut two) };
    dead.kill9();
    wait_check(&r1, &behind, "the survivor's check", Duration::from_secs(15), |c| c["replica"] == survivor);

    // None left: ERROR "no agent", recorded by one replica per lease.
    one.kill9();
    two.kill9();
    let no_agent = |c: &Value| c["message"] == "no agent for location site-a";
    wait_check(&r2, &behind, "ERROR: no agent", Duration::from_secs(20), no_agent);
    std::thread::sleep(Duration::from_secs(6));
    let errors: Vec<Value> = checks(&r1, &behind).into_iter().filter(no_agent).collect();
    // Over ~6 s after the first, at one per 2 s lease: 4 at most, never one per replica per tick.
    assert!(errors.len() <= 5, "{} ERRORs: {errors:?}", errors.len());
}
