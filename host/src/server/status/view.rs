//! The status page's HTML, as maud templates: every value is escaped by
//! maud, the stylesheet is embedded, and the page has no script at all
//! (it refreshes with `<meta http-equiv="refresh">`).

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::model::{CheckRecord, CheckStatus};
use crate::store::OutcomeCounts;

const STYLE: &str = include_str!("style.css");

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

/// One loaded plugin.
#[derive(Debug)]
pub struct PluginRow {
    pub source_type: String,
    pub version: String,
    pub wit_version: String,
    pub origin: String,
    pub sha256: String,
}

/// Everything the page shows.
#[derive(Debug)]
pub struct Status {
    pub now: DateTime<Utc>,
    pub refresh: u32,
    pub sources: Vec<SourceRow>,
    pub plugins: Vec<PluginRow>,
    /// `(origin, error)` of every plugin file that failed to load.
    pub plugin_errors: Vec<(String, String)>,
    /// Set when the store could not be read.
    pub problem: Option<String>,
    /// The signed-in key's organization; None for an admin key.
    pub organization: Option<String>,
    /// The session's CSRF token, sent back by every form.
    pub csrf: String,
}

fn layout(title: &str, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
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

fn status_class(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(CheckStatus::Ok) => "s-ok",
        Some(CheckStatus::Timeout) => "s-timeout",
        Some(CheckStatus::Error) => "s-error",
        Some(CheckStatus::Failed) => "s-failed",
        _ => "s-pending",
    }
}

fn status_label(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(s) if s.is_finished() => s.as_str(),
        _ => "pending",
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `3 s ago`, `5 min ago`, ...
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}

fn uptime(c: OutcomeCounts) -> Markup {
    if c.finished == 0 {
        return html! { span.muted title="no finished checks" { "—" } };
    }
    // Precision is irrelevant at these sizes; the share is at most 1.
    let share = c.ok as f64 * 100.0 / c.finished as f64;
    let text = if c.ok == c.finished { "100 %".to_string() } else { format!("{share:.1} %") };
    html! { span title=(format!("{} of {} checks OK", c.ok, c.finished)) { (text) } }
}

fn strip(now: DateTime<Utc>, history: &[CheckRecord]) -> Markup {
    html! {
        span.strip {
            @for c in history {
                @let tip = format!(
                    "{} · {} ({}){}",
                    c.status.as_str(),
                    time(c.created_at),
                    ago(now, c.created_at),
                    c.message.as_deref().map(|m| format!(" · {m}")).unwrap_or_default()
                );
                span class={ "cell " (status_class(Some(c.status))) } title=(tip) {}
            }
        }
    }
}

fn source_row(now: DateTime<Utc>, s: &SourceRow) -> Markup {
    let status = s.last.as_ref().map(|c| c.status);
    let at = s.last.as_ref().map(|c| c.reported_at.unwrap_or(c.created_at));
    html! {
        tr.source data-source=(s.name) data-status=(status_label(status)) {
            td {
                a href={ "/sources/" (s.id) } { strong.name { (s.name) } }
                div.muted {
                    (s.organization) " · " (s.source_type)
                    @if let Some(at) = s.tls_not_after { " · " (tls_days(now, at)) }
                    @if !s.depends_on.is_empty() { " · " span.depends { "depends on " (s.depends_on.join(", ")) } }
                }
                code.config title=(s.config) { (s.config) }
            }
            td {
                span class={ "badge " (status_class(status)) } { (status_label(status)) }
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
            td { (strip(now, &s.history)) }
            td.num { (uptime(s.day)) }
            td.num { (uptime(s.week)) }
        }
    }
}

/// "TLS: 42 days left" beside a source that uses TLS, loud once expired.
fn tls_days(now: DateTime<Utc>, not_after: DateTime<Utc>) -> Markup {
    let days = (not_after - now).num_days();
    let text = match days {
        _ if not_after <= now => "TLS: certificate expired".to_string(),
        1 => "TLS: 1 day left".to_string(),
        d => format!("TLS: {d} days left"),
    };
    html! {
        span.tls data-tls-days=(days) class=[(days < 14).then_some("soon")] title={ "certificate expires " (time(not_after)) } {
            (text)
        }
    }
}

fn counts(sources: &[SourceRow]) -> Markup {
    let kinds = [
        Some(CheckStatus::Ok),
        Some(CheckStatus::Timeout),
        Some(CheckStatus::Error),
        Some(CheckStatus::Failed),
        None,
    ];
    let label = |s: &SourceRow| status_label(s.last.as_ref().map(|c| c.status));
    html! {
        p.summary {
            (sources.len()) @if sources.len() == 1 { " source" } @else { " sources" }
            @for k in kinds {
                @let n = sources.iter().filter(|s| label(s) == status_label(k)).count();
                @if n > 0 { " " span class={ "badge " (status_class(k)) } { (n) " " (status_label(k)) } }
            }
        }
    }
}

/// The status page.
pub fn status(page: &Status) -> Markup {
    let body = html! {
        header {
            h1 { "Sonde status" }
            span.muted {
                @if let Some(org) = &page.organization { "organization " strong { (org) } " · " }
                "updated " (time(page.now)) " · refreshes every " (page.refresh) " s"
            }
            form.logout method="post" action="/logout" {
                input type="hidden" name="csrf" value=(page.csrf);
                button type="submit" { "Log out" }
            }
        }
        @if let Some(p) = &page.problem { p.flash role="alert" { (p) } }
        section {
            h2 { "Sources" }
            (counts(&page.sources))
            table #sources {
                thead { tr {
                    th { "Source" } th { "Status" } th { "Last check" } th { "Message" }
                    th { "Recent checks" } th.num { "24 h" } th.num { "7 d" }
                } }
                tbody {
                    @for s in &page.sources { (source_row(page.now, s)) }
                    @if page.sources.is_empty() { tr { td colspan="7" .muted { "No sources." } } }
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
    use super::*;

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
