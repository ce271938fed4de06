-- The status page's sign-in sessions (DESIGN §5), shared by every process
-- on this store. Neither the cookie's token nor the key is kept: the token
-- as its SHA-256 (the lookup), the key as a SHA-256 of the token and the key
-- (to tell, on each request, whether that key is still configured).
-- `organization` is NULL for an admin key's session. Timestamps are
-- fixed-width RFC 3339 text, so text order is time order.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    key_fingerprint TEXT NOT NULL,
    organization    TEXT,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);

CREATE INDEX sessions_expiry ON sessions (expires_at);
