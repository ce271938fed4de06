//! Recording finished checks with the alert decisions they cause (DESIGN
//! §8 "One view per group"), as the SQLite store's `record.rs` does, for a
//! group of replicas: one transaction per batch of results.
//!
//! - The views of the routes watching the batch's sources are created if
//!   missing, then locked and read in one statement (sorted, so concurrent
//!   batches lock in one order). A replica recording a check of the same
//!   source waits for this transaction, then reads what it wrote: the views
//!   move in check order, once per check.
//! - The views of their dependencies are read (not locked) in one more.
//! - The [`Judge`] decides; views, notifications and each grouped route's
//!   open batch (appended in SQL, so a batch that another replica opened
//!   is extended, never duplicated) are written by three more at most.
//!
//! A transaction counts once in `pg_stat_database`, however many
//! statements it holds: the cost the `replica::cost` test measures.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::PgStore;
use super::rows::backend;
use crate::alerts::batch::{self, BATCH_SOURCE};
use crate::alerts::judge::{self, DepKey, Finished, Judge};
use crate::alerts::outbox::{AlertWrite, Notification};
use crate::alerts::rules::RouteState;
use crate::model::{CheckRecord, CheckStatus, Source};
use crate::store::{StoreResult, corrupt, int};

impl PgStore {
    /// One check, inserted or updated, with its alert decision.
    pub(super) async fn record(
        &self,
        source: &Source,
        check: &CheckRecord,
        insert: bool,
        judge: &dyn Judge,
    ) -> StoreResult<AlertWrite> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if insert {
            super::checks::insert(&mut *tx, check).await?;
        } else {
            super::checks::update(&mut *tx, check).await?;
        }
        let items = [Finished { source, check }];
        let mut writes = judge_in(&mut tx, judge, &items, judge::keys(judge, &items)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(writes.pop().unwrap_or_default())
    }

    /// A batch of finished checks (at most one per source), their leases
    /// released, with their alert decisions: one statement when no route
    /// watches them, else one transaction.
    pub(super) async fn finish_judged(
        &self,
        items: &[Finished<'_>],
        judge: &dyn Judge,
    ) -> StoreResult<(Vec<Option<CheckStatus>>, Vec<AlertWrite>)> {
        let checks: Vec<CheckRecord> = items.iter().map(|i| i.check.clone()).collect();
        let keys = judge::keys(judge, items);
        if keys.0.is_empty() {
            let previous = super::checks::finish_many(&self.pool, &checks).await?;
            return Ok((previous, vec![AlertWrite::default(); items.len()]));
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let previous = super::checks::finish_many(&mut *tx, &checks).await?;
        let writes = judge_in(&mut tx, judge, items, keys).await?;
        tx.commit().await.map_err(backend)?;
        Ok((previous, writes))
    }
}

/// Locks and reads the views, lets `judge` decide, writes what it decided.
/// `keys` are [`judge::keys`] of `items`, computed once by the caller.
async fn judge_in(
    conn: &mut PgConnection,
    judge: &dyn Judge,
    items: &[Finished<'_>],
    (own_keys, dep_keys): judge::Keys,
) -> StoreResult<Vec<AlertWrite>> {
    if own_keys.is_empty() {
        return Ok(vec![AlertWrite::default(); items.len()]);
    }
    let (routes, ids): (Vec<String>, Vec<Uuid>) = own_keys.into_iter().unzip();
    // Rows that do not exist yet first (waiting for a concurrent inserter
    // of the same row), then a lock on all of them in one order. A lock,
    // not a rewrite: most views change once per check, not twice.
    sqlx::query(
        "INSERT INTO alert_states (route, source_id, state, version) \
         SELECT k.route, k.source_id, '{}'::jsonb, 0 FROM UNNEST($1::text[], $2::uuid[]) AS k (route, source_id) \
         ORDER BY k.route, k.source_id ON CONFLICT (route, source_id) DO NOTHING",
    )
    .bind(&routes)
    .bind(&ids)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    let rows = sqlx::query(
        "SELECT a.route, a.source_id, a.state FROM alert_states a \
         JOIN UNNEST($1::text[], $2::uuid[]) AS k (route, source_id) \
           ON a.route = k.route AND a.source_id = k.source_id \
         ORDER BY a.route, a.source_id FOR UPDATE OF a",
    )
    .bind(&routes)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    let mut own: HashMap<(String, Uuid), RouteState> = HashMap::new();
    for row in &rows {
        let state: serde_json::Value = row.try_get("state").map_err(backend)?;
        let key = (row.try_get("route").map_err(backend)?, row.try_get("source_id").map_err(backend)?);
        own.insert(key, serde_json::from_value(state).map_err(corrupt)?);
    }
    let mut deps: HashMap<DepKey, RouteState> = HashMap::new();
    if !dep_keys.is_empty() {
        let (orgs, names): (Vec<String>, Vec<String>) = dep_keys.into_iter().unzip();
        let rows = sqlx::query(
            "SELECT a.route, s.organization, s.name, a.state FROM alert_states a \
             JOIN sources s ON s.id = a.source_id \
             JOIN UNNEST($1::text[], $2::text[]) AS d (organization, name) \
               ON s.organization = d.organization AND s.name = d.name",
        )
        .bind(&orgs)
        .bind(&names)
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?;
        for row in &rows {
            let state: serde_json::Value = row.try_get("state").map_err(backend)?;
            let key = (
                row.try_get("route").map_err(backend)?,
                row.try_get("organization").map_err(backend)?,
                row.try_get("name").map_err(backend)?,
            );
            deps.insert(key, serde_json::from_value(state).map_err(corrupt)?);
        }
    }
    let writes = judge::decide(judge, items, own, deps);
    write_alerts(conn, judge, &writes).await?;
    Ok(writes)
}

async fn write_alerts(conn: &mut PgConnection, judge: &dyn Judge, writes: &[AlertWrite]) -> StoreResult<()> {
    let states: Vec<_> = writes.iter().flat_map(|w| &w.states).collect();
    if !states.is_empty() {
        let values = states.iter().map(|s| serde_json::to_value(&s.state)).collect::<Result<Vec<_>, _>>();
        sqlx::query(
            "UPDATE alert_states a SET state = u.state, version = u.version \
             FROM UNNEST($1::text[], $2::uuid[], $3::jsonb[], $4::bigint[]) AS u (route, source_id, state, version) \
             WHERE a.route = u.route AND a.source_id = u.source_id",
        )
        .bind(states.iter().map(|s| s.route.clone()).collect::<Vec<_>>())
        .bind(states.iter().map(|s| s.source_id).collect::<Vec<_>>())
        .bind(values.map_err(corrupt)?)
        .bind(states.iter().map(|s| int(s.state.version)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    let (single, grouped) = batch::split(writes.iter().flat_map(|w| &w.notifications), |r| judge.grouping(r));
    if !single.is_empty() {
        let column = |f: &dyn Fn(&Notification) -> String| single.iter().map(|n| f(n)).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO notifications (id, route, source_id, seq, payload, state, attempts, created_at, \
             next_attempt_at) SELECT n.id, n.route, n.source_id, n.seq, n.payload, 'pending', 0, n.created_at, \
             n.created_at FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::text[], \
             $6::timestamptz[]) AS n (id, route, source_id, seq, payload, created_at)",
        )
        .bind(single.iter().map(|n| n.id).collect::<Vec<_>>())
        .bind(column(&|n| n.route.clone()))
        .bind(single.iter().map(|n| n.source_id).collect::<Vec<_>>())
        .bind(single.iter().map(|n| int(n.seq)).collect::<Vec<_>>())
        .bind(column(&|n| n.payload.clone()))
        .bind(single.iter().map(|n| n.created_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    let now = Utc::now();
    for (route, grouping, items) in grouped {
        let id = Uuid::new_v4();
        let payload = batch::open(id, &route, now, &items).map_err(corrupt)?;
        let wait_until = batch::due(now, grouping, None);
        let interval_ms = i64::try_from(grouping.interval.as_millis()).unwrap_or(i64::MAX);
        // Opens the route's batch (due after group_wait, and group_interval
        // after the previous one), or appends to the one that is open.
        sqlx::query(
            "INSERT INTO notifications (id, route, source_id, seq, payload, state, attempts, created_at, \
               next_attempt_at, open) \
             SELECT $1, $2, $3, COALESCE(MAX(seq), 0) + 1, $4, 'pending', 0, $5, \
               GREATEST($6, COALESCE(MAX(created_at) + $7 * interval '1 millisecond', $6)), TRUE \
             FROM notifications WHERE route = $2 AND source_id = $3 \
             ON CONFLICT (route) WHERE open DO UPDATE SET payload = jsonb_set(notifications.payload::jsonb, \
               '{notifications}', (notifications.payload::jsonb -> 'notifications') \
               || (excluded.payload::jsonb -> 'notifications'))::text",
        )
        .bind(id)
        .bind(&route)
        .bind(BATCH_SOURCE)
        .bind(payload)
        .bind(now)
        .bind(wait_until)
        .bind(interval_ms)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(())
}
