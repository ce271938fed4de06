//! Opsgenie Alert API v2 (<https://docs.opsgenie.com/docs/alert-api>),
//! authenticated by `Authorization: GenieKey <key>` (added by
//! [`super::render`]). Valid requests are answered 202 and processed
//! asynchronously.
//!
//! - down, reminder: Create Alert, `POST /v2/alerts`, with the source id as
//!   `alias`: Opsgenie de-duplicates an open alert by alias, so a reminder
//!   raises its count instead of opening another.
//! - up: Close Alert, `POST /v2/alerts/{alias}/close?identifierType=alias`.
//!
//! Limits from that page: `message` 130 characters, `alias` 512, `entity`
//! 512, `description` 15,000, `source` 100, `tags` 20 of 50 characters,
//! `details` 8,000 in all, a close's `note` 25,000.

use serde_json::{Value, json};

use super::{Event, PayloadError, clip};
use crate::alerts::rules::EventKind;

/// Where to POST for `e`, and the body.
pub fn request(base: &http::Uri, e: &Event) -> Result<(http::Uri, Value), PayloadError> {
    let alias = e.source.id.to_string();
    let (path, body) = match e.event {
        EventKind::Down | EventKind::Reminder => ("/v2/alerts".to_string(), create(e, &alias)),
        EventKind::Up => (
            format!("/v2/alerts/{alias}/close?identifierType=alias"),
            json!({"source": "Sonde", "note": clip(&note(e), 25_000)}),
        ),
    };
    Ok((join(base, &path)?, body))
}

/// `base` (scheme, host, port and any path prefix of the route's `url`)
/// followed by `path`.
fn join(base: &http::Uri, path: &str) -> Result<http::Uri, PayloadError> {
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let prefix = base.path().trim_end_matches('/');
    format!("{scheme}://{authority}{prefix}{path}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| PayloadError::Url(e.to_string()))
}

fn create(e: &Event, alias: &str) -> Value {
    let s = &e.source;
    let mut details = serde_json::Map::new();
    for (k, v) in [
        ("organization", s.organization.as_str()),
        ("type", s.source_type.as_str()),
        ("status", e.status.as_str()),
        ("since", e.since.as_str()),
        ("route", e.route.as_str()),
        ("event", e.event.as_str()),
    ] {
        details.insert(k.into(), json!(clip(v, 500)));
    }
    details.insert("notification_id".into(), json!(e.id.to_string()));
    details.insert("check_id".into(), json!(e.check_id.to_string()));
    if let Some(error) = &e.error {
        details.insert("error".into(), json!(clip(error, 4000)));
    }
    json!({
        "message": clip(&format!("{} {}", s.name, e.what()), 130),
        "alias": alias,
        "description": clip(&e.summary(), 15_000),
        "details": details,
        "source": "Sonde",
        "entity": clip(&format!("{}/{}", s.organization, s.name), 512),
        "tags": ["sonde", clip(&s.organization, 50), clip(&s.source_type, 50)],
        // Opsgenie's default; the integration's own rules can raise it.
        "priority": "P3",
    })
}

fn note(e: &Event) -> String {
    format!("{} (Sonde notification {}, check {})", e.summary(), e.id, e.check_id)
}
