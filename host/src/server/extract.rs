//! Extractors whose rejections are 422s in the FastAPI `detail` format, so a
//! client's malformed path or body never gets axum's plain-text errors.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::{ApiError, FieldError};

/// A JSON body; malformed JSON or a wrong shape is a 422 at `["body", ...]`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(body_error(rejection)),
        }
    }
}

fn body_error(rejection: JsonRejection) -> ApiError {
    let (loc, kind, msg) = match &rejection {
        JsonRejection::JsonDataError(e) => {
            // serde_path_to_error style: "body.field: message" is in the source.
            let text = std::error::Error::source(e).map(ToString::to_string).unwrap_or_else(|| e.body_text());
            let (path, msg) = match text.split_once(": ") {
                Some((p, m)) if !p.contains(' ') => (Some(p.to_string()), m.to_string()),
                _ => (None, text),
            };
            let mut loc = vec!["body".to_string()];
            if let Some(p) = path {
                loc.extend(p.split('.').map(str::to_string));
            }
            (loc, "value_error", msg)
        }
        JsonRejection::JsonSyntaxError(_) => {
            (vec!["body".into()], "json_invalid", "JSON decode error".into())
        }
        JsonRejection::MissingJsonContentType(_) => (
            vec!["body".into()],
            "missing",
            "Expected a JSON body with Content-Type: application/json".into(),
        ),
        _ => (vec!["body".into()], "value_error", rejection.body_text()),
    };
    let loc: Vec<&str> = loc.iter().map(String::as_str).collect();
    ApiError::Validation(vec![FieldError::new(&loc, cut(&msg), kind)])
}

/// Serde messages can quote input; keep them short.
fn cut(msg: &str) -> String {
    msg.chars().take(200).collect()
}

/// A UUID path parameter; anything else is a 422 at `["path", name]`.
pub fn uuid_param(name: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::Validation(vec![FieldError::new(
            &["path", name],
            "Input should be a valid UUID",
            "uuid_parsing",
        )])
    })
}

/// Path parameters as plain strings, validated by the handler.
#[derive(Debug)]
pub struct PathParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(p)) => Ok(PathParams(p)),
            Err(e) => Err(path_error(e)),
        }
    }
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::Validation(vec![FieldError::new(&["path"], cut(&e.body_text()), "value_error")])
}

impl PathParams {
    pub fn uuid(&self, name: &str) -> Result<Uuid, ApiError> {
        let raw = self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
        uuid_param(name, raw)
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}
