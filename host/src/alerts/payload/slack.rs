//! A Slack incoming-webhook message
//! (<https://api.slack.com/messaging/webhooks>): `text` (the notification
//! fallback) plus Block Kit blocks. A batch is one message: a headline,
//! one section per listed source (at most [`LISTED`], well under Block
//! Kit's 50 blocks), and a context line counting the rest.

use serde_json::{Value, json};

use super::{Batch, Event, LISTED, Stored, clip};
use crate::alerts::rules::EventKind;

/// The message for one stored payload.
pub fn message(stored: &Stored) -> Value {
    match stored {
        Stored::One(e) => one(e),
        Stored::Batch(b) => batch(b),
    }
}

/// Slack's mrkdwn reserves `&`, `<` and `>`; a message could otherwise
/// forge a link or a mention.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn icon(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Down => ":red_circle:",
        EventKind::Reminder => ":warning:",
        EventKind::Up => ":large_green_circle:",
    }
}

fn one(e: &Event) -> Value {
    let text = format!("{} {}", icon(e.event), escape(&e.summary()));
    let field =
        |label: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", escape(value))});
    let mut fields = vec![
        field("Source", &e.source.name),
        field("Organization", &e.source.organization),
        field("Type", &e.source.source_type),
        field("Status", &e.status),
        field("Since", &e.since),
    ];
    if let Some(error) = &e.error {
        // A field's text is at most 2,000 characters.
        fields.push(field("Error", &clip(error, 1500)));
    }
    json!({
        "text": clip(&text, 3000),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, 3000)}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": escape(&format!("Sonde route {} · notification {} · check {}", e.route, e.id, e.check_id))}
            ]},
        ],
    })
}

fn batch(b: &Batch) -> Value {
    let headline = format!("Sonde route {}: {}", escape(&b.route), escape(&b.tally()));
    let mut blocks =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{headline}*")}})];
    for e in b.notifications.iter().take(LISTED) {
        let line = format!("{} {}", icon(e.event), escape(&clip(&e.summary(), 500)));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": line}}));
    }
    let rest = b.notifications.len().saturating_sub(LISTED);
    let mut context = format!("batch {} · {} notifications", b.id, b.notifications.len());
    if rest > 0 {
        context = format!("…and {rest} more · {context}");
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    json!({"text": headline, "blocks": blocks})
}
