//! The loaded plugins by source type: the built-in probes, replaced by any
//! plugin of the same type found in `plugins_dir`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

use crate::runtime::{Plugin, PluginLoadError, Runtime, builtin};

#[derive(Debug, Default)]
pub struct Registry {
    plugins: RwLock<BTreeMap<String, Plugin>>,
    errors: RwLock<Vec<PluginLoadError>>,
}

impl Registry {
    /// Loads the built-in probes, then every `.wasm` file in `dir`.
    pub async fn load(runtime: &Runtime, dir: &Path) -> Self {
        let registry = Self::default();
        for (name, _) in builtin::all() {
            if let Some(result) = runtime.load_builtin(name).await {
                registry.add(result);
            }
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            files.sort();
            for path in files {
                registry.add(runtime.load_file(&path).await);
            }
        }
        registry
    }

    fn add(&self, result: Result<Plugin, PluginLoadError>) {
        match result {
            Ok(plugin) => {
                let mut plugins = self.plugins.write().unwrap_or_else(|p| p.into_inner());
                if let Some(old) = plugins.get(&plugin.info.source_type) {
                    tracing::info!(source_type = %plugin.info.source_type, replaced = %old.origin, by = %plugin.origin, "plugin replaced");
                }
                plugins.insert(plugin.info.source_type.clone(), plugin);
            }
            Err(e) => {
                tracing::warn!(error = %e, "plugin not loaded");
                self.errors.write().unwrap_or_else(|p| p.into_inner()).push(e);
            }
        }
    }

    pub fn get(&self, source_type: &str) -> Option<Plugin> {
        self.plugins.read().unwrap_or_else(|p| p.into_inner()).get(source_type).cloned()
    }

    pub fn list(&self) -> Vec<Plugin> {
        self.plugins.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    pub fn errors(&self) -> Vec<PluginLoadError> {
        self.errors.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn types(&self) -> Vec<String> {
        self.plugins.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }
}
