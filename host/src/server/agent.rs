//! The agent protocol's routes (DESIGN §10, [`crate::agent::proto`]):
//! `POST /v1/agent/poll`, `GET /v1/agent/plugins/{sha256}`, `POST
//! /v1/agent/results`, answering agent keys alone; and `GET /v1/agents`,
//! the agents as operators and tenants see them.
//!
//! Claims carry secrets, so an agent is served over HTTPS (`[server]
//! tls_cert_file`) or from loopback only; anything else is a 403 before a
//! claim is taken.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{AgentCaller, Caller};
use super::error::{ApiError, FieldError};
use super::extract::{Body, PathParams};
use super::openapi::{
    Forbidden, InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity,
};
use crate::agent::proto::{Accepted, AgentOut, Claims, MAX_BATCH, Poll, Results};

/// Longest agent name.
const MAX_NAME: usize = 128;

/// The peer's address, when the listener recorded it (not in `oneshot` tests).
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// Claims carry secrets: HTTPS, or loopback.
fn require_private(state: &AppState, peer: &Peer) -> Result<(), ApiError> {
    let loopback = peer.0.is_none_or(|p| p.ip().is_loopback());
    if state.service.serves_https() || loopback {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Agents beyond loopback need HTTPS: set [server] tls_cert_file and tls_key_file",
        ))
    }
}

/// 1 to 128 of letters, digits, `.`, `_`, `-`: it appears in metrics'
/// labels and check history as it is.
fn check_name(loc: &[&str], name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Validation(vec![FieldError::new(
            loc,
            "must be 1 to 128 of letters, digits, '.', '_', '-'",
            "value_error",
        )]))
    }
}

/// Poll for claims
///
/// Takes and renews this agent's claims on the sources of its location,
/// and answers them, with everything each check needs. While the claims are
/// those the agent says it holds (`known`), the answer waits up to
/// `[agents] poll_wait` for a change. An agent key only.
#[utoipa::path(
    post,
    path = "/v1/agent/poll",
    operation_id = "agent_poll",
    tag = "agent",
    request_body = Poll,
    responses(
        (status = 200, description = "The claims this agent holds", body = Claims),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn poll(
    State(state): State<AppState>,
    AgentCaller(key): AgentCaller,
    peer: Peer,
    Body(poll): Body<Poll>,
) -> Result<Json<Claims>, ApiError> {
    require_private(&state, &peer)?;
    check_name(&["body", "name"], &poll.name)?;
    if poll.version.len() > 64 {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "version"],
            "at most 64 characters",
            "string_too_long",
        )]));
    }
    Ok(Json(state.service.agent_poll(&key, &poll).await?))
}

/// Fetch a plugin
///
/// A loaded plugin's component bytes by hex SHA-256, as its claims name
/// it; the agent checks the digest before it loads them. An agent key only.
#[utoipa::path(
    get,
    path = "/v1/agent/plugins/{sha256}",
    operation_id = "agent_plugin",
    tag = "agent",
    params(("sha256" = String, Path, description = "Hex SHA-256 of the plugin", pattern = "^[0-9a-f]{64}$")),
    responses(
        (status = 200, description = "The plugin", content_type = "application/wasm", body = Vec<u8>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn plugin(
    State(state): State<AppState>,
    AgentCaller(_): AgentCaller,
    peer: Peer,
    path: PathParams,
) -> Result<Response, ApiError> {
    require_private(&state, &peer)?;
    let sha = path.get("sha256");
    let bytes = state.service.plugin_bytes(sha).await.ok_or(ApiError::NotFound("Plugin not found"))?;
    Ok(([(header::CONTENT_TYPE, "application/wasm")], bytes).into_response())
}

/// Report results
///
/// Finished checks, in the order they finished. Each is recorded, or
/// refused alone (`refused`) when this agent holds no claim on its source:
/// never claimed, another agent's since, or gone. A check sent again (same
/// `check_id`) counts as accepted once. An agent key only.
#[utoipa::path(
    post,
    path = "/v1/agent/results",
    operation_id = "agent_results",
    tag = "agent",
    request_body = Results,
    responses(
        (status = 200, description = "What was recorded and what was refused", body = Accepted),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn results(
    State(state): State<AppState>,
    AgentCaller(key): AgentCaller,
    peer: Peer,
    Body(batch): Body<Results>,
) -> Result<Json<Accepted>, ApiError> {
    require_private(&state, &peer)?;
    check_name(&["body", "name"], &batch.name)?;
    if batch.results.len() > MAX_BATCH {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "results"],
            format!("at most {MAX_BATCH} results per batch"),
            "too_long",
        )]));
    }
    Ok(Json(state.service.agent_results(&key, batch).await?))
}

/// `{agents: [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentOut>,
}

/// List agents
///
/// Every agent that has polled, with its location, version, last poll and
/// load. An organization key sees the agents bound to it and those of the
/// locations granted to it.
#[utoipa::path(
    get,
    path = "/v1/agents",
    operation_id = "list_agents",
    tag = "sonde",
    responses(
        (status = 200, description = "Agents", body = AgentList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<AgentList>, ApiError> {
    Ok(Json(AgentList { agents: state.service.list_agents(caller.organization()).await? }))
}
