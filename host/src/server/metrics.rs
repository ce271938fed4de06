//! Operations endpoints, public like Kubernetes probes and Prometheus
//! scrapers expect (no key; nothing secret, only bounded labels):
//! - `GET /metrics`: Prometheus text ([`crate::metrics`]). Per-source series
//!   (names, status, TLS expiry) only for a key, as every other route:
//!   an admin key sees every organization's, an organization key its own;
//!   without a key, process-wide series only, unless `[metrics] public`.
//! - `GET /livez`: 200 `{"status":"ok"}` while the process serves.
//! - `GET /readyz`: 200 when the store answers and plugins are loaded,
//!   else 503 with the failing checks named.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use crate::metrics::Snapshot;

/// The content type of the OpenMetrics text `prometheus-client` writes,
/// which Prometheus negotiates and reads.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "sonde",
    security((), ("bearer" = []), ("x-api-key" = []), ("unstructured-api-key" = []), ("X-Hasura-Admin-Secret" = [])),
    responses(
        (status = 200, description = "Prometheus (OpenMetrics 1.0) text. The key is optional: with one, the \
            per-source series of the organizations it sees; without, process-wide series only (unless the \
            operator sets `[metrics] public = true`)", body = String, content_type = "application/openmetrics-text"),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 500, response = super::openapi::InternalError),
    ),
)]
pub async fn metrics(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
) -> Result<Response, ApiError> {
    let service = &state.service;
    // Whose agents this scrape shows: none without a key.
    let agents_of: Option<Option<String>> = match &caller {
        Ok(caller) => Some(caller.organization().map(str::to_string)),
        Err(_) => None,
    };
    // Whose per-source series this scrape shows.
    let sees: Box<dyn Fn(&str) -> bool + Send> = match caller {
        Ok(caller) => Box::new(move |org| caller.sees(org)),
        Err(ApiError::Unauthenticated) if service.metrics_public() => Box::new(|_| true),
        Err(ApiError::Unauthenticated) => Box::new(|_| false),
        Err(wrong_key) => return Err(wrong_key),
    };
    let mut sources =
        service.list_sources().await.map_err(|_| ApiError::Unavailable("the store is unavailable"))?;
    sources.retain(|s| sees(&s.organization));
    let mut health =
        service.health_all().await.map_err(|_| ApiError::Unavailable("the store is unavailable"))?;
    let source_down = service.alert_views(&sources);
    let mut tls_not_after = std::collections::HashMap::new();
    let sources: Vec<(crate::model::Source, Option<crate::model::CheckRecord>)> = sources
        .into_iter()
        .map(|s| {
            let health = health.remove(&s.id).unwrap_or_default();
            if let Some(at) = health.tls_not_after() {
                tls_not_after.insert(s.id, at);
            }
            (s, health.last)
        })
        .collect();
    let agents = match agents_of {
        Some(org) => service
            .visible_agents(org.as_deref())
            .await
            .map_err(|_| ApiError::Unavailable("the store is unavailable"))?
            .into_iter()
            .map(|a| (a.seen.location, a.seen.name, a.last_poll))
            .collect(),
        None => Vec::new(),
    };
    // One read per source checked elsewhere than `central` alone.
    let mut locations = Vec::new();
    for (source, _) in sources.iter().filter(|(s, _)| !s.placement.is_default()) {
        let newest = service
            .store()
            .newest_by_location(source.id)
            .await
            .map_err(|_| ApiError::Unavailable("the store is unavailable"))?;
        for c in newest {
            let location = c.location.unwrap_or_else(|| crate::model::CENTRAL.into());
            locations.push((source.clone(), location, c.status));
        }
    }
    let (queued, running) = service.load();
    let snapshot = Snapshot {
        agents,
        locations,
        sources,
        queued,
        running,
        max_concurrent: service.max_concurrent(),
        plugins_loaded: service.registry().types().len(),
        plugin_load_errors: service.registry().errors().len(),
        last_reload_ok: service.last_reload_ok(),
        source_down,
        tls_not_after,
    };
    let body = service.metrics().encode(&snapshot).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

/// The body of `/livez` and `/readyz`.
#[derive(Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct Probe {
    /// `ok`, or `unavailable`.
    pub status: &'static str,
    /// What readiness needs and is missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<&'static str>,
}

/// `GET /livez`.
#[utoipa::path(
    get,
    path = "/livez",
    operation_id = "livez",
    tag = "sonde",
    responses((status = 200, description = "The process serves", body = Probe)),
)]
pub async fn livez() -> Json<Probe> {
    Json(Probe { status: "ok", failing: Vec::new() })
}

/// Whether the service is ready: the store answers and at least one plugin
/// is loaded.
pub fn readiness(store_ok: bool, plugins_loaded: usize) -> (StatusCode, Probe) {
    let mut failing = Vec::new();
    if !store_ok {
        failing.push("store");
    }
    if plugins_loaded == 0 {
        failing.push("plugins");
    }
    if failing.is_empty() {
        (StatusCode::OK, Probe { status: "ok", failing })
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Probe { status: "unavailable", failing })
    }
}

/// `GET /readyz`.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "sonde",
    responses(
        (status = 200, description = "Ready: the store answers and plugins are loaded", body = Probe),
        (status = 503, description = "Not ready; `failing` names what is missing", body = Probe),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Probe>) {
    let store_ok = state.service.store().ping().await.is_ok();
    let (code, probe) = readiness(store_ok, state.service.registry().types().len());
    (code, Json(probe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_with_store_and_plugins() {
        assert_eq!(readiness(true, 3).0, StatusCode::OK);
        let (code, probe) = readiness(false, 3);
        assert_eq!((code, probe.failing), (StatusCode::SERVICE_UNAVAILABLE, vec!["store"]));
        let (code, probe) = readiness(true, 0);
        assert_eq!((code, probe.failing), (StatusCode::SERVICE_UNAVAILABLE, vec!["plugins"]));
        assert_eq!(readiness(false, 0).1.failing, vec!["store", "plugins"]);
    }
}
