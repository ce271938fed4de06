-- Alerts (DESIGN §8), as in the SQLite store's 0003: each route's view of
-- each source (`alerts::rules::RouteState` as JSON, `version` keeping an
-- older write from replacing a newer one), the outbox, and silences.
CREATE TABLE alert_states (
    route     TEXT NOT NULL,
    source_id UUID NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    state     JSONB NOT NULL,
    version   BIGINT NOT NULL,
    PRIMARY KEY (route, source_id)
);

-- Written in the same transaction as the check that caused it; claimed by
-- one replica at a time (`next_attempt_at` is the retry time and the lease).
-- No foreign key to sources: a deleted source's pending "down" still goes.
CREATE TABLE notifications (
    id              UUID PRIMARY KEY,
    route           TEXT NOT NULL,
    source_id       UUID NOT NULL,
    seq             BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    settled_at      TIMESTAMPTZ,
    last_error      TEXT
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_order ON notifications (route, source_id, seq) WHERE state = 'pending';
CREATE INDEX notifications_settled ON notifications (settled_at) WHERE state <> 'pending';

CREATE TABLE silences (
    id           UUID PRIMARY KEY,
    organization TEXT,
    sources      JSONB,
    starts_at    TIMESTAMPTZ NOT NULL,
    ends_at      TIMESTAMPTZ NOT NULL,
    comment      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX silences_by_end ON silences (ends_at);
