//! Aitronos's "test source connectivity":
//! `POST /v1/organizations/{organization_id}/knowledge/connectors/sources/test`.
//!
//! Shapes follow `aitronos-test-source-connectivity.md` (DESIGN §5): a body of
//! either `{source_id}` (a stored source of the path's organization) or an
//! inline definition `{source_definition_id, configuration, name?,
//! workspace_id?}`, where `source_definition_id` is a Sonde source type. The
//! check runs synchronously (the seed answers with the result, not a job):
//! `{status: "succeeded", job_info: null}` or `{status: "failed", job_info:
//! {message}}` (DESIGN §3, Aitronos column), whatever the outcome, so 200
//! says "the test ran", not "the source is healthy".
//!
//! Inline definitions are not stored and get one attempt with the default
//! timeout; `name` and `workspace_id` are accepted for compatibility and do
//! not change the check.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, FieldError};
use super::extract::{Body, PathParams};
use super::limits::check_config;
use super::openapi::{
    InternalError, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, UnprocessableEntity, string_enum,
};
use crate::model::Source;
use crate::runtime::{CheckReport, Status};
use crate::service::{InlineError, SpecError};

/// The request body; exactly one of `source_id` and `source_definition_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Test an existing source by its ID. The seed types it as a string: one
    /// that is not a UUID names no source, so it is a 404 like any unknown id.
    pub source_id: Option<String>,
    /// Source definition (a Sonde source type) to use for inline testing.
    #[schema(examples("tcp"))]
    pub source_definition_id: Option<String>,
    /// Configuration to test (for inline testing); required with
    /// `source_definition_id`.
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<Value>,
    /// Source name (for inline testing); accepted and ignored.
    pub name: Option<String>,
    /// Workspace context for inline testing; accepted and ignored.
    pub workspace_id: Option<String>,
}

/// `{message}`: why the test failed.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct JobInfo {
    pub message: String,
}

/// `{status, job_info}`.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct TestResult {
    #[schema(schema_with = test_status)]
    pub status: &'static str,
    /// `null` when the test succeeded.
    pub job_info: Option<JobInfo>,
}

fn test_status() -> utoipa::openapi::schema::Object {
    string_enum(&["succeeded", "failed"], false)
}

impl From<&CheckReport> for TestResult {
    fn from(r: &CheckReport) -> Self {
        match r.status {
            Status::Ok => Self { status: "succeeded", job_info: None },
            other => Self {
                status: "failed",
                // The runtime has already scrubbed secret values from it.
                job_info: Some(JobInfo {
                    message: r.message.clone().unwrap_or_else(|| other.as_str().to_string()),
                }),
            },
        }
    }
}

/// What to test, once the body is checked.
enum Target {
    Stored(String),
    Inline { source_type: String, configuration: Value },
}

fn invalid(loc: &[&str], msg: &str, kind: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new(loc, msg, kind)])
}

fn target(body: TestRequest) -> Result<Target, ApiError> {
    match (body.source_id, body.source_definition_id) {
        (Some(_), Some(_)) => {
            Err(invalid(&["body"], "give either source_id or source_definition_id, not both", "value_error"))
        }
        (None, None) => Err(invalid(&["body"], "give either source_id or source_definition_id", "missing")),
        (Some(id), None) => match body.configuration {
            Some(_) => Err(invalid(
                &["body", "configuration"],
                "only for inline testing with source_definition_id",
                "value_error",
            )),
            None => Ok(Target::Stored(id)),
        },
        (None, Some(source_type)) => {
            let Some(configuration) = body.configuration else {
                return Err(invalid(&["body", "configuration"], "Field required", "missing"));
            };
            if !configuration.is_object() {
                return Err(invalid(
                    &["body", "configuration"],
                    "Input should be a valid dictionary",
                    "dict_type",
                ));
            }
            check_config(&["body", "configuration"], &configuration)?;
            Ok(Target::Inline { source_type, configuration })
        }
    }
}

/// The stored source, if it belongs to `organization` and the caller may see
/// it; 404 otherwise, malformed ids included.
async fn stored(state: &AppState, caller: &Caller, organization: &str, id: &str) -> Result<Source, ApiError> {
    let not_found = ApiError::NotFound("Source not found");
    let Ok(id) = Uuid::parse_str(id) else { return Err(not_found) };
    match state.service.get_source(id).await? {
        Some(s) if s.organization == organization && caller.sees(&s.organization) => Ok(s),
        _ => Err(not_found),
    }
}

/// Test source connectivity
///
/// Tests an existing source by ID, or a configuration inline, and answers
/// when the check is done. 200 means the test ran: `status` tells whether
/// the source is reachable. Synchronous tests share fair slots between
/// organizations; one that cannot start within its timeout (the source's,
/// or the default for inline tests) is a 429 with `Retry-After`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{organization_id}/knowledge/connectors/sources/test",
    operation_id = "test_source_connectivity",
    tag = "aitronos",
    params(("organization_id" = String, Path, pattern = "^org_.+", example = "org_acme", description = "The unique identifier of the organization (format: `org_*`)")),
    request_body = TestRequest,
    responses(
        (status = 200, description = "The test ran", body = TestResult),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
    ),
)]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body<TestRequest>,
) -> Result<Json<TestResult>, ApiError> {
    let organization = path.organization("organization_id")?;
    caller.require_organization(organization)?;
    let report = match target(body)? {
        Target::Stored(id) => {
            let source = stored(&state, &caller, organization, &id).await?;
            state.service.check_now(&source).await?
        }
        Target::Inline { source_type, configuration } => state
            .service
            .check_inline(organization, &source_type, &configuration, state.service.default_policy().timeout)
            .await
            .map_err(|e| match e {
                InlineError::Busy(busy) => busy.into(),
                InlineError::Spec(SpecError::UnknownType(t)) => invalid(
                    &["body", "source_definition_id"],
                    &format!("no plugin for source type {:?}", t.chars().take(100).collect::<String>()),
                    "value_error",
                ),
                InlineError::Spec(SpecError::Schema { violations, .. }) => {
                    ApiError::violations(&["body", "configuration"], &violations)
                }
                InlineError::Spec(other) => other.into(),
            })?,
    };
    Ok(Json(TestResult::from(&report)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn results_are_spelled_as_the_seed() {
        let ok = serde_json::to_value(TestResult { status: "succeeded", job_info: None }).expect("json");
        assert_eq!(ok, json!({"status": "succeeded", "job_info": null}));
        let failed = TestResult::from(&CheckReport::failed("port 0 can never work"));
        assert_eq!(
            serde_json::to_value(failed).expect("json"),
            json!({"status": "failed", "job_info": {"message": "port 0 can never work"}})
        );
        let timeout = TestResult::from(&CheckReport::timeout(std::time::Duration::from_secs(10)));
        assert_eq!(timeout.job_info.map(|j| j.message).as_deref(), Some("timed out after 10s"));
    }
}
