//! The scheduler: one task owns the schedule of every source.
//!
//! There is no task or timer per source. Due times sit in one binary heap;
//! the loop sleeps until the earliest, pops what is due, and hands jobs to the
//! [`FairQueue`]. Changes arrive as [`Event`]s, and superseded heap entries are
//! skipped when popped (each source carries a generation number), so no tick
//! ever scans the table. First due times are spread over the interval by the
//! source id, so 10,000 sources do not fire together.
//!
//! Each attempt runs in its own task and reports back; retries (TIMEOUT and
//! ERROR only, `retries` times, `retry_interval` apart) go back on the heap
//! rather than sleeping on a concurrency slot.
//!
//! When replicas share the store (`group`), due times live in the store
//! instead: the heap holds only retries, and scheduled checks arrive as
//! [`Event::Claimed`] from [`super::group`], each leased to this replica.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use uuid::Uuid;

use super::Ctx;
use super::fair::FairQueue;
use crate::model::{CheckRecord, CheckStatus, Source, SourceState, Trigger};
use crate::runtime::CheckReport;
use crate::store::Claim;

/// What changes the schedule.
#[derive(Debug)]
pub enum Event {
    /// A source was created or changed (including paused or resumed).
    Upsert(Source),
    /// A source was deleted: forget it and cancel its running check.
    Remove(Uuid),
    /// Run this on-demand check (already stored as SCHEDULED) now.
    RunNow(Source, CheckRecord),
    /// One attempt of a job ended.
    AttemptDone(Job, Box<CheckReport>),
    /// Due checks this replica claimed from the group's schedule.
    Claimed(Vec<Claim>),
}

/// One check of one source, carried across its attempts.
#[derive(Debug, Clone)]
pub struct Job {
    pub source: Source,
    pub check: CheckRecord,
    generation: u64,
    /// The source's secrets when the claim brought them (group), so the
    /// attempt needs no read of its own.
    secrets: Option<Arc<serde_json::Value>>,
    /// When a scheduled check fell due, for the start-delay histogram.
    due: Option<Instant>,
}

enum Due {
    Scheduled { source: Uuid, generation: u64 },
    Retry(Box<Job>),
}

struct Entry {
    source: Source,
    generation: u64,
    busy: bool,
}

/// Counters readers may want (queue depth, concurrency in use).
#[derive(Debug, Default)]
pub struct Gauges {
    pub queued: std::sync::atomic::AtomicUsize,
    pub running: std::sync::atomic::AtomicUsize,
}

pub struct Scheduler {
    ctx: Arc<Ctx>,
    tx: mpsc::UnboundedSender<Event>,
    sources: HashMap<Uuid, Entry>,
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    due: HashMap<u64, Due>,
    seq: u64,
    fair: FairQueue<Job>,
    /// Running attempts by check id, with their source.
    running: HashMap<Uuid, (Uuid, String, AbortHandle)>,
    gauges: Arc<Gauges>,
    /// Whether the group's store schedules (see the module docs).
    group: bool,
    /// Whether the organizations must be counted again (once per burst of
    /// events, not once per event: 100,000 upserts at start-up).
    recount: bool,
}

/// Where the first check of a source falls within its interval.
pub(crate) fn spread(id: Uuid, interval: Duration) -> Duration {
    let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(u64::try_from(id.as_u128() % u128::from(ms)).unwrap_or(0))
}

impl Scheduler {
    pub fn spawn(
        ctx: Arc<Ctx>,
        max_concurrent: usize,
        gauges: Arc<Gauges>,
        group: bool,
    ) -> mpsc::UnboundedSender<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        let scheduler = Self {
            ctx,
            tx: tx.clone(),
            sources: HashMap::new(),
            heap: BinaryHeap::new(),
            due: HashMap::new(),
            seq: 0,
            fair: FairQueue::new(max_concurrent),
            running: HashMap::new(),
            gauges,
            group,
            recount: false,
        };
        tokio::spawn(scheduler.run(rx));
        tx
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Event>) {
        loop {
            let next = self.heap.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => self.handle(event),
                    None => break,
                },
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {}
            }
            // Drain what else is waiting before dispatching, so a burst of
            // events is handled in one pass.
            while let Ok(event) = rx.try_recv() {
                self.handle(event);
            }
            if std::mem::take(&mut self.recount) {
                self.count_organizations();
            }
            self.fire_due(Instant::now());
            self.dispatch();
            use std::sync::atomic::Ordering::Relaxed;
            self.gauges.queued.store(self.fair.queued(), Relaxed);
            self.gauges.running.store(self.fair.running(), Relaxed);
        }
    }

    fn at(&mut self, when: Instant, due: Due) {
        self.seq += 1;
        self.heap.push(Reverse((when, self.seq)));
        self.due.insert(self.seq, due);
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Upsert(source) => {
                let id = source.id;
                let generation = self.sources.get(&id).map_or(0, |e| e.generation + 1);
                let busy = self.sources.get(&id).is_some_and(|e| e.busy);
                // Sources checked only by agents (DESIGN §10) keep their
                // entry (names, on-demand checks) but are never due here.
                if source.state == SourceState::Active && source.placement.central() && !self.group {
                    let first = Instant::now() + spread(id, source.policy.interval);
                    self.at(first, Due::Scheduled { source: id, generation });
                }
                self.sources.insert(id, Entry { source, generation, busy });
                self.recount = true;
            }
            Event::Remove(id) => {
                self.sources.remove(&id);
                self.fair.retain(|job| job.source.id != id);
                let fair = &mut self.fair;
                self.running.retain(|_, (source, org, handle)| {
                    if *source == id {
                        // The attempt will never report: free its slot here.
                        handle.abort();
                        fair.finished(org);
                    }
                    *source != id
                });
                self.recount = true;
                self.ctx.health.remove(id);
            }
            Event::RunNow(source, check) => {
                let generation = self.sources.get(&source.id).map_or(0, |e| e.generation);
                self.fair.push_front(
                    &source.organization.clone(),
                    Job { source, check, generation, secrets: None, due: None },
                );
            }
            Event::AttemptDone(job, report) => self.attempt_done(job, *report),
            Event::Claimed(claims) => {
                for Claim { source, check, secrets, .. } in claims {
                    let id = source.id;
                    let generation = self.sources.get(&id).map_or(0, |e| e.generation);
                    let entry = Entry { source: source.clone(), generation, busy: true };
                    self.sources.insert(id, entry);
                    let org = source.organization.clone();
                    let secrets = Some(Arc::new(secrets));
                    self.fair.push(&org, Job { source, check, generation, secrets, due: None });
                }
                self.recount = true;
            }
        }
    }

    fn count_organizations(&mut self) {
        let orgs: std::collections::HashSet<&str> = self
            .sources
            .values()
            .filter(|e| e.source.state == SourceState::Active)
            .map(|e| e.source.organization.as_str())
            .collect();
        self.fair.set_known(orgs.len());
    }

    fn fire_due(&mut self, now: Instant) {
        while let Some(Reverse((at, seq))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            match self.due.remove(&seq) {
                Some(Due::Scheduled { source, generation }) => {
                    let Some(entry) = self.sources.get_mut(&source) else { continue };
                    if entry.generation != generation || entry.source.state != SourceState::Active {
                        continue; // superseded or paused
                    }
                    let interval = entry.source.policy.interval;
                    // Fixed rate; if the loop fell behind, skip to the future.
                    let next = (at + interval).max(now);
                    let busy = entry.busy;
                    let src = entry.source.clone();
                    if !busy {
                        entry.busy = true;
                        let check = CheckRecord::new(source, Trigger::Schedule, CheckStatus::Scheduled);
                        let org = src.organization.clone();
                        let job = Job { source: src, check, generation, secrets: None, due: Some(at) };
                        self.fair.push(&org, job);
                    }
                    self.at(next, Due::Scheduled { source, generation });
                }
                Some(Due::Retry(job)) if self.sources.contains_key(&job.source.id) => {
                    self.fair.push(&job.source.organization.clone(), *job);
                }
                Some(Due::Retry(_)) | None => {} // deleted meanwhile, or superseded
            }
        }
    }

    fn dispatch(&mut self) {
        while let Some((org, mut job)) = self.fair.pop() {
            let Some(entry) = self.sources.get(&job.source.id) else {
                self.fair.finished(&org); // deleted while queued
                continue;
            };
            let paused = entry.source.state == SourceState::Paused;
            // A claimed check is stored RUNNING under a lease: it runs.
            if paused && !self.group && job.check.trigger == Trigger::Schedule && job.check.attempts == 0 {
                self.fair.finished(&org);
                if let Some(e) = self.sources.get_mut(&job.source.id) {
                    e.busy = false;
                }
                continue;
            }
            if job.check.attempts == 0 {
                job.check.status = CheckStatus::Running;
                job.check.started_at = Some(Utc::now());
                job.check.replica = Some(self.ctx.replica.clone());
                self.ctx.health.begin(&job.check);
                if let Some(due) = job.due {
                    self.ctx.metrics.observe_start_delay(due.elapsed());
                }
            }
            let (ctx, tx) = (Arc::clone(&self.ctx), self.tx.clone());
            let (check_id, source_id) = (job.check.id, job.source.id);
            let task = tokio::spawn(async move {
                let report = ctx.attempt(&job.source, job.secrets.as_deref()).await;
                let _ = tx.send(Event::AttemptDone(job, Box::new(report)));
            });
            self.running.insert(check_id, (source_id, org, task.abort_handle()));
        }
    }

    fn attempt_done(&mut self, mut job: Job, report: CheckReport) {
        self.fair.finished(&job.source.organization);
        self.running.remove(&job.check.id);
        job.check.attempts += 1;
        let current = self.sources.get(&job.source.id).map(|e| e.generation);
        let Some(generation) = current else { return }; // deleted meanwhile
        let retries_left = job.check.attempts <= job.source.policy.retries;
        if report.status.is_retryable() && retries_left && generation == job.generation {
            tracing::debug!(source = %job.source.name, attempt = job.check.attempts, status = %report.status, "retrying");
            let when = Instant::now() + job.source.policy.retry_interval;
            self.ctx.health.begin(&job.check);
            self.at(when, Due::Retry(Box::new(job)));
            return;
        }
        if let Some(entry) = self.sources.get_mut(&job.source.id)
            && job.check.trigger == Trigger::Schedule
        {
            entry.busy = false;
        }
        job.check.finish(&report);
        self.ctx.record(job.source, job.check);
    }
}
