//! `GET /`: the operators' status page, server-rendered HTML with no build
//! step (maud templates, an embedded stylesheet, one small script file).
//!
//! It lists the sources the signed-in key may see (every organization's
//! for an admin key, its own for an organization's key) a page at a time:
//! ERROR, TIMEOUT and FAILED first, then the rest, each group by
//! organization, name and id; 100 rows unless `limit` says otherwise (at
//! most 500), the next page after an opaque keyset cursor (`after`).
//! A GET form searches the name (`q`) and filters by `org` (admin keys;
//! another organization's id matches nothing for an organization's key),
//! `status`, `type`, `silenced` and `paused`; a bad parameter is a 400. A
//! summary counts the matching sources per status, over every filter but
//! `status`. Each row has its status, last check and message, a strip of
//! recent outcomes and uptime over 24 h and 7 d (the share of OK among
//! finished checks); then come the loaded plugins and the files that failed
//! to load.
//!
//! Only the shown rows are expensive: every source's status comes from
//! one bulk read ([`gather`]), the order and filters are applied in memory
//! ([`list`]), and history and uptime are read for the page's rows alone.
//!
//! The page refreshes every 5 s (`?refresh=N`, 1 to 300 s): its script,
//! `GET /static/page.js`, fetches `GET /rows` (the same query, session and
//! scoping; 401 without a session) and swaps the summary, rows and pager;
//! without JavaScript a `<noscript>` meta refresh reloads the page. The CSP
//! allows that one same-origin script and its fetches, nothing inline; the
//! sign-in form and other pages allow no script at all.
//!
//! Without a session it is a sign-in form (`POST /login`); `POST /logout`
//! ends the session. Every POST carries a CSRF token (403 without it or
//! with a wrong one), and a client's failed sign-ins are limited (429 with
//! `Retry-After`). Sources are shown with their public config only;
//! secrets never reach it.
//!
//! # Layout
//! - [`session`]: the server-side session, its cookie and CSRF tokens.
//! - [`throttle`]: failed sign-ins per client.
//! - [`list`]: the query, order, filters and cursor, over cheap entries.
//! - [`gather`]: the bulk reads, and the full reads of the page's rows.
//! - [`view`]: the page's templates; [`rows`]: the rows, summary, pager
//!   and the `/rows` fragment.
//! - `page.js`: the refresh script.
//! - [`source`], [`source_view`], [`incidents`]: `GET /sources/{id}`, one
//!   source's page, and its admin buttons.
//! - [`silences`], [`silences_view`]: `GET /silences`, list, create, end.
//! - [`parts`]: the frame and formatters those pages share.

pub mod gather;
pub mod incidents;
pub mod list;
pub(crate) mod parts;
pub mod rows;
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
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, RETRY_AFTER, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{Extensions, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::Markup;

use super::AppState;
use super::plugins::{LoadErrorOut, PluginOut};
use crate::service::Service;
use list::RawQuery;
use view::PluginRow;

pub use gather::STRIP_LEN;
/// Seconds between refreshes, unless `?refresh=` says otherwise.
pub const DEFAULT_REFRESH: u32 = 5;

/// No script, styles only from the page itself, forms only to this origin,
/// never framed.
const STRICT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The signed-in page's: as strict, but for its one script file from this
/// origin and that script's fetches of `/rows`.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The page's script, embedded in the binary.
const PAGE_JS: &str = include_str!("page.js");

/// An HTML answer under the strict CSP; never cached, since it is per-login.
fn html(status: StatusCode, markup: Markup, extra: &[(HeaderName, String)]) -> Response {
    html_with(status, STRICT_CSP, markup, extra)
}

fn html_with(
    status: StatusCode,
    csp: &'static str,
    markup: Markup,
    extra: &[(HeaderName, String)],
) -> Response {
    let mut response = (status, markup).into_response();
    let h = response.headers_mut();
    let fixed = [(CONTENT_SECURITY_POLICY, csp), (CACHE_CONTROL, "no-store"), (X_FRAME_OPTIONS, "DENY")];
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

/// The list's parameters, checked, with the refresh period.
fn checked(raw: &RawQuery) -> Result<(list::Query, u32), list::QueryError> {
    Ok((raw.check()?, raw.refresh(DEFAULT_REFRESH)?))
}

/// A 400 page saying which parameter is wrong.
fn bad_request(e: list::QueryError) -> Response {
    html(StatusCode::BAD_REQUEST, view::message("Sonde · bad request", &e.to_string()), &[])
}

/// `GET /`: the status page, or the sign-in form without a session.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(raw): Query<RawQuery>,
) -> Response {
    let service = &state.service;
    let signed_in = match session::current(service, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return login_form(service, &headers, StatusCode::OK, None),
        Err(e) => return unavailable(e),
    };
    let (query, refresh) = match checked(&raw) {
        Ok(checked) => checked,
        Err(e) => return bad_request(e),
    };
    let caller = &signed_in.caller;
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
    let page = view::Status {
        listing: gather::listing(service, caller, &query).await,
        query,
        refresh,
        refresh_param: (refresh != DEFAULT_REFRESH).then_some(refresh),
        types: registry.types(),
        plugins,
        plugin_errors,
        organization: caller.organization().map(String::from),
        csrf: signed_in.csrf,
        // The page still serves its list while the store is away.
        agents: service.list_agents(caller.organization()).await.unwrap_or_default(),
    };
    html_with(StatusCode::OK, PAGE_CSP, view::status(&page), &[])
}

/// `GET /rows`: the summary, rows and pager of `GET /` with the same
/// parameters, as an HTML fragment for the page's script; 401 without a
/// session (the script then reloads the page, which signs in).
pub async fn rows(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(raw): Query<RawQuery>,
) -> Response {
    let service = &state.service;
    let signed_in = match session::current(service, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let text = "Not signed in.";
            return html(StatusCode::UNAUTHORIZED, view::message("Sonde · sign in", text), &[]);
        }
        Err(e) => return unavailable(e),
    };
    let (query, refresh) = match checked(&raw) {
        Ok(checked) => checked,
        Err(e) => return bad_request(e),
    };
    let listing = gather::listing(service, &signed_in.caller, &query).await;
    let refresh_param = (refresh != DEFAULT_REFRESH).then_some(refresh);
    html(StatusCode::OK, rows::fragment(&listing, &query, refresh_param), &[])
}

/// `GET /static/page.js`: the page's only script, from this origin (the
/// CSP allows no other and no inline script).
pub async fn script() -> Response {
    let mut response = PAGE_JS.into_response();
    let h = response.headers_mut();
    let fixed = [
        (CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (CACHE_CONTROL, "no-cache"),
    ];
    for (name, value) in fixed {
        h.insert(name, axum::http::HeaderValue::from_static(value));
    }
    response
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
