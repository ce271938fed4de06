//! What a check's TLS record does to its report, after the guest answered.
//!
//! The host, not the guest, has the last word on TLS:
//! 1. a failed handshake makes the check ERROR with the failure's stable
//!    message, whatever the guest made of it;
//! 2. a mode of `require` or stricter that ends without a completed
//!    handshake is ERROR "server does not support TLS", so a plugin cannot
//!    skip the TLS the operator asked for;
//! 3. an OK check gets the last handshake's facts as `details.tls`, and
//!    `min_validity` turns a chain expiring too soon into ERROR
//!    "certificate expires soon" with the date in `extra`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::facts::{Facts, rfc3339};
use super::verifier::messages;
use super::{Handshake, Session};
use crate::runtime::outcome::{Cause, CheckReport, Status};

/// Applies `session`'s record to `report`. `enforce` is false for plugins
/// whose contract has no TLS import (0.1), which cannot be held to a mode.
pub fn apply(session: &Session, report: &mut CheckReport, enforce: bool, now: DateTime<Utc>) {
    // A trap, a timeout or a bad config keeps its own outcome.
    if !matches!(report.cause, Cause::Healthy | Cause::Unhealthy) {
        return;
    }
    let handshakes = session.handshakes();
    if let Some((message, detail)) = handshakes.iter().find_map(|h| match h {
        Handshake::Failed { message, detail } => Some((*message, detail.clone())),
        Handshake::Done(_) => None,
    }) {
        let dropped = session.dropped();
        let detail =
            if dropped > 0 { format!("{detail} ({dropped} more handshakes not kept)") } else { detail };
        *report = tls_error(report, message, Some(detail));
        return;
    }
    let last = handshakes.iter().rev().find_map(|h| match h {
        Handshake::Done(facts) => Some(facts),
        Handshake::Failed { .. } => None,
    });
    if report.status != Status::Ok {
        return;
    }
    let policy = session.policy();
    let Some(facts) = last else {
        if enforce && policy.mode.is_some_and(|m| m.requires_tls()) {
            let extra = "the check finished without a TLS connection, which `tls.mode` requires";
            *report = tls_error(report, messages::NO_TLS, Some(extra.into()));
        }
        return;
    };
    report.tls_not_after = facts.earliest_expiry().map(|c| c.not_after);
    if let Some(soon) = expires_soon(facts, policy.min_validity, now) {
        *report = tls_error(report, messages::EXPIRES_SOON, Some(soon.to_string()));
        return;
    }
    match &mut report.details {
        Some(Value::Object(map)) => {
            map.insert("tls".into(), facts.to_json(now));
        }
        None => report.details = Some(json!({"tls": facts.to_json(now)})),
        // A guest's non-object details are kept as they are.
        Some(_) => {}
    }
}

/// `extra` of "certificate expires soon": which certificate, and when.
fn expires_soon(facts: &Facts, min: Option<std::time::Duration>, now: DateTime<Utc>) -> Option<Value> {
    let min = chrono::Duration::from_std(min?).ok()?;
    let cert = facts.earliest_expiry()?;
    (cert.not_after < now + min).then(|| {
        json!({
            "not_after": rfc3339(cert.not_after),
            "subject": cert.subject,
            "min_validity": humantime::format_duration(min.to_std().unwrap_or_default()).to_string(),
        })
    })
}

fn tls_error(old: &CheckReport, message: &str, extra: Option<String>) -> CheckReport {
    let mut r = CheckReport::error(Cause::Unhealthy, message, extra);
    r.started_at = old.started_at;
    r.tls_not_after = old.tls_not_after;
    r
}
