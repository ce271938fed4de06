//! Which sources a page of the list shows, decided in memory over a cheap
//! record of every visible source ([`Entry`]): the query (`q`, `org`,
//! `status`, `type`, `silenced`, `paused`, `limit`, `after`), the order
//! (problems first, then organization, name, id) and the opaque keyset
//! cursor that continues after a page's last row. Only the rows picked
//! here are worth the expensive reads (history, uptime).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::model::CheckStatus;

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 100;
/// The most rows one page shows.
pub const MAX_LIMIT: usize = 500;

/// A source's latest finished status as the list knows it; `Pending`
/// before its first finished check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shown {
    Ok,
    Timeout,
    Error,
    Failed,
    Pending,
}

impl Shown {
    /// In the order the summary shows them.
    pub const ALL: [Shown; 5] = [Shown::Error, Shown::Timeout, Shown::Failed, Shown::Ok, Shown::Pending];

    pub fn of(status: Option<CheckStatus>) -> Self {
        match status {
            Some(CheckStatus::Ok) => Shown::Ok,
            Some(CheckStatus::Timeout) => Shown::Timeout,
            Some(CheckStatus::Error) => Shown::Error,
            Some(CheckStatus::Failed) => Shown::Failed,
            _ => Shown::Pending,
        }
    }

    /// As the page and the `status` parameter spell it.
    pub fn label(self) -> &'static str {
        match self {
            Shown::Ok => "OK",
            Shown::Timeout => "TIMEOUT",
            Shown::Error => "ERROR",
            Shown::Failed => "FAILED",
            Shown::Pending => "pending",
        }
    }

    /// ERROR, TIMEOUT and FAILED come first.
    pub fn is_problem(self) -> bool {
        matches!(self, Shown::Error | Shown::Timeout | Shown::Failed)
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "ok" => Shown::Ok,
            "timeout" => Shown::Timeout,
            "error" => Shown::Error,
            "failed" => Shown::Failed,
            "pending" | "unchecked" => Shown::Pending,
            _ => return None,
        })
    }
}

/// What the list knows of every visible source before picking a page.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub organization: String,
    pub name: String,
    pub source_type: String,
    pub paused: bool,
    pub silenced: bool,
    pub status: Shown,
}

impl Entry {
    fn key(&self) -> Key<'_> {
        Key {
            rest: !self.status.is_problem(),
            organization: &self.organization,
            name: &self.name,
            id: self.id,
        }
    }
}

/// The list's order: problems (`rest == false`) first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a> {
    rest: bool,
    organization: &'a str,
    name: &'a str,
    id: Uuid,
}

/// `GET /` and `GET /rows`'s parameters, as sent (empty means unset, as a
/// GET form sends an untouched field).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct RawQuery {
    pub q: Option<String>,
    pub org: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub source_type: Option<String>,
    pub silenced: Option<String>,
    pub paused: Option<String>,
    pub limit: Option<String>,
    pub after: Option<String>,
    pub refresh: Option<String>,
}

/// The parameters, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Matched anywhere in the name, ignoring case.
    pub q: Option<String>,
    pub org: Option<String>,
    pub status: Option<Shown>,
    pub source_type: Option<String>,
    pub silenced: Option<bool>,
    pub paused: Option<bool>,
    pub limit: usize,
    /// The cursor as sent, and what it decodes to.
    pub after: Option<(String, Cursor)>,
}

/// The sort key of a page's last row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    rest: bool,
    organization: String,
    name: String,
    id: Uuid,
}

impl Cursor {
    fn of(e: &Entry) -> Self {
        Cursor {
            rest: !e.status.is_problem(),
            organization: e.organization.clone(),
            name: e.name.clone(),
            id: e.id,
        }
    }

    fn key(&self) -> Key<'_> {
        Key { rest: self.rest, organization: &self.organization, name: &self.name, id: self.id }
    }

    /// Opaque to clients: base64url of the key as JSON.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(s: &str) -> Option<Self> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
    }
}

/// A parameter the list cannot use; the page answers 400 with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("status must be one of OK, ERROR, TIMEOUT, FAILED or pending")]
    Status,
    #[error("limit must be a whole number from 1 to {MAX_LIMIT}")]
    Limit,
    #[error("{0} must be yes or no")]
    Flag(&'static str),
    #[error("the page cursor is not one this server made; start again from the first page")]
    Cursor,
    #[error("refresh must be a whole number of seconds from 1 to 300")]
    Refresh,
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn flag(v: &Option<String>, name: &'static str) -> Result<Option<bool>, QueryError> {
    match set(v).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("yes" | "true" | "1") => Ok(Some(true)),
        Some("no" | "false" | "0") => Ok(Some(false)),
        Some(_) => Err(QueryError::Flag(name)),
    }
}

impl RawQuery {
    pub fn check(&self) -> Result<Query, QueryError> {
        let limit = match set(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(s) => {
                s.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or(QueryError::Limit)?
            }
        };
        let status = set(&self.status).map(|s| Shown::parse(s).ok_or(QueryError::Status)).transpose()?;
        let after = set(&self.after)
            .map(|s| Cursor::decode(s).map(|c| (s.to_string(), c)).ok_or(QueryError::Cursor))
            .transpose()?;
        Ok(Query {
            q: set(&self.q).map(String::from),
            org: set(&self.org).map(String::from),
            status,
            source_type: set(&self.source_type).map(String::from),
            silenced: flag(&self.silenced, "silenced")?,
            paused: flag(&self.paused, "paused")?,
            limit,
            after,
        })
    }

    /// Seconds between refreshes, 1 to 300.
    pub fn refresh(&self, default: u32) -> Result<u32, QueryError> {
        match set(&self.refresh) {
            None => Ok(default),
            Some(s) => s.parse::<u32>().ok().filter(|n| (1..=300).contains(n)).ok_or(QueryError::Refresh),
        }
    }
}

impl Query {
    /// Every filter but `status`: what the summary counts over. `needle`
    /// is `q` lowercased.
    fn matches_but_status(&self, e: &Entry, needle: Option<&str>) -> bool {
        self.org.as_ref().is_none_or(|o| *o == e.organization)
            && self.source_type.as_ref().is_none_or(|t| *t == e.source_type)
            && self.silenced.is_none_or(|s| s == e.silenced)
            && self.paused.is_none_or(|p| p == e.paused)
            && needle.is_none_or(|q| e.name.to_lowercase().contains(q))
    }

    /// The query string of these filters, without the cursor: what the
    /// pager's links and the refresh carry.
    pub fn filters(&self, refresh: Option<u32>) -> Vec<(&'static str, String)> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut out = Vec::new();
        out.extend(self.q.clone().map(|v| ("q", v)));
        out.extend(self.org.clone().map(|v| ("org", v)));
        out.extend(self.status.map(|v| ("status", v.label().to_string())));
        out.extend(self.source_type.clone().map(|v| ("type", v)));
        out.extend(self.silenced.map(|v| ("silenced", yes_no(v))));
        out.extend(self.paused.map(|v| ("paused", yes_no(v))));
        if self.limit != DEFAULT_LIMIT {
            out.push(("limit", self.limit.to_string()));
        }
        out.extend(refresh.map(|r| ("refresh", r.to_string())));
        out
    }
}

/// One page of the list and what the summary and pager need.
#[derive(Debug, Default)]
pub struct Picked {
    /// The page's rows, in order.
    pub rows: Vec<Entry>,
    /// Per status, over the sources matching every filter but `status`.
    pub counts: Vec<(Shown, usize)>,
    /// Sources matching every filter.
    pub matching: usize,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// Filters `entries` (already only what the caller may see), counts them,
/// and takes the page after the cursor.
pub fn pick(entries: Vec<Entry>, query: &Query) -> Picked {
    let mut counts: Vec<(Shown, usize)> = Shown::ALL.iter().map(|s| (*s, 0)).collect();
    let mut kept: Vec<Entry> = Vec::new();
    let needle = query.q.as_ref().map(|q| q.to_lowercase());
    for e in entries {
        if !query.matches_but_status(&e, needle.as_deref()) {
            continue;
        }
        if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == e.status) {
            *n += 1;
        }
        if query.status.is_none_or(|s| s == e.status) {
            kept.push(e);
        }
    }
    let matching = kept.len();
    if let Some((_, after)) = &query.after {
        let after = after.key();
        kept.retain(|e| e.key() > after);
    }
    // Only the page needs to be in order: select it, then sort it.
    let more = kept.len() > query.limit;
    if more {
        kept.select_nth_unstable_by(query.limit, |a, b| a.key().cmp(&b.key()));
        kept.truncate(query.limit);
    }
    kept.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
    let next = more.then(|| kept.last().map(|e| Cursor::of(e).encode())).flatten();
    Picked { rows: kept, counts, matching, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
        a.key().cmp(&b.key())
    }

    fn entry(org: &str, name: &str, status: Shown) -> Entry {
        Entry {
            id: Uuid::new_v4(),
            organization: org.into(),
            name: name.into(),
            source_type: "tcp".into(),
            paused: false,
            silenced: false,
            status,
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> RawQuery {
        let s = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        serde_urlencoded_like(&s)
    }

    fn serde_urlencoded_like(s: &str) -> RawQuery {
        let map: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(s.as_bytes()).into_owned().collect();
        let value = serde_json::to_value(map).expect("map");
        serde_json::from_value(value).expect("query")
    }

    #[test]
    fn pages_visit_every_entry_once_problems_first() {
        let mut all = Vec::new();
        for i in 0..57 {
            let status = [Shown::Ok, Shown::Error, Shown::Pending, Shown::Failed, Shown::Timeout][i % 5];
            all.push(entry(&format!("org_{}", i % 3), &format!("s{i:02}"), status));
        }
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut pairs = vec![("limit", "10".to_string())];
            pairs.extend(after.clone().map(|a| ("after", a)));
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let picked = pick(all.clone(), &raw(&pairs).check().expect("query"));
            assert!(picked.rows.len() <= 10);
            seen.extend(picked.rows);
            match picked.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut expected = all.clone();
        expected.sort_by(order);
        let ids = |v: &[Entry]| v.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&seen), ids(&expected));
        let first_rest = seen.iter().position(|e| !e.status.is_problem()).expect("some OK");
        assert!(seen[..first_rest].iter().all(|e| e.status.is_problem()));
        assert!(seen[first_rest..].iter().all(|e| !e.status.is_problem()));
    }

    #[test]
    fn filters_and_counts() {
        let mut a = entry("org_a", "Billing-DB", Shown::Error);
        a.silenced = true;
        let all = vec![a, entry("org_a", "billing-api", Shown::Ok), entry("org_b", "web", Shown::Ok)];
        let q = raw(&[("q", "BILLING"), ("status", "ok")]).check().expect("query");
        let picked = pick(all.clone(), &q);
        assert_eq!(picked.rows.len(), 1);
        assert_eq!(picked.rows[0].name, "billing-api");
        // The summary counts before the status filter.
        assert!(picked.counts.contains(&(Shown::Error, 1)) && picked.counts.contains(&(Shown::Ok, 1)));
        let q = raw(&[("silenced", "yes")]).check().expect("query");
        assert_eq!(pick(all.clone(), &q).rows[0].name, "Billing-DB");
        let q = raw(&[("org", "org_b"), ("q", ""), ("type", "")]).check().expect("query");
        assert_eq!(pick(all, &q).matching, 1);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for (pairs, err) in [
            (vec![("limit", "0")], QueryError::Limit),
            (vec![("limit", "501")], QueryError::Limit),
            (vec![("limit", "x")], QueryError::Limit),
            (vec![("status", "sick")], QueryError::Status),
            (vec![("paused", "maybe")], QueryError::Flag("paused")),
            (vec![("after", "not-a-cursor")], QueryError::Cursor),
        ] {
            assert_eq!(raw(&pairs).check(), Err(err), "{pairs:?}");
        }
    }
}
