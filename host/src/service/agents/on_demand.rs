//! On-demand checks of sources checked from private locations (DESIGN
//! §10): asked of every location, waited for, answered as the combined
//! outcome (Aitronos's test by id).

use std::time::Duration;

use crate::model::{CENTRAL, CheckRecord, Source};
use crate::runtime::{Cause, CheckReport};
use crate::service::Service;

impl Service {
    /// An on-demand check in every location of `source`, waited for: the
    /// combined outcome once each location has reported since it was
    /// asked, or TIMEOUT naming those that did not within the source's
    /// whole budget (attempts, retry pauses, a poll and a lease).
    pub(in crate::service) async fn check_everywhere(&self, source: &Source) -> CheckReport {
        let asked = match self.request_check(source).await {
            Ok(c) => c,
            Err(e) => {
                return CheckReport::error(Cause::Host, "the store is unavailable", Some(e.to_string()));
            }
        };
        let p = source.policy;
        let budget = p.timeout * (p.retries + 1) + p.retry_interval * p.retries + self.agents.config.lease;
        let deadline = tokio::time::Instant::now() + budget;
        loop {
            let newest = self.ctx.store.newest_by_location(source.id).await.unwrap_or_default();
            let waiting: Vec<&String> = source
                .placement
                .locations
                .iter()
                .filter(|l| {
                    !newest.iter().any(|c| {
                        // The asked check itself, or a later one (stored
                        // times are whole microseconds: no `>=` on them).
                        c.location.as_deref().unwrap_or(CENTRAL) == l.as_str()
                            && (c.id == asked.id || c.created_at > asked.created_at)
                    })
                })
                .collect();
            if waiting.is_empty() {
                // The combined check follows the last part by a moment.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return match self.health(source.id).await {
                    Ok(h) => h.last.as_ref().map(report_of).unwrap_or_else(|| CheckReport::timeout(budget)),
                    Err(e) => {
                        CheckReport::error(Cause::Host, "the store is unavailable", Some(e.to_string()))
                    }
                };
            }
            if tokio::time::Instant::now() >= deadline {
                let names: Vec<&str> = waiting.iter().map(|l| l.as_str()).collect();
                let mut report = CheckReport::timeout(budget);
                report.message = Some(format!(
                    "no result from location {} within {}",
                    names.join(", "),
                    humantime::format_duration(budget)
                ));
                return report;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A stored check as the report an on-demand caller reads.
fn report_of(c: &CheckRecord) -> CheckReport {
    let status = c.status.outcome().unwrap_or(crate::runtime::Status::Error);
    let cause = match status {
        crate::runtime::Status::Ok => Cause::Healthy,
        crate::runtime::Status::Timeout => Cause::Deadline,
        crate::runtime::Status::Failed => Cause::InvalidConfig,
        crate::runtime::Status::Error => Cause::Unhealthy,
    };
    let mut report = CheckReport::error(cause, "", c.extra.clone());
    report.status = status;
    report.message = c.message.clone();
    report.details = c.details.clone();
    report.items = c.items;
    report.started_at = c.started_at.unwrap_or(c.created_at);
    report.duration = Duration::from_millis(c.duration_ms.unwrap_or(0));
    report
}
