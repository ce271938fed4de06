//! The group side of scheduling, when replicas share a store (DESIGN §9).
//!
//! The schedule lives in the store, not in this process's heap: one task
//! per replica claims due checks every `poll` (as many as it has room for,
//! so a busy replica leaves work to idle ones), hands them to the
//! [`Scheduler`](super::scheduler::Scheduler) as [`Event::Claimed`], and
//! renews all of this replica's leases in one statement a few times per
//! lease period, adopting meanwhile the manual checks of replicas that
//! stopped renewing. The same task notices the store going away and coming
//! back, and logs each once.
//!
//! Results are written in batches by a [`Recorder`], with retries until the
//! store takes them, so a check that finished during an outage is recorded
//! when the database returns.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Ctx;
use super::health::log_transition;
use super::scheduler::{Event, Gauges};
use crate::alerts::Alerts;
use crate::alerts::judge::Finished;
use crate::metrics::Metrics;
use crate::model::{CheckRecord, Source};
use crate::store::Store;

/// `[postgres] lease` and `poll`.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub lease: Duration,
    pub poll: Duration,
}

/// Starts the claiming task of this replica.
pub fn spawn(
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
    gauges: Arc<Gauges>,
    max_concurrent: usize,
    timing: Timing,
) {
    tokio::spawn(async move {
        // Renewing three times per lease survives two missed renewals.
        let renew_every = timing.lease / 3;
        // The first tick renews, so this replica counts as alive at once.
        let mut last_renew = tokio::time::Instant::now() - renew_every;
        let mut outage = Outage::default();
        let mut first = true;
        loop {
            if !std::mem::take(&mut first) {
                tokio::time::sleep(jittered(timing.poll)).await;
            }
            let Some(group) = ctx.store.group() else { return };
            if last_renew.elapsed() >= renew_every {
                match group.renew(&ctx.replica, timing.lease).await {
                    Ok(_) => last_renew = tokio::time::Instant::now(),
                    Err(e) => {
                        outage.failed(&e.to_string());
                        continue;
                    }
                }
                // Manual checks of replicas that died: as rare as that, so
                // looked for at the renewal pace, not every poll.
                match group.adopt_orphans(&ctx.replica, timing.lease, 64).await {
                    Ok(orphans) => {
                        for claim in orphans {
                            tracing::info!(source = %claim.source.name, check = %claim.check.id,
                                "rerunning a manual check whose replica stopped");
                            if events.send(Event::RunNow(claim.source, claim.check)).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => outage.failed(&e.to_string()),
                }
            }
            let busy = gauges.queued.load(Relaxed) + gauges.running.load(Relaxed);
            let room = u32::try_from(max_concurrent.saturating_sub(busy)).unwrap_or(u32::MAX);
            if room == 0 {
                continue;
            }
            match group.claim_due(&ctx.replica, timing.lease, room).await {
                Ok(claims) => {
                    outage.succeeded();
                    for claim in &claims {
                        if claim.resumed {
                            tracing::info!(source = %claim.source.name, check = %claim.check.id,
                                "taking over a check whose replica's lease expired");
                        }
                    }
                    if !claims.is_empty() && events.send(Event::Claimed(claims)).is_err() {
                        return; // the scheduler stopped: shutting down
                    }
                }
                Err(e) => outage.failed(&e.to_string()),
            }
        }
    });
}

/// `poll` scaled by a random factor in [0.5, 1.5). A fixed period locks
/// replicas into phase with the schedule: the one that finished a check
/// also polls first when it is next due, and claims every run of that
/// source. Jitter spreads the claims over the group, at the same mean pace.
fn jittered(poll: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A fresh RandomState is randomly keyed: a cheap random u64 from std.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    let frac = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    poll.mul_f64(0.5 + frac)
}

/// Logs "down" once when the store stops answering and "back" once when it
/// answers again.
#[derive(Debug, Default)]
struct Outage {
    down: bool,
}

impl Outage {
    fn failed(&mut self, error: &str) {
        if !self.down {
            self.down = true;
            tracing::error!(error, "store down: no checks are claimed until it answers again");
        }
    }

    fn succeeded(&mut self) {
        if self.down {
            self.down = false;
            tracing::info!("store back: claiming checks again");
        }
    }
}

/// Most checks one result statement carries.
const BATCH: usize = 256;
/// How long the first result of a batch waits for company.
const GATHER: Duration = Duration::from_millis(20);

/// Writes finished checks to the group's store in batches: one
/// transaction for all the results that finished within [`GATHER`] of each
/// other, with the alert decisions the store makes on them, retried until
/// the store takes it, so results that finish during an outage are written
/// when the database returns.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<(Source, CheckRecord)>,
}

impl Recorder {
    pub fn spawn(store: Arc<dyn Store>, alerts: Arc<Alerts>, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_results(store, alerts, metrics, rx));
        Self { tx }
    }

    /// Queues a finished check for the next batch.
    pub fn record(&self, source: Source, check: CheckRecord) {
        // Closed only when the runtime shuts down.
        let _ = self.tx.send((source, check));
    }
}

async fn write_results(
    store: Arc<dyn Store>,
    alerts: Arc<Alerts>,
    metrics: Arc<Metrics>,
    mut rx: mpsc::UnboundedReceiver<(Source, CheckRecord)>,
) {
    let mut pending: std::collections::VecDeque<(Source, CheckRecord)> = Default::default();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(first) => pending.push_back(first),
                None => return,
            }
            tokio::time::sleep(GATHER).await;
        }
        while let Ok(more) = rx.try_recv() {
            pending.push_back(more);
        }
        // One check per source per transaction, in the order they finished;
        // a second waits for the next.
        let mut seen = std::collections::HashSet::new();
        let mut batch = Vec::new();
        let mut later = std::collections::VecDeque::new();
        while let Some(item) = pending.pop_front() {
            if batch.len() < BATCH && seen.insert(item.0.id) {
                batch.push(item);
            } else {
                later.push_back(item);
            }
        }
        pending = later;
        if batch.is_empty() {
            continue;
        }
        let items: Vec<Finished> = batch.iter().map(|(source, check)| Finished { source, check }).collect();
        let mut wait = Duration::from_millis(250);
        let (previous, writes) = loop {
            let Some(group) = store.group() else { return };
            match group.finish_many(&items, alerts.as_ref()).await {
                Ok(done) => break done,
                Err(e) => {
                    tracing::debug!(results = items.len(), error = %e, "check results not stored yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        };
        crate::alerts::publish(&alerts, &metrics, &writes);
        for ((source, check), previous) in batch.iter().zip(previous) {
            if check.is_part_of(source) {
                // The central check of a source with other locations: its
                // combined outcome is what the group's readers see.
                if let Err(e) =
                    super::quorum::record(store.as_ref(), &alerts, &metrics, None, source, check).await
                {
                    tracing::warn!(source = %source.name, error = %e, "combined outcome not stored");
                }
            } else {
                log_transition(source, previous, check);
            }
        }
    }
}
