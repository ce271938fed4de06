//! On-demand checks of sources an agent serves (DESIGN §10): Unstructured's
//! connection check and Aitronos's test by id run in the source's
//! locations, not in the service, and answer what the agent found.

use std::time::Duration;

use serde_json::json;
use sonde_test_support::{closed_port, open_port};

use super::*;
use crate::serve::wait_for;

#[test]
fn on_demand_checks_run_where_the_source_is_checked() {
    let up = open_port();
    let down = closed_port();
    // A long interval: every check after the first is one asked for.
    let slow = |name: &str, port: u16| {
        tcp_source(name, "org_a", port, "\"site-a\"").replace("interval = \"300ms\"", "interval = \"1h\"")
    };
    let toml = format!("{}{}{}", keys_and_locations("30s"), slow("reachable", up), slow("unreachable", down));
    let serve = Serve::start(&toml);
    let agent = Agent::start(&serve.base, "site-a", "near", AGENT_A, &[], &[]);
    let id = source_id(&serve, ORG_A, "reachable");
    wait_check(&serve, &id, "the first check", Duration::from_secs(60), |c| c["status"] == "OK");

    // Unstructured: queued, then the agent's result under the same id.
    let path = format!("/api/v1/sources/{id}/connection-check");
    let (status, asked) = serve.call("POST", &path, ORG_A, None);
    assert_eq!((status, asked["status"].as_str()), (202, Some("SCHEDULED")), "{asked}");
    wait_for("the asked check's result", Duration::from_secs(20), || {
        let (_, latest) = serve.call("GET", &path, ORG_A, None);
        latest["id"] == asked["id"] && latest["status"] == "SUCCESS"
    });
    let ran =
        checks(&serve, &id).into_iter().find(|c| c["id"] == asked["id"]).expect("the asked check in history");
    assert_eq!(
        (ran["location"].as_str(), ran["replica"].as_str(), ran["trigger"].as_str()),
        (Some("site-a"), Some("near"), Some("manual")),
        "{ran}"
    );

    // Aitronos: the test by id waits for the agent's answer.
    let test = "/v1/organizations/org_a/knowledge/connectors/sources/test";
    for (name, want) in [("reachable", "succeeded"), ("unreachable", "failed")] {
        let sid = source_id(&serve, ORG_A, name);
        let (status, answer) = serve.call("POST", test, ORG_A, Some(&json!({"source_id": sid})));
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some(want)),
            "{name}: {answer}\n{}\n{}",
            agent.logs(),
            serve.logs()
        );
    }
}
