//! Compiled plugins, cached on disk.
//!
//! A plugin is compiled once per content and engine: the file name is the
//! SHA-256 of the component bytes and a hash of the engine's compatibility
//! settings, so a new wasmtime or different engine flags never load a stale
//! artifact. Writes go to a temporary file and are renamed into place.
//!
//! What is in the directory is loaded as native code, so the directory must
//! be this user's alone: it is created `0700`, and one that another user
//! owns or that its group or others can write is refused (plugins are then
//! compiled in memory at every start; [`crate::private_fs`]).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The hex SHA-256 of a plugin's bytes; also how plugins are pinned.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    engine_key: String,
}

impl Cache {
    /// The cache in `dir`, created `0700` if missing; an error when `dir`
    /// cannot be created or is not private to this user.
    pub fn new(dir: impl Into<PathBuf>, engine: &Engine) -> std::io::Result<Self> {
        let dir = dir.into();
        crate::private_fs::create_dir(&dir)?;
        private(&dir)?;
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(Self { dir, engine_key: format!("{:016x}", h.finish()) })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The compiled component for `bytes`, from the cache or freshly compiled.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let path = self.path(digest);
        // Checked again on each load: the directory may have changed since.
        if let Err(e) = private(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "plugin cache not used");
            let compiled = engine.precompile_component(bytes)?;
            // SAFETY: `compiled` was produced just above by this very engine.
            #[allow(unsafe_code)]
            let component = unsafe { Component::deserialize(engine, &compiled)? };
            return Ok(component);
        }
        if path.exists() {
            // SAFETY: the cache directory belongs to this user alone (checked
            // just above) and only ever receives files written by `store` below, from
            // `Engine::precompile_component` of an engine with the same
            // compatibility hash (it is part of the file name). A file that
            // fails to deserialize is replaced.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable cached plugin")
                }
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        if let Err(e) = self.store(&path, &compiled) {
            tracing::warn!(path = %path.display(), error = %e, "could not cache compiled plugin");
        }
        // SAFETY: `compiled` was produced just above by this very engine.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok(component)
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, crate::private_fs::FILE_MODE);
        options.open(&tmp)?.write_all(compiled)?;
        std::fs::rename(&tmp, path)
    }
}

/// An error saying why `dir` may not hold native code, if it may not.
fn private(dir: &Path) -> std::io::Result<()> {
    crate::private_fs::check_private_dir(dir).map_err(|why| {
        std::io::Error::other(format!(
            "refusing {} as the compiled-plugin cache: {why}; cached plugins are native code, \
             so plugins are compiled in memory instead",
            dir.display()
        ))
    })
}

/// The default cache directory for commands without a data directory.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SONDE_CACHE_DIR") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("sonde").join("compiled"))
}
