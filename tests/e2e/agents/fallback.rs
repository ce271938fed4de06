//! Leases (DESIGN §10): an agent killed with `kill -9` loses its claims
//! after one lease to another agent of its location; with no agent left,
//! the location's result is ERROR "no agent for location site-a", and the
//! alert route hears of it.

use std::time::{Duration, Instant};

use sonde_test_support::open_port;

use super::*;
use crate::alerts::receiver::Receiver;

const LEASE: Duration = Duration::from_secs(2);

#[test]
fn a_killed_agents_claims_move_and_with_none_left_the_location_errors() {
    let receiver = Receiver::start();
    let port = open_port();
    let toml = format!(
        "{}{}{}",
        keys_and_locations("2s"),
        tcp_source("behind", "org_a", port, "\"site-a\""),
        crate::alerts::webhook("ops", &receiver.url("/hook"), "failure_threshold = 1\nsuccess_threshold = 1"),
    );
    let serve = crate::alerts::serve(&toml);
    let id = source_id(&serve, ORG_A, "behind");
    let by = |agent: &'static str| move |c: &Value| c["replica"] == agent && c["status"] == "OK";

    let mut first = Agent::start(&serve.base, "site-a", "first", AGENT_A, &[], &[]);
    wait_check(&serve, &id, "an OK from the first agent", Duration::from_secs(60), by("first"));
    let mut second = Agent::start(&serve.base, "site-a", "second", AGENT_A, &[], &[]);
    std::thread::sleep(LEASE);
    assert!(
        checks(&serve, &id).iter().all(|c| c["replica"] != "second"),
        "one agent holds a claim at a time"
    );

    first.kill9();
    let killed = Instant::now();
    wait_check(&serve, &id, "the second agent's check", Duration::from_secs(20), by("second"));
    let moved = killed.elapsed();
    // One lease, the second's next poll (every poll_wait) and its first check.
    assert!(moved < LEASE * 2 + Duration::from_secs(1), "claims moved after {moved:?}: {}", second.logs());
    let no_agent = |c: &Value| c["message"] == "no agent for location site-a";
    assert!(!checks(&serve, &id).iter().any(no_agent), "a live agent stood by: no ERROR");

    second.kill9();
    let check = wait_check(&serve, &id, "ERROR: no agent", Duration::from_secs(20), no_agent);
    assert_eq!((check["status"].as_str(), check["location"].as_str()), (Some("ERROR"), Some("site-a")));
    crate::serve::wait_for("the route told", Duration::from_secs(20), || {
        receiver.all().iter().any(|r| {
            let body = r.json();
            body["event"] == "down" && body.to_string().contains("no agent for location site-a")
        })
    });
    assert!(second.logs().contains("agent started"));
    // The location's own status, beside the source's.
    let labels = "source=\"behind\",organization=\"org_a\",type=\"tcp\",location=\"site-a\"";
    let text = ureq::get(format!("{}/metrics", serve.base))
        .header("x-api-key", ADMIN)
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    let line = format!("sonde_source_location_status{{{labels}}} 2");
    assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
}
