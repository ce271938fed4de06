//! Hasura's source health API: `GET /healthz/sources`, admin only.
//! A map from source name to `{status, error, timestamp}`.
//!
//! # Layout
//! - this file: the wire types and the handler;
//! - [`memo`]: the body kept between requests, for a process that owns
//!   its store (replicas sharing one read it from the store instead).

mod memo;

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::{Forbidden, InternalError, Unauthorized, string_enum};
use crate::model::CheckRecord;
use crate::report::{hasura_error, rfc3339};

pub use memo::Memo;

/// Hasura's `HealthStatus`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// The status of the Health Check.
    #[schema(schema_with = status_schema)]
    pub status: &'static str,
    /// `null` for OK and TIMEOUT, a `HealthCheckError` for ERROR, the reason
    /// for FAILED.
    #[schema(schema_with = error_schema)]
    pub error: Value,
    /// When the check finished, in UTC.
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// Hasura's `HealthCheckError`: the `error` of an ERROR.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthCheckError {
    /// A very short description of the error.
    pub message: String,
    /// More detail, if any: a string, or structured JSON.
    #[schema(value_type = Value)]
    pub extra: Value,
}

fn status_schema() -> utoipa::openapi::schema::Object {
    string_enum(&["OK", "TIMEOUT", "ERROR", "FAILED"], false)
}

fn error_schema() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(Ref::from_schema_name("HealthCheckError"))
        .item(ObjectBuilder::new().schema_type(Type::String))
        .into()
}

impl HealthStatus {
    /// `None` for a check without an outcome yet.
    pub fn from_check(c: &CheckRecord) -> Option<Self> {
        let status = c.status.outcome()?;
        Some(Self {
            status: status.as_str(),
            error: hasura_error(status, c.message.as_deref(), c.extra.as_deref()),
            timestamp: rfc3339(c.reported_at.unwrap_or(c.created_at)),
        })
    }
}

/// Source health (admin only)
///
/// An object with the source name as key and its latest finished check as
/// value. Sources never checked yet are left out; names that clash across
/// organizations are qualified as `organization/name`.
#[utoipa::path(
    get,
    path = "/healthz/sources",
    operation_id = "hasura_source_health",
    tag = "hasura",
    params(("X-Hasura-Role" = Option<String>, Header, nullable = false, description = "If given, it must be `admin`")),
    responses(
        (status = 200, description = "Health of every source, by name", body = BTreeMap<String, HealthStatus>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
    ),
)]
pub async fn sources(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    if let Some(role) = headers.get("x-hasura-role").and_then(|v| v.to_str().ok())
        && role != "admin"
    {
        return Err(ApiError::Forbidden("This endpoint requires X-Hasura-Role: admin"));
    }
    if let Some(health) = state.service.local_health() {
        let body = state.hasura.body(health);
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let sources = state.service.list_sources().await?;
    let health = state.service.health_all().await?;
    let keys = qualified_keys(sources.iter().map(|s| (s.id, s.name.as_str(), s.organization.as_str())));
    let mut out = BTreeMap::new();
    for (key, id) in keys {
        // While a check runs, Hasura shows the previous result.
        let last = health.get(&id).and_then(|h| h.last.as_ref());
        if let Some(status) = last.and_then(HealthStatus::from_check) {
            out.insert(key, status);
        }
    }
    Ok(Json(out).into_response())
}

/// Each source's key in the map, in key order: its name, or
/// `organization/name` where the name is used in more than one
/// organization (names are unique within one).
fn qualified_keys<'a>(
    sources: impl Iterator<Item = (Uuid, &'a str, &'a str)> + Clone,
) -> Vec<(String, Uuid)> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, name, _) in sources.clone() {
        *count.entry(name).or_default() += 1;
    }
    let mut keys: Vec<(String, Uuid)> = sources
        .map(|(id, name, organization)| {
            let key = if count[name] > 1 { format!("{organization}/{name}") } else { name.to_string() };
            (key, id)
        })
        .collect();
    keys.sort_unstable();
    keys
}
