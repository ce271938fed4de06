//! `GET /v1/plugins` (any valid key): the loaded probes and the files that
//! failed to load, so operators and clients can see which source types exist,
//! what configs they take, and why a dropped-in `.wasm` file is not in use.
//!
//! `{plugins: [{source_type, version, description, config_schema,
//! wit_version, origin, sha256}], errors: [{origin, error}]}`; `origin` is
//! `"built-in"` or the file's path. Plugins are listed by source type.
//!
//! `plugins_dir` is watched (`service::watch`), so the list follows files
//! as they are dropped in, replaced or removed. A file's error stays listed,
//! by path, until the file loads or is removed; while it does, the previous
//! good version of its type keeps serving.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::auth::Caller;
use super::openapi::Unauthorized;
use crate::runtime::{Origin, Plugin, PluginLoadError};

/// One loaded probe.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Plugin)]
pub struct PluginOut {
    pub source_type: String,
    pub version: String,
    pub description: String,
    /// The JSON Schema a source's `config` must match.
    #[schema(value_type = Object)]
    pub config_schema: Value,
    /// The `sonde:probe` version the plugin was built against.
    pub wit_version: String,
    /// `built-in`, or the file's path.
    pub origin: String,
    pub sha256: String,
}

/// A file that did not load, and why.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PluginLoadError)]
pub struct LoadErrorOut {
    pub origin: String,
    pub error: String,
}

/// The loaded probes, by source type, and the files that failed to load.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginList {
    pub plugins: Vec<PluginOut>,
    pub errors: Vec<LoadErrorOut>,
}

fn origin(o: &Origin) -> String {
    match o {
        Origin::BuiltIn(_) => "built-in".to_string(),
        Origin::File(path) => path.display().to_string(),
    }
}

impl From<&Plugin> for PluginOut {
    fn from(p: &Plugin) -> Self {
        Self {
            source_type: p.info.source_type.clone(),
            version: p.info.version.clone(),
            description: p.info.description.clone(),
            config_schema: p.info.config_schema.clone(),
            wit_version: p.info.wit_version.clone(),
            origin: origin(&p.origin),
            sha256: p.digest.clone(),
        }
    }
}

impl From<&PluginLoadError> for LoadErrorOut {
    fn from(e: &PluginLoadError) -> Self {
        Self { origin: origin(&e.origin), error: e.error.to_string() }
    }
}

/// List plugins
///
/// The loaded probes and the plugin files that failed to load.
#[utoipa::path(
    get,
    path = "/v1/plugins",
    operation_id = "list_plugins",
    tag = "sonde",
    responses(
        (status = 200, description = "Plugins and load errors", body = PluginList),
        (status = 401, response = Unauthorized),
    ),
)]
pub async fn list(State(state): State<AppState>, _caller: Caller) -> Json<PluginList> {
    let registry = state.service.registry();
    Json(PluginList {
        plugins: registry.list().iter().map(PluginOut::from).collect(),
        errors: registry.errors().iter().map(LoadErrorOut::from).collect(),
    })
}
