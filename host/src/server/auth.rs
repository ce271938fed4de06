//! Who is calling: an API key from any of the headers the seed APIs use,
//! compared in constant time against every configured key.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::config::Role;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub Role);

/// Headers a key is accepted from, in order.
const KEY_HEADERS: [&str; 3] = ["x-api-key", "unstructured-api-key", "x-hasura-admin-secret"];

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.0 == Role::Admin
    }

    /// Whether this caller may see `organization`'s things.
    pub fn sees(&self, organization: &str) -> bool {
        match &self.0 {
            Role::Admin => true,
            Role::Organization(org) => org == organization,
        }
    }

    pub fn organization(&self) -> Option<&str> {
        match &self.0 {
            Role::Admin => None,
            Role::Organization(org) => Some(org),
        }
    }

    /// For routes under `/organizations/{organization_id}`: another
    /// organization's path answers 404, as if it did not exist.
    pub fn require_organization(&self, organization: &str) -> Result<(), ApiError> {
        if self.sees(organization) { Ok(()) } else { Err(ApiError::NotFound("Organization not found")) }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::Forbidden("This endpoint requires an admin key")) }
    }
}

fn presented(parts: &Parts) -> Option<(String, bool)> {
    let h = &parts.headers;
    if let Some(v) = h.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let token = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim();
        return Some((token.to_string(), false));
    }
    KEY_HEADERS.iter().find_map(|name| {
        let value = h.get(*name)?.to_str().ok()?.trim().to_string();
        Some((value, *name == "x-hasura-admin-secret"))
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (key, admin_header) = presented(parts).ok_or(ApiError::Unauthenticated)?;
        if key.is_empty() {
            return Err(ApiError::Unauthenticated);
        }
        // Compare with every key, so timing does not tell which one matched.
        let mut found: Option<Role> = None;
        for k in state.service.keys() {
            let equal: bool = k.secret.as_bytes().ct_eq(key.as_bytes()).into();
            if equal && found.is_none() {
                found = Some(k.role.clone());
            }
        }
        if found.is_none() && state.service.agents().key(&key).is_some() {
            // Agent keys claim and report checks, and read nothing (DESIGN §10).
            return Err(ApiError::Forbidden("An agent key reaches only /v1/agent/"));
        }
        match found {
            // The Hasura header only carries admin secrets.
            Some(Role::Organization(_)) if admin_header => Err(ApiError::BadKey),
            Some(role) => Ok(Caller(role)),
            None => Err(ApiError::BadKey),
        }
    }
}

/// An agent, authenticated by its key (DESIGN §10): the only caller the
/// `/v1/agent/` routes answer.
#[derive(Debug, Clone)]
pub struct AgentCaller(pub crate::config::AgentKey);

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (key, _) = presented(parts).ok_or(ApiError::Unauthenticated)?;
        if key.is_empty() {
            return Err(ApiError::Unauthenticated);
        }
        if let Some(agent) = state.service.agents().key(&key) {
            return Ok(AgentCaller(agent));
        }
        let api_key =
            state.service.keys().iter().any(|k| bool::from(k.secret.as_bytes().ct_eq(key.as_bytes())));
        Err(if api_key {
            ApiError::Forbidden("This endpoint requires an agent key")
        } else {
            ApiError::BadKey
        })
    }
}
