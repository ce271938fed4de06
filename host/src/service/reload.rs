//! Reloading the configuration file on `SIGHUP`: parsed and validated first
//! (the same checks as at start), applied only when valid. A reload upserts
//! the file's sources and replaces the API keys, plugin pins, alert routes,
//! maintenance windows, public status pages and egress policy (`[network]`,
//! `[[organizations]]`, for checks that start after it); any other
//! key takes effect at the next start. On error the old configuration keeps
//! serving and the reason is logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;

use super::registry::Registry;
use super::scheduler::Event;
use super::{Service, ServiceError, SpecError, split_spec};
use crate::config::{Config, ConfigError};
use crate::model::SourceSpec;

/// `last_reload` values.
pub(super) const NEVER: u8 = 0;
const OK: u8 = 1;
const FAILED: u8 = 2;

/// Checks that every configured source has a plugin, a valid config and a
/// definition within [`super::spec`]'s rules, and splits off their
/// secrets; errors name the key. Whether each `depends_on` names a source
/// needs the store too: [`super::depends::check_file`].
pub(super) async fn validate_sources(
    registry: &Registry,
    config: &Config,
) -> Result<Vec<(SourceSpec, Value)>, ConfigError> {
    let mut specs = Vec::new();
    for (i, s) in config.sources.iter().enumerate() {
        let key = |k: &str| format!("sources[{i}].{k}");
        let depends_on =
            super::depends::normalize(s.depends_on.clone()).map_err(|e| ConfigError::Invalid {
                path: config.origin.clone(),
                key: key("depends_on"),
                reason: e.to_string(),
            })?;
        let spec = SourceSpec {
            name: s.name.clone(),
            organization: s.organization.clone(),
            workspace: s.workspace,
            source_type: s.source_type.clone(),
            config: s.config_json(),
            state: s.state,
            policy: s.policy(config.default_policy()),
            depends_on,
            // Checked with the configuration ([`Config::check`]).
            placement: s.placement().unwrap_or_default(),
        };
        let split = match super::spec::check(&spec, &config.limits) {
            Ok(()) => split_spec(registry, &spec).await,
            Err(e) => Err(e),
        };
        let split = split.map_err(|e| {
            let (key, reason) = match &e {
                SpecError::UnknownType(t) => (
                    key("type"),
                    format!("no plugin for source type {t:?} (loaded: {})", registry.types().join(", ")),
                ),
                SpecError::Schema { violations, .. } => match violations.first() {
                    Some(v) if !v.path.is_empty() => {
                        (key(&format!("config.{}", v.path.join("."))), v.message.clone())
                    }
                    Some(v) => (key("config"), v.message.clone()),
                    None => (key("config"), e.to_string()),
                },
                // A file's sources replace their secrets wholesale.
                SpecError::Unbound(_) => (key("config"), e.to_string()),
                SpecError::Invalid { field, reason } => (key(field), reason.clone()),
            };
            ConfigError::Invalid { path: config.origin.clone(), key, reason }
        })?;
        specs.push(split);
    }
    Ok(specs)
}

impl Service {
    /// Reloads the configuration at `path`; on error nothing changes.
    pub async fn reload(&self, path: &Path) -> Result<(), ServiceError> {
        let result = self.try_reload(path).await;
        match &result {
            Ok(()) => {
                self.last_reload.store(OK, Ordering::Relaxed);
                tracing::info!(config = %path.display(), "configuration reloaded");
            }
            Err(e) => {
                self.last_reload.store(FAILED, Ordering::Relaxed);
                tracing::error!(config = %path.display(), error = %e, "configuration not reloaded; the old one stays");
            }
        }
        result
    }

    async fn try_reload(&self, path: &Path) -> Result<(), ServiceError> {
        let config = Config::load(path)?;
        let keys = config.api_keys()?;
        let specs = validate_sources(&self.ctx.registry, &config).await?;
        let (routes, windows) = (config.alert_routes()?, config.maintenance_windows()?);
        let egress = config.egress()?;
        let pages = config.status_pages()?;
        config.agent_keys()?;
        if super::depends::file_has_dependencies(&config) {
            super::depends::check_file(&config, &self.ctx.store.list_sources().await?)?;
        }
        for source in self.ctx.store.upsert_sources(&specs).await? {
            self.send(Event::Upsert(source));
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        self.agents.reconfigure(&config)?;
        *self.file_sources.write().unwrap_or_else(|p| p.into_inner()) = super::FileSources::of(&config);
        self.ctx.alerts.reconfigure(routes, windows);
        self.set_status_pages(pages);
        self.ctx.runtime.set_egress(egress);
        self.ctx.registry.set_pins(config.plugins.pin_set());
        self.ctx.registry.sync_dir(&self.ctx.runtime, &self.plugins_dir).await;
        Ok(())
    }

    /// Whether the last configuration reload succeeded; `None` before any.
    pub fn last_reload_ok(&self) -> Option<bool> {
        match self.last_reload.load(Ordering::Relaxed) {
            OK => Some(true),
            FAILED => Some(false),
            _ => None,
        }
    }
}

/// Reloads `path` on every `SIGHUP` for the life of the process; without a
/// file (the embedded configuration) a `SIGHUP` is logged and ignored.
pub fn reload_on_sighup(service: Arc<Service>, path: Option<PathBuf>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; configuration reload is off");
            return;
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match &path {
                Some(path) => {
                    let _ = service.reload(path).await;
                }
                None => {
                    tracing::warn!("SIGHUP ignored: running on the embedded configuration, no file to reload")
                }
            }
        }
    });
}
