//! What a public page shows, gathered once: the chosen sources of the
//! page's organization with their latest status, uptime and a day of
//! response times. Nothing else of a source is read into it (no config,
//! no message), so no view of it can show more.

use std::sync::OnceLock;

use axum::body::Bytes;
use chrono::{DateTime, Duration, Utc};

use crate::config::StatusPage;
use crate::model::{ChartPoint, CheckStatus, Source};
use crate::server::chart::Window;
use crate::service::Service;
use crate::store::{OutcomeCounts, StoreError};

/// Buckets of a source's 24 h chart: one per 5 minutes.
pub const CHART_BUCKETS: u32 = 288;
/// The window of the page's chart.
pub const CHART_WINDOW: Window = Window::Day;

/// One chosen source, as the public may see it.
#[derive(Debug, Clone)]
pub struct PublicSource {
    pub name: String,
    /// The newest finished check's status; None before the first.
    pub status: Option<CheckStatus>,
    /// Share of OK among finished checks, 0 to 1; None without any.
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    /// When the newest finished check reported.
    pub last_check: Option<DateTime<Utc>>,
    /// The last 24 h of response times, oldest first.
    pub chart: Vec<ChartPoint>,
}

/// The page's overall state, as its badge and heading say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every chosen source's newest check is OK.
    Up,
    /// At least one's is not.
    Down,
    /// None is down, but some have never been checked.
    Pending,
    /// The page shows no source.
    Unknown,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Up => "up",
            Overall::Down => "down",
            Overall::Pending => "pending",
            Overall::Unknown => "unknown",
        }
    }
}

/// A page's content at `updated_at`.
#[derive(Debug, Clone)]
pub struct PageData {
    pub page: StatusPage,
    pub updated_at: DateTime<Utc>,
    pub sources: Vec<PublicSource>,
    /// Its HTML and JSON, rendered by the first reader that asks for each:
    /// drawing a chart per source is most of a read's cost.
    pub html: OnceLock<Bytes>,
    pub json: OnceLock<Bytes>,
}

impl PageData {
    pub fn overall(&self) -> Overall {
        if self.sources.is_empty() {
            Overall::Unknown
        } else if self.sources.iter().any(|s| s.status.is_some_and(|st| st != CheckStatus::Ok)) {
            Overall::Down
        } else if self.sources.iter().any(|s| s.status.is_none()) {
            Overall::Pending
        } else {
            Overall::Up
        }
    }

    pub fn source(&self, name: &str) -> Option<&PublicSource> {
        self.sources.iter().find(|s| s.name == name)
    }
}

/// The page's sources: of its organization only, the names it lists in
/// its order (a name the organization has not is simply absent), else
/// every one by name.
pub fn choose(page: &StatusPage, all: Vec<Source>) -> Vec<Source> {
    let mut own: Vec<Source> = all.into_iter().filter(|s| s.organization == page.organization).collect();
    match &page.sources {
        None => {
            own.sort_by(|a, b| a.name.cmp(&b.name));
            own
        }
        Some(names) => {
            let mut chosen: Vec<Source> = Vec::new();
            for name in names {
                if chosen.iter().any(|s| &s.name == name) {
                    continue;
                }
                if let Some(i) = own.iter().position(|s| &s.name == name) {
                    chosen.push(own.swap_remove(i));
                }
            }
            chosen
        }
    }
}

/// Share of OK, rounded to four decimals; None without finished checks.
pub fn uptime(c: OutcomeCounts) -> Option<f64> {
    (c.finished > 0).then(|| (c.ok as f64 / c.finished as f64 * 10_000.0).round() / 10_000.0)
}

/// Reads `page`'s content now.
pub async fn gather(service: &Service, page: &StatusPage) -> Result<PageData, StoreError> {
    let now = Utc::now();
    let chosen = choose(page, service.list_sources().await?);
    let store = service.store();
    let mut sources = Vec::with_capacity(chosen.len());
    for source in chosen {
        let last = service.health(source.id).await?.last;
        let day = store.outcome_counts(source.id, now - Duration::hours(24)).await?;
        let week = store.outcome_counts(source.id, now - Duration::days(7)).await?;
        let chart = store.chart_points(source.id, now - CHART_WINDOW.duration(), now, CHART_BUCKETS).await?;
        sources.push(PublicSource {
            name: source.name,
            status: last.as_ref().map(|c| c.status),
            uptime_24h: uptime(day),
            uptime_7d: uptime(week),
            last_check: last.as_ref().map(|c| c.reported_at.unwrap_or(c.created_at)),
            chart,
        });
    }
    Ok(PageData {
        page: page.clone(),
        updated_at: now,
        sources,
        html: OnceLock::new(),
        json: OnceLock::new(),
    })
}
