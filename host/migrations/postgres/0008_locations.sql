-- Private agents (DESIGN §10), as in the SQLite store's 0008. A source's
-- placement: its locations and `min_locations_failed`; NULL is the
-- default, `central` alone.
ALTER TABLE sources ADD COLUMN placement JSONB;
-- Where a check ran; NULL for the service's own replicas (`central`).
ALTER TABLE checks ADD COLUMN location TEXT;

-- Agents as they last polled: what `GET /v1/agents` lists.
CREATE TABLE agents (
    location          TEXT NOT NULL,
    name              TEXT NOT NULL,
    organization      TEXT,
    version           TEXT NOT NULL,
    last_poll         TIMESTAMPTZ NOT NULL,
    checks_per_second DOUBLE PRECISION NOT NULL DEFAULT 0,
    queue             BIGINT NOT NULL DEFAULT 0,
    dropped           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (location, name)
);

-- Who runs a source's checks in a location: one agent per (source,
-- location) at a time, leased. `@service` holds it while no agent of the
-- location is alive (its result is then ERROR "no agent for location").
CREATE TABLE agent_claims (
    source_id   UUID NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    location    TEXT NOT NULL,
    agent       TEXT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    taken_at    TIMESTAMPTZ NOT NULL,
    -- An on-demand check asked of this location, by its check id, until
    -- its result arrives.
    run_now     UUID,
    PRIMARY KEY (source_id, location)
);
CREATE INDEX agent_claims_by_agent ON agent_claims (location, agent);
