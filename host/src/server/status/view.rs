//! The status page's HTML, as maud templates: every value is escaped by
//! maud and the stylesheet is embedded. The signed-in page loads one
//! same-origin script (`/static/page.js`) that refreshes the visible rows;
//! without script it refreshes itself with a `<noscript>` meta refresh.
//! The list's rows, summary and pager are in [`super::rows`].

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::list::{self, Query, Shown};
use super::rows::{self, SourceRow};

const STYLE: &str = include_str!("style.css");

/// One loaded plugin.
#[derive(Debug)]
pub struct PluginRow {
    pub source_type: String,
    pub version: String,
    pub wit_version: String,
    pub origin: String,
    pub sha256: String,
}

/// The list as one view of it shows it.
#[derive(Debug, Default)]
pub struct Listing {
    pub now: DateTime<Utc>,
    /// The page's rows, in the list's order.
    pub rows: Vec<SourceRow>,
    /// Per status, over every source matching the filters but `status`.
    pub counts: Vec<(Shown, usize)>,
    /// Sources matching every filter.
    pub matching: usize,
    /// The next page's cursor.
    pub next: Option<String>,
    /// Set when the store could not be read.
    pub problem: Option<String>,
}

/// Everything the page shows.
#[derive(Debug)]
pub struct Status {
    pub listing: Listing,
    pub query: Query,
    /// Seconds between refreshes.
    pub refresh: u32,
    /// `refresh` when it is not the default, for links to carry.
    pub refresh_param: Option<u32>,
    /// The loaded types, for the type filter.
    pub types: Vec<String>,
    pub plugins: Vec<PluginRow>,
    /// `(origin, error)` of every plugin file that failed to load.
    pub plugin_errors: Vec<(String, String)>,
    /// The signed-in key's organization; None for an admin key.
    pub organization: Option<String>,
    /// The session's CSRF token, sent back by every form.
    pub csrf: String,
    /// The private agents the key sees (DESIGN §10).
    pub agents: Vec<crate::agent::proto::AgentOut>,
}

/// `refresh`: the page's period, with its script (and a meta refresh for
/// browsers without script); `None` for a page that stays put.
fn layout(title: &str, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    noscript { meta http-equiv="refresh" content=(seconds); }
                    script src="/static/page.js" defer {}
                }
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The sign-in form; `error` says why the last attempt failed, `csrf` is
/// the token the form sends back.
pub fn login(error: Option<&str>, csrf: &str) -> Markup {
    layout(
        "Sonde · sign in",
        None,
        html! {
            main.login {
                h1 { "Sonde" }
                p { "Enter an API key: an admin key shows every source, an organization's key its own." }
                @if let Some(e) = error { p.flash role="alert" { (e) } }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="key" { "API key" }
                    input #key type="password" name="key" autocomplete="current-password" required autofocus;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// A page that only says what went wrong (a refused form, a store outage),
/// with a link back to the page.
pub fn message(title: &str, text: &str) -> Markup {
    layout(
        title,
        None,
        html! {
            main.login {
                h1 { (title) }
                p.flash role="alert" { (text) }
                p { a href="/" { "Back to the status page" } }
            }
        },
    )
}

fn choose(name: &str, label: &str, current: Option<&str>, options: &[(&str, &str)]) -> Markup {
    html! {
        label { (label) " "
            select name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[current.unwrap_or("") == *value] { (text) }
                }
            }
        }
    }
}

/// The filters, a GET form: it works without script.
fn filters(page: &Status) -> Markup {
    let q = &page.query;
    let yes_no = [("", "any"), ("yes", "yes"), ("no", "no")];
    let yes_no_of = |b: Option<bool>| b.map(|b| if b { "yes" } else { "no" });
    let mut statuses = vec![("", "any")];
    statuses.extend(Shown::ALL.iter().map(|s| (s.label(), s.label())));
    let mut types = vec![("", "any")];
    types.extend(page.types.iter().map(|t| (t.as_str(), t.as_str())));
    html! {
        form #filters .filters method="get" action="/" {
            label { "Name " input type="search" name="q" value=[q.q.as_deref()] placeholder="contains…"; }
            @if page.organization.is_none() {
                label { "Organization " input type="text" name="org" value=[q.org.as_deref()] size="14"; }
            }
            (choose("status", "Status", q.status.map(Shown::label), &statuses))
            (choose("type", "Type", q.source_type.as_deref(), &types))
            (choose("silenced", "Silenced", yes_no_of(q.silenced), &yes_no))
            (choose("paused", "Paused", yes_no_of(q.paused), &yes_no))
            @if let Some(r) = page.refresh_param { input type="hidden" name="refresh" value=(r); }
            @if q.limit != list::DEFAULT_LIMIT { input type="hidden" name="limit" value=(q.limit); }
            button type="submit" { "Filter" }
            " " a href="/" { "Clear" }
        }
    }
}

/// The status page.
pub fn status(page: &Status) -> Markup {
    let listing = &page.listing;
    let rows_url = rows::link("/rows", &page.query, page.refresh_param, &[]);
    let rows_url = match &page.query.after {
        Some((after, _)) => rows::link("/rows", &page.query, page.refresh_param, &[("after", after)]),
        None => rows_url,
    };
    let body = html! {
        header {
            h1 { "Sonde status" }
            span.muted {
                @if let Some(org) = &page.organization { "organization " strong { (org) } " · " }
                "updated " span #updated { (super::parts::time(listing.now)) } " · refreshes every " (page.refresh) " s"
            }
            form.logout method="post" action="/logout" {
                input type="hidden" name="csrf" value=(page.csrf);
                button type="submit" { "Log out" }
            }
        }
        @if let Some(p) = &listing.problem { p #problem .flash role="alert" { (p) } }
        section #list data-rows=(rows_url) data-refresh=(page.refresh) {
            h2 { "Sources" }
            (filters(page))
            (rows::summary(listing, &page.query, page.refresh_param))
            table #sources {
                thead { tr {
                    th { "Source" } th { "Status" } th { "Last check" } th { "Message" }
                    th { "Recent checks" } th.num { "24 h" } th.num { "7 d" }
                } }
                (rows::body(listing))
            }
            (rows::pager(listing, &page.query, page.refresh_param))
        }
        @if !page.agents.is_empty() {
            section {
                h2 { "Agents" }
                table #agents {
                    thead { tr { th { "Agent" } th { "Location" } th { "Last poll" } th.num { "Checks/s" } th.num { "Queued" } th.num { "Dropped" } th { "Version" } } }
                    tbody {
                        @for a in &page.agents {
                            tr.agent data-agent=(a.name) data-live=(a.live) {
                                td { strong { (a.name) } @if let Some(o) = &a.organization { div.muted { (o) } } }
                                td { (a.location) }
                                td { span class=(if a.live { "s-ok" } else { "s-error" }) { (a.last_poll) } @if !a.live { div.muted { "silent for over a lease" } } }
                                td.num { (format!("{:.2}", a.checks_per_second)) }
                                td.num { (a.queue) }
                                td.num { (a.dropped) }
                                td { (a.version) }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Plugins" }
            table #plugins {
                thead { tr { th { "Type" } th { "Version" } th { "WIT" } th { "Origin" } th { "SHA-256" } } }
                tbody {
                    @for p in &page.plugins {
                        tr {
                            td { strong { (p.source_type) } } td { (p.version) } td { (p.wit_version) }
                            td { code { (p.origin) } } td { code title=(p.sha256) { (p.sha256.get(..12).unwrap_or(&p.sha256)) "…" } }
                        }
                    }
                }
            }
            @if !page.plugin_errors.is_empty() {
                h3 { "Load errors" }
                ul #plugin-errors {
                    @for (origin, error) in &page.plugin_errors {
                        li { code { (origin) } ": " span.s-error-text { (error) } }
                    }
                }
            }
        }
    };
    layout("Sonde status", Some(page.refresh), body)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::rows::{SourceRow, source_row};
    use super::*;
    use crate::store::OutcomeCounts;

    #[test]
    fn a_held_back_down_names_its_dependency() {
        let row = |suppressed_by: Option<&str>| SourceRow {
            id: uuid::Uuid::nil(),
            name: "db".into(),
            organization: "org_a".into(),
            source_type: "postgres".into(),
            config: "{}".into(),
            paused: false,
            silenced: false,
            suppressed_by: suppressed_by.map(String::from),
            status: Shown::Pending,
            last: None,
            checking: false,
            history: Vec::new(),
            day: OutcomeCounts::default(),
            week: OutcomeCounts::default(),
            tls_not_after: None,
            depends_on: vec!["core-switch".into()],
        };
        let held = source_row(Utc::now(), &row(Some("core-switch"))).into_string();
        assert!(held.contains("suppressed: depends on core-switch"), "{held}");
        let free = source_row(Utc::now(), &row(None)).into_string();
        assert!(!free.contains("suppressed"), "{free}");
    }
}
