//! Private agents, the service's side (DESIGN §10): agent keys and the
//! locations granted to organizations, polls that take and renew claims
//! through the store, and the plugins agents fetch by digest.
//!
//! # Layout
//! - [`results`]: batches of results, recorded as the location's checks.
//! - [`on_demand`]: an on-demand check in every location, waited for.
//! - [`fallback`]: ERROR "no agent for location X" where no agent lives.

mod fallback;
mod on_demand;
mod results;

pub(super) use fallback::spawn_fallback;

use std::sync::RwLock;
use std::time::Duration;

use chrono::Utc;
use subtle::ConstantTimeEq;

use super::Service;
use crate::agent::proto::{AgentOut, Claim, Claims, Poll};
use crate::config::{AgentKey, AgentsConfig, Config, ConfigError, Grants};
use crate::model::{Source, SourceState};
use crate::report::rfc3339;
use crate::runtime::plugin::Origin;
use crate::runtime::sandbox::egress::EgressWire;
use crate::store::StoreError;
use crate::store::agents::{AgentRow, AgentSeen, ClaimRow, SERVICE_HOLDER};

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
/// plugin or egress policy its check runs under; computed without reading
/// secrets.
fn digest(service: &Service, held: &[(Source, Option<uuid::Uuid>)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut egress: std::collections::HashMap<&str, String> = Default::default();
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
            ca_pems: self.agents.ca_pems.clone(),
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
            run_now,
        }))
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
        let live_after =
            Utc::now() - chrono::Duration::from_std(self.agents.config.lease).unwrap_or_default();
        Ok(self
            .visible_agents(organization)
            .await?
            .into_iter()
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

    /// The agents an organization's key sees (those bound to it, and the
    /// unbound ones of locations granted to it); every one for `None`.
    pub async fn visible_agents(&self, organization: Option<&str>) -> Result<Vec<AgentRow>, StoreError> {
        let grants = self.agents.grants();
        let mut agents = self.ctx.store.list_agents().await?;
        agents.retain(|a| match (organization, &a.seen.organization) {
            (None, _) => true,
            (Some(org), Some(bound)) => bound == org,
            (Some(org), None) => grants.allows(org, &a.seen.location),
        });
        Ok(agents)
    }
}
