//! The status page's sign-in sessions, kept in the store so that every
//! replica sharing it honours a session made on another (DESIGN §5, §9).
//!
//! The store never sees the cookie's token nor the key: only the token's
//! hash, by which a session is found, and a fingerprint binding the key to
//! the token (`server::status::session` makes both). Each backend
//! implements [`SessionStore`] in its own `sessions.rs`.

use chrono::{DateTime, Utc};

use super::StoreResult;

/// One signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the cookie's token.
    pub token_hash: String,
    /// Hex SHA-256 of the token and the key it was made with.
    pub key_fingerprint: String,
    /// The key's organization; None for an admin key.
    pub organization: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The session ends then, whatever happens in between.
    pub expires_at: DateTime<Utc>,
}

/// Live sessions kept per organization (admin keys' sessions count as one
/// more organization): signing in again and again, a tenant can only push
/// out its own oldest sessions, and the table stays small.
pub const MAX_PER_ORGANIZATION: u32 = 100;

#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session; drops those expired at its `created_at`, and
    /// its organization's oldest beyond [`MAX_PER_ORGANIZATION`].
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The session whose token hashes to `token_hash`, unless it has expired at `now`.
    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>>;
    /// Records that the session was used at `now`.
    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Ends a session; whether there was one.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<bool>;
}
