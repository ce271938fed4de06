//! The one error type of every route, rendered FastAPI-style:
//! `{"detail": "..."}`, or `{"detail": [{loc, msg, type}]}` for validation.
//! Internal errors are logged, never echoed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::schema::Violation;
use crate::service::{CreateError, SpecError};
use crate::store::StoreError;

/// One entry of a 422 `detail` list.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[schema(as = ValidationError)]
pub struct FieldError {
    #[schema(schema_with = super::openapi::location)]
    pub loc: Vec<serde_json::Value>,
    /// What is wrong, in words.
    pub msg: String,
    /// What is wrong, as pydantic names it (`missing`, `uuid_parsing`, ...).
    #[serde(rename = "type")]
    pub kind: String,
}

/// `{"detail": "..."}`: every error but a validation error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub detail: String,
}

/// `{"detail": [{loc, msg, type}]}`: FastAPI's validation error (422).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HTTPValidationError)]
pub struct HttpValidationError {
    pub detail: Vec<FieldError>,
}

impl FieldError {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self { loc: loc.iter().map(|s| json!(s)).collect(), msg: msg.into(), kind: kind.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not authenticated")]
    Unauthenticated,
    #[error("invalid API key")]
    BadKey,
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound(&'static str),
    #[error("conflict")]
    Conflict(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("request body too large")]
    TooLarge,
    #[error("unavailable")]
    Unavailable(&'static str),
    /// No slot for a synchronous check within its timeout: 429 with
    /// `Retry-After` (seconds).
    #[error("too many requests")]
    Busy { retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 for config violations, located under `prefix`.
    pub fn violations(prefix: &[&str], violations: &[Violation]) -> Self {
        ApiError::Validation(
            violations
                .iter()
                .map(|v| {
                    let mut loc: Vec<serde_json::Value> = prefix.iter().map(|s| json!(s)).collect();
                    loc.extend(v.path.iter().map(|p| match p.parse::<u64>() {
                        Ok(i) => json!(i),
                        Err(_) => json!(p),
                    }));
                    FieldError { loc, msg: v.message.clone(), kind: "value_error".into() }
                })
                .collect(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match &self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, json!("Not authenticated")),
            ApiError::BadKey => (StatusCode::UNAUTHORIZED, json!("Invalid API key")),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, json!(why)),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, json!(what)),
            ApiError::Conflict(why) => (StatusCode::CONFLICT, json!(why)),
            ApiError::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, json!(errors)),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!(format!("Request body too large: the limit is {} bytes", super::MAX_BODY)),
            ),
            ApiError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, json!(why)),
            ApiError::Busy { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!(format!(
                    "Too many checks are running for this organization; retry after {retry_after} s"
                )),
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, json!("Internal Server Error"))
            }
        };
        let mut response = (status, Json(json!({ "detail": detail }))).into_response();
        if let ApiError::Busy { retry_after } = &self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { name, organization } => {
                ApiError::Conflict(format!("A source named {name:?} already exists in {organization}"))
            }
            StoreError::NotFound => ApiError::NotFound("Source not found"),
            // The database is away (or too slow): a 503 the client may retry,
            // never a 500.
            StoreError::Backend(e) => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::Unavailable("The store is unavailable; try again shortly")
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Store(s) => s.into(),
            CreateError::Spec(s) => s.into(),
            CreateError::FromFile(file) => ApiError::Conflict(format!(
                "This source is defined in the configuration file {file}: change it there"
            )),
            // Only names of the caller's own organization: dependents are
            // looked for there alone.
            CreateError::Depended { change, dependents } => ApiError::Conflict(format!(
                "This source cannot be {change}: other sources depend on it ({}); remove it from their \
                 `depends_on` first",
                dependents.join(", ")
            )),
        }
    }
}

impl From<SpecError> for ApiError {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::UnknownType(t) => ApiError::Validation(vec![FieldError::new(
                &["body", "type"],
                format!("no plugin for source type {t:?}"),
                "value_error",
            )]),
            SpecError::Schema { violations, .. } => ApiError::violations(&["body", "config"], &violations),
            SpecError::Unbound(unbound) => ApiError::Validation(
                unbound
                    .missing
                    .iter()
                    .map(|path| {
                        let mut loc = vec![json!("body"), json!("config")];
                        loc.extend(path.iter().map(|p| json!(p)));
                        FieldError {
                            loc,
                            msg: format!(
                                "Field required: this change moves the source ({}), so its stored secret must be given again",
                                unbound.reason
                            ),
                            kind: "missing".into(),
                        }
                    })
                    .collect(),
            ),
            SpecError::Invalid { field, reason } => {
                ApiError::Validation(vec![FieldError::new(&["body", field], reason, "value_error")])
            }
        }
    }
}

impl From<crate::service::gate::Busy> for ApiError {
    fn from(b: crate::service::gate::Busy) -> Self {
        ApiError::Busy { retry_after: b.retry_after.as_secs() }
    }
}
