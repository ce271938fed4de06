//! Feather's sync status:
//! `GET /v1/knowledge-base/knowledge-bases/{kb_id}/sources/{source_id}/sync/status`.
//!
//! Shapes follow `feather-get-sync-status.md` (`SyncStatusResponse`). A
//! knowledge base is a Sonde workspace, so a source is found under `kb_id`
//! only if its workspace is that id: another workspace, or none, is a 404,
//! exactly as a source the key may not see. A "sync" is a check:
//! `last_sync_*` describe the newest check, queued or running included,
//! spelled as DESIGN §3's Feather column; `total_items` and `processed_count`
//! are the `items` the probe reported in the last finished check.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::PathParams;
use super::openapi::{InternalError, NotFound, Unauthorized, UnprocessableEntity, string_enum};
use super::unstructured::visible;
use crate::model::{CheckRecord, CheckStatus, Source};
use crate::report::rfc3339;
use crate::service::SourceHealth;

/// `SyncStatusResponse`: every key is always present, `null` when unknown.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = SyncStatusResponse)]
pub struct SyncStatus {
    pub source_id: Uuid,
    /// The source's state.
    #[schema(schema_with = source_status)]
    pub source_status: &'static str,
    /// The newest check's id.
    pub last_sync_job_id: Option<Uuid>,
    /// The newest check's status, queued or running included.
    #[schema(schema_with = last_sync_status)]
    pub last_sync_status: Option<&'static str>,
    #[schema(format = DateTime)]
    pub last_sync_started_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_sync_completed_at: Option<String>,
    /// Items the probe reported in the last finished check.
    pub total_items: Option<u64>,
    /// Same as `total_items`.
    pub processed_count: Option<u64>,
    /// Why the newest finished check was not OK.
    pub error_message: Option<String>,
}

fn source_status() -> utoipa::openapi::schema::Object {
    string_enum(&["active", "paused"], false)
}

fn last_sync_status() -> utoipa::openapi::schema::Object {
    string_enum(&["SCHEDULED", "RUNNING", "OK", "TIMEOUT", "ERROR", "FAILED"], true)
}

/// DESIGN §3, Feather column.
pub fn sync_status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Scheduled => "SCHEDULED",
        CheckStatus::Running => "RUNNING",
        CheckStatus::Ok => "OK",
        CheckStatus::Timeout => "TIMEOUT",
        CheckStatus::Error => "ERROR",
        CheckStatus::Failed => "FAILED",
    }
}

impl SyncStatus {
    pub fn new(source: &Source, health: &SourceHealth) -> Self {
        let newest: Option<&CheckRecord> = health.newest();
        let items = health.last.as_ref().and_then(|c| c.items);
        Self {
            source_id: source.id,
            source_status: source.state.as_str(),
            last_sync_job_id: newest.map(|c| c.id),
            last_sync_status: newest.map(|c| sync_status(c.status)),
            last_sync_started_at: newest.and_then(|c| c.started_at).map(rfc3339),
            last_sync_completed_at: newest
                .filter(|c| c.status.is_finished())
                .and_then(|c| c.reported_at)
                .map(rfc3339),
            total_items: items,
            processed_count: items,
            error_message: newest
                .filter(|c| c.status.is_finished() && c.status != CheckStatus::Ok)
                .map(|c| c.message.clone().unwrap_or_else(|| c.status.as_str().to_string())),
        }
    }
}

/// Get Sync Status
///
/// Get current sync status for a connector source. A knowledge base is a
/// Sonde workspace: a source outside `kb_id` is a 404.
#[utoipa::path(
    get,
    path = "/v1/knowledge-base/knowledge-bases/{kb_id}/sources/{source_id}/sync/status",
    operation_id = "get_sync_status",
    tag = "feather",
    params(
        ("kb_id" = Uuid, Path, description = "The knowledge base (workspace) id"),
        ("source_id" = Uuid, Path, description = "The source id"),
    ),
    responses(
        (status = 200, description = "Successful Response", body = SyncStatus),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    ),
)]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> Result<Json<SyncStatus>, ApiError> {
    let [kb_id, source_id] = path.uuids(["kb_id", "source_id"])?;
    let source = visible(&state, &caller, source_id).await?;
    if source.workspace != Some(kb_id) {
        return Err(ApiError::NotFound("Source not found"));
    }
    let health = state.service.health(source.id).await?;
    Ok(Json(SyncStatus::new(&source, &health)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Trigger;

    fn source() -> Source {
        Source { workspace: Some(Uuid::new_v4()), ..Source::for_test("s", "org_a", "tcp") }
    }

    #[test]
    fn a_source_never_checked_has_only_its_state() {
        let s = source();
        let out = SyncStatus::new(&s, &SourceHealth::default());
        assert_eq!((out.source_id, out.source_status), (s.id, "active"));
        assert_eq!((out.last_sync_job_id, out.last_sync_status, out.total_items), (None, None, None));
    }

    #[test]
    fn a_running_check_shows_with_the_last_items() {
        let s = source();
        let mut last = CheckRecord::new(s.id, Trigger::Schedule, CheckStatus::Error);
        last.message = Some("connection refused".into());
        last.items = Some(7);
        let mut current = CheckRecord::new(s.id, Trigger::Manual, CheckStatus::Running);
        current.created_at = last.created_at + chrono::Duration::seconds(1);
        let out = SyncStatus::new(&s, &SourceHealth { last: Some(last), current: Some(current.clone()) });
        assert_eq!(out.last_sync_job_id, Some(current.id));
        assert_eq!(out.last_sync_status, Some("RUNNING"));
        assert_eq!((out.last_sync_completed_at, out.error_message), (None, None));
        assert_eq!((out.total_items, out.processed_count), (Some(7), Some(7)));
    }
}
