//! Private agents, the service's side (DESIGN §10): agent keys and the
//! locations granted to organizations, polls that take and renew claims
//! through the store, results recorded as the location's checks, the
//! plugins agents fetch by digest, and the fallback that records ERROR
//! "no agent for location X" for a location with no live agent.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use subtle::ConstantTimeEq;

use super::{Ctx, Service};
use crate::agent::proto::{AgentOut, AgentResult, Claim, Claims, Poll, Refused, Results};
use crate::config::{AgentKey, AgentsConfig, Config, ConfigError, Grants};
use crate::model::{CENTRAL, CheckRecord, CheckStatus, Source, SourceState, Trigger};
use crate::report::rfc3339;
use crate::runtime::plugin::Origin;
use crate::runtime::sandbox::egress::EgressWire;
use crate::runtime::{Cause, CheckReport};
use crate::store::StoreError;
use crate::store::agents::{AgentSeen, ClaimRow, Fallback, SERVICE_HOLDER};

/// What a refused result is told, whatever the reason (another
/// organization's source, one never claimed, one deleted): no hint.
const NOT_HELD: &str = "this agent holds no claim on that source";

/// Agent keys, grants and `[agents]`, replaced by a reload.
#[derive(Debug)]
pub struct Agents {
    keys: RwLock<Vec<AgentKey>>,
    grants: RwLock<Grants>,
    config: AgentsConfig,
    /// `[tls] ca_files` as PEM, for the claims.
    ca_pems: Vec<String>,
    memory_mib: u64,
}

impl Agents {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let ca_pems = config.tls.ca_files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect();
        Ok(Self {
            keys: RwLock::new(config.agent_keys()?),
            grants: RwLock::new(config.grants()?),
            config: config.agents,
            ca_pems,
            memory_mib: config.checks.memory_mib as u64,
        })
    }

    /// A reload's keys and grants; sources already placed keep running
    /// where they are until they are written again.
    pub fn reconfigure(&self, config: &Config) -> Result<(), ConfigError> {
        let (keys, grants) = (config.agent_keys()?, config.grants()?);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        *self.grants.write().unwrap_or_else(|p| p.into_inner()) = grants;
        Ok(())
    }

    pub fn grants(&self) -> Grants {
        self.grants.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn config(&self) -> AgentsConfig {
        self.config
    }

    /// The agent key `presented` is, compared in constant time with every one.
    pub fn key(&self, presented: &str) -> Option<AgentKey> {
        let mut found = None;
        for k in self.keys.read().unwrap_or_else(|p| p.into_inner()).iter() {
            let equal: bool = k.secret.as_bytes().ct_eq(presented.as_bytes()).into();
            if equal && found.is_none() {
                found = Some(k.clone());
            }
        }
        found
    }
}

/// What a poll holds: sources and their on-demand requests, and how many
/// more it could take.
#[derive(Debug, Default)]
struct Held {
    sources: Vec<(Source, Option<uuid::Uuid>)>,
    free: usize,
}

/// Changes when a held source, its definition (secrets included: a
/// replace moves `updated_at`) or its on-demand request does, or the
/// plugin, egress policy or CAs its check runs under; computed without
/// reading secrets.
fn digest(service: &Service, held: &[(Source, Option<uuid::Uuid>)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut egress: std::collections::HashMap<&str, String> = Default::default();
    for pem in &service.agents.ca_pems {
        h.update(pem.as_bytes());
    }
    for (s, run_now) in held {
        h.update(s.id.as_bytes());
        h.update(s.updated_at.to_rfc3339().as_bytes());
        h.update(run_now.map(|r| r.to_string()).unwrap_or_default().as_bytes());
        h.update(service.ctx.registry.get(&s.source_type).map(|p| p.digest).unwrap_or_default().as_bytes());
        let policy = egress.entry(s.organization.as_str()).or_insert_with(|| {
            serde_json::to_string(&EgressWire::from(service.ctx.runtime.egress(&s.organization).as_ref()))
                .unwrap_or_default()
        });
        h.update(policy.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Whether `key`'s agent may run `source`'s checks.
fn serves(key: &AgentKey, grants: &Grants, source: &Source) -> bool {
    source.placement.has(&key.location)
        && key.organization.as_deref().is_none_or(|o| o == source.organization)
        && grants.allows(&source.organization, &key.location)
}

impl Service {
    pub fn agents(&self) -> &Agents {
        &self.agents
    }

    /// A poll: records the agent, renews its claims and takes free ones,
    /// then waits (up to `poll_wait`) while they are what it already
    /// holds. Waiting only reads: one read of the location's claims and of
    /// the sources a second, whatever their number.
    pub async fn agent_poll(&self, key: &AgentKey, poll: &Poll) -> Result<Claims, StoreError> {
        let store = &self.ctx.store;
        let seen = AgentSeen {
            location: key.location.clone(),
            name: poll.name.clone(),
            organization: key.organization.clone(),
            version: poll.version.clone(),
            checks_per_second: if poll.checks_per_second.is_finite() {
                poll.checks_per_second.max(0.0)
            } else {
                0.0
            },
            queue: poll.queue,
            dropped: poll.dropped,
        };
        store.agent_seen(&seen, Utc::now()).await?;
        let deadline = tokio::time::Instant::now() + self.agents.config.poll_wait;
        let mut held = self.hold(key, &poll.name, true).await?;
        loop {
            let digest = digest(self, &held.sources);
            let now = tokio::time::Instant::now();
            if poll.known.as_deref() != Some(digest.as_str()) || now >= deadline {
                return self.claims(held.sources, digest).await;
            }
            tokio::time::sleep((deadline - now).min(Duration::from_secs(1))).await;
            held = self.hold(key, &poll.name, false).await?;
            if held.free > 0 {
                // A source came free (new, or its holder's lease ran out).
                held = self.hold(key, &poll.name, true).await?;
            }
        }
    }

    /// The sources `name` holds in its location, with their on-demand
    /// requests; with `take`, its claims renewed and free ones taken
    /// first, else how many it could take.
    async fn hold(&self, key: &AgentKey, name: &str, take: bool) -> Result<Held, StoreError> {
        let store = &self.ctx.store;
        let now = Utc::now();
        let lease = self.agents.config.lease;
        if take {
            store.renew_claims(&key.location, name, now, lease).await?;
        }
        let rows: std::collections::HashMap<uuid::Uuid, ClaimRow> =
            store.location_claims(&key.location).await?.into_iter().map(|r| (r.source_id, r)).collect();
        let grants = self.agents.grants();
        let mut held = Held::default();
        for source in store.list_sources().await? {
            if source.state != SourceState::Active || !serves(key, &grants, &source) {
                continue;
            }
            match rows.get(&source.id) {
                Some(r) if r.agent == name => {
                    let run_now = r.run_now;
                    held.sources.push((source, run_now));
                }
                Some(r) if r.agent != SERVICE_HOLDER && r.lease_until >= now => {}
                _ if take => {
                    if let Some(run_now) =
                        store.take_claim(source.id, &key.location, name, now, lease).await?
                    {
                        held.sources.push((source, run_now));
                    }
                }
                _ => held.free += 1,
            }
        }
        Ok(held)
    }

    /// The answer to a poll: each held source with its secrets.
    async fn claims(
        &self,
        held: Vec<(Source, Option<uuid::Uuid>)>,
        digest: String,
    ) -> Result<Claims, StoreError> {
        let mut claims = Vec::with_capacity(held.len());
        for (source, run_now) in &held {
            if let Some(claim) = self.claim_of(source, *run_now).await? {
                claims.push(claim);
            }
        }
        Ok(Claims {
            digest,
            lease_ms: u64::try_from(self.agents.config.lease.as_millis()).unwrap_or(u64::MAX),
            memory_mib: self.agents.memory_mib,
            claims,
        })
    }

    /// What an agent needs to check `source`; `None` while no plugin of
    /// its type is loaded.
    async fn claim_of(
        &self,
        source: &Source,
        run_now: Option<uuid::Uuid>,
    ) -> Result<Option<Claim>, StoreError> {
        let Some(plugin) = self.ctx.registry.get(&source.source_type) else { return Ok(None) };
        let secrets = self.ctx.store.source_secrets(source.id).await?;
        let egress = self.ctx.runtime.egress(&source.organization);
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Ok(Some(Claim {
            source_id: source.id,
            name: source.name.clone(),
            organization: source.organization.clone(),
            source_type: source.source_type.clone(),
            plugin_sha256: plugin.digest.clone(),
            config: crate::schema::merge_secrets(&source.config, &secrets),
            interval_ms: ms(source.policy.interval),
            timeout_ms: ms(source.policy.timeout),
            retries: source.policy.retries,
            retry_interval_ms: ms(source.policy.retry_interval),
            egress: EgressWire::from(egress.as_ref()),
            ca_pems: self.agents.ca_pems.clone(),
            run_now,
        }))
    }

    /// Records a batch, in order: each result of a source this agent holds
    /// the claim on (even past its lease, as long as nobody took it since).
    pub async fn agent_results(
        &self,
        key: &AgentKey,
        batch: Results,
    ) -> Result<crate::agent::proto::Accepted, StoreError> {
        let mut out = crate::agent::proto::Accepted::default();
        let grants = self.agents.grants();
        let store = &self.ctx.store;
        // One read each of the location's claims and, for a large batch,
        // of the sources, rather than one per result.
        let claims: std::collections::HashMap<uuid::Uuid, ClaimRow> =
            store.location_claims(&key.location).await?.into_iter().map(|r| (r.source_id, r)).collect();
        let mut sources: std::collections::HashMap<uuid::Uuid, Source> = if batch.results.len() > 16 {
            store.list_sources().await?.into_iter().map(|s| (s.id, s)).collect()
        } else {
            Default::default()
        };
        for r in batch.results {
            let refuse = |reason: &str| Refused { check_id: r.check_id, reason: reason.into() };
            let Some(status) = CheckStatus::parse(&r.status).filter(|s| s.is_finished()) else {
                out.refused.push(refuse("status must be one of OK, TIMEOUT, ERROR, FAILED"));
                continue;
            };
            if !sources.contains_key(&r.source_id)
                && let Some(s) = store.get_source(r.source_id).await?
            {
                sources.insert(s.id, s);
            }
            let claim = claims.get(&r.source_id).filter(|c| c.agent == batch.name);
            let (Some(source), Some(claim)) =
                (sources.get(&r.source_id).filter(|s| serves(key, &grants, s)), claim)
            else {
                out.refused.push(refuse(NOT_HELD));
                continue;
            };
            match store.check_status(r.check_id).await? {
                // Sent again: recorded the first time.
                Some(stored) if stored.is_finished() => {}
                // An on-demand check, stored as asked: finished now.
                Some(_) => {
                    let mut check = location_check(source, &r, status, &key.location, &batch.name);
                    check.trigger = Trigger::Manual;
                    self.ctx.record_now(source, &check, false).await?;
                }
                None => {
                    let check = location_check(source, &r, status, &key.location, &batch.name);
                    self.ctx.record_now(source, &check, true).await?;
                }
            }
            if claim.run_now == Some(r.check_id) {
                store.clear_run(source.id, &key.location, r.check_id).await?;
            }
            out.accepted += 1;
        }
        Ok(out)
    }

    /// The bytes of a loaded plugin by hex SHA-256, read again and checked
    /// (a file may have changed since it was loaded).
    pub async fn plugin_bytes(&self, sha256: &str) -> Option<Vec<u8>> {
        let plugin = self.ctx.registry.list().into_iter().find(|p| p.digest == sha256)?;
        let bytes = match &plugin.origin {
            Origin::BuiltIn(name) => crate::runtime::builtin::get(name)?.to_vec(),
            Origin::File(path) => tokio::fs::read(path).await.ok()?,
        };
        (crate::runtime::cache::digest(&bytes) == sha256).then_some(bytes)
    }

    /// Agents as `GET /v1/agents` lists them: an organization's key sees
    /// its own agents and those of locations granted to it.
    pub async fn list_agents(&self, organization: Option<&str>) -> Result<Vec<AgentOut>, StoreError> {
        let grants = self.agents.grants();
        let live_after =
            Utc::now() - chrono::Duration::from_std(self.agents.config.lease).unwrap_or_default();
        Ok(self
            .ctx
            .store
            .list_agents()
            .await?
            .into_iter()
            .filter(|a| match organization {
                None => true,
                Some(org) => match &a.seen.organization {
                    Some(bound) => bound == org,
                    None => grants.allows(org, &a.seen.location),
                },
            })
            .map(|a| AgentOut {
                live: a.last_poll > live_after,
                last_poll: rfc3339(a.last_poll),
                name: a.seen.name,
                location: a.seen.location,
                organization: a.seen.organization,
                version: a.seen.version,
                checks_per_second: a.seen.checks_per_second,
                queue: a.seen.queue,
                dropped: a.seen.dropped,
            })
            .collect())
    }
}

impl Service {
    /// An on-demand check in every location of `source`, waited for: the
    /// combined outcome once each location has reported since it was
    /// asked, or TIMEOUT naming those that did not within the source's
    /// whole budget (attempts, retry pauses, a poll and a lease).
    pub(super) async fn check_everywhere(&self, source: &Source) -> CheckReport {
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

fn location_check(
    source: &Source,
    r: &AgentResult,
    status: CheckStatus,
    location: &str,
    agent: &str,
) -> CheckRecord {
    let mut check = CheckRecord::new(source.id, Trigger::Schedule, status);
    check.id = r.check_id;
    check.attempts = r.attempts;
    check.message = r.message.clone();
    check.extra = r.extra.clone();
    check.details = r.details.clone();
    check.items = r.items;
    check.created_at = r.started_at;
    check.started_at = Some(r.started_at);
    check.reported_at = Some(r.reported_at);
    check.duration_ms = Some(r.duration_ms);
    check.replica = Some(agent.to_string());
    check.location = Some(location.to_string());
    check
}

impl Ctx {
    /// Stores a finished check of an agent's or the fallback's (`insert`,
    /// or an on-demand one stored as asked), with its alert decisions and
    /// the source's combined outcome, and waits for the store: a result
    /// the agent is told was accepted is durable.
    pub(super) async fn record_now(
        &self,
        source: &Source,
        check: &CheckRecord,
        insert: bool,
    ) -> Result<(), StoreError> {
        let write = self.store.record_check(source, check, insert, self.alerts.as_ref()).await?;
        crate::alerts::publish(&self.alerts, &self.metrics, std::slice::from_ref(&write));
        let health = self.store.group().is_none().then_some(self.health.as_ref());
        if check.is_part_of(source) {
            if let Some(health) = health {
                health.end(check);
            }
            super::quorum::record(self.store.as_ref(), &self.alerts, &self.metrics, health, source, check)
                .await?;
        } else if let Some(health) = health {
            health.finish(source, check);
        }
        Ok(())
    }
}

/// Every `lease / 3`: each location of each active source with no live
/// agent to serve it is held by the service, and once a lease has passed
/// so, its result is ERROR "no agent for location X", once per interval.
pub(super) fn spawn_fallback(ctx: Arc<Ctx>, agents: Arc<Agents>) {
    let config = agents.config;
    tokio::spawn(async move {
        let every = (config.lease / 3).max(Duration::from_millis(200));
        loop {
            tokio::time::sleep(every).await;
            // No private location declared: nothing to look for.
            if agents.grants().names().len() < 2 {
                continue;
            }
            if let Err(e) = fallback_once(&ctx, config.lease).await {
                tracing::debug!(error = %e, "agent fallback skipped: the store did not answer");
            }
        }
    });
}

async fn fallback_once(ctx: &Ctx, lease: Duration) -> Result<(), StoreError> {
    let now = Utc::now();
    let live_after = now - chrono::Duration::from_std(lease).unwrap_or_default();
    let live: Vec<_> =
        ctx.store.list_agents().await?.into_iter().filter(|a| a.last_poll > live_after).collect();
    for source in ctx.store.list_sources().await? {
        if source.state != SourceState::Active {
            continue;
        }
        for location in source.placement.locations.iter().filter(|l| *l != CENTRAL) {
            let served = live.iter().any(|a| {
                a.seen.location == *location
                    && a.seen.organization.as_deref().is_none_or(|o| o == source.organization)
            });
            if served {
                continue;
            }
            let hold = source.policy.interval.max(lease);
            if ctx.store.fallback_claim(source.id, location, now, lease, hold).await? == Fallback::Expired {
                let mut check = CheckRecord::new(source.id, Trigger::Schedule, CheckStatus::Error);
                check.started_at = Some(now);
                check.reported_at = Some(now);
                check.duration_ms = Some(0);
                check.message = Some(format!("no agent for location {location}"));
                check.replica = Some(ctx.replica.clone());
                check.location = Some(location.clone());
                tracing::warn!(source = %source.name, location = %location, "no agent for location");
                ctx.record_now(&source, &check, true).await?;
            }
        }
    }
    Ok(())
}
