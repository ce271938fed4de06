//! `GET /`: the operators' status page, server-rendered HTML with no build
//! step (maud templates, an embedded stylesheet, no script).
//!
//! It shows every source with its status, last check and message, a strip
//! of its recent outcomes and its uptime over 24 h and 7 d (the share of OK
//! among finished checks), then the loaded plugins and the files that
//! failed to load. It refreshes itself every 5 s (`?refresh=N` for another
//! period, 1 to 300 s). Only admin keys see it: without a valid cookie it
//! is a login form (`POST /login`), and `POST /logout` forgets the key.
//! Sources are shown with their public config only; secrets never reach it.
//!
//! # Layout
//! - [`session`]: the login cookie and the key comparison.
//! - [`view`]: the templates.

pub mod session;
pub mod view;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::Markup;
use serde::Deserialize;

use super::AppState;
use super::plugins::{LoadErrorOut, PluginOut};
use crate::model::{Source, SourceState};
use crate::service::Service;
use crate::store::StoreError;
use view::{PluginRow, SourceRow, Status};

/// How many recent checks the history strip shows.
pub const STRIP_LEN: u32 = 30;
/// Seconds between refreshes, unless `?refresh=` says otherwise.
pub const DEFAULT_REFRESH: u32 = 5;

/// No script, styles only from the page itself, forms only to this origin,
/// never framed; never cached, since it is per-login.
fn html(status: StatusCode, markup: Markup, extra: &[(axum::http::HeaderName, String)]) -> Response {
    let mut response = (status, markup).into_response();
    let h = response.headers_mut();
    let fixed = [
        (
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (CACHE_CONTROL, "no-store"),
        (X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        h.insert(name, axum::http::HeaderValue::from_static(value));
    }
    for (name, value) in extra {
        if let Ok(v) = axum::http::HeaderValue::from_str(value) {
            h.append(name.clone(), v);
        }
    }
    response
}

fn redirect_home(cookie: String) -> Response {
    let mut response = html(StatusCode::SEE_OTHER, maud::html! {}, &[(SET_COOKIE, cookie)]);
    response.headers_mut().insert(LOCATION, axum::http::HeaderValue::from_static("/"));
    response
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    refresh: Option<u32>,
}

/// `GET /`: the status page, or the login form without a valid cookie.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    if !session::admin_from_cookie(&state.service, &headers) {
        return html(StatusCode::OK, view::login(None), &[]);
    }
    let refresh = q.refresh.unwrap_or(DEFAULT_REFRESH).clamp(1, 300);
    html(StatusCode::OK, view::status(&gather(&state.service, refresh).await), &[])
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    key: String,
}

/// `POST /login`: an admin key sets the cookie and goes to `/`; anything
/// else answers the form again with 401.
pub async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let key = form.key.trim();
    if session::is_admin_key(&state.service, key) {
        return redirect_home(session::login_cookie(key));
    }
    html(StatusCode::UNAUTHORIZED, view::login(Some("That is not an admin key.")), &[])
}

/// `POST /logout`: forgets the key and goes back to the form.
pub async fn logout() -> Response {
    redirect_home(session::logout_cookie())
}

async fn gather(service: &Service, refresh: u32) -> Status {
    let now = Utc::now();
    let registry = service.registry();
    let plugins = registry
        .list()
        .iter()
        .map(PluginOut::from)
        .map(|p| PluginRow {
            source_type: p.source_type,
            version: p.version,
            wit_version: p.wit_version,
            origin: p.origin,
            sha256: p.sha256,
        })
        .collect();
    let plugin_errors =
        registry.errors().iter().map(LoadErrorOut::from).map(|e| (e.origin, e.error)).collect();
    let mut page = Status { now, refresh, sources: Vec::new(), plugins, plugin_errors, problem: None };
    match service.list_sources().await {
        Ok(sources) => {
            for source in sources {
                match source_row(service, source, now).await {
                    Ok(row) => page.sources.push(row),
                    Err(e) => page.problem = Some(format!("Some history could not be read: {e}")),
                }
            }
        }
        Err(e) => page.problem = Some(format!("The sources could not be read: {e}")),
    }
    page
}

async fn source_row(
    service: &Service,
    source: Source,
    now: chrono::DateTime<Utc>,
) -> Result<SourceRow, StoreError> {
    let health = service.health(source.id).await?;
    let mut history: Vec<_> = service
        .history(source.id, STRIP_LEN, None)
        .await?
        .into_iter()
        .filter(|c| c.status.is_finished())
        .collect();
    history.reverse();
    let store = service.store();
    let day = store.outcome_counts(source.id, now - chrono::Duration::hours(24)).await?;
    let week = store.outcome_counts(source.id, now - chrono::Duration::days(7)).await?;
    let silenced = service.silenced(&source);
    let tls_not_after = health.tls_not_after();
    Ok(SourceRow {
        name: source.name,
        organization: source.organization,
        source_type: source.source_type,
        config: source.config.to_string(),
        paused: source.state == SourceState::Paused,
        silenced,
        last: health.last,
        checking: health.current.is_some(),
        history,
        day,
        week,
        tls_not_after,
    })
}
