//! The service's Prometheus metrics: one registry of typed families, fed
//! where attempts and checks finish ([`Metrics::observe_attempt`],
//! [`Metrics::observe_check`]) and filled with point-in-time values (per
//! source status, queue, plugins, reload) at scrape time ([`Metrics::encode`]).
//!
//! Labels are bounded: `source` and `organization` (configured sources),
//! `type` (loaded plugins), `outcome` (four statuses; three delivery
//! outcomes), `cause` (four trap kinds) and `route` (configured alert routes). Nothing secret is ever a label or a value.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{CheckRecord, CheckStatus, Source};
use crate::runtime::{Cause, CheckReport, Status};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LocationLabels {
    source: String,
    organization: String,
    r#type: String,
    location: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgentLabels {
    location: String,
    agent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
    organization: String,
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    r#type: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TrapLabels {
    r#type: String,
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    route: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DownLabels {
    source: String,
    organization: String,
    route: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The numeric code of `sonde_source_status`: 0 OK, 1 TIMEOUT, 2 ERROR,
/// 3 FAILED, -1 no finished check yet.
pub fn status_code(status: Option<CheckStatus>) -> i64 {
    match status {
        Some(CheckStatus::Ok) => 0,
        Some(CheckStatus::Timeout) => 1,
        Some(CheckStatus::Error) => 2,
        Some(CheckStatus::Failed) => 3,
        Some(CheckStatus::Scheduled | CheckStatus::Running) | None => -1,
    }
}

/// Point-in-time values the scrape reads from the service.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every source with its newest finished check.
    pub sources: Vec<(Source, Option<CheckRecord>)>,
    pub queued: usize,
    pub running: usize,
    pub max_concurrent: usize,
    pub plugins_loaded: usize,
    pub plugin_load_errors: usize,
    /// The last configuration reload's success; `None` before any reload.
    pub last_reload_ok: Option<bool>,
    /// Every alert route's view of every source it watches:
    /// `(source, organization, route, down)`.
    pub source_down: Vec<(String, String, String, bool)>,
    /// The earliest peer certificate expiry each source's newest TLS
    /// handshake saw, by source id; sources without TLS are absent.
    pub tls_not_after: HashMap<Uuid, DateTime<Utc>>,
    /// Agents the scrape may see: `(location, name, last poll)`.
    pub agents: Vec<(String, String, DateTime<Utc>)>,
    /// Each location's newest finished check of the sources checked
    /// elsewhere than `central` alone: `(source, location, status)`.
    pub locations: Vec<(Source, String, CheckStatus)>,
}

pub struct Metrics {
    registry: Registry,
    /// Serialises scrapes: the point-in-time families are cleared and refilled.
    scrape: Mutex<()>,
    source_status: Family<SourceLabels, Gauge>,
    source_up: Family<SourceLabels, Gauge>,
    source_duration: Family<SourceLabels, FloatGauge>,
    source_last: Family<SourceLabels, FloatGauge>,
    source_tls_expiry: Family<SourceLabels, FloatGauge>,
    durations: Family<OutcomeLabels, Histogram>,
    start_delay: Histogram,
    timeouts: Family<TypeLabels, Counter>,
    traps: Family<TrapLabels, Counter>,
    denied: Family<TypeLabels, Counter>,
    queued: Gauge,
    running: Gauge,
    max_concurrent: Gauge,
    plugins_loaded: Gauge,
    plugin_load_errors: Gauge,
    reload_success: Gauge,
    notifications: Family<DeliveryLabels, Counter>,
    notifications_pending: Family<RouteLabels, Gauge>,
    source_down: Family<DownLabels, Gauge>,
    agent_last_poll: Family<AgentLabels, FloatGauge>,
    location_status: Family<LocationLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Scheduler lateness, 1 ms to 1 min; 1 s is the line an operator watches.
const START_DELAY_BUCKETS: &[f64] = &[0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

fn duration_histogram() -> Histogram {
    // 5 ms to ~41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("sonde"),
            scrape: Mutex::new(()),
            source_status: Family::default(),
            source_up: Family::default(),
            source_duration: Family::default(),
            source_last: Family::default(),
            source_tls_expiry: Family::default(),
            durations: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            start_delay: Histogram::new(START_DELAY_BUCKETS.iter().copied()),
            timeouts: Family::default(),
            traps: Family::default(),
            denied: Family::default(),
            queued: Gauge::default(),
            running: Gauge::default(),
            max_concurrent: Gauge::default(),
            plugins_loaded: Gauge::default(),
            plugin_load_errors: Gauge::default(),
            reload_success: Gauge::default(),
            notifications: Family::default(),
            notifications_pending: Family::default(),
            source_down: Family::default(),
            agent_last_poll: Family::default(),
            location_status: Family::default(),
        };
        let r = &mut m.registry;
        r.register(
            "source_location_status",
            "Status of the newest finished check per source and location, for sources checked from private \
             locations (DESIGN §10): 0 OK, 1 TIMEOUT, 2 ERROR, 3 FAILED",
            m.location_status.clone(),
        );
        r.register_with_unit(
            "agent_last_poll_timestamp",
            "When each private agent last polled the service, Unix time (DESIGN §10)",
            Unit::Seconds,
            m.agent_last_poll.clone(),
        );
        r.register(
            "source_status",
            "Status of the newest finished check per source: 0 OK, 1 TIMEOUT, 2 ERROR, 3 FAILED, -1 none yet",
            m.source_status.clone(),
        );
        r.register(
            "source_up",
            "1 when the newest finished check of the source is OK, else 0",
            m.source_up.clone(),
        );
        r.register_with_unit(
            "source_last_check_duration",
            "Duration of the newest finished check per source",
            Unit::Seconds,
            m.source_duration.clone(),
        );
        r.register_with_unit(
            "source_last_check_timestamp",
            "When the newest finished check per source reported, Unix time",
            Unit::Seconds,
            m.source_last.clone(),
        );
        r.register_with_unit(
            "source_tls_cert_expiry_timestamp",
            "The earliest not_after of the peer certificate chain the newest TLS handshake per source saw, Unix \
             time; absent for sources without TLS",
            Unit::Seconds,
            m.source_tls_expiry.clone(),
        );
        r.register_with_unit(
            "check_duration",
            "Duration of check attempts by source type and outcome (ok, timeout, error, failed)",
            Unit::Seconds,
            m.durations.clone(),
        );
        r.register_with_unit(
            "check_start_delay",
            "How late scheduled checks started: from the due time to the first attempt's start (time spent \
             waiting for a concurrency slot included)",
            Unit::Seconds,
            m.start_delay.clone(),
        );
        r.register("check_timeouts", "Attempts that hit their deadline", m.timeouts.clone());
        r.register(
            "check_traps",
            "Attempts whose guest trapped, by cause (memory_limit, stack_overflow, too_many_handles, crash)",
            m.traps.clone(),
        );
        r.register("denied_connections", "Connections the sandbox refused", m.denied.clone());
        r.register("checks_queued", "Checks waiting for a concurrency slot", m.queued.clone());
        r.register("checks_running", "Checks running now (concurrency in use)", m.running.clone());
        r.register("checks_max_concurrent", "Configured checks.max_concurrent", m.max_concurrent.clone());
        r.register("plugins_loaded", "Probe plugins loaded, one per source type", m.plugins_loaded.clone());
        r.register("plugin_load_failures", "Plugin files that failed to load", m.plugin_load_errors.clone());
        r.register(
            "config_reload_success",
            "0 when the last configuration reload failed, else 1 (the configuration in force loaded)",
            m.reload_success.clone(),
        );
        r.register(
            "notifications",
            "Alert notification sends by route and outcome: sent (2xx), failed (an attempt that will be retried \
             or given up), dropped (given up: older than a day, or its route is gone), suppressed (a \"down\" \
             held back while a dependency was down)",
            m.notifications.clone(),
        );
        r.register(
            "notifications_pending",
            "Alert notifications stored and not yet delivered, by route",
            m.notifications_pending.clone(),
        );
        r.register(
            "source_down",
            "1 while an alert route sees the source as down (failure_threshold reached), else 0",
            m.source_down.clone(),
        );
        m
    }

    /// Records how late a scheduled check started.
    pub fn observe_start_delay(&self, delay: std::time::Duration) {
        self.start_delay.observe(delay.as_secs_f64());
    }

    /// Counts one notification send (or give-up) of `route`.
    pub fn count_notification(&self, route: &str, outcome: &'static str) {
        self.notifications.get_or_create(&DeliveryLabels { route: route.to_owned(), outcome }).inc();
    }

    /// Sets the pending notifications of every configured route.
    pub fn set_notifications_pending(&self, counts: &[(String, u64)]) {
        self.notifications_pending.clear();
        for (route, n) in counts {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            self.notifications_pending.get_or_create(&RouteLabels { route: route.clone() }).set(n);
        }
    }

    /// Counts one finished attempt of a check of `source_type`.
    pub fn observe_attempt(&self, source_type: &str, report: &CheckReport) {
        let outcome = match report.status {
            Status::Ok => "ok",
            Status::Timeout => "timeout",
            Status::Error => "error",
            Status::Failed => "failed",
        };
        let ty = || source_type.to_owned();
        self.durations
            .get_or_create(&OutcomeLabels { r#type: ty(), outcome })
            .observe(report.duration.as_secs_f64());
        if report.cause == Cause::Deadline {
            self.timeouts.get_or_create(&TypeLabels { r#type: ty() }).inc();
        }
        let trap = match report.cause {
            Cause::MemoryLimit => Some("memory_limit"),
            Cause::StackOverflow => Some("stack_overflow"),
            Cause::TooManyHandles => Some("too_many_handles"),
            Cause::Trap => Some("crash"),
            _ => None,
        };
        if let Some(cause) = trap {
            self.traps.get_or_create(&TrapLabels { r#type: ty(), cause }).inc();
        }
        if report.denied_connects > 0 {
            self.denied.get_or_create(&TypeLabels { r#type: ty() }).inc_by(report.denied_connects);
        }
    }

    /// The text exposition (OpenMetrics 1.0, which Prometheus reads) with
    /// the point-in-time families set from `snapshot`.
    pub fn encode(&self, snapshot: &Snapshot) -> Result<String, std::fmt::Error> {
        let _guard = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        for family in [&self.source_status, &self.source_up] {
            family.clear();
        }
        self.source_duration.clear();
        self.source_last.clear();
        self.source_tls_expiry.clear();
        for (source, last) in &snapshot.sources {
            let labels = SourceLabels {
                source: source.name.clone(),
                organization: source.organization.clone(),
                r#type: source.source_type.clone(),
            };
            if let Some(at) = snapshot.tls_not_after.get(&source.id) {
                self.source_tls_expiry.get_or_create(&labels).set(at.timestamp() as f64);
            }
            let status = last.as_ref().map(|c| c.status);
            self.source_status.get_or_create(&labels).set(status_code(status));
            self.source_up.get_or_create(&labels).set(i64::from(status == Some(CheckStatus::Ok)));
            if let Some(check) = last {
                if let Some(ms) = check.duration_ms {
                    self.source_duration.get_or_create(&labels).set(ms as f64 / 1000.0);
                }
                if let Some(at) = check.reported_at {
                    self.source_last.get_or_create(&labels).set(at.timestamp_millis() as f64 / 1000.0);
                }
            }
        }
        self.location_status.clear();
        for (source, location, status) in &snapshot.locations {
            let labels = LocationLabels {
                source: source.name.clone(),
                organization: source.organization.clone(),
                r#type: source.source_type.clone(),
                location: location.clone(),
            };
            self.location_status.get_or_create(&labels).set(status_code(Some(*status)));
        }
        self.agent_last_poll.clear();
        for (location, agent, at) in &snapshot.agents {
            let labels = AgentLabels { location: location.clone(), agent: agent.clone() };
            self.agent_last_poll.get_or_create(&labels).set(at.timestamp_millis() as f64 / 1000.0);
        }
        self.source_down.clear();
        for (source, organization, route, down) in &snapshot.source_down {
            let labels = DownLabels {
                source: source.clone(),
                organization: organization.clone(),
                route: route.clone(),
            };
            self.source_down.get_or_create(&labels).set(i64::from(*down));
        }
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.queued.set(n(snapshot.queued));
        self.running.set(n(snapshot.running));
        self.max_concurrent.set(n(snapshot.max_concurrent));
        self.plugins_loaded.set(n(snapshot.plugins_loaded));
        self.plugin_load_errors.set(n(snapshot.plugin_load_errors));
        // As Prometheus's own `config_last_reload_successful`: the start-up
        // load succeeded, or the process would not be serving.
        self.reload_success.set(i64::from(snapshot.last_reload_ok.unwrap_or(true)));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
