//! The payload shapes, channel by channel: the documented fields, the
//! escaping, and that no route secret reaches a body.
//!
//! - here: webhook, Slack and PagerDuty, one event each;
//! - [`channels`]: e-mail, Teams and Opsgenie, one event each;
//! - [`batches`]: a batch, for every channel that takes one.

mod batches;
mod channels;

use std::collections::BTreeSet;

use serde_json::json;

use super::*;
use crate::alerts::route::{Kind, Security, Smtp};
use crate::model::{CheckStatus, Trigger};

pub(super) fn source() -> Source {
    Source { config: json!({"host": "127.0.0.1"}), ..Source::for_test("orders-db", "org_acme", "postgres") }
}

pub(super) fn check(message: &str) -> CheckRecord {
    let mut c = CheckRecord::new(Uuid::new_v4(), Trigger::Schedule, CheckStatus::Error);
    c.message = Some(message.into());
    c
}

pub(super) const SIGNING_KEY: &[u8] = b"s3cret-signing-key";
pub(super) const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefabcdef";
pub(super) const GENIE_KEY: &str = "genie-key-0123456789abcdef";
pub(super) const SMTP_PASSWORD: &str = "smtp-pa55word";

/// A route of `kind` with every secret its type takes.
pub(super) fn route(kind: Kind) -> Route {
    let url: http::Uri = "http://127.0.0.1:9/hook".parse().expect("uri");
    let channel = match kind {
        Kind::Webhook => Channel::Webhook { url, secret: Some(SIGNING_KEY.to_vec()) },
        Kind::Slack => Channel::Slack { url },
        Kind::Teams => Channel::Teams { url },
        Kind::PagerDuty => Channel::PagerDuty { url, routing_key: ROUTING_KEY.into() },
        Kind::Opsgenie => Channel::Opsgenie {
            url: "https://api.eu.opsgenie.com".parse().expect("uri"),
            api_key: GENIE_KEY.into(),
        },
        Kind::Email => Channel::Email(Box::new(Smtp {
            host: "127.0.0.1".into(),
            port: 2525,
            security: Security::StartTls,
            credentials: Some(("alerts".into(), SMTP_PASSWORD.into())),
            from: "Sonde <sonde@example.com>".parse().expect("from"),
            to: vec!["ops@example.com".parse().expect("to")],
        })),
    };
    Route::new("ops", channel)
}

pub(super) fn event(kind: EventKind, message: &str) -> String {
    let now = Utc::now();
    serde_json::to_string(&Event::new(kind, "ops", &source(), &check(message), now, now)).expect("json")
}

pub(super) fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().expect("object").keys().map(String::as_str).collect()
}

/// The HTTP request `kind`'s route makes of `stored`.
pub(super) fn post(kind: Kind, stored: &str) -> HttpRequest {
    match render(&route(kind), stored).expect("render") {
        Outgoing::Http(r) => r,
        Outgoing::Mail(m) => panic!("{kind:?} rendered a mail: {m:?}"),
    }
}

pub(super) fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

#[test]
fn the_webhook_body_has_exactly_the_documented_fields() {
    let stored = event(EventKind::Down, "connection refused");
    let r = post(Kind::Webhook, &stored);
    assert_eq!(r.body, stored.as_bytes(), "the stored text is the body, byte for byte");
    assert_eq!(header(&r, "x-sonde-event"), Some("down"));
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
    let r = post(Kind::Webhook, &event(EventKind::Up, "x"));
    let signed = header(&r, "x-sonde-signature").expect("signed");
    assert_eq!(signed, signature(SIGNING_KEY, &r.body));
    assert_ne!(signed, signature(b"another-key", &r.body));
    let unsigned = Route::new("ops", Channel::Webhook { url: r.url.clone(), secret: None });
    let Ok(Outgoing::Http(r)) = render(&unsigned, &event(EventKind::Up, "x")) else { panic!("a POST") };
    assert!(r.headers.iter().all(|(n, _)| *n != "x-sonde-signature"), "no secret, no signature");
}

#[test]
fn a_slack_message_is_text_plus_blocks() {
    let r = post(Kind::Slack, &event(EventKind::Down, "bad <@here> & worse"));
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
    let down = post(Kind::PagerDuty, &event(EventKind::Down, "timed out"));
    let v: Value = serde_json::from_slice(&down.body).expect("json");
    assert_eq!(
        keys(&v),
        ["routing_key", "event_action", "dedup_key", "payload", "client"].into_iter().collect()
    );
    assert_eq!(v["routing_key"], ROUTING_KEY);
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

    let up = post(Kind::PagerDuty, &event(EventKind::Up, "x"));
    let v: Value = serde_json::from_slice(&up.body).expect("json");
    assert_eq!(v["event_action"], "resolve");
    let reminder = post(Kind::PagerDuty, &event(EventKind::Reminder, "x"));
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
    assert_eq!(pagerduty::event(&a, "k")["dedup_key"], pagerduty::event(&b, "k")["dedup_key"]);
}

#[test]
fn no_route_secret_is_in_a_stored_event_or_a_webhook_body() {
    let stored = event(EventKind::Down, "x");
    assert!(!stored.contains("s3cret-signing-key") && !stored.contains("R0UT1NGKEY"));
    let r = post(Kind::Webhook, &stored);
    assert!(!String::from_utf8_lossy(&r.body).contains("s3cret"));
}

#[test]
fn debug_output_shows_no_url_and_no_secret() {
    for kind in [Kind::Webhook, Kind::Slack, Kind::PagerDuty, Kind::Teams, Kind::Opsgenie, Kind::Email] {
        let r = route(kind);
        let shown = format!("{r:?} {:?}", r.channel);
        for secret in ["s3cret", ROUTING_KEY, GENIE_KEY, SMTP_PASSWORD, "127.0.0.1", "opsgenie.com", "/hook"]
        {
            assert!(!shown.contains(secret), "{kind:?} shows {secret}: {shown}");
        }
        assert!(shown.contains(kind.as_str()), "{shown}");
        if let Ok(Outgoing::Http(req)) = render(&r, &event(EventKind::Down, "x")) {
            let shown = format!("{req:?}");
            assert!(!shown.contains(GENIE_KEY) && !shown.contains("/hook"), "{shown}");
        }
    }
}
