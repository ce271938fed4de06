//! The loaded plugins by source type: the built-in probes, replaced by any
//! plugin of the same type found in `plugins_dir`.
//!
//! Files come and go while the service runs ([`super::watch`]): each file is
//! synced on its own ([`Registry::sync_file`]), compiled off the request path
//! and swapped in under a write lock, so a check holding a [`Plugin`] clone
//! finishes on the version it started with. A file that fails to load keeps
//! its previous good version serving and has its reason listed, keyed by
//! path, until the file becomes good or goes away. Without a file, a type
//! falls back to its built-in probe, or disappears.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::runtime::{LoadError, Origin, Plugin, PluginLoadError, Runtime, builtin, cache};

#[derive(Debug, Default)]
pub struct Registry {
    /// What checks use: built-ins overlaid with files (by path order).
    plugins: RwLock<BTreeMap<String, Plugin>>,
    builtins: RwLock<BTreeMap<String, Plugin>>,
    /// The last good version of each file.
    files: RwLock<BTreeMap<PathBuf, Plugin>>,
    /// Why a file (or built-in) is not in use, by origin.
    errors: RwLock<BTreeMap<String, PluginLoadError>>,
    /// Digests a dropped-in file must have; `None` allows any.
    pins: RwLock<Option<BTreeSet<String>>>,
    /// One sync at a time, so a file's events apply in order.
    sync: tokio::sync::Mutex<()>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// Whether `path` names a plugin file.
pub fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
}

impl Registry {
    /// Loads the built-in probes, then every `.wasm` file in `dir`.
    pub async fn load(runtime: &Runtime, dir: &Path) -> Self {
        Self::load_pinned(runtime, dir, None).await
    }

    /// [`Registry::load`], refusing files whose digest is not in `pins`.
    pub async fn load_pinned(runtime: &Runtime, dir: &Path, pins: Option<BTreeSet<String>>) -> Self {
        let registry = Self { pins: RwLock::new(pins), ..Self::default() };
        for (name, _) in builtin::all() {
            match runtime.load_builtin(name).await {
                Some(Ok(plugin)) => {
                    write(&registry.builtins).insert(plugin.info.source_type.clone(), plugin);
                }
                Some(Err(e)) => registry.set_error(e),
                None => {}
            }
        }
        registry.rebuild();
        registry.sync_dir(runtime, dir).await;
        registry
    }

    /// Replaces the pins; call [`Registry::sync_dir`] afterwards to apply
    /// them to the files already loaded.
    pub fn set_pins(&self, pins: Option<BTreeSet<String>>) {
        *write(&self.pins) = pins;
    }

    /// Syncs every `.wasm` file in `dir`, and forgets files no longer there.
    pub async fn sync_dir(&self, runtime: &Runtime, dir: &Path) {
        let mut paths: BTreeSet<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => {
                entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| is_plugin_file(p)).collect()
            }
            Err(_) => BTreeSet::new(),
        };
        paths.extend(read(&self.files).keys().filter(|p| p.parent() == Some(dir)).cloned());
        for path in paths {
            self.sync_file(runtime, &path).await;
        }
    }

    /// Brings `path` in line with the disk: loads it when it is new or
    /// changed, forgets it when it is gone. Returns whether anything changed.
    pub async fn sync_file(&self, runtime: &Runtime, path: &Path) -> bool {
        let _one = self.sync.lock().await;
        let key = Origin::File(path.to_path_buf()).to_string();
        let bytes = match tokio::fs::read(path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let removed = write(&self.files).remove(path);
                let had_error = write(&self.errors).remove(&key).is_some();
                if let Some(old) = &removed {
                    tracing::info!(path = %path.display(), source_type = %old.info.source_type, "plugin file removed");
                    self.rebuild();
                }
                return removed.is_some() || had_error;
            }
            Err(e) => {
                let error = LoadError::Read(e.to_string());
                return self.refuse(PluginLoadError { origin: Origin::File(path.to_path_buf()), error });
            }
        };
        let digest = cache::digest(&bytes);
        let current = read(&self.files).get(path).map(|p| p.digest.clone());
        let pinned = read(&self.pins).as_ref().is_none_or(|pins| pins.contains(&digest));
        if current.as_deref() == Some(digest.as_str()) && pinned {
            return write(&self.errors).remove(&key).is_some();
        }
        if !pinned {
            // An unpinned file is not used, even if an earlier version was.
            if write(&self.files).remove(path).is_some() {
                self.rebuild();
            }
            let error = LoadError::NotPinned(digest);
            return self.refuse(PluginLoadError { origin: Origin::File(path.to_path_buf()), error });
        }
        match runtime.load(Origin::File(path.to_path_buf()), &bytes).await {
            Ok(plugin) => {
                write(&self.errors).remove(&key);
                tracing::info!(
                    path = %path.display(), source_type = %plugin.info.source_type,
                    version = %plugin.info.version, sha256 = %plugin.digest, "plugin file loaded"
                );
                write(&self.files).insert(path.to_path_buf(), plugin);
                self.rebuild();
                true
            }
            Err(e) => self.refuse(e),
        }
    }

    /// Records why a file is not used; logs it once per distinct reason.
    fn refuse(&self, e: PluginLoadError) -> bool {
        let key = e.origin.to_string();
        let same =
            read(&self.errors).get(&key).is_some_and(|old| old.error.to_string() == e.error.to_string());
        if !same {
            self.set_error(e);
        }
        !same
    }

    fn set_error(&self, e: PluginLoadError) {
        tracing::warn!(error = %e, "plugin not loaded");
        write(&self.errors).insert(e.origin.to_string(), e);
    }

    /// Recomputes the plugins checks use and swaps them in at once.
    fn rebuild(&self) {
        let mut next = read(&self.builtins).clone();
        for plugin in read(&self.files).values() {
            if let Some(old) = next.get(&plugin.info.source_type) {
                tracing::debug!(source_type = %plugin.info.source_type, replaced = %old.origin, by = %plugin.origin, "plugin replaced");
            }
            next.insert(plugin.info.source_type.clone(), plugin.clone());
        }
        *write(&self.plugins) = next;
    }

    pub fn get(&self, source_type: &str) -> Option<Plugin> {
        read(&self.plugins).get(source_type).cloned()
    }

    pub fn list(&self) -> Vec<Plugin> {
        read(&self.plugins).values().cloned().collect()
    }

    /// Files (and built-ins) that failed to load, by origin.
    pub fn errors(&self) -> Vec<PluginLoadError> {
        read(&self.errors).values().cloned().collect()
    }

    pub fn types(&self) -> Vec<String> {
        read(&self.plugins).keys().cloned().collect()
    }
}
