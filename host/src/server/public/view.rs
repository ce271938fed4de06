//! A public page's HTML, as maud templates (every value escaped): the
//! page's overall state, then each chosen source's status, uptime, last
//! check and 24 h response-time chart. No script; the stylesheet and the
//! charts are inline, so the page needs nothing but itself.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::badge::status_text;
use super::cache::MAX_AGE;
use super::data::{CHART_WINDOW, Overall, PageData, PublicSource};
use crate::server::chart;
use crate::server::status::parts::status_class;

const STYLE: &str = include_str!("style.css");

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `99.95 %`, or a dash without finished checks.
fn percent(share: Option<f64>) -> String {
    match share {
        Some(s) if s >= 1.0 => "100 %".into(),
        Some(s) => format!("{:.2} %", s * 100.0),
        None => "—".into(),
    }
}

fn source(now: DateTime<Utc>, s: &PublicSource) -> Markup {
    html! {
        article.source data-source=(s.name) data-status=(status_text(s.status)) {
            header {
                h2 { (s.name) }
                span class={ "badge " (status_class(s.status)) } { (status_text(s.status)) }
            }
            dl {
                div { dt { "Uptime 24 h" } dd.uptime-24h { (percent(s.uptime_24h)) } }
                div { dt { "Uptime 7 d" } dd.uptime-7d { (percent(s.uptime_7d)) } }
                div {
                    dt { "Last check" }
                    dd.last-check { @if let Some(t) = s.last_check { (time(t)) } @else { "never" } }
                }
            }
            (chart::render(&s.chart, CHART_WINDOW, now))
        }
    }
}

fn headline(overall: Overall) -> &'static str {
    match overall {
        Overall::Up => "All systems operational",
        Overall::Down => "Some systems are down",
        Overall::Pending => "Waiting for first checks",
        Overall::Unknown => "No systems listed",
    }
}

/// The page.
pub fn page(data: &PageData) -> Markup {
    let overall = data.overall();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(MAX_AGE.as_secs() * 2);
                title { (data.page.title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (data.page.title) }
                    p.summary {
                        span class={ "state " (overall.as_str()) } data-overall=(overall.as_str()) {
                            (headline(overall))
                        }
                        span.muted { "updated " (time(data.updated_at)) }
                    }
                    @for s in &data.sources { (source(data.updated_at, s)) }
                    footer.muted { "Monitored by Sonde" }
                }
            }
        }
    }
}
