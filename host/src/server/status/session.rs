//! The status page's server-side session (DESIGN §5).
//!
//! Signing in with a key (admin or organization) makes an opaque token of
//! 256 random bits from the operating system's CSPRNG. The browser holds
//! only the token, in an `HttpOnly`, `SameSite=Strict` cookie (`Secure`
//! when `[status] secure_cookie`); the store holds only its SHA-256 and a
//! fingerprint of the key bound to the token, so neither a stolen cookie
//! nor a copy of the store reveals a key, and every replica sharing the
//! store honours the session.
//!
//! On every request the fingerprint is compared, in constant time, with
//! that of every configured key of the session's role: a key removed or
//! re-scoped by a reload ends its sessions at their next request. A
//! session also ends after `[status] session_lifetime` (12 h), or when
//! signed out.
//!
//! Forms carry a CSRF token: derived from the session's token for the
//! signed-in page, and a double-submitted random cookie for the sign-in
//! form itself (see [`login_csrf`]).

use axum::http::header::{COOKIE, HeaderMap};
use chrono::{DateTime, Utc};
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Role;
use crate::server::auth::Caller;
use crate::service::Service;
use crate::store::{Session, StoreError};

/// The cookie holding the session's token.
pub const COOKIE_NAME: &str = "sonde_session";
/// The cookie holding the sign-in form's CSRF token.
pub const LOGIN_COOKIE: &str = "sonde_login";
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// Why a session could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// 256 random bits, hex.
pub fn random_token() -> Result<String, SessionError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| SessionError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so no two different lists hash the same input.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// What the store keys a session by.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The key, as the store knows it: bound to the token, so the store alone
/// cannot be used to test guesses of a key.
fn key_fingerprint(token: &str, key: &str) -> String {
    sha256_hex(&[b"sonde session key", token.as_bytes(), key.as_bytes()])
}

/// The CSRF token of the session whose cookie holds `token`: only a page
/// rendered for that browser knows it (the cookie is `HttpOnly`).
fn csrf_of(token: &str) -> String {
    sha256_hex(&[b"sonde session csrf", token.as_bytes()])
}

/// Whether `given` is `expected`, in constant time.
pub fn csrf_matches(expected: &str, given: Option<&str>) -> bool {
    match given {
        Some(g) if !g.is_empty() => expected.as_bytes().ct_eq(g.as_bytes()).into(),
        _ => false,
    }
}

fn organization_of(role: &Role) -> Option<String> {
    match role {
        Role::Admin => None,
        Role::Organization(o) => Some(o.clone()),
    }
}

/// The role of `key` if it is a configured key. Every key is compared, so
/// timing does not tell which one matched.
pub fn role_of_key(service: &Service, key: &str) -> Option<Role> {
    if key.is_empty() {
        return None;
    }
    let mut found = None;
    for k in service.keys() {
        let equal: bool = k.secret.as_bytes().ct_eq(key.as_bytes()).into();
        if equal && found.is_none() {
            found = Some(k.role.clone());
        }
    }
    found
}

/// Whether the key `session` was made with is still configured, with the
/// same role. Every key is compared, so timing does not tell which one.
fn key_still_configured(service: &Service, token: &str, session: &Session) -> bool {
    let mut found = false;
    for k in service.keys() {
        let fingerprint = key_fingerprint(token, &k.secret);
        let equal: bool = fingerprint.as_bytes().ct_eq(session.key_fingerprint.as_bytes()).into();
        found |= equal && organization_of(&k.role) == session.organization;
    }
    found
}

/// Values of the cookies named `name` in the request, well-formed ones only.
fn cookies<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = String> + 'h {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .filter(move |c| c.name() == name)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 2 * TOKEN_BYTES && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub caller: Caller,
    /// The token every form of the page must send back.
    pub csrf: String,
    token_hash: String,
}

impl SignedIn {
    /// Ends this session.
    pub async fn sign_out(&self, service: &Service) -> Result<(), StoreError> {
        service.store().delete_session(&self.token_hash).await.map(|_| ())
    }
}

/// The request's session, if its cookie holds a live one whose key is
/// still configured. A session whose key is gone is deleted.
pub async fn current(service: &Service, headers: &HeaderMap) -> Result<Option<SignedIn>, StoreError> {
    let now = Utc::now();
    // A few at most: each is a store lookup.
    for token in cookies(headers, COOKIE_NAME).take(4) {
        let hash = token_hash(&token);
        let Some(session) = service.store().find_session(&hash, now).await? else { continue };
        if !key_still_configured(service, &token, &session) {
            service.store().delete_session(&hash).await?;
            continue;
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            service.store().touch_session(&hash, now).await?;
        }
        let role = session.organization.map_or(Role::Admin, Role::Organization);
        return Ok(Some(SignedIn { caller: Caller(role), csrf: csrf_of(&token), token_hash: hash }));
    }
    Ok(None)
}

/// Makes a session for a key of `role`; returns its `Set-Cookie` value.
pub async fn sign_in(service: &Service, key: &str, role: &Role) -> Result<String, SessionError> {
    let token = random_token()?;
    let now = Utc::now();
    let config = service.status_config();
    let lifetime = chrono::Duration::from_std(config.session_lifetime).unwrap_or(chrono::Duration::MAX);
    let expires_at: DateTime<Utc> = now.checked_add_signed(lifetime).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let session = Session {
        token_hash: token_hash(&token),
        key_fingerprint: key_fingerprint(&token, key),
        organization: organization_of(role),
        created_at: now,
        last_seen_at: now,
        expires_at,
    };
    service.store().create_session(&session).await?;
    let max_age =
        cookie::time::Duration::seconds(config.session_lifetime.as_secs().try_into().unwrap_or(i64::MAX));
    Ok(cookie(COOKIE_NAME, token, config.secure_cookie).max_age(max_age).build().encoded().to_string())
}

fn cookie(name: &'static str, value: String, secure: bool) -> cookie::CookieBuilder<'static> {
    Cookie::build((name, value)).http_only(true).same_site(SameSite::Strict).path("/").secure(secure)
}

/// `Set-Cookie` value that makes the browser forget its session.
pub fn logout_cookie(service: &Service) -> String {
    cookie(COOKIE_NAME, String::new(), service.status_config().secure_cookie)
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .encoded()
        .to_string()
}

/// The sign-in form's CSRF token: the request's `sonde_login` cookie, or a
/// new one with the `Set-Cookie` that gives it to the browser. A forged
/// cross-site form cannot send the cookie (`SameSite=Strict`) and cannot
/// read it to fill in the field.
pub fn login_csrf(service: &Service, headers: &HeaderMap) -> Result<(String, Option<String>), SessionError> {
    if let Some(value) = cookies(headers, LOGIN_COOKIE).next() {
        return Ok((value, None));
    }
    let value = random_token()?;
    let set = cookie(LOGIN_COOKIE, value.clone(), service.status_config().secure_cookie)
        .build()
        .encoded()
        .to_string();
    Ok((value, Some(set)))
}

/// Whether the sign-in form's field matches one of the request's
/// `sonde_login` cookies.
pub fn login_csrf_matches(headers: &HeaderMap, given: Option<&str>) -> bool {
    cookies(headers, LOGIN_COOKIE).fold(false, |ok, c| ok | csrf_matches(&c, given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_nothing_derived_reveals_them() {
        let a = random_token().expect("random");
        let b = random_token().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let derived = [token_hash(&a), key_fingerprint(&a, "k"), csrf_of(&a)];
        assert!(derived.iter().all(|d| d != &a && d.len() == 64), "{derived:?}");
        assert_ne!(key_fingerprint(&a, "k"), key_fingerprint(&b, "k"), "bound to the token");
        assert!(csrf_matches(&csrf_of(&a), Some(&csrf_of(&a))));
        assert!(!csrf_matches(&csrf_of(&a), Some(&csrf_of(&b))));
        assert!(!csrf_matches("", Some("")) && !csrf_matches(&csrf_of(&a), None));
    }
}
