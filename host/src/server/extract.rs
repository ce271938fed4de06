//! Extractors whose rejections are 422s in the FastAPI `detail` format, so a
//! client's malformed path or body never gets axum's plain-text errors. A
//! body over the cap (`DefaultBodyLimit`, see [`super::MAX_BODY`]) is a 413
//! with a JSON `detail` as well.

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
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge;
    }
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
                loc.extend(p.split('.').filter(|s| !s.is_empty()).map(str::to_string));
            }
            pydantic_style(loc, msg)
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

/// Serde's unknown and missing field errors as pydantic spells them, with
/// the field in `loc`; other messages lose serde's "at line 1 column 9".
fn pydantic_style(mut loc: Vec<String>, msg: String) -> (Vec<String>, &'static str, String) {
    let field =
        |prefix: &str| msg.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_string);
    if msg.starts_with("unknown field `") {
        // serde_path_to_error already ends the path with the unknown field.
        return (loc, "extra_forbidden", "Extra inputs are not permitted".into());
    }
    if let Some(name) = field("missing field `") {
        loc.push(name);
        return (loc, "missing", "Field required".into());
    }
    let msg = match msg.rfind(" at line ") {
        Some(at) if msg[at..].contains(" column ") => msg[..at].to_string(),
        _ => msg,
    };
    (loc, "value_error", msg)
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

    /// Several UUID parameters at once; a 422 lists every malformed one.
    pub fn uuids<const N: usize>(&self, names: [&str; N]) -> Result<[Uuid; N], ApiError> {
        let mut out = [Uuid::nil(); N];
        let mut errors = Vec::new();
        for (slot, name) in out.iter_mut().zip(names) {
            match self.uuid(name) {
                Ok(id) => *slot = id,
                Err(ApiError::Validation(e)) => errors.extend(e),
                Err(other) => return Err(other),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(ApiError::Validation(errors)) }
    }

    /// An organization id (`org_…`); anything else is a 422 at `["path", name]`.
    pub fn organization(&self, name: &str) -> Result<&str, ApiError> {
        let raw = self.get(name);
        let well_formed =
            raw.strip_prefix("org_").is_some_and(|rest| !rest.is_empty()) && raw.chars().count() <= 200;
        if well_formed {
            Ok(raw)
        } else {
            Err(ApiError::Validation(vec![FieldError::new(
                &["path", name],
                "must be an organization id (org_…)",
                "value_error",
            )]))
        }
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

/// Query parameters as plain strings, validated by the handler; unknown
/// ones are ignored, as FastAPI does.
#[derive(Debug)]
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(q)) => Ok(QueryParams(q)),
            Err(e) => Err(ApiError::Validation(vec![FieldError::new(
                &["query"],
                cut(&e.body_text()),
                "value_error",
            )])),
        }
    }
}

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refined(loc: &[&str], msg: &str) -> (Vec<String>, &'static str, String) {
        pydantic_style(loc.iter().map(|s| s.to_string()).collect(), msg.to_string())
    }

    #[test]
    fn serde_messages_become_pydantic_ones() {
        let (loc, kind, msg) =
            refined(&["body", "colour"], "unknown field `colour`, expected `name` at line 1 column 9");
        assert_eq!(
            (loc, kind, msg.as_str()),
            (vec!["body".into(), "colour".into()], "extra_forbidden", "Extra inputs are not permitted")
        );
        let (loc, kind, msg) = refined(&["body"], "missing field `name` at line 1 column 2");
        assert_eq!(
            (loc, kind, msg.as_str()),
            (vec!["body".into(), "name".into()], "missing", "Field required")
        );
        let (_, kind, msg) =
            refined(&["body", "retries"], "invalid type: string \"x\", expected u32 at line 1 column 14");
        assert_eq!((kind, msg.as_str()), ("value_error", "invalid type: string \"x\", expected u32"));
    }
}
