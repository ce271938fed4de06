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
use utoipa::ToSchema;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::PathParams;
use super::openapi::{NotFound, Unauthorized, UnprocessableEntity, string_enum};
use crate::service::Service;

/// How long the store may take to answer a ping before it counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `{status, available}`.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct ConnectorHealth {
    #[schema(schema_with = health_status)]
    pub status: &'static str,
    pub available: bool,
}

fn health_status() -> utoipa::openapi::schema::Object {
    string_enum(&["ok", "unavailable"], false)
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

/// Public health check
///
/// Whether the connector service can run checks now. No key needed.
#[utoipa::path(
    get,
    path = "/v1/knowledge/connectors/health",
    operation_id = "connector_health",
    tag = "aitronos",
    responses(
        (status = 200, description = "Available", body = ConnectorHealth,
            example = json!({"status": "ok", "available": true})),
        (status = 503, description = "Service unavailable", body = ConnectorHealth,
            example = json!({"status": "unavailable", "available": false})),
    ),
)]
pub async fn public(State(state): State<AppState>) -> (StatusCode, Json<ConnectorHealth>) {
    answer(&state.service).await
}

/// Organization-scoped health check
///
/// As the public route, for an organization the key may see; another
/// organization's path is a 404.
#[utoipa::path(
    get,
    path = "/v1/organizations/{organization_id}/knowledge/connectors/health",
    operation_id = "organization_connector_health",
    tag = "aitronos",
    params(("organization_id" = String, Path, pattern = "^org_.+", example = "org_acme", description = "The unique identifier of the organization (format: `org_*`)")),
    responses(
        (status = 200, description = "Available", body = ConnectorHealth,
            example = json!({"status": "ok", "available": true})),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 503, description = "Service unavailable", body = ConnectorHealth,
            example = json!({"status": "unavailable", "available": false})),
    ),
)]
pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<(StatusCode, Json<ConnectorHealth>), ApiError> {
    caller.require_organization(path.organization("organization_id")?)?;
    Ok(answer(&state.service).await)
}
