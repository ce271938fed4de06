//! The list's parts as maud templates: one source's row, the summary of
//! counts per status, the pager, and the fragment (`GET /rows`) the page's
//! script swaps in. Every value is escaped by maud.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::list::{Query, Shown};
use super::parts::{ago, time, tls_days, uptime};
use super::view::Listing;
use crate::model::CheckRecord;
use crate::store::OutcomeCounts;

/// One source's row.
#[derive(Debug)]
pub struct SourceRow {
    /// Its page is `/sources/{id}`.
    pub id: uuid::Uuid,
    pub name: String,
    pub organization: String,
    pub source_type: String,
    /// The public config, compact JSON (secrets are never in it).
    pub config: String,
    pub paused: bool,
    /// A silence or maintenance window holds its alerts now.
    pub silenced: bool,
    /// The dependency whose outage holds its "down" back, for some route.
    pub suppressed_by: Option<String>,
    /// The status it was ordered by (its latest finished check's).
    pub status: Shown,
    pub last: Option<CheckRecord>,
    /// A check queued or running right now.
    pub checking: bool,
    /// Finished checks, oldest first.
    pub history: Vec<CheckRecord>,
    pub day: OutcomeCounts,
    pub week: OutcomeCounts,
    /// The earliest peer certificate expiry of its newest TLS handshake.
    pub tls_not_after: Option<DateTime<Utc>>,
    /// Names of the sources of its organization it depends on.
    pub depends_on: Vec<String>,
}

pub fn status_class(status: Shown) -> &'static str {
    match status {
        Shown::Ok => "s-ok",
        Shown::Timeout => "s-timeout",
        Shown::Error => "s-error",
        Shown::Failed => "s-failed",
        Shown::Pending => "s-pending",
    }
}

/// Each cell says its outcome and when (UTC); messages stay in the row's
/// message column. Kept terse: a page of 100 rows has 3,000 cells.
fn strip(history: &[CheckRecord]) -> Markup {
    html! {
        span.strip {
            @for c in history {
                i class={ "cell " (status_class(Shown::of(Some(c.status)))) }
                    title={ (c.status.as_str()) " " (c.created_at.format("%Y-%m-%d %H:%M:%S")) } {}
            }
        }
    }
}

pub fn source_row(now: DateTime<Utc>, s: &SourceRow) -> Markup {
    let at = s.last.as_ref().map(|c| c.reported_at.unwrap_or(c.created_at));
    html! {
        tr.source data-source=(s.name) data-organization=(s.organization) data-status=(s.status.label()) {
            td {
                a href={ "/sources/" (s.id) } { strong.name { (s.name) } }
                div.muted {
                    (s.organization) " · " (s.source_type)
                    @if let Some(at) = s.tls_not_after { " · " (tls_days(now, at, true)) }
                    @if !s.depends_on.is_empty() { " · " span.depends { "depends on " (s.depends_on.join(", ")) } }
                }
                code.config title=(s.config) { (s.config) }
            }
            td {
                span class={ "badge " (status_class(s.status)) } { (s.status.label()) }
                @if s.paused { " " span.badge.s-paused { "paused" } }
                @if s.silenced { " " span.badge.s-silenced title="Alerts are held by a silence or maintenance window; checks go on" { "silenced" } }
                @if let Some(dependency) = &s.suppressed_by {
                    " " span.badge.s-silenced title="Its alerts wait while a source it depends on is down" {
                        "suppressed: depends on " (dependency)
                    }
                }
                @if s.checking { div.muted { "checking…" } }
            }
            td {
                @if let Some(at) = at { span title=(time(at)) { (ago(now, at)) } } @else { span.muted { "never" } }
            }
            td.message { @if let Some(m) = s.last.as_ref().and_then(|c| c.message.as_deref()) { (m) } }
            td { (strip(&s.history)) }
            td.num { (uptime(s.day)) }
            td.num { (uptime(s.week)) }
        }
    }
}

/// `path?query` for these filters with `extra` pairs after them.
pub fn link(path: &str, query: &Query, refresh: Option<u32>, extra: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.filters(refresh) {
        s.append_pair(k, &v);
    }
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    let qs = s.finish();
    if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") }
}

/// How many sources match, and per status (each a link to that status):
/// counted over every filter but `status`.
pub fn summary(listing: &Listing, query: &Query, refresh: Option<u32>) -> Markup {
    let total: usize = listing.counts.iter().map(|(_, n)| n).sum();
    let unfiltered = Query { status: None, after: None, ..query.clone() };
    html! {
        p #summary .summary {
            (total) @if total == 1 { " source" } @else { " sources" }
            @for (status, n) in &listing.counts {
                @if *n > 0 {
                    @let to = Query { status: Some(*status), ..unfiltered.clone() };
                    " " a class={ "badge " (status_class(*status)) } data-count=(status.label()) href=(link("/", &to, refresh, &[])) {
                        (n) " " (status.label())
                    }
                }
            }
            @if query.status.is_some() {
                " · " (listing.matching) " shown by status · " a href=(link("/", &unfiltered, refresh, &[])) { "any status" }
            }
        }
    }
}

/// Back to the first page, and on to the next one when there is one.
pub fn pager(listing: &Listing, query: &Query, refresh: Option<u32>) -> Markup {
    let first = Query { after: None, ..query.clone() };
    html! {
        nav #pager .pager {
            @if query.after.is_some() { a rel="first" href=(link("/", &first, refresh, &[])) { "« First page" } " " }
            @if let Some(next) = &listing.next {
                a rel="next" href=(link("/", &first, refresh, &[("after", next)])) { "Next page »" }
            }
            span.muted { " " (listing.rows.len()) " on this page of " (listing.matching) }
        }
    }
}

/// The table body.
pub fn body(listing: &Listing) -> Markup {
    html! {
        tbody #rows {
            @for s in &listing.rows { (source_row(listing.now, s)) }
            @if listing.rows.is_empty() { tr { td colspan="7" .muted { "No sources." } } }
        }
    }
}

/// `GET /rows`: what the script swaps into the page (by id): the summary,
/// the rows, the pager and the time of the update.
pub fn fragment(listing: &Listing, query: &Query, refresh: Option<u32>) -> Markup {
    html! {
        div {
            span #updated { (time(listing.now)) }
            (summary(listing, query, refresh))
            @if let Some(p) = &listing.problem { p #problem .flash role="alert" { (p) } }
            table { (body(listing)) }
            (pager(listing, query, refresh))
        }
    }
}
