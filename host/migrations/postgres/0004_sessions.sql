-- The status page's sign-in sessions (DESIGN §5), as in the SQLite store's
-- 0004: every replica honours a session made on another. Only the SHA-256
-- of the cookie's token and a SHA-256 of token and key are kept, never
-- either one; `organization` is NULL for an admin key's session.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    key_fingerprint TEXT NOT NULL,
    organization    TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expiry ON sessions (expires_at);
