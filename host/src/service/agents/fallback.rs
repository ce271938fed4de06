//! The fallback (DESIGN §10): a location with no live agent holds its
//! sources' claims in the service's name, and once a lease has passed so,
//! the location's result is ERROR "no agent for location X", once per
//! interval, so the alert routes hear of it. Claims go through the store:
//! in a group, one replica records each.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::Agents;
use crate::model::{CENTRAL, CheckRecord, CheckStatus, SourceState, Trigger};
use crate::service::Ctx;
use crate::store::StoreError;
use crate::store::agents::Fallback;

/// Every `lease / 3`: each location of each active source with no live
/// agent to serve it is held by the service, and once a lease has passed
/// so, its result is ERROR "no agent for location X", once per interval.
pub(in crate::service) fn spawn_fallback(ctx: Arc<Ctx>, agents: Arc<Agents>) {
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
