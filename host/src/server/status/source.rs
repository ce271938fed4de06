//! `GET /sources/{id}`: one source's page (DESIGN §11), and
//! `POST /sources/{id}/{check|pause|resume}`, its admin buttons.
//!
//! The page shows the response-time charts over 24 h and 7 d
//! ([`crate::server::chart`]), recent outcomes, uptime, TLS expiry, the
//! newest check's details, the public config (secrets are stored apart and
//! never read here), the history with messages (newest first, 50 a page,
//! `?before=` as `GET /v1/sources/{id}/checks` pages it) and the incidents
//! with their notifications.
//!
//! Tenancy as everywhere: another organization's source, an unknown id and
//! a malformed one are the same 404 page. The buttons are for admin keys:
//! an organization key gets none, and its POSTs answer 403 (its own
//! source) or the same 404. Every POST needs the session's CSRF token.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::session::{self, SignedIn};
use super::source_view::{self, SourcePage};
use super::{forbidden, form_fields, html, incidents, unavailable, view};
use crate::model::{Source, SourceState};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::chart::Window;
use crate::service::Service;
use crate::store::StoreError;

/// Checks per history page, as the page pages them.
pub const PAGE: u32 = 50;
/// Recent outcomes in the strip.
const STRIP: u32 = 30;
/// Checks read to find incidents: the newest this many.
const INCIDENT_CHECKS: u32 = 1000;
/// Notifications read for the incidents.
const NOTES: u32 = 200;
/// Chart buckets: 5 min over a day, 30 min over a week.
const DAY_BUCKETS: u32 = 288;
const WEEK_BUCKETS: u32 = 336;

/// The one answer for a source the caller may not see, whatever the reason.
fn not_found() -> Response {
    let page = view::message("Sonde · not found", "There is no such source.");
    html(StatusCode::NOT_FOUND, page, &[])
}

/// The store did not answer (or refused the write).
fn trouble(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "source page: store unavailable");
    let text = "The store does not answer right now. Try again shortly.";
    html(StatusCode::SERVICE_UNAVAILABLE, view::message("Sonde · unavailable", text), &[])
}

pub(super) fn see_other(to: &str) -> Response {
    let mut response = html(StatusCode::SEE_OTHER, maud::html! {}, &[]);
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, v);
    }
    response
}

/// The source `raw` names if `caller` may see it.
async fn visible(service: &Service, caller: &Caller, raw: &str) -> Result<Option<Source>, StoreError> {
    let Ok(id) = Uuid::parse_str(raw) else { return Ok(None) };
    Ok(service.get_source(id).await?.filter(|s| caller.sees(&s.organization)))
}

/// The session, or the answer to give without one: `/` (its sign-in form).
async fn signed_in(service: &Service, headers: &HeaderMap) -> Result<SignedIn, Response> {
    match session::current(service, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other("/")),
        Err(e) => Err(unavailable(e)),
    }
}

/// `GET /sources/{id}[?before=RFC3339]`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let service = &state.service;
    let signed = match signed_in(service, &headers).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let source = match visible(service, &signed.caller, &raw).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let before = match query.get("before").map(|t| DateTime::parse_from_rfc3339(t)) {
        None => None,
        Some(Ok(t)) => Some(t.with_timezone(&Utc)),
        Some(Err(_)) => {
            let text = "The page's `before` must be an RFC 3339 timestamp.";
            return html(StatusCode::BAD_REQUEST, view::message("Sonde · bad request", text), &[]);
        }
    };
    match gather(service, &signed, source, before).await {
        Ok(page) => html(StatusCode::OK, source_view::render(&page), &[]),
        Err(e) => trouble(e),
    }
}

async fn gather(
    service: &Service,
    signed: &SignedIn,
    source: Source,
    before: Option<DateTime<Utc>>,
) -> Result<SourcePage, StoreError> {
    let now = Utc::now();
    let store = service.store();
    let id = source.id;
    let health = service.health(id).await?;
    let mut strip: Vec<_> =
        service.history(id, STRIP, None).await?.into_iter().filter(|c| c.status.is_finished()).collect();
    strip.reverse();
    let history = service.history(id, PAGE, before).await?;
    let older = (history.len() == PAGE as usize).then(|| history.last().map(|c| c.created_at)).flatten();
    let recent = service.history(id, INCIDENT_CHECKS, None).await?;
    let notes = store.source_notifications(id, NOTES).await?;
    let (incidents, earlier) = incidents::incidents(&recent, notes);
    let routes: Vec<String> = service
        .alerts()
        .routes()
        .iter()
        .filter(|r| r.watches(&source.organization))
        .map(|r| r.name.clone())
        .collect();
    Ok(SourcePage {
        now,
        csrf: signed.csrf.clone(),
        admin: signed.caller.is_admin(),
        config: serde_json::to_string_pretty(&source.config).unwrap_or_default(),
        paused: source.state == SourceState::Paused,
        silenced: service.silenced(&source),
        suppressed_by: service.suppressed_by(&source),
        checking: health.current.is_some(),
        tls_not_after: health.tls_not_after(),
        day: store.outcome_counts(id, now - Window::Day.duration()).await?,
        week: store.outcome_counts(id, now - Window::Week.duration()).await?,
        day_points: store.chart_points(id, now - Window::Day.duration(), now, DAY_BUCKETS).await?,
        week_points: store.chart_points(id, now - Window::Week.duration(), now, WEEK_BUCKETS).await?,
        last: health.last,
        strip,
        history,
        paged: before.is_some(),
        older,
        incidents,
        earlier,
        routes,
        source,
    })
}

/// `POST /sources/{id}/{action}`: `check` queues a check now (or answers
/// with the one already queued or running), `pause` and `resume` set the
/// source's state; then back to its page.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((raw, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let service = &state.service;
    let signed = match signed_in(service, &headers).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if !session::csrf_matches(&signed.csrf, form_fields(&body).get("csrf").map(String::as_str)) {
        return forbidden();
    }
    let source = match visible(service, &signed.caller, &raw).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    if !["check", "pause", "resume"].contains(&action.as_str()) {
        return not_found();
    }
    if !signed.caller.is_admin() {
        let text = "Only an admin key may check, pause or resume a source from this page.";
        return html(StatusCode::FORBIDDEN, view::message("Sonde · refused", text), &[]);
    }
    let done = match action.as_str() {
        "check" => service.request_check_once(&source).await.map(|_| ()).map_err(|e| e.to_string()),
        "pause" => set(service, &source, SourceState::Paused).await,
        _ => set(service, &source, SourceState::Active).await,
    };
    match done {
        Ok(()) => see_other(&format!("/sources/{}", source.id)),
        Err(e) => trouble(e),
    }
}

async fn set(service: &Service, source: &Source, to: SourceState) -> Result<(), String> {
    if source.state == to {
        return Ok(());
    }
    service.set_state(source, to).await.map(|_| ()).map_err(|e| e.to_string())
}
