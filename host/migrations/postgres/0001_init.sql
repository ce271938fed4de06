-- Sources, their secrets (apart, so no read path can select them by
-- accident), the history of checks, the group's schedule and the latest
-- result per source. Same columns as the SQLite store, in native types.
CREATE TABLE sources (
    id                UUID PRIMARY KEY,
    organization      TEXT NOT NULL,
    name              TEXT NOT NULL,
    workspace         UUID,
    source_type       TEXT NOT NULL,
    config            JSONB NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'paused')),
    interval_ms       BIGINT NOT NULL,
    timeout_ms        BIGINT NOT NULL,
    retries           INTEGER NOT NULL,
    retry_interval_ms BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (organization, name)
);

CREATE TABLE source_secrets (
    source_id UUID PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    secrets   JSONB NOT NULL
);

CREATE TABLE checks (
    id          UUID PRIMARY KEY,
    source_id   UUID NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    trigger     TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    status      TEXT NOT NULL CHECK (status IN ('SCHEDULED', 'RUNNING', 'OK', 'TIMEOUT', 'ERROR', 'FAILED')),
    attempts    INTEGER NOT NULL,
    message     TEXT,
    extra       TEXT,
    details     JSONB,
    items       BIGINT,
    created_at  TIMESTAMPTZ NOT NULL,
    started_at  TIMESTAMPTZ,
    reported_at TIMESTAMPTZ,
    duration_ms BIGINT,
    replica     TEXT
);

CREATE INDEX checks_by_source ON checks (source_id, created_at DESC);
CREATE INDEX checks_unfinished ON checks (status) WHERE status IN ('SCHEDULED', 'RUNNING');
CREATE INDEX checks_by_age ON checks (created_at);

-- One row per source: when it is next due, and who holds it now. A lease
-- (`lease_owner`, `lease_until`) is taken by claiming the row with
-- FOR UPDATE SKIP LOCKED; `check_id` is the check it covers, so a replica
-- taking over an expired lease reruns that check instead of adding one.
CREATE TABLE schedule (
    source_id   UUID PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    next_due    TIMESTAMPTZ NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    check_id    UUID
);

CREATE INDEX schedule_due ON schedule (next_due) WHERE lease_owner IS NULL;
CREATE INDEX schedule_leased ON schedule (lease_until) WHERE lease_owner IS NOT NULL;
CREATE INDEX schedule_owner ON schedule (lease_owner) WHERE lease_owner IS NOT NULL;

-- The latest result per source, what every read route serves: the newest
-- finished check and the one queued or running. Kept here rather than in
-- one process's memory so that every replica answers the same.
CREATE TABLE latest (
    source_id       UUID PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    last_check      UUID,
    last_created_at TIMESTAMPTZ,
    current_check   UUID
);

-- Pruning keeps every check `latest` points at.
CREATE INDEX latest_last ON latest (last_check);
