//! The configuration file (DESIGN §7): TOML, every key optional, checked up
//! front. Each error names the key and what is wrong with it.
//!
//! `sonde serve` without `--config` runs on [`EMBEDDED`], the example in
//! `examples/sonde.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use crate::model::{Policy, SourceState};

pub mod alerts;
pub mod locations;
pub mod network;
pub mod pages;
pub mod server;
pub mod server_tls;
pub mod status;

pub use alerts::{AlertConfig, MaintenanceConfig};
pub use locations::{AgentKey, AgentsConfig, Grants, LocationConfig};
pub use network::{NetworkConfig, OrganizationConfig};
pub use pages::{StatusPage, StatusPageConfig};
pub use server::{LimitsConfig, MetricsConfig, ServerConfig};

/// The example configuration, embedded so `sonde serve` runs out of the box.
pub const EMBEDDED: &str = include_str!("../../../examples/sonde.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{path}: `{key}`: {reason}")]
    Invalid { path: String, key: String, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// "sqlite", or a postgres:// URL.
    #[serde(default = "default_store")]
    pub store: String,
    /// The environment variable holding the postgres:// URL instead (so a
    /// password stays out of the file); `store` is then left out.
    pub store_env: Option<String>,
    /// The PostgreSQL store's connections and leases.
    #[serde(default)]
    pub postgres: PostgresConfig,
    #[serde(default = "default_plugins_dir")]
    pub plugins_dir: PathBuf,
    /// Where compiled plugins are cached; default `<data_dir>/compiled`.
    pub cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// The policy of sources that do not set their own.
    #[serde(default)]
    pub defaults: DefaultsConfig,
    #[serde(default)]
    pub checks: ChecksConfig,
    #[serde(default)]
    pub history: HistoryConfig,
    #[serde(default)]
    pub plugins: PluginsConfig,
    #[serde(default)]
    pub tls: TlsConfig,
    /// The egress policy (`[network]`, `[[organizations]]`); see [`network`].
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub organizations: Vec<OrganizationConfig>,
    /// Alert routes (DESIGN §8); see [`alerts`].
    #[serde(default)]
    pub alerts: Vec<AlertConfig>,
    /// Windows in which no alert is sent; checks go on.
    #[serde(default)]
    pub maintenance: Vec<MaintenanceConfig>,
    /// The status page's sign-in (`[status]`).
    #[serde(default)]
    pub status: status::StatusConfig,
    /// Public status pages, served without a key; see [`pages`].
    #[serde(default)]
    pub status_pages: Vec<StatusPageConfig>,
    /// What one HTTP client may hold; see [`server`].
    #[serde(default)]
    pub server: ServerConfig,
    /// Bounds of every source's policy (DESIGN §4).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Who sees per-source series in `/metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Private locations and who may use them (DESIGN §10).
    #[serde(default)]
    pub locations: Vec<LocationConfig>,
    /// Agents' leases and polls.
    #[serde(default)]
    pub agents: AgentsConfig,
    /// Where this configuration came from, for error messages.
    #[serde(skip)]
    pub origin: String,
    /// This instance's name in check history (`--replica-id`); set by the
    /// command line, never by the file.
    #[serde(skip)]
    pub replica_id: Option<String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7878))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("sonde-data")
}
fn default_store() -> String {
    "sqlite".into()
}
fn default_plugins_dir() -> PathBuf {
    PathBuf::from("plugins.d")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub key: Option<String>,
    pub key_env: Option<String>,
    pub role: Option<String>,
    pub organization: Option<String>,
    /// An agent key's location (`role = "agent"`).
    pub location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub organization: String,
    pub workspace: Option<Uuid>,
    #[serde(rename = "type")]
    pub source_type: String,
    #[serde(default)]
    pub config: toml::Table,
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub retry_interval: Option<Duration>,
    #[serde(default = "active")]
    pub state: SourceState,
    /// Names of sources of the same organization this one depends on
    /// (DESIGN §8); checked against the file and the store at start and on
    /// a reload (`service::depends::check_file`).
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Where its checks run (DESIGN §10); `["central"]` when absent.
    pub locations: Option<Vec<String>>,
    /// How many locations must fail for the source to be down; 1 when absent.
    pub min_locations_failed: Option<u32>,
}

fn active() -> SourceState {
    SourceState::Active
}

/// `[defaults]`: the health-check policy (DESIGN §4) of every source that
/// leaves a field out, from the file or over HTTP; DESIGN's defaults for
/// what is left out here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultsConfig {
    #[serde(with = "humantime_serde")]
    pub interval: Option<Duration>,
    #[serde(with = "humantime_serde")]
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    #[serde(with = "humantime_serde")]
    pub retry_interval: Option<Duration>,
}

/// `[postgres]`: how a replica uses the shared store, all optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// Connections this replica opens at most.
    pub max_connections: u32,
    /// Longest one statement may run.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// How long a claimed check stays this replica's without renewal: a
    /// replica that dies loses its checks to the others after this long.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// How often a replica looks for due checks.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            statement_timeout: Duration::from_secs(5),
            lease: Duration::from_secs(15),
            poll: Duration::from_millis(250),
        }
    }
}

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// The embedded SQLite store in `data_dir`.
    Sqlite,
    /// PostgreSQL at this URL, shared with other replicas.
    Postgres(String),
}

/// Limits on checking, all optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Checks running at once, across all organizations.
    pub max_concurrent: usize,
    /// Memory one check may use, in MiB.
    pub memory_mib: usize,
    /// Allow probes to reach link-local and metadata addresses: the older
    /// name of `[network] allow_metadata`, either one allows them.
    pub allow_link_local: bool,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self { max_concurrent: 128, memory_mib: 64, allow_link_local: false }
    }
}

/// How much history to keep per source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    pub max_per_source: u32,
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self { max_per_source: 1000, max_age: Duration::from_secs(7 * 24 * 3600) }
    }
}

/// Which dropped-in plugin files may load.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// SHA-256 digests (hex) a file in `plugins_dir` must have; unset
    /// allows any file. Built-in probes are always allowed.
    pub pins: Option<Vec<String>>,
}

impl PluginsConfig {
    /// The pins as a set, lower-case.
    pub fn pin_set(&self) -> Option<std::collections::BTreeSet<String>> {
        self.pins.as_ref().map(|p| p.iter().map(|d| d.to_ascii_lowercase()).collect())
    }
}

/// TLS trust shared by every source (DESIGN §4).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM files of CAs every source trusts beside the web PKI roots.
    pub ca_files: Vec<PathBuf>,
}

impl TlsConfig {
    /// The CAs of `ca_files` as trust anchors; an unreadable file or one
    /// without a certificate is an error naming it.
    pub fn roots(&self) -> Result<Vec<rustls::pki_types::TrustAnchor<'static>>, (usize, String)> {
        let certs = self.certificates()?;
        crate::runtime::sandbox::tls::verifier::anchors(certs).map_err(|e| (0, e.to_string()))
    }

    /// The certificates of `ca_files` (for a TLS client that takes
    /// certificates rather than trust anchors: the alert mailer's).
    pub fn certificates(&self) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, (usize, String)> {
        use crate::runtime::sandbox::tls::policy;
        let mut certs = Vec::new();
        for (i, file) in self.ca_files.iter().enumerate() {
            let text = std::fs::read_to_string(file).map_err(|e| (i, format!("{}: {e}", file.display())))?;
            let found = policy::certs(&text, "ca").map_err(|e| (i, format!("{}: {e}", file.display())))?;
            if found.is_empty() {
                return Err((i, format!("{}: no PEM certificate in it", file.display())));
            }
            certs.extend(found);
        }
        Ok(certs)
    }
}

/// An API key's reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    Organization(String),
}

/// A key resolved from the configuration.
#[derive(Clone)]
pub struct ApiKey {
    pub secret: String,
    pub role: Role,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("role", &self.role).finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: origin.clone(), reason: e.to_string() })?;
        Self::parse(&text, &origin)
    }

    /// The embedded example configuration.
    pub fn embedded() -> Result<Self, ConfigError> {
        Self::parse(EMBEDDED, "(embedded examples/sonde.toml)")
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: origin.to_string(), reason: e.to_string() })?;
        config.origin = origin.to_string();
        config.check()?;
        Ok(config)
    }

    fn invalid(&self, key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { path: self.origin.clone(), key: key.into(), reason: reason.into() }
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.store_choice()?;
        let pg = &self.postgres;
        if pg.max_connections < 2 {
            // One for the scheduler's claims, at least one for requests.
            return Err(self.invalid("postgres.max_connections", "must be at least 2"));
        }
        for (k, d) in [("statement_timeout", pg.statement_timeout), ("lease", pg.lease), ("poll", pg.poll)] {
            if d.is_zero() {
                return Err(self.invalid(format!("postgres.{k}"), "must be longer than zero"));
            }
        }
        if pg.poll >= pg.lease {
            return Err(self.invalid("postgres.poll", "must be shorter than `postgres.lease`"));
        }
        if self.checks.max_concurrent == 0 {
            return Err(self.invalid("checks.max_concurrent", "must be at least 1"));
        }
        if !(1..=4096).contains(&self.checks.memory_mib) {
            return Err(self.invalid("checks.memory_mib", "must be between 1 and 4096"));
        }
        if self.history.max_per_source == 0 {
            return Err(self.invalid("history.max_per_source", "must be at least 1"));
        }
        self.api_keys()?;
        self.agent_keys()?;
        self.check_source_locations()?;
        if self.agents.lease.is_zero() || self.agents.poll_wait.is_zero() {
            return Err(self.invalid("agents.lease", "`lease` and `poll_wait` must be longer than zero"));
        }
        if self.agents.poll_wait >= self.agents.lease {
            return Err(self.invalid("agents.poll_wait", "must be shorter than `agents.lease`"));
        }
        self.check_server()?;
        if let Err((i, reason)) = self.tls.roots() {
            return Err(self.invalid(format!("tls.ca_files[{i}]"), reason));
        }
        self.alert_routes()?;
        self.maintenance_windows()?;
        self.status_pages()?;
        self.egress()?;
        for (i, pin) in self.plugins.pins.iter().flatten().enumerate() {
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(self.invalid(format!("plugins.pins[{i}]"), "must be a hex SHA-256 (64 digits)"));
            }
        }
        let d = &self.defaults;
        for (k, v) in [("interval", d.interval), ("timeout", d.timeout), ("retry_interval", d.retry_interval)]
        {
            if v.is_some_and(|v| v.is_zero()) {
                return Err(self.invalid(format!("defaults.{k}"), "must be longer than zero"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let key = |k: &str| format!("sources[{i}].{k}");
            if s.name.trim().is_empty() {
                return Err(self.invalid(key("name"), "must not be empty"));
            }
            if !s.organization.starts_with("org_") {
                return Err(self.invalid(key("organization"), "must start with \"org_\""));
            }
            if !seen.insert((s.organization.clone(), s.name.clone())) {
                return Err(self
                    .invalid(key("name"), format!("{:?} is declared twice in {}", s.name, s.organization)));
            }
            for (k, d) in
                [("interval", s.interval), ("timeout", s.timeout), ("retry_interval", s.retry_interval)]
            {
                if d.is_some_and(|d| d.is_zero()) {
                    return Err(self.invalid(key(k), "must be longer than zero"));
                }
            }
        }
        Ok(())
    }

    /// The store to open, with `store_env` resolved. Errors never echo the
    /// URL, which may carry a password.
    pub fn store_choice(&self) -> Result<StoreChoice, ConfigError> {
        let is_pg = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
        match &self.store_env {
            Some(var) => {
                if self.store != "sqlite" {
                    return Err(self.invalid("store_env", "give exactly one of `store` and `store_env`"));
                }
                let url = std::env::var(var).map_err(|_| {
                    self.invalid("store_env", format!("environment variable {var} is not set"))
                })?;
                if !is_pg(&url) {
                    return Err(self.invalid("store_env", format!("{var} must hold a postgres:// URL")));
                }
                Ok(StoreChoice::Postgres(url))
            }
            None if self.store == "sqlite" => Ok(StoreChoice::Sqlite),
            None if is_pg(&self.store) => Ok(StoreChoice::Postgres(self.store.clone())),
            None => Err(self.invalid("store", "must be \"sqlite\" or a postgres:// URL")),
        }
    }

    /// The configured keys, with `key_env` references resolved.
    pub fn api_keys(&self) -> Result<Vec<ApiKey>, ConfigError> {
        let mut keys = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            let key = |f: &str| format!("keys[{i}].{f}");
            if k.is_agent() {
                continue; // [`Config::agent_keys`]
            }
            if k.location.is_some() {
                return Err(
                    self.invalid(key("location"), "only an agent key (`role = \"agent\"`) has a location")
                );
            }
            let secret = self.key_secret(i, k)?;
            let role = match (k.role.as_deref(), &k.organization) {
                (Some("admin"), None) => Role::Admin,
                (None, Some(org)) if org.starts_with("org_") => Role::Organization(org.clone()),
                (None, Some(_)) => return Err(self.invalid(key("organization"), "must start with \"org_\"")),
                (Some(other), None) => {
                    return Err(self.invalid(
                        key("role"),
                        format!("{other:?} is not a role; use \"admin\" or \"agent\""),
                    ));
                }
                _ => {
                    return Err(self
                        .invalid(key("role"), "give exactly one of `role = \"admin\"` and `organization`"));
                }
            };
            keys.push(ApiKey { secret, role });
        }
        Ok(keys)
    }

    /// Key `i`'s secret: `key`, or the variable `key_env` names; 8
    /// characters at least.
    fn key_secret(&self, i: usize, k: &KeyConfig) -> Result<String, ConfigError> {
        let key = |f: &str| format!("keys[{i}].{f}");
        let secret = match (&k.key, &k.key_env) {
            (Some(s), None) => s.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                self.invalid(key("key_env"), format!("environment variable {var} is not set"))
            })?,
            _ => return Err(self.invalid(key("key"), "give exactly one of `key` and `key_env`")),
        };
        if secret.len() < 8 {
            return Err(self.invalid(key("key"), "must be at least 8 characters"));
        }
        Ok(secret)
    }
}

impl Config {
    /// The policy of a source that sets none of its own.
    pub fn default_policy(&self) -> Policy {
        let d = &self.defaults;
        Policy::default().or(d.interval, d.timeout, d.retries, d.retry_interval)
    }
}

impl SourceConfig {
    /// This source's policy; `defaults` for what it leaves out.
    pub fn policy(&self, defaults: Policy) -> Policy {
        defaults.or(self.interval, self.timeout, self.retries, self.retry_interval)
    }

    /// The probe config as JSON.
    pub fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }

    /// Where its checks run, checked (names, repeats, the quorum's range).
    pub fn placement(&self) -> Result<crate::model::Placement, String> {
        let default = crate::model::Placement::default();
        crate::model::Placement::normalized(
            self.locations.clone().unwrap_or(default.locations),
            self.min_locations_failed.unwrap_or(default.min_locations_failed),
        )
    }
}

#[cfg(test)]
mod tests;
