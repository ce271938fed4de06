//! [`AgentStore`] for PostgreSQL: agents and claims (DESIGN §10), in
//! the same statements as SQLite's.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::PgStore;
use super::rows::{CHECK_COLUMNS, backend, check_from_row};
use crate::store::agents::{AgentRow, AgentSeen, AgentStore, ClaimRow, Fallback, SERVICE_HOLDER, after};
use crate::store::{StoreResult, int};

#[async_trait::async_trait]
impl AgentStore for PgStore {
    async fn agent_seen(&self, a: &AgentSeen, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO agents (location, name, organization, version, last_poll, checks_per_second, queue, dropped) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (location, name) DO UPDATE SET \
             organization = excluded.organization, version = excluded.version, last_poll = excluded.last_poll, \
             checks_per_second = excluded.checks_per_second, queue = excluded.queue, dropped = excluded.dropped",
        )
        .bind(&a.location)
        .bind(&a.name)
        .bind(&a.organization)
        .bind(&a.version)
        .bind(now)
        .bind(a.checks_per_second)
        .bind(int(a.queue))
        .bind(int(a.dropped))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn take_claim(
        &self,
        source_id: Uuid,
        location: &str,
        agent: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<Option<Uuid>>> {
        let row = sqlx::query(
            "INSERT INTO agent_claims (source_id, location, agent, lease_until, taken_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (source_id, location) DO UPDATE SET \
               taken_at = CASE WHEN agent_claims.agent = excluded.agent THEN agent_claims.taken_at \
                 ELSE excluded.taken_at END, \
               agent = excluded.agent, lease_until = excluded.lease_until \
             WHERE agent_claims.agent = excluded.agent OR agent_claims.agent = $6 OR agent_claims.lease_until < $7 \
             RETURNING run_now",
        )
        .bind(source_id)
        .bind(location)
        .bind(agent)
        .bind(after(now, lease))
        .bind(now)
        .bind(SERVICE_HOLDER)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(row.try_get::<Option<Uuid>, _>("run_now").map_err(backend)?)),
        }
    }

    async fn fallback_claim(
        &self,
        source_id: Uuid,
        location: &str,
        now: DateTime<Utc>,
        lease: Duration,
        hold: Duration,
    ) -> StoreResult<Fallback> {
        let fresh = sqlx::query(
            "INSERT INTO agent_claims (source_id, location, agent, lease_until, taken_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (source_id, location) DO NOTHING",
        )
        .bind(source_id)
        .bind(location)
        .bind(SERVICE_HOLDER)
        .bind(after(now, lease))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if fresh.rows_affected() > 0 {
            return Ok(Fallback::Grace);
        }
        let taken = sqlx::query(
            "UPDATE agent_claims SET agent = $1, lease_until = $2, taken_at = $3 \
             WHERE source_id = $4 AND location = $5 AND lease_until < $6",
        )
        .bind(SERVICE_HOLDER)
        .bind(after(now, hold))
        .bind(now)
        .bind(source_id)
        .bind(location)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(if taken.rows_affected() > 0 { Fallback::Expired } else { Fallback::Held })
    }

    async fn list_agents(&self) -> StoreResult<Vec<AgentRow>> {
        let rows = sqlx::query(
            "SELECT location, name, organization, version, last_poll, checks_per_second, queue, dropped \
             FROM agents ORDER BY location, name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(AgentRow {
                    seen: AgentSeen {
                        location: r.try_get("location").map_err(backend)?,
                        name: r.try_get("name").map_err(backend)?,
                        organization: r.try_get("organization").map_err(backend)?,
                        version: r.try_get("version").map_err(backend)?,
                        checks_per_second: r.try_get("checks_per_second").map_err(backend)?,
                        queue: u64::try_from(r.try_get::<i64, _>("queue").map_err(backend)?).unwrap_or(0),
                        dropped: u64::try_from(r.try_get::<i64, _>("dropped").map_err(backend)?).unwrap_or(0),
                    },
                    last_poll: r.try_get("last_poll").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn check_status(&self, id: Uuid) -> StoreResult<Option<crate::model::CheckStatus>> {
        let row = sqlx::query("SELECT status FROM checks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let status: String = row.try_get("status").map_err(backend)?;
                Ok(crate::model::CheckStatus::parse(&status))
            }
        }
    }

    async fn location_claims(&self, location: &str) -> StoreResult<Vec<ClaimRow>> {
        let rows = sqlx::query(
            "SELECT source_id, agent, lease_until, run_now FROM agent_claims WHERE location = $1",
        )
        .bind(location)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(ClaimRow {
                    source_id: r.try_get("source_id").map_err(backend)?,
                    agent: r.try_get("agent").map_err(backend)?,
                    lease_until: r.try_get("lease_until").map_err(backend)?,
                    run_now: r.try_get("run_now").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn renew_claims(
        &self,
        location: &str,
        agent: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE agent_claims SET lease_until = $1 WHERE location = $2 AND agent = $3")
            .bind(after(now, lease))
            .bind(location)
            .bind(agent)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn request_run(&self, source_id: Uuid, location: &str, check_id: Uuid) -> StoreResult<()> {
        // Nobody holds it yet: an expired claim of the service's, so the
        // first agent to come takes it with the request.
        sqlx::query(
            "INSERT INTO agent_claims (source_id, location, agent, lease_until, taken_at, run_now) \
             VALUES ($1, $2, $3, $4, $4, $5) \
             ON CONFLICT (source_id, location) DO UPDATE SET run_now = excluded.run_now",
        )
        .bind(source_id)
        .bind(location)
        .bind(SERVICE_HOLDER)
        .bind(DateTime::<Utc>::UNIX_EPOCH)
        .bind(check_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn clear_run(&self, source_id: Uuid, location: &str, check_id: Uuid) -> StoreResult<()> {
        sqlx::query(
            "UPDATE agent_claims SET run_now = NULL WHERE source_id = $1 AND location = $2 AND run_now = $3",
        )
        .bind(source_id)
        .bind(location)
        .bind(check_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn newest_by_location(&self, source_id: Uuid) -> StoreResult<Vec<crate::model::CheckRecord>> {
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY COALESCE(location, '') \
             ORDER BY created_at DESC) AS n FROM checks WHERE source_id = $1 AND status IN ('OK', 'TIMEOUT', \
             'ERROR', 'FAILED') AND (location IS NULL OR location <> 'combined')) AS newest WHERE n = 1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(check_from_row).collect()
    }
}
