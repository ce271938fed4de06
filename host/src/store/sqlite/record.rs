//! Recording a finished check with the alert decision it causes, in one
//! `BEGIN IMMEDIATE` transaction (DESIGN §8 "One view per group"): the
//! check, the views of the routes watching its source (read, moved by the
//! [`Judge`], written back) and the notifications, or the route's open
//! batch. `IMMEDIATE` takes the write lock before the views are read, so
//! two writers never move a view from the same old value.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::SqliteStore;
use super::alerts::write_check;
use super::rows::{backend, parse_ts, ts};
use crate::alerts::batch::{self, BATCH_SOURCE};
use crate::alerts::judge::{self, DepKey, Finished, Judge};
use crate::alerts::outbox::{AlertWrite, Notification};
use crate::alerts::rules::RouteState;
use crate::model::{CheckRecord, Source};
use crate::store::{StoreResult, corrupt, int};

impl SqliteStore {
    pub(super) async fn record(
        &self,
        source: &Source,
        check: &CheckRecord,
        insert: bool,
        judge: &dyn Judge,
    ) -> StoreResult<AlertWrite> {
        let items = [Finished { source, check }];
        let (own_keys, dep_keys) = judge::keys(judge, &items);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        write_check(&mut tx, check, insert).await?;
        if own_keys.is_empty() {
            tx.commit().await.map_err(backend)?;
            return Ok(AlertWrite::default());
        }
        let own = read_views(&mut tx, &own_keys).await?;
        let deps = read_dependencies(&mut tx, &dep_keys).await?;
        let writes = judge::decide(judge, &items, own, deps);
        let now = Utc::now();
        write_alerts(&mut tx, judge, &writes, now).await?;
        tx.commit().await.map_err(backend)?;
        Ok(writes.into_iter().next().unwrap_or_default())
    }
}

async fn read_views(
    conn: &mut SqliteConnection,
    keys: &[(String, Uuid)],
) -> StoreResult<HashMap<(String, Uuid), RouteState>> {
    let mut out = HashMap::new();
    for (route, id) in keys {
        let row = sqlx::query("SELECT state FROM alert_states WHERE route = ? AND source_id = ?")
            .bind(route)
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        if let Some(row) = row {
            let text: String = row.try_get("state").map_err(backend)?;
            out.insert((route.clone(), *id), serde_json::from_str(&text).map_err(corrupt)?);
        }
    }
    Ok(out)
}

async fn read_dependencies(
    conn: &mut SqliteConnection,
    keys: &[(String, String)],
) -> StoreResult<HashMap<DepKey, RouteState>> {
    let mut out = HashMap::new();
    for (organization, name) in keys {
        let rows = sqlx::query(
            "SELECT a.route, a.state FROM alert_states a JOIN sources s ON s.id = a.source_id \
             WHERE s.organization = ? AND s.name = ?",
        )
        .bind(organization)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?;
        for row in rows {
            let route: String = row.try_get("route").map_err(backend)?;
            let text: String = row.try_get("state").map_err(backend)?;
            let state = serde_json::from_str(&text).map_err(corrupt)?;
            out.insert((route, organization.clone(), name.clone()), state);
        }
    }
    Ok(out)
}

async fn write_alerts(
    conn: &mut SqliteConnection,
    judge: &dyn Judge,
    writes: &[AlertWrite],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for s in writes.iter().flat_map(|w| &w.states) {
        sqlx::query(
            "INSERT INTO alert_states (route, source_id, state, version) VALUES (?, ?, ?, ?) \
             ON CONFLICT (route, source_id) DO UPDATE SET state = excluded.state, version = excluded.version",
        )
        .bind(&s.route)
        .bind(s.source_id.to_string())
        .bind(serde_json::to_string(&s.state).map_err(corrupt)?)
        .bind(int(s.state.version))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    let (single, grouped) = batch::split(writes.iter().flat_map(|w| &w.notifications), |r| judge.grouping(r));
    for n in single {
        insert_notification(conn, n, n.source_id, int(n.seq), &n.payload, n.created_at, false).await?;
    }
    for (route, grouping, items) in grouped {
        let open = sqlx::query("SELECT id, payload FROM notifications WHERE route = ? AND open = 1")
            .bind(&route)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        if let Some(row) = open {
            let id: String = row.try_get("id").map_err(backend)?;
            let payload: String = row.try_get("payload").map_err(backend)?;
            let payload = batch::append(&payload, &items).map_err(corrupt)?;
            sqlx::query("UPDATE notifications SET payload = ? WHERE id = ?")
                .bind(payload)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            continue;
        }
        let last = sqlx::query(
            "SELECT MAX(seq) AS seq, MAX(created_at) AS created_at FROM notifications \
             WHERE route = ? AND source_id = ?",
        )
        .bind(&route)
        .bind(BATCH_SOURCE.to_string())
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
        let seq: Option<i64> = last.try_get("seq").map_err(backend)?;
        let previous: Option<String> = last.try_get("created_at").map_err(backend)?;
        let previous = previous.as_deref().map(parse_ts).transpose()?;
        let id = Uuid::new_v4();
        let payload = batch::open(id, &route, now, &items).map_err(corrupt)?;
        let due = batch::due(now, grouping, previous);
        let row = Notification {
            id,
            route: route.clone(),
            source_id: BATCH_SOURCE,
            seq: 0,
            payload: String::new(),
            created_at: now,
            attempts: 0,
        };
        insert_notification(conn, &row, BATCH_SOURCE, seq.unwrap_or(0) + 1, &payload, due, true).await?;
    }
    Ok(())
}

/// One outbox row; `due` is when it is first claimable.
async fn insert_notification(
    conn: &mut SqliteConnection,
    n: &Notification,
    source_id: Uuid,
    seq: i64,
    payload: &str,
    due: DateTime<Utc>,
    open: bool,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notifications (id, route, source_id, seq, payload, state, attempts, created_at, \
         next_attempt_at, open) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    )
    .bind(n.id.to_string())
    .bind(&n.route)
    .bind(source_id.to_string())
    .bind(seq)
    .bind(payload)
    .bind(ts(n.created_at))
    .bind(ts(due))
    .bind(i64::from(open))
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}
