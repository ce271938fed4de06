//! What one view of the list reads, cheapest first: every source's key
//! (id, organization, name, type, state) and latest status in bulk (from
//! memory when this process owns the store; [`crate::store::Store::source_keys`]
//! and one read of every latest check when replicas share it), then, for
//! the page's rows only, the definition, the history strip and the two
//! uptime counts.

use chrono::{DateTime, Utc};

use super::list::{self, Entry, Picked, Query, Shown};
use super::rows::SourceRow;
use super::view::Listing;
use crate::model::{Source, SourceState};
use crate::server::auth::Caller;
use crate::service::Service;
use crate::store::StoreError;

/// How many recent checks the history strip shows.
pub const STRIP_LEN: u32 = 30;

/// The list as `caller` may see it, filtered by `query`, with the page's
/// rows read in full.
pub async fn listing(service: &Service, caller: &Caller, query: &Query) -> Listing {
    let now = Utc::now();
    let mut listing = Listing { now, ..Listing::default() };
    let entries = match entries(service, caller, now).await {
        Ok(entries) => entries,
        Err(e) => {
            listing.problem = Some(format!("The sources could not be read: {e}"));
            return listing;
        }
    };
    let Picked { rows, counts, matching, next } = list::pick(entries, query);
    listing.counts = counts;
    listing.matching = matching;
    listing.next = next;
    for entry in rows {
        // One read per shown row; a source deleted since is left out.
        let row = match service.get_source(entry.id).await {
            Ok(Some(source)) => source_row(service, source, entry.status, now).await,
            Ok(None) => continue,
            Err(e) => Err(e),
        };
        match row {
            Ok(row) => listing.rows.push(row),
            Err(e) => listing.problem = Some(format!("Some history could not be read: {e}")),
        }
    }
    listing
}

/// The cheap record of each source `caller` may see. A process that owns
/// its store has every source's key and latest check in memory: one pass
/// under its read locks. Replicas read every key and latest check from
/// the shared store, one read each.
async fn entries(service: &Service, caller: &Caller, now: DateTime<Utc>) -> Result<Vec<Entry>, StoreError> {
    let alerts = service.alerts();
    if let Some(health) = service.local_health() {
        let mut entries = Vec::new();
        health.visit(|id, named, last| {
            if caller.sees(&named.organization) {
                entries.push(Entry {
                    id,
                    organization: named.organization.clone(),
                    name: named.name.clone(),
                    source_type: named.source_type.clone(),
                    paused: named.paused,
                    silenced: false,
                    status: Shown::of(last.map(|c| c.status)),
                });
            }
        });
        // Silences are looked up with the locks released.
        for e in &mut entries {
            e.silenced = alerts.held_named(&e.organization, &e.name, now);
        }
        return Ok(entries);
    }
    let mut keys = service.store().source_keys().await?;
    keys.retain(|k| caller.sees(&k.organization));
    let all = service.health_all().await?;
    Ok(keys
        .into_iter()
        .map(|k| Entry {
            status: Shown::of(all.get(&k.id).and_then(|h| h.last.as_ref()).map(|c| c.status)),
            silenced: alerts.held_named(&k.organization, &k.name, now),
            paused: k.state == SourceState::Paused,
            id: k.id,
            organization: k.organization,
            name: k.name,
            source_type: k.source_type,
        })
        .collect())
}

/// One row in full: its latest check and whether one runs now, the
/// strip of recent outcomes, uptime over 24 h and 7 d.
async fn source_row(
    service: &Service,
    source: Source,
    status: Shown,
    now: DateTime<Utc>,
) -> Result<SourceRow, StoreError> {
    let health = service.health(source.id).await?;
    let mut history: Vec<_> = service
        .history(source.id, STRIP_LEN, None)
        .await?
        .into_iter()
        .filter(|c| c.status.is_finished())
        .collect();
    history.reverse();
    let store = service.store();
    let day = store.outcome_counts(source.id, now - chrono::Duration::hours(24)).await?;
    let week = store.outcome_counts(source.id, now - chrono::Duration::days(7)).await?;
    let silenced = service.silenced(&source);
    let suppressed_by = service.suppressed_by(&source);
    let tls_not_after = health.tls_not_after();
    Ok(SourceRow {
        id: source.id,
        name: source.name,
        organization: source.organization,
        source_type: source.source_type,
        config: source.config.to_string(),
        paused: source.state == SourceState::Paused,
        silenced,
        suppressed_by,
        status,
        last: health.last,
        checking: health.current.is_some(),
        history,
        day,
        week,
        tls_not_after,
        depends_on: source.depends_on,
    })
}
