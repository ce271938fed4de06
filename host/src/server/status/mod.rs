//! `GET /`: the operators' status page, server-rendered HTML with no build
//! step (maud templates, an embedded stylesheet, no script).
//!
//! It shows the sources the signed-in key may see (every organization's
//! for an admin key, its own for an organization's key) with their status,
//! last check and message, a strip of recent outcomes and uptime over 24 h
//! and 7 d (the share of OK among finished checks), then the loaded
//! plugins and the files that failed to load. It refreshes itself every
//! 5 s (`?refresh=N` for another period, 1 to 300 s). Without a session it
//! is a sign-in form (`POST /login`); `POST /logout` ends the session.
//! Every POST carries a CSRF token (403 without it or with a wrong one),
//! and a client's failed sign-ins are limited (429 with `Retry-After`).
//! Sources are shown with their public config only; secrets never reach it.
//!
//! # Layout
//! - [`session`]: the server-side session, its cookie and CSRF tokens.
//! - [`throttle`]: failed sign-ins per client.
//! - [`view`]: the templates.
//! - [`source`], [`source_view`], [`incidents`]: `GET /sources/{id}`, one
//!   source's page, and its admin buttons.
//! - [`silences`], [`silences_view`]: `GET /silences`, list, create, end.
//! - [`parts`]: the frame and formatters those pages share.

pub mod incidents;
mod parts;
pub mod session;
pub mod silences;
pub mod silences_view;
pub mod source;
pub mod source_view;
pub mod throttle;
pub mod view;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, RETRY_AFTER, SET_COOKIE, X_FRAME_OPTIONS,
};
use axum::http::{Extensions, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::Markup;
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
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
fn html(status: StatusCode, markup: Markup, extra: &[(HeaderName, String)]) -> Response {
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

fn forbidden() -> Response {
    let text = "This form's CSRF token is missing or wrong. Reload the page and try again.";
    html(StatusCode::FORBIDDEN, view::message("Sonde · refused", text), &[])
}

/// The store could not be read or written: the session cannot be known.
fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "status page: sessions unavailable");
    let text = "Sign-in is unavailable right now: the store does not answer. Try again shortly.";
    html(StatusCode::SERVICE_UNAVAILABLE, view::message("Sonde · unavailable", text), &[])
}

/// The sign-in form, with its CSRF cookie when the browser has none yet.
fn login_form(service: &Service, headers: &HeaderMap, status: StatusCode, error: Option<&str>) -> Response {
    login_form_with(service, headers, status, error, &[])
}

fn login_form_with(
    service: &Service,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
    extra: &[(HeaderName, String)],
) -> Response {
    match session::login_csrf(service, headers) {
        Ok((csrf, set)) => {
            let mut extra = extra.to_vec();
            extra.extend(set.map(|c| (SET_COOKIE, c)));
            html(status, view::login(error, &csrf), &extra)
        }
        Err(e) => unavailable(e),
    }
}

/// The fields of a urlencoded form body (the first of each name). Read by
/// hand rather than with `Form`, so that a POST without a body or of
/// another type is refused for its missing CSRF token (403), not its type.
fn form_fields(body: &[u8]) -> std::collections::HashMap<String, String> {
    let mut fields = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        fields.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    fields
}

/// The client's address, as the connection gives it; without one (a
/// router called in-process) every client is one.
fn client_ip(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    refresh: Option<u32>,
}

/// `GET /`: the status page, or the sign-in form without a session.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    let signed_in = match session::current(&state.service, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return login_form(&state.service, &headers, StatusCode::OK, None),
        Err(e) => return unavailable(e),
    };
    let refresh = q.refresh.unwrap_or(DEFAULT_REFRESH).clamp(1, 300);
    let mut page = gather(&state.service, &signed_in.caller, refresh).await;
    page.csrf = signed_in.csrf;
    html(StatusCode::OK, view::status(&page), &[])
}

/// `POST /login`: a configured key makes a session and goes to `/`; a
/// wrong key answers the form again with 401 and counts against the
/// client; a client past its failures gets 429; a missing or wrong CSRF
/// token 403.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let service = &state.service;
    let ip = client_ip(&extensions);
    let now = Instant::now();
    if let Some(wait) = state.login_failures.retry_after(ip, now) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let text = format!("Too many failed sign-ins. Try again in {seconds} s.");
        let retry = [(RETRY_AFTER, seconds.max(1).to_string())];
        return login_form_with(service, &headers, StatusCode::TOO_MANY_REQUESTS, Some(&text), &retry);
    }
    let form = form_fields(&body);
    if !session::login_csrf_matches(&headers, form.get("csrf").map(String::as_str)) {
        return forbidden();
    }
    let key = form.get("key").map_or("", |k| k.trim());
    let Some(role) = session::role_of_key(service, key) else {
        state.login_failures.failed(ip, now);
        return login_form(
            service,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("That is not a configured key."),
        );
    };
    match session::sign_in(service, key, &role).await {
        Ok(cookie) => redirect_home(cookie),
        Err(e) => unavailable(e),
    }
}

/// `POST /logout`: ends the session and goes back to the form. Without a
/// session there is nothing to end (and no token to check): the cookie is
/// cleared all the same.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let service = &state.service;
    let signed_in = match session::current(service, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return redirect_home(session::logout_cookie(service)),
        Err(e) => return unavailable(e),
    };
    let form = form_fields(&body);
    if !session::csrf_matches(&signed_in.csrf, form.get("csrf").map(String::as_str)) {
        return forbidden();
    }
    match signed_in.sign_out(service).await {
        Ok(()) => redirect_home(session::logout_cookie(service)),
        Err(e) => unavailable(e),
    }
}

/// What `caller` may see: its organization's sources (every one for an
/// admin key) and the plugins.
async fn gather(service: &Service, caller: &Caller, refresh: u32) -> Status {
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
    let mut page = Status {
        now,
        refresh,
        sources: Vec::new(),
        plugins,
        plugin_errors,
        problem: None,
        organization: caller.organization().map(String::from),
        csrf: String::new(),
    };
    match service.list_sources().await {
        Ok(sources) => {
            for source in sources.into_iter().filter(|s| caller.sees(&s.organization)) {
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
    let suppressed_by = service.suppressed_by(&source);
    let tls_not_after = health.tls_not_after();
    Ok(SourceRow {
        id: source.id,
        name: source.name,
        organization: source.organization,
        source_type: source.source_type,
        config: source.config.to_string(),
        paused: source.state == SourceState::Paused,
        silenced,
        suppressed_by,
        last: health.last,
        checking: health.current.is_some(),
        history,
        day,
        week,
        tls_not_after,
        depends_on: source.depends_on,
    })
}
