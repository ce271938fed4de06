-- Sources, their secrets (apart, so no read path can select them by
-- accident), and the history of checks.
CREATE TABLE sources (
    id                TEXT PRIMARY KEY,
    organization      TEXT NOT NULL,
    name              TEXT NOT NULL,
    workspace         TEXT,
    source_type       TEXT NOT NULL,
    config            TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'paused')),
    interval_ms       INTEGER NOT NULL,
    timeout_ms        INTEGER NOT NULL,
    retries           INTEGER NOT NULL,
    retry_interval_ms INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (organization, name)
);

CREATE TABLE source_secrets (
    source_id TEXT PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    secrets   TEXT NOT NULL
);

CREATE TABLE checks (
    id          TEXT PRIMARY KEY,
    source_id   TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    trigger     TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    status      TEXT NOT NULL CHECK (status IN ('SCHEDULED', 'RUNNING', 'OK', 'TIMEOUT', 'ERROR', 'FAILED')),
    attempts    INTEGER NOT NULL,
    message     TEXT,
    extra       TEXT,
    details     TEXT,
    items       INTEGER,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    reported_at TEXT,
    duration_ms INTEGER
);

CREATE INDEX checks_by_source ON checks (source_id, created_at DESC);
CREATE INDEX checks_unfinished ON checks (status) WHERE status IN ('SCHEDULED', 'RUNNING');
CREATE INDEX checks_by_age ON checks (created_at);
