//! The health service: sources, their schedule, checks and history.
//!
//! # Layout
//! - [`registry`]: loaded plugins by source type.
//! - [`scheduler`]: the one task that decides when checks run.
//! - [`fair`]: global and per-organization concurrency.
//! - [`gate`]: the same fair shares for synchronous checks, with a deadline.
//! - [`spec`]: the rules a definition keeps beyond its plugin's schema.
//! - `sources`: creating, replacing and deleting sources; the file's own.
//! - [`binding`]: which stored secrets a replace may carry over.
//! - [`depends`]: `depends_on`: same organization, no cycle, no dangling name.
//! - `migrate`: secrets older versions stored in the clear, moved at start.
//! - `pages`: the public status pages in force (`[[status_pages]]`).
//! - [`health`]: the latest result per source, in memory (one process).
//! - [`group`]: claims and lease renewals, when replicas share the store.
//! - [`agents`]: private agents' polls, claims and results (DESIGN §10).
//! - [`quorum`]: the combined outcome of a source's locations.
//!
//! [`Service`] is what the HTTP routes and the CLI use.

pub mod agents;
pub mod binding;
pub mod depends;
pub mod fair;
pub mod gate;
pub mod group;
pub mod health;
mod migrate;
mod pages;
pub mod quorum;
pub mod registry;
pub mod reload;
pub mod scheduler;
pub mod silences;
mod sources;
pub mod spec;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::alerts::Alerts;
use crate::alerts::delivery;
use crate::alerts::transport::Transport;
use crate::config::{ApiKey, Config, ConfigError, LimitsConfig, StoreChoice};
use crate::metrics::Metrics;
use crate::model::{self, CheckRecord, CheckStatus, Policy, Source, Trigger};
use crate::runtime::{Cause, CheckReport, Runtime, RuntimeConfig, RuntimeError};
use crate::schema::merge_secrets;
use crate::store::postgres::{PgOptions, PgStore};
use crate::store::sqlite::SqliteStore;
use crate::store::{Retention, Store, StoreError};
pub use health::SourceHealth;
use registry::Registry;
use scheduler::{Event, Gauges, Scheduler};
pub use sources::{CreateError, SpecError};
use sources::{FileSources, split_spec};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    AlertTransport(#[from] crate::alerts::transport::TransportError),
}

/// Why a synchronous check did not run.
#[derive(Debug, thiserror::Error)]
pub enum InlineError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Busy(#[from] gate::Busy),
}

/// What every check needs, shared by the scheduler's tasks.
pub struct Ctx {
    pub runtime: Arc<Runtime>,
    pub registry: Arc<Registry>,
    pub store: Arc<dyn Store>,
    pub health: Arc<health::Health>,
    pub metrics: Arc<Metrics>,
    pub alerts: Arc<Alerts>,
    /// This instance's name in the checks it runs.
    pub replica: String,
    /// Batches results into the group's store; None when one process owns it.
    pub recorder: Option<group::Recorder>,
}

impl Ctx {
    /// One attempt for `source`, with its secrets merged back in: those
    /// given (read with a group claim), else read from the store now.
    async fn attempt(&self, source: &Source, secrets: Option<&Value>) -> CheckReport {
        let Some(plugin) = self.registry.get(&source.source_type) else {
            return CheckReport::failed(format!("no plugin for source type {:?}", source.source_type));
        };
        let secrets = match secrets {
            Some(s) => s.clone(),
            // A probe without write-only fields has no secrets to read: no
            // store round trip for it (most of a `tcp` check's cost at scale).
            None if !plugin.schema().has_secrets() => Value::Object(Default::default()),
            None => match self.store.source_secrets(source.id).await {
                Ok(s) => s,
                Err(e) => {
                    return CheckReport::error(Cause::Host, "the store is unavailable", Some(e.to_string()));
                }
            },
        };
        let config = merge_secrets(&source.config, &secrets);
        let egress = self.runtime.egress(&source.organization);
        let report = self.runtime.check_with(&egress, &plugin, &config, source.policy.timeout).await;
        self.metrics.observe_attempt(&source.source_type, &report);
        tracing::debug!(
            source = %source.name, source_type = %source.source_type, status = %report.status,
            duration_ms = report.duration.as_millis() as u64, "attempt finished"
        );
        report
    }

    /// Stores a finished check and publishes it to readers. The store
    /// moves the alert routes' views in the check's transaction (so they
    /// move in the order checks are recorded, once per check).
    fn record(&self, source: Source, check: CheckRecord) {
        if let Some(recorder) = &self.recorder {
            return recorder.record(source, check);
        }
        let part = check.is_part_of(&source);
        if part {
            self.health.end(&check);
        } else {
            self.health.finish(&source, &check);
        }
        let ctx = (Arc::clone(&self.store), Arc::clone(&self.alerts), Arc::clone(&self.metrics));
        let health = Arc::clone(&self.health);
        tokio::spawn(async move {
            let (store, alerts, metrics) = ctx;
            let insert = check.trigger == Trigger::Schedule;
            let recorded = match store.record_check(&source, &check, insert, alerts.as_ref()).await {
                Ok(write) => {
                    crate::alerts::publish(&alerts, &metrics, std::slice::from_ref(&write));
                    if part {
                        quorum::record(store.as_ref(), &alerts, &metrics, Some(&health), &source, &check)
                            .await
                    } else {
                        Ok(())
                    }
                }
                Err(e) => Err(e),
            };
            if let Err(e) = recorded {
                tracing::error!(source = %source.name, check = %check.id, error = %e, "check result not stored");
            }
        });
    }
}

pub struct Service {
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
    gauges: Arc<Gauges>,
    /// Slots for synchronous checks, fair between organizations.
    sync: Arc<gate::Gate>,
    max_concurrent: usize,
    limits: LimitsConfig,
    /// Held while a requested check is looked for and queued, so that
    /// concurrent requests for one source queue one check.
    requesting: tokio::sync::Mutex<()>,
    /// Held while a source write checks `depends_on` (its own, or others'
    /// naming it) and writes, so two writes of this process cannot make a
    /// cycle or a dangling name between them ([`depends`]).
    writing_sources: tokio::sync::Mutex<()>,
    /// `[metrics] public`.
    metrics_public: bool,
    keys: std::sync::RwLock<Vec<ApiKey>>,
    plugins_dir: std::path::PathBuf,
    last_reload: std::sync::atomic::AtomicU8,
    default_policy: Policy,
    file_sources: std::sync::RwLock<FileSources>,
    status: crate::config::status::StatusConfig,
    /// `[[status_pages]]`, replaced by a reload.
    status_pages: std::sync::RwLock<Arc<Vec<crate::config::StatusPage>>>,
    /// Agent keys, grants and `[agents]` (DESIGN §10).
    agents: Arc<agents::Agents>,
    /// `[server] tls_cert_file` is set.
    https: bool,
}

/// Queued checks per concurrency slot beyond which the service counts as
/// saturated: it would take that many check durations to reach a new one.
pub const SATURATION_FACTOR: usize = 10;

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Service {
    /// Opens the store, loads plugins, checks and upserts the configured
    /// sources, recovers interrupted checks and starts the scheduler.
    pub async fn start(config: &Config) -> Result<Arc<Self>, ServiceError> {
        let keys = config.api_keys()?;
        let agents = Arc::new(agents::Agents::new(config)?);
        let runtime = Arc::new(Runtime::new(RuntimeConfig {
            memory_limit: config.checks.memory_mib << 20,
            egress: config.egress()?,
            cache_dir: Some(config.cache_dir.clone().unwrap_or_else(|| config.data_dir.join("compiled"))),
            // Checked with the rest of the configuration, so this cannot fail here.
            tls_roots: std::sync::Arc::new(config.tls.roots().unwrap_or_default()),
            ..RuntimeConfig::default()
        })?);
        let registry =
            Arc::new(Registry::load_pinned(&runtime, &config.plugins_dir, config.plugins.pin_set()).await);
        watch::spawn(Arc::clone(&runtime), Arc::clone(&registry), config.plugins_dir.clone());

        // Every configured source must have a plugin and a valid config
        // before anything is written.
        let specs = reload::validate_sources(&registry, config).await?;

        let replica = config.replica_id.clone().unwrap_or_else(default_replica_id);
        let store: Arc<dyn Store> = match config.store_choice()? {
            StoreChoice::Sqlite => Arc::new(SqliteStore::open(&config.data_dir).await?),
            StoreChoice::Postgres(url) => {
                let pg = &config.postgres;
                let options = PgOptions {
                    max_connections: pg.max_connections,
                    statement_timeout: pg.statement_timeout,
                    application_name: format!("sonde {replica}"),
                    ..PgOptions::default()
                };
                Arc::new(PgStore::open(&url, &options).await?)
            }
        };
        let shared = store.group().is_some();
        // Before the file's sources overwrite their stored configs, so
        // their history is scrubbed too.
        migrate::move_stored_secrets(&registry, store.as_ref()).await?;
        if depends::file_has_dependencies(config) {
            depends::check_file(config, &store.list_sources().await?)?;
        }
        store.upsert_sources(&specs).await?;
        spec::spawn_warning(Arc::clone(&store), config.limits);
        let health = Arc::new(health::Health::default());
        if !shared {
            health.warm(store.latest_finished_checks().await?);
        }

        let metrics = Arc::new(Metrics::new());
        let alerts = Arc::new(Alerts::new(config.alert_routes()?, config.maintenance_windows()?));
        alerts.warm(store.alert_states().await?);
        alerts.silences.set(store.list_silences(chrono::Utc::now()).await?);
        let transport = Transport::new(&config.tls.certificates().unwrap_or_default())?;
        delivery::spawn(Arc::clone(&store), Arc::clone(&alerts), Arc::clone(&metrics), transport);
        let recorder = shared
            .then(|| group::Recorder::spawn(Arc::clone(&store), Arc::clone(&alerts), Arc::clone(&metrics)));
        let ctx = Arc::new(Ctx {
            runtime,
            registry,
            store: Arc::clone(&store),
            health,
            metrics,
            alerts,
            replica,
            recorder,
        });
        agents::spawn_fallback(Arc::clone(&ctx), Arc::clone(&agents));
        let gauges = Arc::new(Gauges::default());
        let events =
            Scheduler::spawn(Arc::clone(&ctx), config.checks.max_concurrent, Arc::clone(&gauges), shared);
        if shared {
            group::spawn(
                Arc::clone(&ctx),
                events.clone(),
                Arc::clone(&gauges),
                config.checks.max_concurrent,
                group::Timing { lease: config.postgres.lease, poll: config.postgres.poll },
            );
        }
        let service = Arc::new(Self {
            ctx,
            events,
            gauges,
            sync: gate::Gate::new(config.checks.max_concurrent, gate::key_organizations(&keys)),
            max_concurrent: config.checks.max_concurrent,
            limits: config.limits,
            requesting: tokio::sync::Mutex::new(()),
            writing_sources: tokio::sync::Mutex::new(()),
            metrics_public: config.metrics.public,
            keys: std::sync::RwLock::new(keys),
            plugins_dir: config.plugins_dir.clone(),
            last_reload: std::sync::atomic::AtomicU8::new(reload::NEVER),
            default_policy: config.default_policy(),
            file_sources: std::sync::RwLock::new(FileSources::of(config)),
            status: config.status.clone(),
            status_pages: std::sync::RwLock::new(Arc::new(config.status_pages()?)),
            agents,
            https: config.server.tls_cert_file.is_some(),
        });

        // In a group, claims bring the sources they need instead.
        if !shared {
            for source in store.list_sources().await? {
                service.send(Event::Upsert(source));
            }
        }
        // Checks a previous process left queued or running are run again.
        // In a group, others may be running them right now: there, leases
        // that expire hand them over instead (`group`).
        let sources: std::collections::HashMap<Uuid, Source> = if shared {
            Default::default()
        } else {
            store.list_sources().await?.into_iter().map(|s| (s.id, s)).collect()
        };
        let unfinished = if shared { Vec::new() } else { store.unfinished_checks().await? };
        for mut check in unfinished {
            let Some(source) = sources.get(&check.source_id) else { continue };
            if check.location.is_some() {
                continue; // asked of an agent, which still has it to run
            }
            tracing::info!(source = %source.name, check = %check.id, "rerunning a check interrupted by a restart");
            check.status = CheckStatus::Scheduled;
            check.attempts = 0;
            if check.trigger == Trigger::Schedule {
                check.trigger = Trigger::Manual;
            }
            store.update_check(&check).await?;
            service.ctx.health.begin(&check);
            service.send(Event::RunNow(source.clone(), check));
        }
        spawn_pruner(
            Arc::clone(&store),
            Retention { max_per_source: config.history.max_per_source, max_age: config.history.max_age },
        );
        Ok(service)
    }

    fn send(&self, event: Event) {
        // Names are recorded here, before the call returns, so that a
        // reader right after a create, rename or delete sees it. Replicas
        // read names from the shared store and keep none.
        if let Some(health) = self.local_health() {
            match &event {
                Event::Upsert(source) => health.name(source),
                Event::Remove(id) => health.unname(*id),
                _ => {}
            }
        }
        // The scheduler lives as long as the runtime; a closed channel means
        // the process is shutting down.
        let _ = self.events.send(event);
    }

    /// The API keys in force (replaced by a configuration reload).
    pub fn keys(&self) -> Vec<ApiKey> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The status page's sign-in settings (`[status]`).
    pub fn status_config(&self) -> &crate::config::status::StatusConfig {
        &self.status
    }

    /// The policy of sources that set none of their own (`[defaults]`).
    pub fn default_policy(&self) -> Policy {
        self.default_policy
    }

    /// This instance's replica id (`--replica-id`, `SONDE_REPLICA_ID`, or
    /// host name and pid).
    pub fn replica(&self) -> &str {
        &self.ctx.replica
    }

    pub fn registry(&self) -> &Registry {
        &self.ctx.registry
    }

    pub fn runtime(&self) -> &Runtime {
        &self.ctx.runtime
    }

    pub fn store(&self) -> &dyn Store {
        self.ctx.store.as_ref()
    }

    /// The Prometheus metrics (`GET /metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.ctx.metrics
    }

    /// `[limits]`: the bounds of every source's policy.
    pub fn limits(&self) -> LimitsConfig {
        self.limits
    }

    /// Whether `sonde serve` answers over HTTPS (`[server] tls_cert_file`).
    pub fn serves_https(&self) -> bool {
        self.https
    }

    /// `[metrics] public`: per-source series without a key.
    pub fn metrics_public(&self) -> bool {
        self.metrics_public
    }

    /// `checks.max_concurrent`.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Checks queued and running right now.
    pub fn load(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.gauges.queued.load(Relaxed), self.gauges.running.load(Relaxed))
    }

    /// Whether the queue is too deep for a new check to run soon: more than
    /// [`SATURATION_FACTOR`] × `checks.max_concurrent` checks waiting.
    pub fn saturated(&self) -> bool {
        let (queued, _) = self.load();
        queued > SATURATION_FACTOR.saturating_mul(self.max_concurrent)
    }

    /// Queues a check of `source` ahead of its schedule, in every location
    /// of the source (DESIGN §10); returns it SCHEDULED: the service's own
    /// when `central` is one of them, else the first location's.
    pub async fn request_check(&self, source: &Source) -> Result<CheckRecord, StoreError> {
        let mut check = CheckRecord::new(source.id, Trigger::Manual, CheckStatus::Scheduled);
        let central = source.placement.central();
        if !central {
            check.location = source.placement.locations.first().cloned();
        } else if self.ctx.store.group().is_some() {
            // This replica runs it; if it dies first, another one adopts it.
            check.replica = Some(self.ctx.replica.clone());
        }
        self.ctx.store.insert_check(&check).await?;
        self.ctx.health.begin(&check);
        for location in source.placement.locations.iter().filter(|l| *l != model::CENTRAL) {
            let id = if check.location.as_ref() == Some(location) { check.id } else { Uuid::new_v4() };
            self.ctx.store.request_run(source.id, location, id).await?;
        }
        if central {
            self.send(Event::RunNow(source.clone(), check.clone()));
        }
        Ok(check)
    }

    /// [`Service::request_check`], unless a check of `source` is already
    /// queued or running: then that one, and `false` (nothing new queued).
    pub async fn request_check_once(&self, source: &Source) -> Result<(CheckRecord, bool), StoreError> {
        let _one_at_a_time = self.requesting.lock().await;
        if let Some(current) = self.health(source.id).await?.current {
            return Ok((current, false));
        }
        Ok((self.request_check(source).await?, true))
    }

    /// Runs one check of an inline definition for `organization` and waits
    /// for it (no stored source, no retries); [`gate::Busy`] when no slot
    /// frees within `timeout`.
    pub async fn check_inline(
        &self,
        organization: &str,
        source_type: &str,
        config: &Value,
        timeout: Duration,
    ) -> Result<CheckReport, InlineError> {
        let plugin =
            self.ctx.registry.get(source_type).ok_or_else(|| SpecError::UnknownType(source_type.into()))?;
        let valid = plugin
            .validate(config)
            .await
            .map_err(|violations| SpecError::Schema { source_type: source_type.into(), violations })?;
        let _pass = self.sync.enter(organization, timeout).await?;
        let egress = self.ctx.runtime.egress(organization);
        let report = self.ctx.runtime.check_valid_with(&egress, valid, timeout).await;
        self.ctx.metrics.observe_attempt(source_type, &report);
        Ok(report)
    }

    /// Runs one check of a stored source now and waits for it;
    /// [`gate::Busy`] when no slot frees within its timeout.
    pub async fn check_now(&self, source: &Source) -> Result<CheckReport, gate::Busy> {
        if source.placement.locations != [model::CENTRAL] {
            return Ok(self.check_everywhere(source).await);
        }
        let _pass = self.sync.enter(&source.organization, source.policy.timeout).await?;
        Ok(self.ctx.attempt(source, None).await)
    }

    /// A source's latest results: from this process's memory when it owns
    /// the store, from the store when replicas share it (so that every
    /// replica answers the same).
    pub async fn health(&self, id: Uuid) -> Result<SourceHealth, StoreError> {
        match self.ctx.store.group() {
            Some(group) => group.health(id).await,
            None => Ok(self.ctx.health.get(id)),
        }
    }

    /// This process's own record of every source's health and name, when
    /// it owns the store; `None` when replicas share it (then the store
    /// is the one record every replica reads).
    pub fn local_health(&self) -> Option<&health::Health> {
        self.ctx.store.group().is_none().then_some(&*self.ctx.health)
    }

    /// [`Service::health`] of every source, in one read.
    pub async fn health_all(&self) -> Result<std::collections::HashMap<Uuid, SourceHealth>, StoreError> {
        match self.ctx.store.group() {
            Some(group) => group.health_all().await,
            None => Ok(self.ctx.health.all()),
        }
    }

    pub async fn history(
        &self,
        id: Uuid,
        limit: u32,
        before: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<CheckRecord>, StoreError> {
        self.ctx.store.history(id, limit, before).await
    }
}

/// `<host name>-<pid>`: unique among processes on one machine and
/// readable in a check's history.
fn default_replica_id() -> String {
    format!("{}-{}", host_name(), std::process::id())
}

/// This machine's host name, or `sonde`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "sonde".into())
}

fn spawn_pruner(store: Arc<dyn Store>, retention: Retention) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            match store.prune(retention, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "history pruned"),
                Err(e) => tracing::warn!(error = %e, "history pruning failed"),
            }
        }
    });
}

impl Policy {
    /// This policy with the fields given replaced.
    pub fn or(
        self,
        interval: Option<Duration>,
        timeout: Option<Duration>,
        retries: Option<u32>,
        retry_interval: Option<Duration>,
    ) -> Self {
        Policy {
            interval: interval.unwrap_or(self.interval),
            timeout: timeout.unwrap_or(self.timeout),
            retries: retries.unwrap_or(self.retries),
            retry_interval: retry_interval.unwrap_or(self.retry_interval),
        }
    }
}
