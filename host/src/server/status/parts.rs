//! What the source and silences pages share: their frame (navigation,
//! sign-out with the CSRF token, the embedded stylesheets) and the small
//! formatters for times, uptime and statuses. The list on `/` keeps its
//! own in `view`.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::model::CheckStatus;
use crate::store::OutcomeCounts;

const STYLE: &str = include_str!("style.css");
const DETAIL: &str = include_str!("detail.css");

/// A signed-in page: the navigation (status, silences, sign out) above `body`.
pub fn layout(title: &str, csrf: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) (PreEscaped(DETAIL)) }
            }
            body {
                nav.top {
                    a href="/" { "Status" }
                    a href="/silences" { "Silences" }
                    form.logout method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Log out" }
                    }
                }
                (body)
            }
        }
    }
}

pub fn status_class(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(CheckStatus::Ok) => "s-ok",
        Some(CheckStatus::Timeout) => "s-timeout",
        Some(CheckStatus::Error) => "s-error",
        Some(CheckStatus::Failed) => "s-failed",
        _ => "s-pending",
    }
}

pub fn status_label(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(s) if s.is_finished() => s.as_str(),
        Some(s) => s.as_str(),
        None => "pending",
    }
}

pub fn badge(status: Option<CheckStatus>) -> Markup {
    html! { span class={ "badge " (status_class(status)) } { (status_label(status)) } }
}

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `3 s ago`, `5 min ago`, ...
pub fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}

/// A time with how long ago it was, the exact time as its tooltip.
pub fn when(now: DateTime<Utc>, t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) title=(time(t)) { (ago(now, t)) } }
}

/// `1 h 5 min`, `42 s`: how long an incident lasted.
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

pub fn uptime(c: OutcomeCounts) -> Markup {
    if c.finished == 0 {
        return html! { span.muted title="no finished checks" { "—" } };
    }
    // Precision is irrelevant at these sizes; the share is at most 1.
    let share = c.ok as f64 * 100.0 / c.finished as f64;
    let text = if c.ok == c.finished { "100 %".to_string() } else { format!("{share:.1} %") };
    html! { span title=(format!("{} of {} checks OK", c.ok, c.finished)) { (text) } }
}

/// Days left on a certificate, loud once under two weeks or expired; the
/// list says it after "TLS: " in a row, a source's page with the date.
pub fn tls_days(now: DateTime<Utc>, not_after: DateTime<Utc>, in_row: bool) -> Markup {
    let days = (not_after - now).num_days();
    let text = match days {
        _ if not_after <= now => "certificate expired".to_string(),
        1 => "1 day left".to_string(),
        d => format!("{d} days left"),
    };
    html! {
        span.tls data-tls-days=(days) class=[(days < 14).then_some("soon")] title={ "certificate expires " (time(not_after)) } {
            @if in_row { "TLS: " (text) } @else { (text) " (" (time(not_after)) ")" }
        }
    }
}
