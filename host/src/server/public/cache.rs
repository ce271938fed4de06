//! Each public page computed at most once per [`MAX_AGE`]: a page read by
//! many (a status page on a busy day, a badge in a README) costs one
//! gathering per period, however many readers there are. Readers that
//! arrive while it is being gathered wait for that one gathering. Its HTML
//! and JSON are rendered once too (`PageData::html`, `PageData::json`).
//!
//! Entries are keyed by slug and exist only for configured pages, so the
//! map is as small as `[[status_pages]]`; an entry made for an older
//! definition of its page (before a reload) is gathered again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::data::PageData;
use crate::config::StatusPage;

/// How long a gathered page is served, and what `Cache-Control: max-age`
/// lets browsers and proxies keep it: half the default check interval
/// (60 s), so a page is never more than about one check behind.
pub const MAX_AGE: Duration = Duration::from_secs(30);

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<PageData>)>>>;

#[derive(Debug, Default)]
pub struct Cache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl Cache {
    /// The page's content, gathered by `gather` when there is none younger
    /// than [`MAX_AGE`] for this definition of it. A failed gathering is not
    /// kept: the next reader tries again.
    pub async fn get<E, F, Fut>(&self, page: &StatusPage, gather: F) -> Result<Arc<PageData>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<PageData, E>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(slots.entry(page.slug.clone()).or_default())
        };
        let mut held = slot.lock().await;
        if let Some((at, data)) = held.as_ref()
            && at.elapsed() < MAX_AGE
            && data.page == *page
        {
            return Ok(Arc::clone(data));
        }
        let data = Arc::new(gather().await?);
        *held = Some((Instant::now(), Arc::clone(&data)));
        Ok(data)
    }
}
