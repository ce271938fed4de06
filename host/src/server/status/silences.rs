//! `GET /silences`: the silences the signed-in key may see (its own
//! organization's, or every one for an admin key), a form to create one
//! (`POST /silences`) and a button to end each (`POST
//! /silences/{id}/end`). Both go through the rules of `POST /v1/silences`
//! and `DELETE /v1/silences/{id}` ([`crate::server::silences`]): the same
//! validation, the same tenancy (another organization's silence is a 404,
//! as one that does not exist). A form that breaks a rule comes back with
//! its values and each field's error, as a 422.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{NaiveDateTime, Utc};
use uuid::Uuid;

use super::session::{self, SignedIn};
use super::silences_view::{self, Draft, SilencesPage};
use super::source::see_other;
use super::{forbidden, form_fields, html, unavailable, view};
use crate::server::AppState;
use crate::server::error::ApiError;
use crate::server::silences::{SilenceBody, end, validate, visible};

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<SignedIn, Response> {
    match session::current(&state.service, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other("/")),
        Err(e) => Err(unavailable(e)),
    }
}

fn not_found() -> Response {
    html(StatusCode::NOT_FOUND, view::message("Sonde · not found", "There is no such silence."), &[])
}

/// Any answer but a refused form: the store is away, or worse.
fn trouble(e: ApiError) -> Response {
    tracing::warn!(error = %e, "silences page");
    let text = "The store does not answer right now. Try again shortly.";
    html(StatusCode::SERVICE_UNAVAILABLE, view::message("Sonde · unavailable", text), &[])
}

async fn render(state: &AppState, signed: &SignedIn, draft: Draft, status: StatusCode) -> Response {
    let silences = match visible(state, &signed.caller).await {
        Ok(s) => s,
        Err(e) => return trouble(e),
    };
    let page = SilencesPage {
        now: Utc::now(),
        csrf: signed.csrf.clone(),
        organization: signed.caller.organization().map(String::from),
        silences,
        draft,
    };
    html(status, silences_view::render(&page), &[])
}

/// `GET /silences`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(signed) => render(&state, &signed, Draft::default(), StatusCode::OK).await,
        Err(answer) => answer,
    }
}

/// A time from the form: RFC 3339 as the API takes it, or what a
/// `datetime-local` field sends (`2026-12-07T09:30`), read as UTC.
fn form_time(raw: &str) -> String {
    let raw = raw.trim();
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return t.and_utc().to_rfc3339();
        }
    }
    raw.to_string()
}

/// The API's body from the form's fields: blank optional fields are left
/// out; sources are names separated by commas or new lines.
fn body_of(draft: &Draft) -> SilenceBody {
    let filled = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let names: Vec<String> =
        draft.sources.split([',', '\n']).map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect();
    SilenceBody {
        organization: filled(&draft.organization),
        sources: (!names.is_empty()).then_some(names),
        starts_at: filled(&draft.starts_at).map(|t| form_time(&t)),
        ends_at: form_time(&draft.ends_at),
        comment: draft.comment.clone(),
    }
}

/// `POST /silences`: creates one and goes back to the list, or shows the
/// form again with what was wrong (422).
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let mut form = form_fields(&body);
    if !session::csrf_matches(&signed.csrf, form.get("csrf").map(String::as_str)) {
        return forbidden();
    }
    let mut take = |name: &str| form.remove(name).unwrap_or_default();
    let mut draft = Draft {
        organization: take("organization"),
        sources: take("sources"),
        starts_at: take("starts_at"),
        ends_at: take("ends_at"),
        comment: take("comment"),
        errors: Vec::new(),
    };
    let silence = match validate(&signed.caller, body_of(&draft), Utc::now()) {
        Ok(s) => s,
        Err(ApiError::Validation(errors)) => {
            draft.errors = errors
                .into_iter()
                .map(|e| (e.loc.last().and_then(|l| l.as_str()).unwrap_or("form").to_string(), e.msg))
                .collect();
            return render(&state, &signed, draft, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(ApiError::NotFound(_)) => {
            draft.errors = vec![("organization".into(), "no such organization".into())];
            return render(&state, &signed, draft, StatusCode::NOT_FOUND).await;
        }
        Err(e) => return trouble(e),
    };
    match state.service.create_silence(silence).await {
        Ok(_) => see_other("/silences"),
        Err(e) => trouble(e.into()),
    }
}

/// `POST /silences/{id}/end`: ends it now.
pub async fn finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if !session::csrf_matches(&signed.csrf, form_fields(&body).get("csrf").map(String::as_str)) {
        return forbidden();
    }
    let Ok(id) = Uuid::parse_str(&raw) else { return not_found() };
    match end(&state, &signed.caller, id).await {
        Ok(()) => see_other("/silences"),
        Err(ApiError::NotFound(_)) => not_found(),
        Err(e) => trouble(e),
    }
}
