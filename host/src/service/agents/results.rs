//! Results from agents (DESIGN §10): each recorded as its location's
//! check when the agent holds the source's claim (even past its lease, as
//! long as nobody took it since), with its alert decisions and the
//! source's combined outcome, before the agent is told.

use super::{NOT_HELD, serves};
use crate::agent::proto::{AgentResult, Refused, Results};
use crate::config::AgentKey;
use crate::model::{CheckRecord, CheckStatus, Source, Trigger};
use crate::service::{Ctx, Service};
use crate::store::StoreError;
use crate::store::agents::ClaimRow;

impl Service {
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
            crate::service::quorum::record(
                self.store.as_ref(),
                &self.alerts,
                &self.metrics,
                health,
                source,
                check,
            )
            .await?;
        } else if let Some(health) = health {
            health.finish(source, check);
        }
        Ok(())
    }
}
