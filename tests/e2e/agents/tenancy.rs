//! Who may name which location, what an agent key reaches, and what an
//! agent may report (DESIGN §10), with two organizations and no key.

use serde_json::{Value, json};
use sonde_test_support::closed_port;

use super::*;
use crate::serve::Serve;

fn service() -> Serve {
    let port = closed_port();
    Serve::start(&format!(
        "{}{}{}{}",
        keys_and_locations("30s"),
        tcp_source("a-behind", "org_a", port, "\"site-a\""),
        tcp_source("b-behind", "org_b", port, "\"site-a\""),
        tcp_source("b-far", "org_b", port, "\"site-b\""),
    ))
}

fn claimed(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["claims"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    names.sort();
    names
}

#[test]
fn an_organization_names_only_locations_granted_to_it() {
    let serve = service();
    let body = |name: &str, locations: Value| json!({"name": name, "type": "tcp", "config": {"host": "127.0.0.1", "port": 1}, "locations": locations});
    for (key, locations, want) in [
        (ORG_A, json!(["site-a"]), 200),
        (ORG_A, json!(["central", "site-a"]), 200),
        (ORG_A, json!(["site-b"]), 422),
        (ORG_A, json!(["nowhere"]), 422),
        (ORG_B, json!(["site-b", "site-a"]), 200),
        (ORG_A, json!([]), 422),
        (ORG_A, json!(["Site A"]), 422),
    ] {
        let name =
            format!("s-{}", serve.call("GET", "/api/v1/sources", key, None).1.as_array().map_or(0, Vec::len));
        let (status, answer) =
            serve.call("POST", "/api/v1/sources", key, Some(&body(&name, locations.clone())));
        assert_eq!(status, want, "{key} {locations}: {answer}");
        if want == 422 {
            assert_eq!(answer["detail"][0]["loc"], json!(["body", "locations"]), "{answer}");
        }
    }
    // Another organization's location reads exactly as one that does not exist.
    let (_, theirs) = serve.call("POST", "/api/v1/sources", ORG_A, Some(&body("x", json!(["site-b"]))));
    let (_, none) = serve.call("POST", "/api/v1/sources", ORG_A, Some(&body("x", json!(["nowhere"]))));
    let msg = |v: &Value| v["detail"][0]["msg"].as_str().unwrap_or_default().replace("site-b", "nowhere");
    assert_eq!(msg(&theirs), msg(&none));
    // The quorum cannot ask for more locations than there are.
    let q = json!({"name": "q", "type": "tcp", "config": {"host": "127.0.0.1", "port": 1},
                   "locations": ["site-a"], "min_locations_failed": 2});
    let (status, answer) = serve.call("POST", "/api/v1/sources", ORG_A, Some(&q));
    assert_eq!((status, answer["detail"][0]["loc"].clone()), (422, json!(["body", "min_locations_failed"])));
}

#[test]
fn agent_keys_reach_the_agent_routes_and_nothing_else() {
    let serve = service();
    let id = source_id(&serve, ORG_A, "a-behind");
    for path in [
        "/api/v1/sources",
        "/v1/plugins",
        "/healthz/sources",
        "/v1/agents",
        &format!("/v1/sources/{id}/checks"),
    ] {
        let (status, body) = serve.call("GET", path, AGENT_A, None);
        assert_eq!(status, 403, "{path}: {body}");
    }
    let create = json!({"name": "mine", "type": "tcp", "config": {"host": "127.0.0.1", "port": 1}});
    assert_eq!(serve.call("POST", "/api/v1/sources", AGENT_A, Some(&create)).0, 403);
    assert_eq!(serve.call("DELETE", &format!("/api/v1/sources/{id}"), AGENT_A, None).0, 403);
    // And the agent routes answer agent keys alone.
    for key in [ADMIN, ORG_A] {
        assert_eq!(poll(&serve, key, "x").0, 403, "{key}");
    }
    assert_eq!(poll(&serve, "not-a-key-at-all", "x").0, 401);
    assert_eq!(poll(&serve, "", "x").0, 401);
    let (status, body) = poll(&serve, AGENT_A, "bad name!");
    assert_eq!((status, body["detail"][0]["loc"].clone()), (422, json!(["body", "name"])));
}

#[test]
fn an_agent_claims_only_its_location_and_its_organization() {
    let serve = service();
    // Bound to org_b: org_b's site-a source, never org_a's, never site-b's.
    let (status, body) = poll(&serve, AGENT_A_ORG_B, "bound");
    assert_eq!(status, 200, "{body}");
    assert_eq!(claimed(&body), ["b-behind"]);
    // Unbound: the rest of site-a (org_b's is held by the bound agent).
    let (_, body) = poll(&serve, AGENT_A, "free");
    assert_eq!(claimed(&body), ["a-behind"]);
    let (_, body) = poll(&serve, AGENT_B, "far");
    assert_eq!(claimed(&body), ["b-far"]);
    // Polling again keeps what each holds.
    assert_eq!(claimed(&poll(&serve, AGENT_A, "free").1), ["a-behind"]);
    assert_eq!(claimed(&poll(&serve, AGENT_A_ORG_B, "bound").1), ["b-behind"]);

    // Agents as each key sees them: org_a sees site-a's unbound agent
    // only; no key sees none.
    let names = |key: &str| {
        let (status, body) = serve.call("GET", "/v1/agents", key, None);
        assert_eq!(status, 200, "{body}");
        let mut n: Vec<String> = body["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["name"].as_str().expect("as set up").to_string())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(ADMIN), ["bound", "far", "free"]);
    assert_eq!(names(ORG_A), ["free"]);
    assert_eq!(names(ORG_B), ["bound", "far", "free"]);
    assert_eq!(serve.call("GET", "/v1/agents", "", None).0, 401);

    // The metric, per location and agent, for a key only.
    let metrics = |key: &str| {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut req = agent.get(format!("{}/metrics", serve.base));
        if !key.is_empty() {
            req = req.header("x-api-key", key);
        }
        req.call().expect("as set up").body_mut().read_to_string().expect("as set up")
    };
    let admin = metrics(ADMIN);
    assert!(
        admin.contains("sonde_agent_last_poll_timestamp_seconds{location=\"site-a\",agent=\"free\"}"),
        "{admin}"
    );
    assert!(!metrics(ORG_A).contains("agent=\"bound\""));
    assert!(!metrics("").contains("sonde_agent_last_poll_timestamp_seconds{"));

    // The status page lists them as the key sees them; a source's page
    // says where it is checked.
    use crate::session::{page, sign_in};
    let rows = |key: &str| {
        let body = page(&serve.base, Some(&sign_in(&serve.base, key))).body;
        ["bound", "far", "free"]
            .into_iter()
            .filter(|n| body.contains(&format!("data-agent=\"{n}\"")))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(ADMIN), ["bound", "far", "free"]);
    assert_eq!(rows(ORG_A), ["free"]);
    let id = source_id(&serve, ORG_A, "a-behind");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let cookie = sign_in(&serve.base, ORG_A);
    let source_page = agent
        .get(format!("{}/sources/{id}", serve.base))
        .header("cookie", &cookie)
        .call()
        .expect("as set up")
        .body_mut()
        .read_to_string()
        .expect("as set up");
    assert!(source_page.contains("data-location=\"site-a\""), "{source_page}");
}

#[test]
fn results_for_a_source_not_claimed_are_refused() {
    let serve = service();
    let a = source_id(&serve, ORG_A, "a-behind");
    assert_eq!(claimed(&poll(&serve, AGENT_A, "free").1), ["a-behind", "b-behind"]);
    let result = |check: &str| {
        json!({"check_id": check, "source_id": a, "status": "OK", "attempts": 1, "message": null, "extra": null,
               "details": null, "items": null, "started_at": "2026-12-06T00:00:00Z",
               "reported_at": "2026-12-06T00:00:01Z", "duration_ms": 1000})
    };
    let post = |key: &str, name: &str, check: &str| {
        serve.call("POST", "/v1/agent/results", key, Some(&json!({"name": name, "results": [result(check)]})))
    };
    let hostile = [
        (AGENT_B, "far", "00000000-0000-4000-8000-000000000001"),
        (AGENT_A_ORG_B, "bound", "00000000-0000-4000-8000-000000000002"),
        // The right key, another agent's name: the claim is "free"'s.
        (AGENT_A, "impostor", "00000000-0000-4000-8000-000000000003"),
    ];
    for (key, name, check) in hostile {
        let (status, body) = post(key, name, check);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], 0, "{name}: {body}");
        assert_eq!(body["refused"][0]["reason"], "this agent holds no claim on that source", "{body}");
    }
    assert!(checks(&serve, &a).is_empty(), "nothing recorded");
    // The holder's result is recorded once, however often it is sent.
    let own = "00000000-0000-4000-8000-000000000004";
    for _ in 0..2 {
        let (status, body) = post(AGENT_A, "free", own);
        assert_eq!((status, body["accepted"].clone()), (200, json!(1)), "{body}");
    }
    let recorded = checks(&serve, &a);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["location"], "site-a");
    assert_eq!(recorded[0]["replica"], "free");
}
