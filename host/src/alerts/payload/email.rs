//! An alert mail's subject and its text and HTML parts (the transport adds
//! `From`, `To` and the MIME structure, `multipart/alternative`). A batch
//! is one mail listing every source in it.
//!
//! Everything that comes from a source or a check is HTML-escaped in the
//! HTML part, and control characters never reach the subject (a header).

use super::{Batch, Event, Mail, Stored, clip};
use crate::alerts::rules::EventKind;

/// The mail for one stored payload.
pub fn mail(stored: &Stored) -> Mail {
    match stored {
        Stored::One(e) => one(e),
        Stored::Batch(b) => batch(b),
    }
}

/// `&`, `<`, `>`, `"` and `'` as entities: enough for text and attribute
/// values alike.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn message_id(id: uuid::Uuid) -> String {
    format!("<{id}@sonde.invalid>")
}

/// One header line: no control characters, at most 200 characters.
fn subject(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    clip(&flat, 200)
}

fn color(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Down => "#c62828",
        EventKind::Reminder => "#ef6c00",
        EventKind::Up => "#2e7d32",
    }
}

fn page(title: &str, color: &str, inner: &str, footer: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\n\
         <body style=\"font-family: sans-serif\">\n<h2 style=\"color: {color}\">{t}</h2>\n{inner}\n\
         <p style=\"color: #666; font-size: small\">{footer}</p>\n</body></html>\n",
        t = html_escape(title),
        footer = html_escape(footer),
    )
}

fn fields(e: &Event) -> Vec<(&'static str, String)> {
    let s = &e.source;
    let mut rows = vec![
        ("Source", s.name.clone()),
        ("Organization", s.organization.clone()),
        ("Type", s.source_type.clone()),
        ("Status", e.status.clone()),
        ("Since", e.since.clone()),
    ];
    if let Some(error) = &e.error {
        rows.push(("Error", error.clone()));
    }
    rows
}

fn one(e: &Event) -> Mail {
    let title = format!("{} {}", e.source.name, e.what());
    let footer = format!("Sonde route {} · notification {} · check {}", e.route, e.id, e.check_id);
    let rows = fields(e);
    let mut text = format!("{}\n\n", e.summary());
    for (k, v) in &rows {
        text.push_str(&format!("{:<14}{v}\n", format!("{k}:")));
    }
    text.push_str(&format!("\n{footer}\n"));
    let table: String = rows
        .iter()
        .map(|(k, v)| format!("<tr><th align=\"left\">{k}</th><td>{}</td></tr>\n", html_escape(v)))
        .collect();
    Mail {
        message_id: message_id(e.id),
        subject: subject(&format!("[Sonde] {title}")),
        text,
        html: page(&title, color(e.event), &format!("<table>\n{table}</table>"), &footer),
    }
}

fn batch(b: &Batch) -> Mail {
    let title = format!("{}: {}", b.route, b.tally());
    let footer =
        format!("Sonde route {} · batch {} · {} notifications", b.route, b.id, b.notifications.len());
    let mut text = format!("{title}\n\n");
    let mut rows = String::new();
    for e in &b.notifications {
        text.push_str(&format!("- {}\n", e.summary()));
        let s = &e.source;
        rows.push_str(&format!(
            "<tr><td style=\"color: {}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            color(e.event),
            html_escape(e.what()),
            html_escape(&s.name),
            html_escape(&s.organization),
            html_escape(&s.source_type),
            html_escape(&e.status),
            html_escape(e.error.as_deref().unwrap_or("")),
        ));
    }
    text.push_str(&format!("\n{footer}\n"));
    let table = format!(
        "<table>\n<tr><th></th><th>Source</th><th>Organization</th><th>Type</th><th>Status</th><th>Error</th></tr>\n{rows}</table>"
    );
    let worst =
        b.notifications.iter().map(|e| e.event).find(|k| *k == EventKind::Down).unwrap_or(EventKind::Up);
    Mail {
        message_id: message_id(b.id),
        subject: subject(&format!("[Sonde] {title}")),
        text,
        html: page(&title, color(worst), &table, &footer),
    }
}
