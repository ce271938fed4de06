//! `GET /status/<slug>.json`: exactly `{title, updated_at, sources: [{name,
//! status, uptime_24h, uptime_7d, last_check}]}` (DESIGN §11). Uptimes are
//! fractions from 0 to 1 (four decimals), `null` without finished checks
//! in the window; `status` is `OK`, `ERROR`, `TIMEOUT` or `FAILED`, `null`
//! before a source's first check, as is `last_check`; times are RFC 3339.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::data::PageData;

#[derive(Debug, Serialize)]
pub struct PageOut<'a> {
    pub title: &'a str,
    pub updated_at: DateTime<Utc>,
    pub sources: Vec<SourceOut<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SourceOut<'a> {
    pub name: &'a str,
    pub status: Option<&'static str>,
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    pub last_check: Option<DateTime<Utc>>,
}

impl<'a> From<&'a PageData> for PageOut<'a> {
    fn from(d: &'a PageData) -> Self {
        PageOut {
            title: &d.page.title,
            updated_at: d.updated_at,
            sources: d
                .sources
                .iter()
                .map(|s| SourceOut {
                    name: &s.name,
                    status: s.status.filter(|st| st.is_finished()).map(|st| st.as_str()),
                    uptime_24h: s.uptime_24h,
                    uptime_7d: s.uptime_7d,
                    last_check: s.last_check,
                })
                .collect(),
        }
    }
}

/// The page's JSON text.
pub fn render(d: &PageData) -> String {
    // Plain data of strings, numbers and times: serializing cannot fail.
    serde_json::to_string(&PageOut::from(d)).unwrap_or_default()
}
