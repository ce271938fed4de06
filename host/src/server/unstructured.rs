//! Unstructured's sources API: CRUD at `/api/v1/sources` and connection
//! checks at `/api/v1/sources/{source_id}/connection-check`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, FieldError};
use super::extract::{Body, PathParams};
use crate::model::{CheckRecord, CheckStatus, Policy, Source, SourceSpec, SourceState};
use crate::report::rfc3339;

/// `{name, type, config}`, plus Sonde's optional policy fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    pub name: String,
    #[serde(rename = "type")]
    pub source_type: String,
    pub config: Value,
    /// Required with an admin key; an organization key implies its own.
    pub organization: Option<String>,
    pub workspace: Option<Uuid>,
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub retry_interval: Option<Duration>,
    pub state: Option<SourceState>,
}

/// `{id, name, type, config, created_at, updated_at}`; secrets left out.
#[derive(Debug, Serialize)]
pub struct SourceOut {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub source_type: String,
    pub config: Value,
    pub created_at: String,
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
#[derive(Debug, Serialize)]
pub struct ConnectionCheck {
    pub id: Uuid,
    pub status: &'static str,
    pub reason: Option<String>,
    pub created_at: String,
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

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SourceOut>>, ApiError> {
    let sources = state.service.list_sources().await?;
    Ok(Json(sources.iter().filter(|s| caller.sees(&s.organization)).map(SourceOut::from).collect()))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SourceBody>,
) -> Result<(StatusCode, Json<SourceOut>), ApiError> {
    let spec = spec(&caller, body, None)?;
    let source = state.service.create_source(spec).await?;
    Ok((StatusCode::CREATED, Json(SourceOut::from(&source))))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<SourceOut>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    Ok(Json(SourceOut::from(&source)))
}

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

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<StatusCode, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    state.service.delete_source(source.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn start_check(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<(StatusCode, Json<ConnectionCheck>), ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    let check = state.service.request_check(&source).await?;
    Ok((StatusCode::ACCEPTED, Json(ConnectionCheck::from(&check))))
}

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
