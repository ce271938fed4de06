//! Unstructured's sources API: CRUD at `/api/v1/sources` and connection
//! checks at `/api/v1/sources/{source_id}/connection-check`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, FieldError};
use super::extract::{Body, PathParams};
use super::openapi::{
    Conflict, InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity, duration,
    string_enum,
};
use crate::model::{CheckRecord, CheckStatus, Policy, Source, SourceSpec, SourceState};
use crate::report::rfc3339;

/// `{name, type, config}`, plus Sonde's optional policy fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    /// Unique within the organization.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// A source type with a loaded plugin (see `GET /v1/plugins`).
    #[serde(rename = "type")]
    #[schema(examples("tcp"))]
    pub source_type: String,
    /// Checked against the plugin's `config_schema`.
    #[schema(value_type = Object, examples(json!({"host": "127.0.0.1", "port": 5432})))]
    pub config: Value,
    /// Required with an admin key; an organization key implies its own.
    #[schema(pattern = "^org_", examples("org_acme"))]
    pub organization: Option<String>,
    /// The workspace (Feather knowledge base) the source belongs to.
    pub workspace: Option<Uuid>,
    /// How often the source is checked.
    #[serde(default, with = "humantime_serde")]
    #[schema(schema_with = duration)]
    pub interval: Option<Duration>,
    /// Deadline of one attempt.
    #[serde(default, with = "humantime_serde")]
    #[schema(schema_with = duration)]
    pub timeout: Option<Duration>,
    /// Extra attempts after a TIMEOUT or ERROR.
    pub retries: Option<u32>,
    /// Pause between attempts.
    #[serde(default, with = "humantime_serde")]
    #[schema(schema_with = duration)]
    pub retry_interval: Option<Duration>,
    /// A paused source is not checked on schedule.
    #[schema(schema_with = source_state)]
    pub state: Option<SourceState>,
}

fn source_state() -> utoipa::openapi::schema::Object {
    string_enum(&["active", "paused"], true)
}

fn check_status() -> utoipa::openapi::schema::Object {
    string_enum(&["SCHEDULED", "SUCCESS", "FAILURE"], false)
}

/// `{id, name, type, config, created_at, updated_at}`; secrets left out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Source)]
pub struct SourceOut {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub source_type: String,
    /// The config without its secret (`writeOnly`) values.
    #[schema(value_type = Object)]
    pub config: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Source> for SourceOut {
    fn from(s: &Source) -> Self {
        Self {
            id: s.id,
            name: s.name.clone(),
            source_type: s.source_type.clone(),
            config: s.config.clone(),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// `{id, status, reason, created_at, reported_at}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCheck {
    /// Unique identifier for the connection check.
    pub id: Uuid,
    /// Connection check status.
    #[schema(schema_with = check_status)]
    pub status: &'static str,
    /// Failure reason, if applicable.
    pub reason: Option<String>,
    /// When the check was initiated.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the check result was reported.
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
}

impl From<&CheckRecord> for ConnectionCheck {
    fn from(c: &CheckRecord) -> Self {
        let (status, reason) = match c.status {
            CheckStatus::Scheduled | CheckStatus::Running => ("SCHEDULED", None),
            CheckStatus::Ok => ("SUCCESS", None),
            _ => ("FAILURE", Some(c.message.clone().unwrap_or_else(|| c.status.as_str().to_string()))),
        };
        Self {
            id: c.id,
            status,
            reason,
            created_at: rfc3339(c.created_at),
            reported_at: if c.status.is_finished() { c.reported_at.map(rfc3339) } else { None },
        }
    }
}

fn spec(caller: &Caller, body: SourceBody, existing: Option<&Source>) -> Result<SourceSpec, ApiError> {
    let organization = match (caller.organization(), body.organization, existing) {
        (Some(own), Some(given), _) if own != given => {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["body", "organization"],
                "must be the organization of the API key",
                "value_error",
            )]));
        }
        (Some(own), _, _) => own.to_string(),
        (None, Some(given), _) => given,
        (None, None, Some(existing)) => existing.organization.clone(),
        (None, None, None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["body", "organization"],
                "Field required with an admin key",
                "missing",
            )]));
        }
    };
    if !organization.starts_with("org_") {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "organization"],
            "must start with \"org_\"",
            "value_error",
        )]));
    }
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "name"],
            "must be 1 to 200 characters",
            "value_error",
        )]));
    }
    if !body.config.is_object() {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "config"],
            "Input should be a valid dictionary",
            "dict_type",
        )]));
    }
    super::limits::check_config(&["body", "config"], &body.config)?;
    for (field, d) in
        [("interval", body.interval), ("timeout", body.timeout), ("retry_interval", body.retry_interval)]
    {
        if d.is_some_and(|d| d.is_zero()) {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["body", field],
                "must be longer than zero",
                "value_error",
            )]));
        }
    }
    let base = existing.map(|e| e.policy).unwrap_or_default();
    Ok(SourceSpec {
        name: body.name,
        organization,
        workspace: body.workspace.or(existing.and_then(|e| e.workspace)),
        source_type: body.source_type,
        config: body.config,
        state: body.state.or(existing.map(|e| e.state)).unwrap_or(SourceState::Active),
        policy: Policy::with(
            body.interval.or(Some(base.interval)),
            body.timeout.or(Some(base.timeout)),
            body.retries.or(Some(base.retries)),
            body.retry_interval.or(Some(base.retry_interval)),
        ),
    })
}

/// The source, if it exists and the caller may see it; 404 otherwise.
pub async fn visible(state: &AppState, caller: &Caller, id: Uuid) -> Result<Source, ApiError> {
    match state.service.get_source(id).await? {
        Some(s) if caller.sees(&s.organization) => Ok(s),
        _ => Err(ApiError::NotFound("Source not found")),
    }
}

/// List sources
///
/// The sources the key may see.
#[utoipa::path(
    get,
    path = "/api/v1/sources",
    operation_id = "list_sources",
    tag = "unstructured",
    responses(
        (status = 200, description = "The sources", body = Vec<SourceOut>),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SourceOut>>, ApiError> {
    let sources = state.service.list_sources().await?;
    Ok(Json(sources.iter().filter(|s| caller.sees(&s.organization)).map(SourceOut::from).collect()))
}

/// Create a source
#[utoipa::path(
    post,
    path = "/api/v1/sources",
    operation_id = "create_source",
    tag = "unstructured",
    request_body = SourceBody,
    responses(
        (status = 201, description = "The source, created", body = SourceOut),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SourceBody>,
) -> Result<(StatusCode, Json<SourceOut>), ApiError> {
    let spec = spec(&caller, body, None)?;
    let source = state.service.create_source(spec).await?;
    Ok((StatusCode::CREATED, Json(SourceOut::from(&source))))
}

/// Get a source
#[utoipa::path(
    get,
    path = "/api/v1/sources/{source_id}",
    operation_id = "get_source",
    tag = "unstructured",
    params(("source_id" = Uuid, Path, description = "The unique identifier of the source connector")),
    responses(
        (status = 200, description = "The source", body = SourceOut),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<SourceOut>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    Ok(Json(SourceOut::from(&source)))
}

/// Replace a source
///
/// Policy fields left out keep their values.
#[utoipa::path(
    put,
    path = "/api/v1/sources/{source_id}",
    operation_id = "replace_source",
    tag = "unstructured",
    params(("source_id" = Uuid, Path, description = "The unique identifier of the source connector")),
    request_body = SourceBody,
    responses(
        (status = 200, description = "The source, replaced", body = SourceOut),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body<SourceBody>,
) -> Result<Json<SourceOut>, ApiError> {
    let existing = visible(&state, &caller, path.uuid("source_id")?).await?;
    let spec = spec(&caller, body, Some(&existing))?;
    let source = state.service.replace_source(existing.id, spec).await?;
    Ok(Json(SourceOut::from(&source)))
}

/// Delete a source
///
/// The source and its history.
#[utoipa::path(
    delete,
    path = "/api/v1/sources/{source_id}",
    operation_id = "delete_source",
    tag = "unstructured",
    params(("source_id" = Uuid, Path, description = "The unique identifier of the source connector")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<StatusCode, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    state.service.delete_source(source.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a source connection check
///
/// Queues a check now; its result is read with `GET`.
#[utoipa::path(
    post,
    path = "/api/v1/sources/{source_id}/connection-check",
    operation_id = "create_source_connection_check",
    tag = "unstructured",
    params(("source_id" = Uuid, Path, description = "The unique identifier of the source connector")),
    responses(
        (status = 202, description = "The check, `SCHEDULED`", body = ConnectionCheck),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn start_check(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<(StatusCode, Json<ConnectionCheck>), ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    let check = state.service.request_check(&source).await?;
    Ok((StatusCode::ACCEPTED, Json(ConnectionCheck::from(&check))))
}

/// Get source connection check
///
/// The most recent connection check of the source, queued or running
/// included; 404 before the first one.
#[utoipa::path(
    get,
    path = "/api/v1/sources/{source_id}/connection-check",
    operation_id = "get_source_connection_check",
    tag = "unstructured",
    params(("source_id" = Uuid, Path, description = "The unique identifier of the source connector")),
    responses(
        (status = 200, description = "The newest check", body = ConnectionCheck),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
    security(("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
)]
pub async fn latest_check(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<ConnectionCheck>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    let health = state.service.health(source.id);
    let newest = health.newest().ok_or(ApiError::NotFound("No connection check for this source yet"))?;
    Ok(Json(ConnectionCheck::from(newest)))
}
