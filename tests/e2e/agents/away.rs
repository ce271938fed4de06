//! The service away for 20 s (DESIGN §10): the agent keeps checking at
//! the source's interval and its results arrive when the service is back,
//! in order, none lost (the buffer's bound is far above 20 s of checks).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sonde_test_support::open_port;

use super::*;

const AWAY: Duration = Duration::from_secs(20);
const INTERVAL_MS: i64 = 300;

#[test]
fn while_the_service_is_away_the_agent_checks_on_and_loses_nothing() {
    let port = open_port();
    // A lease longer than the outage: the claim is still the agent's when
    // the service returns.
    let toml = format!("{}{}", keys_and_locations("60s"), tcp_source("behind", "org_a", port, "\"site-a\""));
    let mut serve = Serve::start(&toml);
    let id = source_id(&serve, ORG_A, "behind");
    let agent = Agent::start(&serve.base, "site-a", "steady", AGENT_A, &[], &[]);
    wait_check(&serve, &id, "a first OK", Duration::from_secs(60), |c| c["status"] == "OK");

    let gone = Utc::now();
    serve.kill9_and_restart_after(AWAY, |_| {});
    let back = Utc::now();
    let started = |c: &Value| {
        DateTime::parse_from_rfc3339(c["started_at"].as_str().expect("as set up"))
            .expect("as set up")
            .with_timezone(&Utc)
    };
    // Results of the whole outage arrive, up to one made after it.
    crate::serve::wait_for("the outage's results", Duration::from_secs(30), || {
        checks(&serve, &id).iter().any(|c| started(c) > back)
    });
    let mut all: Vec<Value> = checks(&serve, &id);
    all.reverse(); // oldest first
    let during: Vec<&Value> = all.iter().filter(|c| started(c) > gone && started(c) < back).collect();
    let expected = (back - gone).num_milliseconds() / INTERVAL_MS;
    assert!(
        during.len() as i64 >= expected * 8 / 10,
        "{} checks during {:?} away, {expected} due: {}",
        during.len(),
        back - gone,
        agent.logs()
    );
    // None lost: no gap between consecutive checks much over an interval.
    for pair in all.windows(2) {
        let gap = (started(&pair[1]) - started(&pair[0])).num_milliseconds();
        assert!(
            gap < INTERVAL_MS * 4,
            "a gap of {gap} ms: results were lost ({:?} → {:?})",
            pair[0],
            pair[1]
        );
    }
    assert!(all.iter().all(|c| c["location"] == "site-a" && c["replica"] == "steady"));
}
