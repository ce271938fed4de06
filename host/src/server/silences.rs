//! Sonde's silences (DESIGN §5, §8): `GET`/`POST /v1/silences` and
//! `DELETE /v1/silences/{silence_id}`. A silenced source is still checked
//! and shown; its alert notifications are held until the silence ends, and
//! one still down then is announced then.
//!
//! Tenancy as everywhere: an organization key lists, creates and deletes
//! only its own organization's silences; another organization's answers
//! 404, as one that does not exist. Only admin keys may silence every
//! organization at once (no `organization`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, FieldError};
use super::extract::{Body, PathParams};
use super::openapi::{InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity};
use crate::alerts::silences::Silence;
use crate::model::{MAX_NAME_CHARS, is_blank, trim_blank};
use crate::report::rfc3339;

const MAX_SOURCES: usize = 100;
const MAX_COMMENT: usize = 1000;

/// A silence to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    /// The organization whose sources it silences. An organization key
    /// implies (and may only give) its own; with an admin key, leaving it
    /// out silences every organization.
    #[schema(pattern = "^org_.+$", max_length = 200, examples("org_acme"))]
    pub organization: Option<String>,
    /// Source names in that organization; all of its sources when left out.
    #[schema(schema_with = source_names)]
    pub sources: Option<Vec<String>>,
    /// When it starts (RFC 3339); now when left out.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// When it ends (RFC 3339): not before `starts_at` (now, when that is
    /// left out), or a 422 at `ends_at`. Equal to it is an empty silence,
    /// accepted as Alertmanager does: it never holds anything.
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// Why: who silenced what, for the next person on call.
    // The pattern is model::NOT_BLANK_PATTERN: utoipa-gen 5.5 takes a literal only.
    #[schema(min_length = 1, max_length = 1000, pattern = r"[^ \t\n\r\f\v]")]
    pub comment: String,
}

/// 1 to 100 names of 1 to 200 characters, not all spaces; or `null`.
fn source_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(200))
        .pattern(Some(crate::model::NOT_BLANK_PATTERN));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(name)
        .min_items(Some(1))
        .max_items(Some(MAX_SOURCES))
        .build()
}

/// A silence.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Silence)]
pub struct SilenceOut {
    pub id: Uuid,
    /// `null`: every organization.
    pub organization: Option<String>,
    /// `null`: all of the organization's sources.
    pub sources: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub comment: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Whether it holds notifications right now.
    pub active: bool,
}

/// `{silences: [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SilenceList {
    pub silences: Vec<SilenceOut>,
}

impl SilenceOut {
    fn new(s: &Silence, now: DateTime<Utc>) -> Self {
        Self {
            id: s.id,
            organization: s.organization.clone(),
            sources: s.sources.clone(),
            starts_at: rfc3339(s.starts_at),
            ends_at: rfc3339(s.ends_at),
            comment: s.comment.clone(),
            created_at: rfc3339(s.created_at),
            active: s.starts_at <= now && now < s.ends_at,
        }
    }
}

/// Whether `caller` may see `s`: admins every silence, an organization key
/// only those of its own organization.
fn sees(caller: &Caller, s: &Silence) -> bool {
    caller.is_admin()
        || (s.organization.is_some() && caller.sees(s.organization.as_deref().unwrap_or_default()))
}

fn invalid(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(&["body", field], msg, "value_error")])
}

fn timestamp(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(field, "must be an RFC 3339 timestamp"))
}

/// List silences
///
/// Silences that have not ended, by start: the key's own organization's,
/// or every one with an admin key.
#[utoipa::path(
    get,
    path = "/v1/silences",
    operation_id = "list_silences",
    tag = "sonde",
    responses(
        (status = 200, description = "The silences not yet over", body = SilenceList),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
    ),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<SilenceList>, ApiError> {
    let now = Utc::now();
    let silences = state.service.silences().await?;
    let silences = silences.iter().filter(|s| sees(&caller, s)).map(|s| SilenceOut::new(s, now)).collect();
    Ok(Json(SilenceList { silences }))
}

/// Create a silence
///
/// Holds the alert notifications of an organization's sources (or of the
/// sources named) from `starts_at` to `ends_at`. Checks go on and are
/// shown; a source still down when the silence ends is announced then.
#[utoipa::path(
    post,
    path = "/v1/silences",
    operation_id = "create_silence",
    tag = "sonde",
    request_body = SilenceBody,
    responses(
        (status = 201, description = "The silence, in force from `starts_at`", body = SilenceOut),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SilenceBody>,
) -> Result<(StatusCode, Json<SilenceOut>), ApiError> {
    let organization = match (caller.organization(), body.organization) {
        (Some(own), None) => Some(own.to_string()),
        (Some(own), Some(given)) if given == own => Some(given),
        // Another organization is answered as one that does not exist.
        (Some(_), Some(_)) => return Err(ApiError::NotFound("Organization not found")),
        (None, given) => given,
    };
    if let Some(org) = &organization
        && (!org.starts_with("org_") || org.len() <= 4 || org.chars().count() > 200)
    {
        return Err(invalid("organization", "must be an organization id (org_…)"));
    }
    if let Some(names) = &body.sources {
        if names.is_empty() || names.len() > MAX_SOURCES {
            return Err(invalid("sources", format!("must name 1 to {MAX_SOURCES} sources, or be left out")));
        }
        if names.iter().any(|n| is_blank(n) || n.chars().count() > MAX_NAME_CHARS) {
            return Err(invalid("sources", "source names are 1 to 200 characters"));
        }
    }
    let comment = trim_blank(&body.comment);
    if comment.is_empty() || body.comment.chars().count() > MAX_COMMENT {
        return Err(invalid("comment", format!("must be 1 to {MAX_COMMENT} characters")));
    }
    let now = Utc::now();
    let starts_at = body.starts_at.as_deref().map(|t| timestamp("starts_at", t)).transpose()?.unwrap_or(now);
    let ends_at = timestamp("ends_at", &body.ends_at)?;
    if ends_at < starts_at {
        return Err(invalid("ends_at", "must not be before starts_at (now, when starts_at is left out)"));
    }
    let silence = Silence {
        id: Uuid::new_v4(),
        organization,
        sources: body.sources,
        starts_at,
        ends_at,
        comment: comment.to_string(),
        created_at: now,
    };
    let silence = state.service.create_silence(silence).await?;
    Ok((StatusCode::CREATED, Json(SilenceOut::new(&silence, now))))
}

/// Delete a silence
///
/// Ends it now: notifications it held go out at the next check.
#[utoipa::path(
    delete,
    path = "/v1/silences/{silence_id}",
    operation_id = "delete_silence",
    tag = "sonde",
    params(("silence_id" = Uuid, Path, description = "The silence")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<StatusCode, ApiError> {
    let id = path.uuid("silence_id")?;
    let silences = state.service.silences().await?;
    let Some(silence) = silences.iter().find(|s| s.id == id && sees(&caller, s)) else {
        return Err(ApiError::NotFound("Silence not found"));
    };
    if !state.service.delete_silence(silence.id).await? {
        return Err(ApiError::NotFound("Silence not found"));
    }
    Ok(StatusCode::NO_CONTENT)
}
