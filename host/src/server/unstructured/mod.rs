//! Unstructured's sources API: CRUD at `/api/v1/sources` and connection
//! checks at `/api/v1/sources/{source_id}/connection-check`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

mod dto;

use dto::spec;
pub use dto::{ConnectionCheck, Deleted, SourceBody, SourceOut};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Body, PathParams, QueryParams};
use super::openapi::{Conflict, InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity};
use crate::model::Source;

/// The source, if it exists and the caller may see it; 404 otherwise.
pub async fn visible(state: &AppState, caller: &Caller, id: Uuid) -> Result<Source, ApiError> {
    match state.service.get_source(id).await? {
        Some(s) if caller.sees(&s.organization) => Ok(s),
        _ => Err(ApiError::NotFound("Source not found")),
    }
}

/// List sources
///
/// The sources the key may see, of one type if `source_type` is given.
/// `/api/v1/sources` without the slash answers the same.
#[utoipa::path(
    get,
    path = "/api/v1/sources/",
    operation_id = "list_sources",
    tag = "unstructured",
    params(("source_type" = Option<String>, Query, description = "Only sources of this type")),
    responses(
        (status = 200, description = "The sources", body = Vec<SourceOut>),
        (status = 401, response = Unauthorized),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
) -> Result<Json<Vec<SourceOut>>, ApiError> {
    let sources = state.service.list_sources().await?;
    let wanted = query.get("source_type");
    Ok(Json(
        sources
            .iter()
            .filter(|s| caller.sees(&s.organization))
            .filter(|s| wanted.is_none_or(|t| s.source_type == t))
            .map(SourceOut::from)
            .collect(),
    ))
}

/// Create a source
///
/// Answers 200 with the source, as Unstructured's API and SDK expect.
/// `/api/v1/sources` without the slash answers the same.
#[utoipa::path(
    post,
    path = "/api/v1/sources/",
    operation_id = "create_source",
    tag = "unstructured",
    request_body = SourceBody,
    responses(
        (status = 200, description = "The source, created", body = SourceOut),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SourceBody>,
) -> Result<Json<SourceOut>, ApiError> {
    let spec = spec(&caller, body, None, state.service.default_policy())?;
    let source = state.service.create_source(spec).await?;
    Ok(Json(SourceOut::from(&source)))
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
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<SourceOut>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    Ok(Json(SourceOut::from(&source)))
}

/// Update a source
///
/// Every field left out keeps its value: Unstructured's SDK sends
/// `{"config": ...}` alone. Secrets left out of the config keep theirs,
/// unless the change moves where the source reaches (its type, the
/// endpoints its plugin declares, a URL's scheme, host or port) or weakens
/// its `tls`: then each stored secret must be given again (422 naming
/// each). A source defined in the configuration file belongs to the file:
/// 409.
#[utoipa::path(
    put,
    path = "/api/v1/sources/{source_id}",
    operation_id = "update_source",
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
)]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body<SourceBody>,
) -> Result<Json<SourceOut>, ApiError> {
    let existing = visible(&state, &caller, path.uuid("source_id")?).await?;
    let spec = spec(&caller, body, Some(&existing), state.service.default_policy())?;
    let source = state.service.replace_source(existing.id, spec).await?;
    Ok(Json(SourceOut::from(&source)))
}

/// Delete a source
///
/// The source and its history; answers 200 with a `detail` message, as
/// Unstructured's API and SDK expect. A source defined in the configuration
/// file belongs to the file: 409.
#[utoipa::path(
    delete,
    path = "/api/v1/sources/{source_id}",
    operation_id = "delete_source",
    tag = "unstructured",
    params(("source_id" = Uuid, Path, description = "The unique identifier of the source connector")),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<Deleted>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    state.service.delete_source(source.id).await?;
    Ok(Json(Deleted { detail: format!("Source with id {} successfully deleted.", source.id) }))
}

/// Create a source connection check
///
/// Queues a check now; its result is read with `GET`. While a check of
/// the source is still queued or running, answers that one instead of
/// queuing another (same `id`).
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
)]
pub async fn start_check(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<(StatusCode, Json<ConnectionCheck>), ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    let (check, _queued) = state.service.request_check_once(&source).await?;
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
)]
pub async fn latest_check(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<ConnectionCheck>, ApiError> {
    let source = visible(&state, &caller, path.uuid("source_id")?).await?;
    let health = state.service.health(source.id).await?;
    let newest = health.newest().ok_or(ApiError::NotFound("No connection check for this source yet"))?;
    Ok(Json(ConnectionCheck::from(newest)))
}
