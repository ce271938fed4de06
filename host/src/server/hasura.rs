//! Hasura's source health API: `GET /healthz/sources`, admin only.
//! A map from source name to `{status, error, timestamp}`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::{Forbidden, InternalError, Unauthorized, string_enum};
use crate::model::CheckRecord;
use crate::report::{hasura_error, rfc3339};

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
) -> Result<Json<BTreeMap<String, HealthStatus>>, ApiError> {
    caller.require_admin()?;
    if let Some(role) = headers.get("x-hasura-role").and_then(|v| v.to_str().ok())
        && role != "admin"
    {
        return Err(ApiError::Forbidden("This endpoint requires X-Hasura-Role: admin"));
    }
    let sources = state.service.list_sources().await?;
    // Names are unique within an organization; qualify the ones that clash.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for s in &sources {
        *count.entry(s.name.as_str()).or_default() += 1;
    }
    let health = state.service.health_all().await?;
    let mut out = BTreeMap::new();
    for s in &sources {
        // While a check runs, Hasura shows the previous result.
        let last = health.get(&s.id).and_then(|h| h.last.as_ref());
        let Some(status) = last.and_then(HealthStatus::from_check) else {
            continue;
        };
        let key = if count[s.name.as_str()] > 1 {
            format!("{}/{}", s.organization, s.name)
        } else {
            s.name.clone()
        };
        out.insert(key, status);
    }
    Ok(Json(out))
}
