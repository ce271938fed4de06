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
//! Results are written with retries until the store takes them, so a check
//! that finished during an outage is recorded when the database returns.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Ctx;
use super::health::log_transition;
use super::scheduler::{Event, Gauges};
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
        let mut tick = tokio::time::interval(timing.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Renewing three times per lease survives two missed renewals.
        let renew_every = timing.lease / 3;
        // The first tick renews, so this replica counts as alive at once.
        let mut last_renew = tokio::time::Instant::now() - renew_every;
        let mut outage = Outage::default();
        loop {
            tick.tick().await;
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

/// Stores a finished check in the group's store, retrying until it is
/// taken, and logs the transition against the group's previous result.
pub(super) fn record(store: Arc<dyn Store>, source: Source, check: CheckRecord) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(250);
        loop {
            let Some(group) = store.group() else { return };
            let replica = check.replica.clone().unwrap_or_default();
            match group.finish(&replica, &check).await {
                Ok(previous) => return log_transition(&source, previous, &check),
                Err(e) => {
                    tracing::debug!(source = %source.name, check = %check.id, error = %e,
                        "check result not stored yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
}
