//! PagerDuty Events API v2
//! (<https://developer.pagerduty.com/docs/events-api-v2/trigger-events/>):
//! one event per source, keyed by the source id as `dedup_key`.

use serde_json::{Value, json};

use super::Event;
use crate::alerts::rules::EventKind;

/// `trigger` for down and reminders (PagerDuty folds them into one alert
/// by `dedup_key`), `resolve` for up.
pub fn event(e: &Event, routing_key: &str) -> Value {
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
