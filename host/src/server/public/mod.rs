//! Public status pages (DESIGN §11), served without a key for each
//! `[[status_pages]]` entry:
//!
//! - `GET /status/<slug>`: HTML, no script, a strict CSP;
//! - `GET /status/<slug>.json`: the same content as JSON ([`json`]);
//! - `GET /status/<slug>/badge.svg`: the page's overall state;
//! - `GET /status/<slug>/<name>/badge.svg`: one chosen source's status.
//!
//! A page shows only the sources of its organization it chooses, and of
//! each only its name, status, uptime, last check time and response times:
//! never its config, a check's message, or another organization's source.
//! An unknown slug, or a name the page does not show, is the router's
//! plain 404, as for any unknown path. Every answer may be kept
//! [`cache::MAX_AGE`] by browsers and proxies, and each page is gathered
//! at most once per that period however many read it ([`cache`]).
//!
//! # Layout
//! - [`data`]: what a page shows, gathered from the service.
//! - [`cache`]: one gathering per page per period.
//! - [`view`]: the HTML.
//! - [`json`]: the JSON.
//! - [`badge`]: the SVG badges.

pub mod badge;
pub mod cache;
pub mod data;
pub mod json;
pub mod view;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use data::PageData;

/// The page: no script, no resource from anywhere (its style and charts
/// are inline), no form, never framed.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// A badge opened on its own is a document too: nothing may run in it.
const BADGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

fn not_found() -> Response {
    ApiError::NotFound("Not Found").into_response()
}

/// `response` with the public pages' headers.
fn public(mut response: Response, content_type: &'static str, csp: Option<&'static str>) -> Response {
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    let cache = format!("public, max-age={}", cache::MAX_AGE.as_secs());
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(CACHE_CONTROL, v);
    }
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(csp) = csp {
        h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
        h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// The page at `slug`, gathered or from the cache; Err is the answer to
/// give instead (404 for an unknown slug, 503 when the store is away).
async fn load(state: &AppState, slug: &str) -> Result<Arc<PageData>, Response> {
    let Some(page) = state.service.status_page(slug) else { return Err(not_found()) };
    let service = &state.service;
    state
        .public
        .get(&page, || data::gather(service, &page))
        .await
        .map_err(|e| ApiError::from(e).into_response())
}

/// `GET /status/{page}`: the HTML page, or its JSON when `page` is
/// `<slug>.json` (a slug has no `.`, so the two cannot be confused).
pub async fn page(State(state): State<AppState>, Path(page): Path<String>) -> Response {
    if let Some(slug) = page.strip_suffix(".json") {
        return match load(&state, slug).await {
            Ok(data) => {
                let body = data.json.get_or_init(|| json::render(&data).into());
                public(body.clone().into_response(), "application/json", None)
            }
            Err(r) => r,
        };
    }
    match load(&state, &page).await {
        Ok(data) => {
            let body = data.html.get_or_init(|| view::page(&data).into_string().into());
            public(body.clone().into_response(), "text/html; charset=utf-8", Some(PAGE_CSP))
        }
        Err(r) => r,
    }
}

fn svg(markup: maud::Markup) -> Response {
    public((StatusCode::OK, markup.into_string()).into_response(), "image/svg+xml", Some(BADGE_CSP))
}

/// `GET /status/{slug}/badge.svg`: the page's overall state.
pub async fn page_badge(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    match load(&state, &slug).await {
        Ok(data) => svg(badge::overall(&data.page.title, data.overall())),
        Err(r) => r,
    }
}

/// `GET /status/{slug}/{name}/badge.svg`: one of the page's sources.
pub async fn source_badge(
    State(state): State<AppState>,
    Path((slug, name)): Path<(String, String)>,
) -> Response {
    match load(&state, &slug).await {
        Ok(data) => match data.source(&name) {
            Some(s) => svg(badge::source(&s.name, s.status)),
            None => not_found(),
        },
        Err(r) => r,
    }
}
