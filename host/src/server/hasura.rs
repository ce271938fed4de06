//! Hasura's source health API: `GET /healthz/sources`, admin only.
//! A map from source name to `{status, error, timestamp}`.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use crate::model::CheckRecord;
use crate::report::{hasura_error, rfc3339};

/// Hasura's `HealthStatus`.
#[derive(Debug, Serialize)]
pub struct HealthStatus {
    pub status: &'static str,
    pub error: Value,
    pub timestamp: String,
}

impl HealthStatus {
    /// `None` for a check without an outcome yet.
    pub fn from_check(c: &CheckRecord) -> Option<Self> {
        let status = c.status.outcome()?;
        Some(Self {
            status: status.as_str(),
            error: hasura_error(status, c.message.as_deref(), c.extra.as_deref()),
            timestamp: rfc3339(c.reported_at.unwrap_or(c.created_at)),
        })
    }
}

pub async fn sources(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<BTreeMap<String, HealthStatus>>, ApiError> {
    caller.require_admin()?;
    if let Some(role) = headers.get("x-hasura-role").and_then(|v| v.to_str().ok())
        && role != "admin"
    {
        return Err(ApiError::Forbidden("This endpoint requires X-Hasura-Role: admin"));
    }
    let sources = state.service.list_sources().await?;
    // Names are unique within an organization; qualify the ones that clash.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for s in &sources {
        *count.entry(s.name.as_str()).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    for s in &sources {
        // While a check runs, Hasura shows the previous result.
        let Some(status) = state.service.health(s.id).last.as_ref().and_then(HealthStatus::from_check) else {
            continue;
        };
        let key = if count[s.name.as_str()] > 1 {
            format!("{}/{}", s.organization, s.name)
        } else {
            s.name.clone()
        };
        out.insert(key, status);
    }
    Ok(Json(out))
}
