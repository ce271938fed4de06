//! Results waiting to be sent: in memory only, in the order they
//! finished, bounded; past the bound the oldest are dropped and counted
//! (the count goes to the service with each poll). One task sends them in
//! batches and keeps them until the service has answered for them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::client::{CallError, Service};
use super::proto::{AgentResult, MAX_BATCH, Results};

/// The bounded queue of results, and the recent rate of checks.
#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    wake: tokio::sync::Notify,
    bound: usize,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<AgentResult>,
    dropped: u64,
    /// When recent results finished, for [`Outbox::rate`].
    recent: VecDeque<Instant>,
}

/// The window [`Outbox::rate`] averages over.
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Results gathered before a batch goes without waiting.
const EAGER: usize = 64;
/// Largest batch body, under the service's 8 MiB cap.
const MAX_BATCH_BYTES: usize = 4 << 20;

impl Outbox {
    pub fn new(bound: usize) -> Self {
        Self { inner: Mutex::default(), wake: tokio::sync::Notify::new(), bound: bound.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a finished check; drops the oldest past the bound.
    pub fn push(&self, result: AgentResult) {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.recent.push_back(now);
        while inner.recent.front().is_some_and(|t| now.duration_since(*t) > RATE_WINDOW) {
            inner.recent.pop_front();
        }
        inner.queue.push_back(result);
        while inner.queue.len() > self.bound {
            inner.queue.pop_front();
            inner.dropped += 1;
        }
        let eager = inner.queue.len() >= EAGER;
        drop(inner);
        if eager {
            self.wake.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Checks per second over the last minute.
    pub fn rate(&self) -> f64 {
        self.lock().recent.len() as f64 / RATE_WINDOW.as_secs_f64()
    }

    /// The oldest results, up to a batch.
    fn peek(&self) -> Vec<AgentResult> {
        let inner = self.lock();
        let mut out = Vec::new();
        let mut bytes = 0;
        for r in inner.queue.iter().take(MAX_BATCH) {
            bytes += serde_json::to_vec(r).map_or(0, |v| v.len());
            if !out.is_empty() && bytes > MAX_BATCH_BYTES {
                break;
            }
            out.push(r.clone());
        }
        out
    }

    /// Removes the results the service answered for (those dropped
    /// meanwhile are already gone); with `lost`, counts them as dropped.
    fn settle(&self, sent: &[AgentResult], lost: bool) {
        let ids: std::collections::HashSet<_> = sent.iter().map(|r| r.check_id).collect();
        let mut inner = self.lock();
        let before = inner.queue.len();
        inner.queue.retain(|r| !ids.contains(&r.check_id));
        if lost {
            inner.dropped += (before - inner.queue.len()) as u64;
        }
    }
}

/// Sends what waits, every second or sooner when [`EAGER`] results wait;
/// on failure, again with backoff up to 5 s, oldest first, so results
/// arrive in the order they finished.
pub async fn send_loop(service: Arc<Service>, outbox: Arc<Outbox>, name: String) {
    let mut wait = Duration::from_secs(1);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = outbox.wake.notified() => {}
        }
        loop {
            let batch = outbox.peek();
            if batch.is_empty() {
                wait = Duration::from_secs(1);
                break;
            }
            let results = Results { name: name.clone(), results: batch.clone() };
            match service.report(&results).await {
                Ok(answer) => {
                    for r in &answer.refused {
                        tracing::warn!(check = %r.check_id, reason = %r.reason, "result refused");
                    }
                    outbox.settle(&batch, false);
                    wait = Duration::from_secs(1);
                }
                Err(CallError::Status { status, detail })
                    if (400..500).contains(&status) && status != 429 =>
                {
                    // The service will never take this batch: keep going,
                    // and say so in `dropped`.
                    tracing::error!(status, detail = %detail, results = batch.len(), "batch refused; dropped");
                    outbox.settle(&batch, true);
                }
                Err(e) => {
                    tracing::debug!(error = %e, waiting = outbox.len(), "results not sent yet");
                    wait = (wait * 2).min(Duration::from_secs(5));
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(n: u64) -> AgentResult {
        let now = chrono::Utc::now();
        AgentResult {
            check_id: uuid::Uuid::from_u64_pair(0, n),
            source_id: uuid::Uuid::nil(),
            status: "OK".into(),
            attempts: 1,
            message: None,
            extra: None,
            details: None,
            items: None,
            started_at: now,
            reported_at: now,
            duration_ms: n,
        }
    }

    /// Past the bound the oldest go, counted; what is sent leaves in order
    /// and only once the service answered for it.
    #[test]
    fn the_bound_drops_the_oldest_and_counts_them() {
        let outbox = Outbox::new(3);
        for n in 0..5 {
            outbox.push(result(n));
        }
        assert_eq!((outbox.len(), outbox.dropped()), (3, 2));
        let batch = outbox.peek();
        assert_eq!(batch.iter().map(|r| r.duration_ms).collect::<Vec<_>>(), [2, 3, 4]);
        // Two more finish while the batch is on its way: two more drops,
        // the batch's own oldest among them.
        outbox.push(result(5));
        outbox.push(result(6));
        assert_eq!(outbox.dropped(), 4);
        outbox.settle(&batch, false);
        assert_eq!(outbox.peek().iter().map(|r| r.duration_ms).collect::<Vec<_>>(), [5, 6]);
        assert!(outbox.rate() > 0.0);
        // A batch the service will never take is dropped, and counted.
        outbox.settle(&outbox.peek(), true);
        assert_eq!((outbox.len(), outbox.dropped()), (0, 6));
    }
}
