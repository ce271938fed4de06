-- Alerts (DESIGN §8). Each route's view of each source, as JSON (the
-- fields of `alerts::rules::RouteState`), written with the check that moved
-- it; `version` keeps an older write from replacing a newer one.
CREATE TABLE alert_states (
    route     TEXT NOT NULL,
    source_id TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    state     TEXT NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (route, source_id)
);

-- The outbox: written in the same transaction as the check that caused a
-- notification, sent by the delivery worker. `next_attempt_at` is both the
-- retry time and the claim's lease. No foreign key to sources: a source
-- deleted while its "down" is pending still has it delivered.
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    route           TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    settled_at      TEXT,
    last_error      TEXT
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_order ON notifications (route, source_id, seq) WHERE state = 'pending';
CREATE INDEX notifications_settled ON notifications (settled_at) WHERE state <> 'pending';

CREATE TABLE silences (
    id           TEXT PRIMARY KEY,
    organization TEXT,
    sources      TEXT,
    starts_at    TEXT NOT NULL,
    ends_at      TEXT NOT NULL,
    comment      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE INDEX silences_by_end ON silences (ends_at);
