//! Sonde's check history: `GET /v1/sources/{source_id}/checks?limit=N&before=RFC3339`
//! (DESIGN §5), newest first, each check with the replica that ran it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, FieldError};
use super::extract::{PathParams, QueryParams};
use super::openapi::{InternalError, NotFound, Unauthorized, UnprocessableEntity, string_enum};
use super::unstructured::visible;
use crate::model::CheckRecord;
use crate::report::rfc3339;

/// Checks answered when `limit` is not given, and the most it may ask for.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// One check, across all its attempts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CheckRecord)]
pub struct CheckOut {
    pub id: Uuid,
    /// `schedule`, or `manual` (an API request).
    #[schema(schema_with = trigger)]
    pub trigger: &'static str,
    #[schema(schema_with = status)]
    pub status: &'static str,
    /// Attempts made, retries included.
    pub attempts: u32,
    /// Why it was not OK, in a few words.
    pub message: Option<String>,
    /// More detail, free text or JSON.
    pub extra: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// The Sonde instance that ran it (`--replica-id`, or the agent's
    /// name); `null` while queued.
    pub replica: Option<String>,
    /// Where it ran: `central` (the service's replicas) or a private
    /// location's agent (DESIGN §10).
    pub location: String,
}

/// `{checks: [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckHistory {
    pub checks: Vec<CheckOut>,
}

fn trigger() -> utoipa::openapi::schema::Object {
    string_enum(&["schedule", "manual"], false)
}

fn status() -> utoipa::openapi::schema::Object {
    string_enum(&["SCHEDULED", "RUNNING", "OK", "TIMEOUT", "ERROR", "FAILED"], false)
}

impl From<&CheckRecord> for CheckOut {
    fn from(c: &CheckRecord) -> Self {
        Self {
            id: c.id,
            trigger: c.trigger.as_str(),
            status: c.status.as_str(),
            attempts: c.attempts,
            message: c.message.clone(),
            extra: c.extra.clone(),
            created_at: rfc3339(c.created_at),
            started_at: c.started_at.map(rfc3339),
            reported_at: c.reported_at.map(rfc3339),
            duration_ms: c.duration_ms,
            replica: c.replica.clone(),
            location: c.location.clone().unwrap_or_else(|| crate::model::CENTRAL.into()),
        }
    }
}

fn invalid(field: &str, msg: String) -> ApiError {
    ApiError::Validation(vec![FieldError::new(&["query", field], msg, "value_error")])
}

/// Check history
///
/// The source's checks, newest first: at most `limit` (100 by default,
/// 1000 at most), created before `before` if given. Page back by passing
/// the last `created_at` as the next `before`.
#[utoipa::path(
    get,
    path = "/v1/sources/{source_id}/checks",
    operation_id = "list_source_checks",
    tag = "sonde",
    params(
        ("source_id" = Uuid, Path, description = "The source"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many checks"),
        ("before" = Option<String>, Query, format = DateTime, description = "Only checks created before this time (RFC 3339)"),
    ),
    responses(
        (status = 200, description = "The checks, newest first", body = CheckHistory),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    query: QueryParams,
) -> Result<Json<CheckHistory>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")))?,
    };
    let before = match query.get("before") {
        None => None,
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid("before", "must be an RFC 3339 timestamp".into()))?,
        ),
    };
    let checks = state.service.history(source.id, limit, before).await?;
    Ok(Json(CheckHistory { checks: checks.iter().map(CheckOut::from).collect() }))
}
