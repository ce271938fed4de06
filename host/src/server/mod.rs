//! The HTTP server: every surface on one axum `Router`.
//!
//! # Layout
//! - [`auth`]: API keys and tenancy.
//! - [`error`]: the one error type, FastAPI-style.
//! - [`extract`]: body and path extractors that answer 422s (and 413s).
//! - [`fields`]: durations and whole numbers, parsed as documented.
//! - [`limits`]: caps on configs, beyond the body cap [`MAX_BODY`].
//! - [`listen`]: serving over TCP with header and idle timeouts and a
//!   connection cap (`[server]`).
//! - [`hasura`], [`unstructured`], [`aitronos_connectivity`],
//!   [`aitronos_health`], [`feather`]: one module per seed API.
//! - [`plugins`]: Sonde's own `GET /v1/plugins`.
//! - [`agent`]: the agent protocol, `/v1/agent/...`, and `GET /v1/agents`.
//! - [`checks`]: Sonde's own check history, `GET /v1/sources/{source_id}/checks`.
//! - [`silences`]: Sonde's own alert silences, `/v1/silences`.
//! - [`openapi`]: `GET /openapi.json`, generated from the handlers.
//! - [`metrics`]: `GET /metrics`, `/livez`, `/readyz` (public).
//! - [`status`]: `GET /`, the operators' HTML status page, and its login.
//! - [`chart`]: a response-time chart as inline SVG, for any page.
//! - [`public`]: `/status/<slug>`, the public status pages (no key).

pub mod agent;
pub mod aitronos_connectivity;
pub mod aitronos_health;
pub mod auth;
pub mod chart;
pub mod checks;
pub mod error;
pub mod extract;
pub mod feather;
pub mod fields;
pub mod hasura;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod plugins;
pub mod public;
pub mod silences;
pub mod status;
pub mod unstructured;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::service::Service;

/// Largest request body accepted; larger ones answer 413 (see [`extract`]).
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone, Debug)]
pub struct AppState {
    pub service: Arc<Service>,
    /// `GET /healthz/sources`'s body, kept between requests.
    pub hasura: Arc<hasura::Memo>,
    /// The status page's failed sign-ins per client.
    pub login_failures: Arc<status::throttle::Throttle>,
    /// The public status pages, each gathered once per period.
    pub public: Arc<public::cache::Cache>,
}

/// Every route of the service.
pub fn app(service: Arc<Service>) -> Router {
    Router::new()
        .route("/healthz/sources", get(hasura::sources))
        // Unstructured's SDK lists and creates with the slash; curl users
        // (and the seed's own prose) without it.
        .route("/api/v1/sources/", get(unstructured::list).post(unstructured::create))
        .route("/api/v1/sources", get(unstructured::list).post(unstructured::create))
        .route(
            "/api/v1/sources/{source_id}",
            get(unstructured::get).put(unstructured::replace).delete(unstructured::delete),
        )
        .route(
            "/api/v1/sources/{source_id}/connection-check",
            get(unstructured::latest_check).post(unstructured::start_check),
        )
        .route(
            "/v1/organizations/{organization_id}/knowledge/connectors/sources/test",
            post(aitronos_connectivity::test),
        )
        .route("/v1/knowledge/connectors/health", get(aitronos_health::public))
        .route(
            "/v1/organizations/{organization_id}/knowledge/connectors/health",
            get(aitronos_health::organization),
        )
        .route(
            "/v1/knowledge-base/knowledge-bases/{kb_id}/sources/{source_id}/sync/status",
            get(feather::status),
        )
        .route("/v1/plugins", get(plugins::list))
        .route("/v1/agents", get(agent::list))
        .route("/v1/agent/poll", post(agent::poll))
        .route("/v1/agent/plugins/{sha256}", get(agent::plugin))
        // Up to MAX_BATCH results with their details: more than one
        // request body of any other route.
        .route("/v1/agent/results", post(agent::results).layer(DefaultBodyLimit::max(8 << 20)))
        .route("/v1/sources/{source_id}/checks", get(checks::list))
        .route("/v1/silences", get(silences::list).post(silences::create))
        .route("/v1/silences/{silence_id}", delete(silences::delete))
        .route("/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::metrics))
        .route("/livez", get(metrics::livez))
        .route("/readyz", get(metrics::readyz))
        .route("/", get(status::page))
        .route("/rows", get(status::rows))
        .route("/static/page.js", get(status::script))
        .route("/login", post(status::login))
        .route("/logout", post(status::logout))
        .route("/status/{page}", get(public::page))
        .route("/status/{slug}/badge.svg", get(public::page_badge))
        .route("/status/{slug}/{name}/badge.svg", get(public::source_badge))
        .route("/sources/{source_id}", get(status::source::page))
        .route("/sources/{source_id}/{action}", post(status::source::act))
        .route("/silences", get(status::silences::page).post(status::silences::create))
        .route("/silences/{silence_id}/end", post(status::silences::finish))
        .fallback(|| async { error::ApiError::NotFound("Not Found") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(AppState {
            service,
            hasura: Default::default(),
            login_failures: Default::default(),
            public: Default::default(),
        })
}
