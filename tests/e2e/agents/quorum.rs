//! Quorum (DESIGN §10): a source checked from `central` and `site-a`,
//! which disagree: the listener is on this machine's loopback, which the
//! agent inside `site-a` does not share. With `min_locations_failed = 2`
//! the combined outcome is OK and no alert goes out; with 1 it is down,
//! named after `site-a`, and the route is told. Each location's checks
//! stay in history, with their location.

use std::time::Duration;

use serde_json::Value;
use sonde_test_support::open_port;

use super::site::{TlsService, site_or_skip};
use super::*;
use crate::alerts::receiver::Receiver;
use crate::serve::wait_for;

#[test]
fn min_locations_failed_decides_the_outcome_and_the_alerts() {
    let Some(site) = site_or_skip() else { return };
    let port = open_port();
    let receiver = Receiver::start();
    let source = |name: &str, min: u32| {
        tcp_source(name, "org_a", port, "\"central\", \"site-a\"")
            + &format!("min_locations_failed = {min}\n")
    };
    let toml = format!(
        "{}{}{}{}",
        keys_and_locations("5s"),
        source("needs-two", 2),
        source("needs-one", 1),
        crate::alerts::webhook("ops", &receiver.url("/hook"), "failure_threshold = 1\nsuccess_threshold = 1"),
    );
    let service = TlsService::start(&site, &toml, &[(crate::alerts::SECRET_ENV, crate::alerts::SECRET)]);
    let _agent = Agent::start(&service.base, "site-a", "inside", AGENT_A, &service.ca_arg(), &site.exec());
    let (two, one) = (service.source_id(ORG_A, "needs-two"), service.source_id(ORG_A, "needs-one"));

    let history = |id: &str| -> Vec<Value> {
        let (_, body) = service.get(&format!("/v1/sources/{id}/checks?limit=1000"), ADMIN);
        body["checks"].as_array().cloned().unwrap_or_default()
    };
    // Both locations have spoken for both sources: central OK, site-a not.
    for id in [&two, &one] {
        wait_for("both locations' checks", Duration::from_secs(60), || {
            let h = history(id);
            h.iter().any(|c| c["location"] == "central" && c["status"] == "OK")
                && h.iter().any(|c| c["location"] == "site-a" && c["status"] == "ERROR")
                && h.iter().any(|c| c["location"] == "combined")
        });
    }
    let newest_combined =
        |id: &str| history(id).into_iter().find(|c| c["location"] == "combined").expect("as set up");
    // Quorum 2: one failing location is not enough.
    let c = newest_combined(&two);
    assert_eq!(c["status"], "OK", "{c}");
    assert!(c["extra"].as_str().unwrap_or_default().contains("1 of 2 locations failing (site-a)"), "{c}");
    // Quorum 1: down, as site-a saw it.
    let c = newest_combined(&one);
    assert_eq!(c["status"], "ERROR", "{c}");
    assert!(c["extra"].as_str().unwrap_or_default().starts_with("location site-a"), "{c}");

    // The seeds' routes read the combined outcome.
    let latest =
        |id: &str| service.get(&format!("/api/v1/sources/{id}/connection-check"), ORG_A).1["status"].clone();
    assert_eq!(latest(&two), "SUCCESS");
    assert_eq!(latest(&one), "FAILURE");

    // The route is told of needs-one alone.
    wait_for("needs-one's down", Duration::from_secs(20), || {
        receiver
            .all()
            .iter()
            .any(|r| r.json()["event"] == "down" && r.json()["source"]["name"] == "needs-one")
    });
    std::thread::sleep(Duration::from_secs(2));
    let told: Vec<Value> = receiver.all().iter().map(|r| r.json()).collect();
    assert!(!told.iter().any(|t| t["source"]["name"] == "needs-two"), "no alert for needs-two: {told:?}");
}
