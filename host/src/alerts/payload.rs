//! What a receiver gets, per route type.
//!
//! One [`Event`] is built when a notification is created and stored as its
//! JSON text (or a [`Batch`] of them, for a route with `group_wait`); that
//! text *is* the webhook body, and every other channel's message is
//! rendered from it at send time ([`render`]). So every retry sends the
//! same bytes (the HMAC stays valid, the `id` stays stable), and no route
//! secret (routing key, API key, password) is ever written to the store.
//!
//! No secret can reach a payload: the source's config is not in it, and
//! `error` is the check's message, which the runtime has already scrubbed of
//! the source's `writeOnly` values.
//!
//! # Layout
//! - here: the stored shapes, [`Outgoing`] and [`render`], which picks the
//!   channel's renderer by the route's kind;
//! - [`slack`], [`teams`], [`email`]: one message per event or per batch;
//! - [`pagerduty`], [`opsgenie`]: one event per source, never a batch.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::route::{Channel, Route};
use super::rules::EventKind;
use super::sign::signature;
use crate::model::{CheckRecord, Source};

pub mod email;
pub mod opsgenie;
pub mod pagerduty;
pub mod slack;
pub mod teams;

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

    /// What happened, as the end of a sentence: "is down".
    pub fn what(&self) -> &'static str {
        match self.event {
            EventKind::Down => "is down",
            EventKind::Up => "is up again",
            EventKind::Reminder => "is still down",
        }
    }

    /// One line for Slack's `text` and PagerDuty's `summary`.
    pub fn summary(&self) -> String {
        let s = &self.source;
        let what = self.what();
        let mut line = format!("{} ({}, {}) {what}: {}", s.name, s.organization, s.source_type, self.status);
        if let Some(e) = &self.error {
            line.push_str(": ");
            line.push_str(e);
        }
        line
    }
}

/// What a route with `group_wait` sends: the notifications made within
/// the wait, as one body (DESIGN §8 "Grouping"). Built in the store, so a
/// group of replicas sends it once; each item keeps its own `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Stable across retries, as an event's.
    pub id: Uuid,
    /// Always `"batch"`.
    pub event: BatchTag,
    pub route: String,
    /// When the batch was closed for sending.
    pub timestamp: String,
    pub notifications: Vec<Event>,
}

/// The literal `"batch"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchTag {
    Batch,
}

/// A stored payload: one event, or a batch of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    One(Event),
    Batch(Batch),
}

impl Stored {
    pub fn parse(stored: &str) -> Result<Self, PayloadError> {
        let value: Value = serde_json::from_str(stored)?;
        Ok(if value.get("event").and_then(Value::as_str) == Some("batch") {
            Stored::Batch(serde_json::from_value(value)?)
        } else {
            Stored::One(serde_json::from_value(value)?)
        })
    }

    /// The events it carries, in order.
    pub fn events(&self) -> &[Event] {
        match self {
            Stored::One(e) => std::slice::from_ref(e),
            Stored::Batch(b) => &b.notifications,
        }
    }

    /// `"down"`, `"up"`, `"reminder"`, or `"batch"`: for logs and the
    /// webhook's `X-Sonde-Event`.
    pub fn event(&self) -> &'static str {
        match self {
            Stored::One(e) => e.event.as_str(),
            Stored::Batch(_) => "batch",
        }
    }
}

impl Batch {
    /// How many of each event it holds: "3 down, 1 still down, 2 up"
    /// (kinds with none left out).
    pub fn tally(&self) -> String {
        let count = |k: EventKind| self.notifications.iter().filter(|e| e.event == k).count();
        [(EventKind::Down, "down"), (EventKind::Reminder, "still down"), (EventKind::Up, "up")]
            .into_iter()
            .map(|(k, label)| (count(k), label))
            .filter(|(n, _)| *n > 0)
            .map(|(n, label)| format!("{n} {label}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A batch lists at most this many sources in a chat message (Slack
/// allows 50 blocks, Teams 28 KB); the rest are counted ("…and 180 more").
pub const LISTED: usize = 20;

/// At most `max` characters of `s`, cut on a char boundary, with "…" when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// What a route sends for one stored payload; the transport is chosen by
/// the variant (HTTP for every chat and paging service, SMTP for e-mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Http(HttpRequest),
    Mail(Mail),
}

/// A POST: where, with which headers, and the body.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Per event for Opsgenie (create, or close by alias).
    pub url: http::Uri,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the URL (a credential for Slack and Teams) nor the
        // headers (Opsgenie's API key) are shown.
        f.debug_struct("HttpRequest").field("body_len", &self.body.len()).finish_non_exhaustive()
    }
}

/// A mail's content; the envelope (`From`, `To`) is the route's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// `<id@sonde.invalid>`: the notification's (or batch's) `id`, so a
    /// retried mail can be recognised as the same one.
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a stored payload cannot be sent (it is dropped, and counted).
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("stored notification is not an event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0} routes take one event per source, not a batch")]
    Batch(&'static str),
    #[error("cannot make the receiver's URL: {0}")]
    Url(String),
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn json_post(url: &http::Uri, body: &Value, mut headers: Vec<(&'static str, String)>) -> Outgoing {
    headers.insert(0, (JSON.0, JSON.1.to_string()));
    Outgoing::Http(HttpRequest { url: url.clone(), headers, body: body.to_string().into_bytes() })
}

/// What `route` sends for the stored payload `stored`.
pub fn render(route: &Route, stored: &str) -> Result<Outgoing, PayloadError> {
    let parsed = Stored::parse(stored)?;
    Ok(match (&route.channel, &parsed) {
        (Channel::Webhook { url, secret }, _) => {
            // The stored text, byte for byte: one body, one signature,
            // whether it is one event or a batch.
            let body = stored.as_bytes().to_vec();
            let mut headers =
                vec![(JSON.0, JSON.1.to_string()), ("x-sonde-event", parsed.event().to_string())];
            if let Some(secret) = secret {
                headers.push(("x-sonde-signature", signature(secret, &body)));
            }
            Outgoing::Http(HttpRequest { url: url.clone(), headers, body })
        }
        (Channel::Slack { url }, s) => json_post(url, &slack::message(s), vec![]),
        (Channel::Teams { url }, s) => json_post(url, &teams::message(s), vec![]),
        (Channel::Email(_), s) => Outgoing::Mail(email::mail(s)),
        (Channel::PagerDuty { url, routing_key }, Stored::One(e)) => {
            json_post(url, &pagerduty::event(e, routing_key), vec![])
        }
        (Channel::Opsgenie { url, api_key }, Stored::One(e)) => {
            let (url, body) = opsgenie::request(url, e)?;
            json_post(&url, &body, vec![("authorization", format!("GenieKey {api_key}"))])
        }
        (Channel::PagerDuty { .. } | Channel::Opsgenie { .. }, Stored::Batch(_)) => {
            return Err(PayloadError::Batch(route.kind().as_str()));
        }
    })
}

#[cfg(test)]
mod tests;
