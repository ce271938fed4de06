//! Aitronos's connector health check: `GET /v1/knowledge/connectors/health`
//! (public, no key) and `GET /v1/organizations/{organization_id}/knowledge/
//! connectors/health` (a key that sees the organization).
//!
//! Shapes follow `aitronos-connector-health-check.md` (DESIGN §5):
//! `{status: "ok", available: true}` with 200, or `{status: "unavailable",
//! available: false}` with 503. "Available" means a check asked for now would
//! run: the store answers, at least one plugin is loaded, and the check queue
//! is not saturated ([`crate::service::Service::saturated`]). The answer says
//! nothing about any source, so the public route leaks nothing.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::PathParams;
use crate::service::Service;

/// How long the store may take to answer a ping before it counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `{status, available}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ConnectorHealth {
    pub status: &'static str,
    pub available: bool,
}

impl ConnectorHealth {
    pub const OK: Self = Self { status: "ok", available: true };
    pub const UNAVAILABLE: Self = Self { status: "unavailable", available: false };
}

/// Whether the service can run checks right now.
pub async fn available(service: &Service) -> bool {
    if service.registry().types().is_empty() || service.saturated() {
        return false;
    }
    match tokio::time::timeout(PING_TIMEOUT, service.store().ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "store ping failed");
            false
        }
        Err(_) => {
            tracing::warn!(timeout = ?PING_TIMEOUT, "store ping timed out");
            false
        }
    }
}

async fn answer(service: &Service) -> (StatusCode, Json<ConnectorHealth>) {
    if available(service).await {
        (StatusCode::OK, Json(ConnectorHealth::OK))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(ConnectorHealth::UNAVAILABLE))
    }
}

/// The public route.
pub async fn public(State(state): State<AppState>) -> (StatusCode, Json<ConnectorHealth>) {
    answer(&state.service).await
}

/// The organization-scoped route; another organization's path is a 404.
pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<(StatusCode, Json<ConnectorHealth>), ApiError> {
    caller.require_organization(path.organization("organization_id")?)?;
    Ok(answer(&state.service).await)
}
