//! Loading a plugin: from bytes to a checked, ready-to-instantiate probe.
//!
//! Loading never panics and never takes the host down: every way a file can
//! be wrong is a [`LoadError`] that names the file and the reason.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use serde_json::Value;

use crate::schema::{ConfigSchema, Violation};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum Origin {
    /// Embedded in the `sonde` binary.
    BuiltIn(String),
    /// A `.wasm` file.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn(name) => write!(f, "built-in plugin {name}"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the file: {0}")]
    Read(String),
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("not a Sonde probe plugin: {0}")]
    WrongWorld(String),
    #[error("built against {found}, but this host supports {supported}")]
    IncompatibleVersion { found: String, supported: String },
    #[error("info() failed: {0}")]
    Info(String),
    #[error(
        "info() returned source-type {0:?}: a source-type must match [a-z0-9_-]+ (lowercase letters, digits, '_' and '-', e.g. \"postgres\"); with the Rust SDK it is Probe::SOURCE_TYPE"
    )]
    SourceType(String),
    #[error("{0}")]
    MissingExport(String),
    #[error("{0}")]
    Schema(String),
    #[error("sha256 {0} is not pinned in the configuration (`plugins.pins`)")]
    NotPinned(String),
}

/// A [`LoadError`] with the file it concerns.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {error}")]
pub struct PluginLoadError {
    pub origin: Origin,
    pub error: LoadError,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginInfo {
    pub source_type: String,
    pub version: String,
    pub description: String,
    pub config_schema: serde_json::Value,
    /// The `sonde:probe` package version the plugin was built against.
    pub wit_version: String,
}

/// A loaded plugin: cheap to clone, shared by all checks of its type.
#[derive(Clone)]
pub struct Plugin {
    pub info: Arc<PluginInfo>,
    pub origin: Origin,
    /// Hex SHA-256 of the component bytes.
    pub digest: String,
    pub(crate) schema: Arc<ConfigSchema>,
    pub(crate) contract: super::contract::Contract,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("source_type", &self.info.source_type)
            .field("version", &self.info.version)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub fn schema(&self) -> &ConfigSchema {
        &self.schema
    }

    /// Checks `config` against this plugin's schema, once, off the async
    /// workers and within the schema's deadline: the answer is what
    /// [`super::Runtime::check_valid`] takes.
    pub async fn validate<'a>(&'a self, config: &'a Value) -> Result<ValidConfig<'a>, Vec<Violation>> {
        crate::schema::validate_bounded(&self.schema, config)
            .await
            .map(|()| ValidConfig { plugin: self, config })
    }
}

/// A config that matched its plugin's schema.
#[derive(Debug, Clone, Copy)]
pub struct ValidConfig<'a> {
    pub(super) plugin: &'a Plugin,
    pub(super) config: &'a Value,
}

const MAGIC: &[u8; 4] = b"\0asm";
const COMPONENT_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// Rejects bytes that are not a component before handing them to the compiler.
pub(crate) fn sniff(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(LoadError::NotAComponent(
            "the file does not start with the WebAssembly magic bytes".into(),
        ));
    }
    if bytes[4..8] != COMPONENT_LAYER {
        return Err(LoadError::NotAComponent(
            "this is a core WebAssembly module; build the plugin for the wasm32-wasip2 target".into(),
        ));
    }
    Ok(())
}

/// The version of the `sonde:probe/probe` instance a component exports.
pub(crate) fn probe_export_version(component: &Component) -> Result<String, LoadError> {
    let engine = component.engine();
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string())
        .collect();
    match exports.iter().find_map(|n| n.strip_prefix("sonde:probe/probe@")) {
        Some(found) => Ok(found.to_string()),
        None => {
            let list = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
            Err(LoadError::WrongWorld(format!(
                "it does not export sonde:probe/probe (it exports {list}); a probe is a component of the world `plugin` in sonde:probe@0.2.0 (wit/0.2.0/probe.wit), which exports the interface `probe`"
            )))
        }
    }
}

/// The functions of `sonde:probe/probe`, as the WIT spells them (the same
/// in every version so far), so a missing one is named in the author's terms.
const PROBE_FUNCS: &[(&str, &str)] = &[
    ("info", "func() -> probe-info"),
    ("endpoints", "func(config: string) -> result<list<endpoint>, string>"),
    ("check", "func(config: string) -> result<healthy, check-error>"),
];

/// Names the first function of `sonde:probe/probe@{version}` the component
/// does not export. Linking would fail too, but in wasmtime's words.
pub(crate) fn check_probe_exports(component: &Component, version: &str) -> Result<(), LoadError> {
    let engine = component.engine();
    let ty = component.component_type();
    let name = format!("sonde:probe/probe@{version}");
    let Some(ComponentItem::ComponentInstance(instance)) = ty.get_export(engine, &name).map(|e| e.ty) else {
        return Ok(());
    };
    for (func, signature) in PROBE_FUNCS {
        let found = instance.get_export(engine, func).map(|e| e.ty);
        if !matches!(found, Some(ComponentItem::ComponentFunc(_))) {
            return Err(LoadError::MissingExport(format!(
                "the export {name} has no function `{func}`; add `{func}: {signature};` to the interface `probe` and implement it"
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_source_type(s: &str) -> Result<(), LoadError> {
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(LoadError::SourceType(s.to_string())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_tells_garbage_and_core_modules_apart() {
        assert!(matches!(sniff(b"hello world"), Err(LoadError::NotAComponent(m)) if m.contains("magic")));
        assert!(matches!(sniff(b"\0asm\x01\0\0\0"), Err(LoadError::NotAComponent(m)) if m.contains("core")));
        assert!(sniff(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn source_types() {
        assert!(check_source_type("postgres").is_ok());
        assert!(check_source_type("my_db-2").is_ok());
        for bad in ["", "Postgres", "pg sql", "pg/sql", "é"] {
            assert!(check_source_type(bad).is_err(), "{bad:?}");
        }
    }
}
