//! One claimed source: a check at each interval, with the source's
//! retries, in the sandbox, under the egress policy its claim brought.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::outbox::Outbox;
use super::proto::{AgentResult, Claim};
use crate::runtime::sandbox::egress::Egress;
use crate::runtime::{Plugin, Runtime};

/// Checks `claim`'s source every interval until aborted (the claim went),
/// and at once for each on-demand check `asked` brings (its id is the
/// result's). The first check serves the claim's own `run_now`, if any.
pub async fn run(
    rt: Arc<Runtime>,
    plugin: Plugin,
    claim: Claim,
    outbox: Arc<Outbox>,
    mut asked: tokio::sync::mpsc::UnboundedReceiver<Uuid>,
) {
    let egress = Arc::new(Egress::from(&claim.egress));
    let interval = Duration::from_millis(claim.interval_ms.max(1));
    let timeout = Duration::from_millis(claim.timeout_ms.max(1));
    let retry_interval = Duration::from_millis(claim.retry_interval_ms);
    let mut next = tokio::time::Instant::now();
    let mut first = claim.run_now;
    loop {
        let check_id = tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                next += interval;
                first.take().unwrap_or_else(Uuid::new_v4)
            }
            Some(id) = asked.recv() => id,
        };
        let started_at = chrono::Utc::now();
        let mut attempts = 0;
        let report = loop {
            attempts += 1;
            let report = rt.check_with(&egress, &plugin, &claim.config, timeout).await;
            if !report.status.is_retryable() || attempts > claim.retries {
                break report;
            }
            tokio::time::sleep(retry_interval).await;
        };
        let reported_at = report.reported_at();
        outbox.push(AgentResult {
            check_id,
            source_id: claim.source_id,
            status: crate::model::CheckStatus::from(report.status).as_str().into(),
            attempts,
            message: report.message.clone(),
            extra: report.extra.clone(),
            details: report.details.clone(),
            items: report.items,
            started_at,
            reported_at,
            duration_ms: u64::try_from((reported_at - started_at).num_milliseconds()).unwrap_or(0),
        });
        // A check longer than its interval runs again at once, not twice.
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
    }
}
