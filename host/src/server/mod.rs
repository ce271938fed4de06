//! The HTTP server: every surface on one axum `Router`.
//!
//! # Layout
//! - [`auth`]: API keys and tenancy.
//! - [`error`]: the one error type, FastAPI-style.
//! - [`extract`]: body and path extractors that answer 422s.
//! - [`hasura`], [`unstructured`]: one module per seed API.

pub mod auth;
pub mod error;
pub mod extract;
pub mod hasura;
pub mod unstructured;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;

use crate::service::Service;

/// Largest request body accepted.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone, Debug)]
pub struct AppState {
    pub service: Arc<Service>,
}

/// Every route of the service.
pub fn app(service: Arc<Service>) -> Router {
    Router::new()
        .route("/healthz/sources", get(hasura::sources))
        .route("/api/v1/sources", get(unstructured::list).post(unstructured::create))
        .route(
            "/api/v1/sources/{source_id}",
            get(unstructured::get).put(unstructured::replace).delete(unstructured::delete),
        )
        .route(
            "/api/v1/sources/{source_id}/connection-check",
            get(unstructured::latest_check).post(unstructured::start_check),
        )
        .fallback(|| async { error::ApiError::NotFound("Not Found") })
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .with_state(AppState { service })
}
