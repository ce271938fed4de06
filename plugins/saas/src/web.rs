//! One request to the source, over the SDK's `api` (wasi:http; the host adds
//! the credentials), and what its answer means: a 2xx's JSON, or the SDK's
//! staged failure for the rest ([`sonde_sdk::api::failure`]), with the
//! vendor's error code, and its message where the SDK's excerpt finds none,
//! as extra members ([`crate::vendor`]).

use serde_json::Value;
use sonde_sdk::api::{self, Response};
use sonde_sdk::{CheckError, Problem, messages, stage};
use url::Url;

/// `GET url`, asking for JSON.
pub fn get(url: &Url) -> Result<Response, CheckError> {
    api::request("GET", url.as_str(), &[("accept", "application/json")], None)
}

/// `POST url` with a JSON body (and any extra headers the vendor asks for).
pub fn post_json(url: &Url, body: &Value, headers: &[(&str, &str)]) -> Result<Response, CheckError> {
    let mut all = vec![("accept", "application/json"), ("content-type", "application/json")];
    all.extend_from_slice(headers);
    api::request("POST", url.as_str(), &all, Some(body.to_string().as_bytes()))
}

/// The JSON body of a 2xx answer; any other answer is the SDK's staged
/// failure (401, 403, 404 as "`noun` does not exist", 429), with the
/// vendor's words beside it ([`refused`]).
pub fn ok_json(resp: &Response, noun: &str) -> Result<Value, CheckError> {
    if !resp.is_success() {
        return Err(refused(resp, noun));
    }
    resp.json()
}

/// The staged failure for a non-2xx answer, with the vendor's error code
/// (`vendor_code`) and, when the SDK's `detail` found no message in the
/// body, the vendor's message (`vendor_message`).
pub fn refused(resp: &Response, noun: &str) -> CheckError {
    let failure = api::failure(resp, noun);
    let (CheckError::Unhealthy(mut problem), Ok(body)) = (failure.clone(), resp.json()) else {
        return failure;
    };
    if let Some(code) = crate::vendor::code(&body) {
        problem = problem.with_member("vendor_code", code);
    }
    if api::error_message(&resp.body).is_none()
        && let Some(message) = crate::vendor::message(&body)
    {
        problem = problem.with_member("vendor_message", message);
    }
    problem.into()
}

/// "`noun` does not exist" (stage `resource`), for a resource the vendor
/// answers for with a 2xx that lacks it (a list without the named entry).
pub fn missing(noun: &str, detail: impl Into<String>) -> CheckError {
    Problem::staged(messages::does_not_exist(noun), stage::RESOURCE, detail.into()).into()
}

/// "unexpected protocol": a 2xx whose JSON is not what the vendor documents.
pub fn unexpected(detail: impl Into<String>) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail.into()).into()
}
