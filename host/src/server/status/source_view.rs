//! The source page's HTML ([`super::source`]), as maud templates: every
//! value escaped, no script, the charts as inline SVG.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::incidents::{Incident, Note};
use super::parts::{ago, badge, layout, span, status_class, time, tls_days, uptime, when};
use crate::model::{ChartPoint, CheckRecord, Source};
use crate::server::chart::{self, Window};
use crate::store::OutcomeCounts;

/// Everything the page shows.
#[derive(Debug)]
pub struct SourcePage {
    pub now: DateTime<Utc>,
    pub csrf: String,
    /// Whether the key may press the buttons.
    pub admin: bool,
    pub source: Source,
    /// The public config, pretty JSON (secrets are never in it).
    pub config: String,
    pub paused: bool,
    pub silenced: bool,
    pub suppressed_by: Option<String>,
    pub checking: bool,
    pub last: Option<CheckRecord>,
    pub tls_not_after: Option<DateTime<Utc>>,
    pub day: OutcomeCounts,
    pub week: OutcomeCounts,
    pub day_points: Vec<ChartPoint>,
    pub week_points: Vec<ChartPoint>,
    /// Finished checks, oldest first.
    pub strip: Vec<CheckRecord>,
    /// This page of history, newest first.
    pub history: Vec<CheckRecord>,
    /// Whether this is an older page (`?before=`).
    pub paged: bool,
    /// The cursor of the next older page, when there may be one.
    pub older: Option<DateTime<Utc>>,
    pub incidents: Vec<Incident>,
    /// Notifications older than every incident read.
    pub earlier: Vec<Note>,
    /// The alert routes watching the source.
    pub routes: Vec<String>,
}

/// The page.
pub fn render(p: &SourcePage) -> Markup {
    let s = &p.source;
    let status = p.last.as_ref().map(|c| c.status);
    let body = html! {
        header #source data-source=(s.name) data-status=(super::parts::status_label(status)) {
            h1 { (s.name) }
            (badge(status))
            @if p.paused { span.badge.s-paused { "paused" } }
            @if p.silenced { span.badge.s-silenced title="A silence or maintenance window holds its alerts" { "silenced" } }
            @if let Some(d) = &p.suppressed_by { span.badge.s-silenced { "suppressed: depends on " (d) } }
            @if p.checking { span.muted { "checking…" } }
            span.muted { (s.organization) " · " (s.source_type) " · " code { (s.id) } }
        }
        @if p.admin { (actions(p)) }
        div.cards {
            div.card { span.label { "Uptime 24 h" } (uptime(p.day)) }
            div.card { span.label { "Uptime 7 d" } (uptime(p.week)) }
            div.card #tls { span.label { "TLS expiry" }
                @if let Some(at) = p.tls_not_after { (tls_days(p.now, at, false)) } @else { span.muted { "no TLS seen" } }
            }
            div.card { span.label { "Last check" }
                @if let Some(c) = &p.last { (when(p.now, c.reported_at.unwrap_or(c.created_at))) } @else { span.muted { "never" } }
            }
            div.card { span.label { "Interval" } (humantime::format_duration(s.policy.interval)) }
            (locations(p))
        }
        @if let Some(m) = p.last.as_ref().and_then(|c| c.message.as_deref()) { p.flash #last-message { (m) } }
        section.charts {
            figure #chart-24h { figcaption { "Response time, 24 h" } (chart::render(&p.day_points, Window::Day, p.now)) }
            figure #chart-7d { figcaption { "Response time, 7 d" } (chart::render(&p.week_points, Window::Week, p.now)) }
        }
        section {
            h2 { "Recent checks" }
            span.strip #strip {
                @for c in &p.strip {
                    @let tip = format!("{} · {}{}", c.status.as_str(), time(c.created_at),
                        c.message.as_deref().map(|m| format!(" · {m}")).unwrap_or_default());
                    span class={ "cell " (status_class(Some(c.status))) } title=(tip) {}
                }
            }
        }
        (incidents(p))
        (history(p))
        section {
            h2 { "Newest check's details" }
            @match p.last.as_ref().and_then(|c| c.details.as_ref()) {
                Some(d) => pre.json #details { (serde_json::to_string_pretty(d).unwrap_or_default()) },
                None => p.muted { "No details." },
            }
            h2 { "Config" }
            p.muted { "The public config; secrets are kept apart and never shown." }
            pre.json #config { (p.config) }
        }
    };
    layout(&format!("Sonde · {}", s.name), &p.csrf, body)
}

fn actions(p: &SourcePage) -> Markup {
    let base = format!("/sources/{}", p.source.id);
    let button = |action: &str, label: &str| {
        html! {
            form method="post" action={ (base) "/" (action) } {
                input type="hidden" name="csrf" value=(p.csrf);
                button type="submit" name="action" value=(action) { (label) }
            }
        }
    };
    html! {
        div.actions #actions {
            (button("check", "Check now"))
            @if p.paused { (button("resume", "Resume")) } @else { (button("pause", "Pause")) }
        }
    }
}

fn note(now: DateTime<Utc>, n: &Note) -> Markup {
    html! {
        li.note data-kind=(n.kind) data-state=(n.state.as_str()) {
            strong { (n.kind) } " to " code { (n.route) } ": " (n.state.as_str())
            " · " (when(now, n.created_at))
            @if n.attempts > 0 { " · " (n.attempts) " attempt" @if n.attempts > 1 { "s" } }
            @if let Some(e) = &n.last_error { " · " span.s-error-text { (e) } }
        }
    }
}

fn incidents(p: &SourcePage) -> Markup {
    let none_sent = if p.routes.is_empty() {
        "no alert route watches this source"
    } else {
        "no notification: held back (silence, maintenance, a dependency down) or under the route's threshold"
    };
    html! {
        section {
            h2 { "Incidents" }
            @if !p.routes.is_empty() { p.muted { "Alert routes: " (p.routes.join(", ")) } }
            table #incidents {
                thead { tr { th { "Down" } th { "Up" } th { "Lasted" } th { "First failure" } th { "Notifications" } } }
                tbody {
                    @for i in &p.incidents {
                        tr.incident data-open=(i.up_at.is_none()) {
                            td { (when(p.now, i.down_at)) }
                            td { @if let Some(up) = i.up_at { (when(p.now, up)) } @else { span.badge.s-error { "still down" } } }
                            td.num { (span((i.up_at.unwrap_or(p.now) - i.down_at).num_seconds())) }
                            td.message { (badge(Some(i.status))) " " @if let Some(m) = &i.message { (m) } " · " (i.failures) " failed" }
                            td {
                                @if i.notes.is_empty() { span.muted.none { (none_sent) } }
                                ul { @for n in &i.notes { (note(p.now, n)) } }
                            }
                        }
                    }
                    @if p.incidents.is_empty() { tr { td colspan="5" .muted { "No incidents in the newest checks." } } }
                }
            }
            @if !p.earlier.is_empty() {
                h3 { "Earlier notifications" }
                ul { @for n in &p.earlier { (note(p.now, n)) } }
            }
        }
    }
}

/// Where the source is checked (DESIGN §10), each location's status in
/// the newest combined check, and the quorum when there are several.
fn locations(p: &SourcePage) -> Markup {
    let placement = &p.source.placement;
    let statuses = p.last.as_ref().and_then(|c| c.details.as_ref()).and_then(|d| d.get("locations"));
    html! {
        div.card #locations { span.label { "Locations" }
            @for (i, l) in placement.locations.iter().enumerate() {
                @if i > 0 { ", " }
                @let status = statuses.and_then(|s| s.get(l)).and_then(|s| s.as_str());
                span data-location=(l) class=(status.and_then(crate::model::CheckStatus::parse).map_or("", |s| status_class(Some(s)))) {
                    (l) @if let Some(s) = status { " " (s) }
                }
            }
            @if placement.locations.len() > 1 {
                div.muted { "down when " (placement.min_locations_failed) " of " (placement.locations.len()) " fail" }
            }
        }
    }
}

fn history(p: &SourcePage) -> Markup {
    let base = format!("/sources/{}", p.source.id);
    html! {
        section {
            h2 { "History" }
            table #history {
                thead { tr { th { "Created" } th { "Status" } th { "Trigger" } th.num { "Duration" } th { "Message" } th { "Ran on" } } }
                tbody {
                    @for c in &p.history {
                        tr.check data-check=(c.id) data-status=(c.status.as_str()) {
                            td { span title=(time(c.created_at)) { (time(c.created_at)) } div.muted { (ago(p.now, c.created_at)) } }
                            td { (badge(Some(c.status))) @if c.attempts > 1 { div.muted { (c.attempts) " attempts" } } }
                            td { (c.trigger.as_str()) }
                            td.num { @if let Some(d) = c.duration_ms { (d) " ms" } }
                            td.message { @if let Some(m) = &c.message { (m) } @if let Some(x) = &c.extra { div.muted { (x) } } }
                            td {
                                @if let Some(r) = &c.replica { code { (r) } }
                                div.muted.location { (c.location.as_deref().unwrap_or(crate::model::CENTRAL)) }
                            }
                        }
                    }
                    @if p.history.is_empty() { tr { td colspan="6" .muted { "No checks." } } }
                }
            }
            p.pager {
                @if p.paged { a href=(base) { "Newest" } " " }
                @if let Some(cursor) = p.older {
                    a #older href={ (base) "?before=" (urlencode(&cursor.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))) } { "Older →" }
                }
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
