//! Watches `plugins_dir` so dropped-in, replaced and removed `.wasm` files
//! take effect without a restart.
//!
//! Events come from `notify` through its mini debouncer: a file is looked at
//! only once it has had no events for [`QUIET`], and then only if its size
//! and modification time held still over one more short look, so a file
//! still being copied is not loaded half. Each settled path is handed to
//! [`Registry::sync_file`], which compiles it on a blocking thread and swaps
//! it in; checks in flight keep the version they started with.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;

use super::registry::{Registry, is_plugin_file};
use crate::runtime::Runtime;

/// How long a file must go without events before it is loaded.
pub const QUIET: Duration = Duration::from_millis(300);
/// The extra look that a settled file's size and mtime still hold.
const STILL: Duration = Duration::from_millis(100);
/// How often a missing `plugins_dir` is looked for.
const RETRY: Duration = Duration::from_secs(2);

/// Starts watching `dir` for the life of the process.
pub fn spawn(runtime: Arc<Runtime>, registry: Arc<Registry>, dir: PathBuf) {
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            match watch(&runtime, &registry, &dir).await {
                Ok(()) => return,
                Err(e) => {
                    if !warned {
                        // A missing directory is the default's usual state;
                        // it is watched once it appears.
                        if dir.exists() {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch plugins_dir; retrying");
                        } else {
                            tracing::info!(dir = %dir.display(), "plugins_dir does not exist; watching for it");
                        }
                        warned = true;
                    }
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    });
}

/// Watches until the watcher goes away; `Err` when it cannot start.
async fn watch(
    runtime: &Runtime,
    registry: &Registry,
    dir: &Path,
) -> Result<(), notify_debouncer_mini::notify::Error> {
    let (tx, mut rx) = mpsc::unbounded_channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(QUIET, move |events| {
        let _ = tx.send(events);
    })?;
    debouncer.watcher().watch(dir, RecursiveMode::NonRecursive)?;
    tracing::info!(dir = %dir.display(), "watching plugins_dir");
    // Files that arrived between the first load and the watch.
    registry.sync_dir(runtime, dir).await;
    while let Some(batch) = rx.recv().await {
        let events = match batch {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "plugins_dir watch error");
                continue;
            }
        };
        // Paths as the registry knows them: `dir` joined with the name.
        let paths: BTreeSet<PathBuf> = events
            .iter()
            .filter_map(|e| e.path.file_name())
            .map(|name| dir.join(name))
            .filter(|p| is_plugin_file(p))
            .collect();
        for path in paths {
            if settled(&path).await {
                registry.sync_file(runtime, &path).await;
            }
            // Otherwise the writer is still going; its next events bring
            // the path back.
        }
    }
    drop(debouncer);
    Ok(())
}

/// Whether `path` is gone, or its size and mtime hold still over [`STILL`].
async fn settled(path: &Path) -> bool {
    let look = || async { tokio::fs::metadata(path).await.ok().map(|m| (m.len(), m.modified().ok())) };
    let Some(before) = look().await else { return true };
    tokio::time::sleep(STILL).await;
    look().await.is_none_or(|after| after == before)
}
