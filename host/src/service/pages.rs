//! The public status pages in force (`[[status_pages]]`), read per request
//! and replaced whole by a configuration reload.

use std::sync::Arc;

use super::Service;
use crate::config::StatusPage;

impl Service {
    /// The page at `slug`, if one is configured.
    pub fn status_page(&self, slug: &str) -> Option<StatusPage> {
        let pages = self.status_pages.read().unwrap_or_else(|p| p.into_inner());
        pages.iter().find(|p| p.slug == slug).cloned()
    }

    pub(super) fn set_status_pages(&self, pages: Vec<StatusPage>) {
        *self.status_pages.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(pages);
    }
}
