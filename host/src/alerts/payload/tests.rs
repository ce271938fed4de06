use std::collections::BTreeSet;

use super::*;
use crate::model::{CheckStatus, Trigger};

fn source() -> Source {
    Source { config: json!({"host": "127.0.0.1"}), ..Source::for_test("orders-db", "org_acme", "postgres") }
}

fn check(message: &str) -> CheckRecord {
    let mut c = CheckRecord::new(Uuid::new_v4(), Trigger::Schedule, CheckStatus::Error);
    c.message = Some(message.into());
    c
}

fn route(kind: Kind) -> Route {
    Route {
        name: "ops".into(),
        kind,
        url: "http://127.0.0.1:9/hook".parse().expect("uri"),
        secret: (kind == Kind::Webhook).then(|| b"s3cret-signing-key".to_vec()),
        routing_key: (kind == Kind::PagerDuty).then(|| "R0UT1NGKEY0123456789abcdefabcdef".to_string()),
        organization: None,
        failure_threshold: 3,
        success_threshold: 2,
        send_on_resolved: true,
        repeat_interval: None,
    }
}

fn event(kind: EventKind, message: &str) -> String {
    let now = Utc::now();
    serde_json::to_string(&Event::new(kind, "ops", &source(), &check(message), now, now)).expect("json")
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().expect("object").keys().map(String::as_str).collect()
}

#[test]
fn the_webhook_body_has_exactly_the_documented_fields() {
    let stored = event(EventKind::Down, "connection refused");
    let r = render(&route(Kind::Webhook), &stored).expect("render");
    assert_eq!(r.body, stored.as_bytes(), "the stored text is the body, byte for byte");
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    let want = ["id", "event", "route", "source", "status", "error", "check_id", "since", "timestamp"];
    assert_eq!(keys(&v), want.into_iter().collect());
    assert_eq!(keys(&v["source"]), ["id", "name", "organization", "type"].into_iter().collect());
    assert_eq!((v["event"].as_str(), v["status"].as_str()), (Some("down"), Some("ERROR")));
    assert_eq!(v["error"], "connection refused");
    assert!(Uuid::parse_str(v["id"].as_str().expect("id")).is_ok());
    for t in ["since", "timestamp"] {
        assert!(DateTime::parse_from_rfc3339(v[t].as_str().expect(t)).is_ok(), "{t}");
    }
}

#[test]
fn the_signature_is_the_hmac_of_the_body_and_only_verifies_with_the_secret() {
    let r = render(&route(Kind::Webhook), &event(EventKind::Up, "x")).expect("render");
    let header = r.headers.iter().find(|(n, _)| *n == "x-sonde-signature").map(|(_, v)| v.clone());
    let header = header.expect("signed");
    assert_eq!(header, signature(b"s3cret-signing-key", &r.body));
    assert_ne!(header, signature(b"another-key", &r.body));
    let unsigned = Route { secret: None, ..route(Kind::Webhook) };
    let r = render(&unsigned, &event(EventKind::Up, "x")).expect("render");
    assert!(r.headers.iter().all(|(n, _)| *n != "x-sonde-signature"), "no secret, no signature");
}

#[test]
fn a_slack_message_is_text_plus_blocks() {
    let r = render(&route(Kind::Slack), &event(EventKind::Down, "bad <@here> & worse")).expect("render");
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(keys(&v), ["text", "blocks"].into_iter().collect());
    let text = v["text"].as_str().expect("text");
    assert!(text.contains("orders-db") && text.contains("is down"), "{text}");
    assert!(
        text.contains("&lt;@here&gt; &amp; worse") && !text.contains("<@here>"),
        "mrkdwn escaped: {text}"
    );
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50, "Slack allows 50 blocks");
    for b in blocks {
        let kind = b["type"].as_str().expect("block type");
        assert!(["section", "context"].contains(&kind));
        match kind {
            "section" => {
                if let Some(t) = b.get("text") {
                    assert_eq!(t["type"], "mrkdwn");
                    assert!(t["text"].as_str().is_some_and(|s| s.len() <= 3000));
                }
                if let Some(fields) = b.get("fields") {
                    let fields = fields.as_array().expect("fields");
                    assert!(fields.len() <= 10, "Slack allows 10 fields");
                    assert!(fields.iter().all(|f| f["type"] == "mrkdwn" && f["text"].is_string()));
                }
            }
            _ => assert!(b["elements"].as_array().is_some_and(|e| e.iter().all(|e| e["type"] == "mrkdwn"))),
        }
    }
}

#[test]
fn a_pagerduty_event_follows_events_api_v2() {
    let down = render(&route(Kind::PagerDuty), &event(EventKind::Down, "timed out")).expect("render");
    let v: Value = serde_json::from_slice(&down.body).expect("json");
    assert_eq!(
        keys(&v),
        ["routing_key", "event_action", "dedup_key", "payload", "client"].into_iter().collect()
    );
    assert_eq!(v["routing_key"], "R0UT1NGKEY0123456789abcdefabcdef");
    assert_eq!(v["event_action"], "trigger");
    let stored: Value = serde_json::from_str(&event(EventKind::Down, "x")).expect("json");
    assert!(Uuid::parse_str(v["dedup_key"].as_str().expect("dedup_key")).is_ok());
    assert_ne!(v["dedup_key"], stored["id"], "dedup by source, not by notification");
    let p = &v["payload"];
    let want =
        ["summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"];
    assert_eq!(keys(p), want.into_iter().collect());
    assert!(p["summary"].as_str().is_some_and(|s| !s.is_empty() && s.len() <= 1024));
    assert_eq!(p["source"], "org_acme/orders-db");
    assert!(["critical", "error", "warning", "info"].contains(&p["severity"].as_str().expect("severity")));
    assert!(DateTime::parse_from_rfc3339(p["timestamp"].as_str().expect("timestamp")).is_ok());
    assert!(p["custom_details"].is_object());

    let up = render(&route(Kind::PagerDuty), &event(EventKind::Up, "x")).expect("render");
    let v: Value = serde_json::from_slice(&up.body).expect("json");
    assert_eq!(v["event_action"], "resolve");
    let reminder = render(&route(Kind::PagerDuty), &event(EventKind::Reminder, "x")).expect("render");
    let v: Value = serde_json::from_slice(&reminder.body).expect("json");
    assert_eq!(v["event_action"], "trigger");
}

#[test]
fn the_same_source_keeps_its_dedup_key() {
    let src = source();
    let now = Utc::now();
    let a = Event::new(EventKind::Down, "ops", &src, &check("x"), now, now);
    let b = Event::new(EventKind::Up, "ops", &src, &check("x"), now, now);
    assert_ne!(a.id, b.id, "each notification has its own id");
    assert_eq!(pagerduty(&a, "k")["dedup_key"], pagerduty(&b, "k")["dedup_key"]);
}

#[test]
fn no_route_secret_is_in_a_stored_event_or_a_webhook_body() {
    let stored = event(EventKind::Down, "x");
    assert!(!stored.contains("s3cret-signing-key") && !stored.contains("R0UT1NGKEY"));
    let r = render(&route(Kind::Webhook), &stored).expect("render");
    assert!(!String::from_utf8_lossy(&r.body).contains("s3cret"));
}
