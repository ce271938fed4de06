//! What a receiver gets, per route type.
//!
//! One [`Event`] is built when a notification is created and stored as its
//! JSON text; that text *is* the webhook body, and Slack's and PagerDuty's
//! bodies are rendered from it at send time. So every retry sends the same
//! bytes (the HMAC stays valid, the `id` stays stable), and the PagerDuty
//! routing key, a secret, is never written to the store.
//!
//! No secret can reach a payload: the source's config is not in it, and
//! `error` is the check's message, which the runtime has already scrubbed of
//! the source's `writeOnly` values.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::route::{Kind, Route};
use super::rules::EventKind;
use super::sign::signature;
use crate::model::{CheckRecord, Source};

/// The source an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub id: Uuid,
    pub name: String,
    pub organization: String,
    #[serde(rename = "type")]
    pub source_type: String,
}

/// The webhook body, field for field (DESIGN §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Stable across retries: receivers de-duplicate by it.
    pub id: Uuid,
    pub event: EventKind,
    pub route: String,
    pub source: SourceRef,
    /// The check's status: `OK`, `TIMEOUT`, `ERROR`, `FAILED`.
    pub status: String,
    /// The check's message, `null` when OK.
    pub error: Option<String>,
    pub check_id: Uuid,
    /// When the source went down (or came back up).
    pub since: String,
    /// When this notification was created.
    pub timestamp: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Event {
    pub fn new(
        kind: EventKind,
        route: &str,
        source: &Source,
        check: &CheckRecord,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            event: kind,
            route: route.to_string(),
            source: SourceRef {
                id: source.id,
                name: source.name.clone(),
                organization: source.organization.clone(),
                source_type: source.source_type.clone(),
            },
            status: check.status.as_str().to_string(),
            error: check.message.clone(),
            check_id: check.id,
            since: rfc3339(since),
            timestamp: rfc3339(now),
        }
    }

    /// One line for Slack's `text` and PagerDuty's `summary`.
    pub fn summary(&self) -> String {
        let s = &self.source;
        let what = match self.event {
            EventKind::Down => "is down",
            EventKind::Up => "is up again",
            EventKind::Reminder => "is still down",
        };
        let mut line = format!("{} ({}, {}) {what}: {}", s.name, s.organization, s.source_type, self.status);
        if let Some(e) = &self.error {
            line.push_str(": ");
            line.push_str(e);
        }
        line
    }
}

/// A request body and the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// Why a stored payload cannot be sent (it is dropped, and counted).
#[derive(Debug, thiserror::Error)]
#[error("stored notification is not an event: {0}")]
pub struct PayloadError(#[from] serde_json::Error);

/// The request `route` sends for the stored event `stored`.
pub fn render(route: &Route, stored: &str) -> Result<Rendered, PayloadError> {
    let json = ("content-type", "application/json".to_string());
    let event: Event = serde_json::from_str(stored)?;
    Ok(match route.kind {
        Kind::Webhook => {
            let body = stored.as_bytes().to_vec();
            let mut headers = vec![json, ("x-sonde-event", event.event.as_str().to_string())];
            if let Some(secret) = &route.secret {
                headers.push(("x-sonde-signature", signature(secret, &body)));
            }
            Rendered { body, headers }
        }
        Kind::Slack => Rendered { body: slack(&event).to_string().into_bytes(), headers: vec![json] },
        Kind::PagerDuty => Rendered {
            body: pagerduty(&event, route.routing_key.as_deref().unwrap_or_default())
                .to_string()
                .into_bytes(),
            headers: vec![json],
        },
    })
}

/// Slack's mrkdwn reserves `&`, `<` and `>`; a message could otherwise
/// forge a link or a mention.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An incoming-webhook message: `text` (the notification fallback) plus
/// Block Kit blocks (a header line, the fields, a context line).
pub fn slack(e: &Event) -> Value {
    let icon = match e.event {
        EventKind::Down => ":red_circle:",
        EventKind::Reminder => ":warning:",
        EventKind::Up => ":large_green_circle:",
    };
    let text = format!("{icon} {}", slack_escape(&e.summary()));
    let field = |label: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", slack_escape(value))});
    let mut fields = vec![
        field("Source", &e.source.name),
        field("Organization", &e.source.organization),
        field("Type", &e.source.source_type),
        field("Status", &e.status),
        field("Since", &e.since),
    ];
    if let Some(error) = &e.error {
        fields.push(field("Error", error));
    }
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": slack_escape(&format!("Sonde route {} · notification {} · check {}", e.route, e.id, e.check_id))}
            ]},
        ],
    })
}

/// An Events API v2 event: `trigger` for down and reminders (PagerDuty
/// folds them into one alert by `dedup_key`), `resolve` for up.
pub fn pagerduty(e: &Event, routing_key: &str) -> Value {
    let (action, severity) = match e.event {
        EventKind::Down | EventKind::Reminder => ("trigger", "error"),
        EventKind::Up => ("resolve", "info"),
    };
    // PagerDuty truncates summaries at 1024 characters; cut on a char boundary.
    let summary: String = e.summary().chars().take(1024).collect();
    json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": e.source.id.to_string(),
        "payload": {
            "summary": summary,
            "source": format!("{}/{}", e.source.organization, e.source.name),
            "severity": severity,
            "timestamp": e.timestamp,
            "component": e.source.name,
            "group": e.source.organization,
            "class": e.source.source_type,
            "custom_details": {
                "notification_id": e.id,
                "event": e.event,
                "route": e.route,
                "status": e.status,
                "error": e.error,
                "check_id": e.check_id,
                "since": e.since,
                "source_id": e.source.id,
            },
        },
        "client": "Sonde",
    })
}

#[cfg(test)]
mod tests;
