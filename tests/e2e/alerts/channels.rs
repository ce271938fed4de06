//! Teams and Opsgenie through the real `sonde serve`. The receiver is a
//! loopback [`Receiver`] that checks each vendor's documented shape (a
//! Teams Workflows webhook's Adaptive Card message; Opsgenie's Alert API
//! v2 create and close-by-alias): it stands in for the vendors, it is not
//! them.

use std::time::Duration;

use serde_json::Value;

use super::receiver::Receiver;
use super::{ADMIN, Target, call, env, metric, sources};

const GENIE_KEY: &str = "genie-key-0f1e2d3c4b5a";
const GENIE_ENV: &str = "SONDE_TEST_GENIE_KEY";
/// A Workflows URL carries its signature in the query: a credential.
const TEAMS_PATH: &str = "/workflows/0f1e/triggers/manual/paths/invoke?api-version=1&sig=TEAMS-SIG-0123";

#[test]
fn teams_and_opsgenie_receive_their_documented_shapes() {
    let target = Target::start();
    let receiver = Receiver::start();
    // Both services answer 202 Accepted.
    receiver.answer(202);
    let routes = format!(
        "[[alerts]]\nname = \"chat\"\ntype = \"teams\"\nurl = \"{}\"\nfailure_threshold = 1\nsuccess_threshold = 1\n\n\
         [[alerts]]\nname = \"genie\"\ntype = \"opsgenie\"\nurl = \"{}\"\napi_key_env = \"{GENIE_ENV}\"\n\
         failure_threshold = 1\nsuccess_threshold = 1\n",
        receiver.url(TEAMS_PATH),
        receiver.url(""),
    );
    let sonde = crate::serve::Serve::start_with(
        &format!("{}{routes}", sources(&[("orders-db", "org_acme", &target)])),
        |c| {
            env(c);
            c.env(GENIE_ENV, GENIE_KEY);
        },
    );
    let (_, list) = call(&sonde, "GET", "/api/v1/sources", ADMIN, None);
    let source_id = list[0]["id"].as_str().expect("source id").to_string();
    target.down();
    receiver.wait("both downs", Duration::from_secs(10), |r| r.len() >= 2);
    target.up();
    receiver.wait("both ups", Duration::from_secs(10), |r| r.len() >= 4);
    std::thread::sleep(Duration::from_millis(500));
    let got = receiver.delivered();
    let teams: Vec<_> = got.iter().filter(|r| r.path == TEAMS_PATH).collect();
    let genie: Vec<_> = got.iter().filter(|r| r.path.starts_with("/v2/alerts")).collect();
    assert_eq!((teams.len(), genie.len()), (2, 2), "{got:#?}");

    // Teams: {"type":"message","attachments":[{contentType, contentUrl: null, content: AdaptiveCard}]}.
    for (r, what) in teams.iter().zip(["orders-db is down", "orders-db is up again"]) {
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v = r.json();
        assert_eq!(v["type"], "message", "{v}");
        let attachments = v["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0]["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(attachments[0]["contentUrl"], Value::Null);
        let card = &attachments[0]["content"];
        assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
        let body = card["body"].as_array().expect("card body");
        assert!(body[0]["text"].as_str().is_some_and(|t| t.contains(what)), "{what}: {}", body[0]);
    }

    // Opsgenie: create with the source id as alias, then close by alias.
    let (create, close) = (genie[0], genie[1]);
    for r in [create, close] {
        assert_eq!(r.header("authorization"), Some(format!("GenieKey {GENIE_KEY}").as_str()));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert_eq!(create.path, "/v2/alerts");
    let c = create.json();
    assert_eq!(c["alias"], source_id.as_str());
    assert!(c["message"].as_str().is_some_and(|m| m.len() <= 130 && m.contains("orders-db is down")), "{c}");
    assert_eq!((c["source"].as_str(), c["entity"].as_str()), (Some("Sonde"), Some("org_acme/orders-db")));
    assert!(c["details"].as_object().is_some_and(|d| d.values().all(Value::is_string)), "{c}");
    assert!(c["tags"].as_array().is_some_and(|t| t.len() <= 20));
    assert_eq!(close.path, format!("/v2/alerts/{source_id}/close?identifierType=alias"));
    let v = close.json();
    assert_eq!(v["source"], "Sonde");
    assert!(v["note"].as_str().is_some_and(|n| n.contains("is up again")), "{v}");

    for route in ["chat", "genie"] {
        let labels = format!("route=\"{route}\",outcome=\"sent\"");
        assert_eq!(metric(&sonde, "sonde_notifications_total", &labels), Some(2.0), "{route}");
    }
    let logs = sonde.logs();
    assert!(
        !logs.contains(GENIE_KEY) && !logs.contains("TEAMS-SIG") && !logs.contains("/workflows/"),
        "{logs}"
    );
    for body in got.iter().map(|r| String::from_utf8_lossy(&r.body).to_string()) {
        assert!(!body.contains(GENIE_KEY) && !body.contains("TEAMS-SIG"), "no secret in a body: {body}");
    }
}
