//! Reach (DESIGN §10): a listener only a network namespace `site-a` can
//! reach, the service outside it, and an agent inside it that reaches the
//! service over a veth pair the test makes, with HTTPS under the test's
//! CA. The source, placed in `site-a`, is OK; the service's own attempt
//! (`sonde check` outside) fails.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use sonde_test_support::closed_port;

use super::site::{TlsService, listener_in, site_or_skip};
use super::*;
use crate::serve::wait_for;

#[test]
fn an_agent_inside_a_namespace_checks_what_the_service_cannot_reach() {
    let Some(site) = site_or_skip() else { return };
    let port = closed_port();
    let mut listener = listener_in(&site, port);
    let toml = format!("{}{}", keys_and_locations("5s"), tcp_source("behind", "org_a", port, "\"site-a\""));
    let service = TlsService::start(&site, &toml, &[]);

    // The service itself cannot reach the listener: its 127.0.0.1 is not
    // the namespace's.
    let outside = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["check", "--type", "tcp", "--config", &json!({"host": "127.0.0.1", "port": port}).to_string()])
        .output()
        .expect("sonde check");
    assert_eq!(outside.status.code(), Some(1), "{}", String::from_utf8_lossy(&outside.stdout));

    let wrap = site.exec();
    let agent = Agent::start(&service.base, "site-a", "inside", AGENT_A, &service.ca_arg(), &wrap);
    let id = service.source_id(ORG_A, "behind");
    let mut ok = Value::Null;
    wait_for("an OK from inside site-a", Duration::from_secs(60), || {
        let (_, body) = service.get(&format!("/v1/sources/{id}/checks"), ADMIN);
        ok = body["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["status"] == "OK")
            .cloned()
            .unwrap_or_default();
        !ok.is_null()
    });
    assert_eq!((ok["location"].as_str(), ok["replica"].as_str()), (Some("site-a"), Some("inside")), "{ok}");
    // The seeds' routes see it: Unstructured's latest check succeeded.
    let (_, latest) = service.get(&format!("/api/v1/sources/{id}/connection-check"), ORG_A);
    assert_eq!(latest["status"], "SUCCESS", "{latest}");
    let (_, agents) = service.get("/v1/agents", ADMIN);
    assert_eq!(agents["agents"][0]["name"], "inside", "{agents}");
    assert!(!agent.logs().contains(AGENT_A), "the key is never logged");
    assert!(!service.logs().contains(AGENT_A), "the key is never logged");

    // An agent that would send its key in the clear beyond loopback stops.
    let plain = service.base.replace("https://", "http://");
    let mut clear = Agent::start(&plain, "site-a", "clear", AGENT_A, &[], &wrap);
    wait_for("the plain-HTTP agent to refuse", Duration::from_secs(10), || !clear.alive());
    assert!(clear.logs().contains("plain http only to loopback"), "{}", clear.logs());
    // And an agent without the test's CA does not trust the service.
    let mut untrusting = Agent::start(&service.base, "site-a", "untrusting", AGENT_A, &[], &wrap);
    std::thread::sleep(Duration::from_secs(3));
    assert!(untrusting.alive(), "it waits for the service, checking nothing");
    assert!(untrusting.logs().to_lowercase().contains("certificate"), "{}", untrusting.logs());

    let _ = listener.kill();
    let _ = listener.wait();
}
