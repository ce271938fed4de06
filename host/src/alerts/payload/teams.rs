//! A Microsoft Teams Workflows webhook message: one Adaptive Card (1.4) in
//! the `attachments` of a `message`, the shape Microsoft documents for
//! posting a card to a webhook ("Send Adaptive Cards using an Incoming
//! Webhook",
//! <https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook>:
//! `type` must be `message`; `attachments` holds the card with
//! `contentType` `application/vnd.microsoft.card.adaptive`, `contentUrl`
//! null and the card as `content`), which the Workflows template "Post to
//! a channel when a webhook request is received" takes and answers 202.
//! Workflows support Adaptive Cards only, not the old MessageCard.
//!
//! A batch is one card: a headline, one line per listed source (at most
//! [`LISTED`]; a Teams message is at most 28 KB), and the rest counted.

use serde_json::{Value, json};

use super::{Batch, Event, LISTED, Stored, clip};
use crate::alerts::rules::EventKind;

/// The webhook body for one stored payload.
pub fn message(stored: &Stored) -> Value {
    let body = match stored {
        Stored::One(e) => one(e),
        Stored::Batch(b) => batch(b),
    };
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// TextBlocks render a Markdown subset: a backslash before its markup
/// characters keeps a source's name or a check's message from becoming a
/// link or formatting.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '~' | '`' | '#' | '>' | '<') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Adaptive Card colours: `attention` (red), `warning`, `good` (green).
fn color(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Down => "attention",
        EventKind::Reminder => "warning",
        EventKind::Up => "good",
    }
}

fn text(text: String) -> Value {
    json!({"type": "TextBlock", "text": text, "wrap": true})
}

fn one(e: &Event) -> Vec<Value> {
    let s = &e.source;
    let fact = |title: &str, value: &str| json!({"title": title, "value": escape(&clip(value, 1000))});
    let mut facts = vec![
        fact("Organization", &s.organization),
        fact("Type", &s.source_type),
        fact("Status", &e.status),
        fact("Since", &e.since),
    ];
    if let Some(error) = &e.error {
        facts.push(fact("Error", error));
    }
    vec![
        json!({
            "type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
            "color": color(e.event),
            "text": escape(&clip(&format!("{} {}", s.name, e.what()), 300)),
        }),
        json!({"type": "FactSet", "facts": facts}),
        json!({
            "type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true,
            "text": escape(&format!("Sonde route {} · notification {} · check {}", e.route, e.id, e.check_id)),
        }),
    ]
}

fn batch(b: &Batch) -> Vec<Value> {
    let mut body = vec![json!({
        "type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
        "text": escape(&format!("Sonde route {}: {}", b.route, b.tally())),
    })];
    for e in b.notifications.iter().take(LISTED) {
        let mut line = text(escape(&clip(&e.summary(), 400)));
        line["color"] = json!(color(e.event));
        line["spacing"] = json!("Small");
        body.push(line);
    }
    let rest = b.notifications.len().saturating_sub(LISTED);
    let mut footer = format!("batch {} · {} notifications", b.id, b.notifications.len());
    if rest > 0 {
        footer = format!("…and {rest} more · {footer}");
    }
    body.push(json!({"type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true, "text": footer}));
    body
}
