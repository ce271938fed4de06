//! The runtime: loads probe plugins and runs each call in a fresh sandbox.
//!
//! # Layout
//! - [`config`]: the limits and policy of every check.
//! - [`engine`]: the one `Engine` (pooling allocator, epoch ticker).
//! - [`cache`]: compiled plugins on disk, keyed by content and engine.
//! - [`contract`]: the `sonde:probe` versions the host speaks.
//! - [`plugin`]: loading and the ways a file can be wrong.
//! - [`sandbox`]: the `Store` data of one call, deny-by-default.
//! - [`limits`]: the per-check memory cap.
//! - [`outcome`]: statuses, reports, and trap classification.
//! - [`builtin`]: the probes embedded in the binary.
//!
//! Every check attempt gets its own `Store` and one fresh instance in it,
//! dropped when the attempt ends: the instance answers `endpoints` with no
//! network at all, then `check` with exactly the resolved endpoints (one
//! instantiation per check, not two). One deadline covers both calls; it is
//! enforced by racing the calls against a timer (biased towards the timer,
//! so an expired check is never polled again) while the epoch makes
//! CPU-bound guests yield.

pub mod builtin;
pub mod cache;
pub mod config;
pub mod contract;
pub mod engine;
pub mod limits;
pub mod outcome;
pub mod plugin;
pub mod sandbox;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::time::Instant;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::{CheckError, Endpoint};
use crate::schema::{ConfigSchema, Redactor};
pub use config::RuntimeConfig;
pub use engine::PoolTuning;
pub use outcome::{Cause, CheckReport, Status};
pub use plugin::{LoadError, Origin, Plugin, PluginInfo, PluginLoadError, ValidConfig};
pub use sandbox::egress::{Egress, EgressPolicies};
use sandbox::net::{Grant, GrantError, NetPolicy, SocketCaps};
pub use sandbox::resolver::{Resolver, StaticResolver, SystemResolver};
use sandbox::tls::{Session, policy::TlsPolicy};
use sandbox::{Outputs, Sandbox, Spec};

/// Why the runtime itself could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),
    #[error("cannot configure TLS for wasi:http: {0}")]
    Tls(String),
}

/// Caps on guest-provided text, so a probe cannot bloat the store.
const MAX_MESSAGE: usize = 256;
const MAX_EXTRA: usize = 8 << 10;
const MAX_DETAILS: usize = 64 << 10;

pub struct Runtime {
    engine: Engine,
    /// Swapped whole on a reload; a check keeps the `Arc<Egress>` it began with.
    egress: std::sync::RwLock<Arc<EgressPolicies>>,
    ticker: engine::Ticker,
    linker: Linker<Sandbox>,
    config: RuntimeConfig,
    cache: Option<cache::Cache>,
    /// Access tokens fetched for `auth`, kept until shortly before expiry.
    tokens: sandbox::auth::token::TokenCache,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The sandbox of the call in progress, kept so a timed-out attempt can
/// still report what the guest printed and what it was denied.
#[derive(Default)]
struct Trace {
    outputs: Option<Outputs>,
    net: Option<Arc<NetPolicy>>,
    tls: Option<Arc<Session>>,
    /// The source's `auth`, when it has one.
    auth: Option<sandbox::auth::AuthPolicy>,
    /// What the host made of it for this attempt.
    prepared: sandbox::auth::Slot,
}

/// Runs `fut` until `deadline`, checking the clock before the future, so a
/// guest past its deadline is never resumed.
async fn within<F: Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        _ = tokio::time::sleep_until(deadline) => None,
        out = fut => Some(out),
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let (engine, ticker) = engine::build(&config).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let linker = sandbox::linker(&engine).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let cache = config.cache_dir.as_ref().and_then(|dir| match cache::Cache::new(dir, &engine) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "plugin cache disabled");
                None
            }
        });
        let egress = std::sync::RwLock::new(Arc::new(config.egress.clone()));
        Ok(Self { engine, egress, ticker, linker, config, cache, tokens: Default::default() })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The egress policy every check of `organization` runs under now.
    pub fn egress(&self, organization: &str) -> Arc<Egress> {
        Arc::clone(self.egress.read().unwrap_or_else(|p| p.into_inner()).of(organization))
    }

    /// Replaces the egress policies (a configuration reload); checks already
    /// running keep theirs.
    pub fn set_egress(&self, policies: EgressPolicies) {
        *self.egress.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policies);
    }

    fn global_egress(&self) -> Arc<Egress> {
        Arc::clone(self.egress.read().unwrap_or_else(|p| p.into_inner()).global())
    }

    /// Loads a plugin file.
    pub async fn load_file(&self, path: impl Into<PathBuf>) -> Result<Plugin, PluginLoadError> {
        let path = path.into();
        let origin = Origin::File(path.clone());
        match tokio::fs::read(&path).await {
            Ok(bytes) => self.load(origin, &bytes).await,
            Err(e) => Err(PluginLoadError { origin, error: LoadError::Read(e.to_string()) }),
        }
    }

    /// Loads the built-in probe called `name`.
    pub async fn load_builtin(&self, name: &str) -> Option<Result<Plugin, PluginLoadError>> {
        let bytes = builtin::get(name)?;
        Some(self.load(Origin::BuiltIn(name.to_string()), bytes).await)
    }

    /// Compiles, links and describes a plugin.
    pub async fn load(&self, origin: Origin, bytes: &[u8]) -> Result<Plugin, PluginLoadError> {
        self.load_inner(&origin, bytes).await.map_err(|error| PluginLoadError { origin, error })
    }

    async fn load_inner(&self, origin: &Origin, bytes: &[u8]) -> Result<Plugin, LoadError> {
        plugin::sniff(bytes)?;
        let digest = cache::digest(bytes);
        let component = self.compile(&digest, bytes).await?;
        let wit_version = plugin::probe_export_version(&component)?;
        let contract = contract::Contract::link(&self.linker, &component, &wit_version)?;

        let deadline = Instant::now() + self.config.info_timeout;
        let (mut store, outputs) =
            self.store(Arc::new(NetPolicy::deny_all()), None, Default::default(), deadline);
        let call = async {
            let instance = contract.instantiate(&mut store).await?;
            instance.info(&mut store).await
        };
        let info = match within(deadline, call).await {
            None => return Err(LoadError::Info(format!("no answer within {:?}", self.config.info_timeout))),
            Some(Err(e)) => {
                let r = outcome::classify_trap(&e, &outputs.stderr.captured());
                let detail = r.extra.map(|x| format!(" ({x})")).unwrap_or_default();
                return Err(LoadError::Info(format!("{}{detail}", r.message.unwrap_or_default())));
            }
            Some(Ok(info)) => info,
        };
        plugin::check_source_type(&info.source_type)?;
        let schema =
            ConfigSchema::parse_with(&info.config_schema, self.config.schema).map_err(LoadError::Schema)?;
        tracing::debug!(%origin, source_type = %info.source_type, version = %info.version, "plugin loaded");
        Ok(Plugin {
            info: Arc::new(PluginInfo {
                source_type: info.source_type,
                version: info.version,
                description: info.description,
                config_schema: schema.raw().clone(),
                wit_version: format!("sonde:probe@{wit_version}"),
            }),
            origin: origin.clone(),
            digest,
            schema: Arc::new(schema),
            contract,
        })
    }

    /// Compilation is CPU-heavy: keep it off the async workers.
    async fn compile(&self, digest: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let (digest, bytes) = (digest.to_string(), bytes.to_vec());
        tokio::task::spawn_blocking(move || match &cache {
            Some(cache) => cache.load_or_compile(&engine, &digest, &bytes),
            None => Component::new(&engine, &bytes),
        })
        .await
        .map_err(|e| LoadError::NotAComponent(format!("compiler task failed: {e}")))?
        .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))
    }

    /// A fresh store; `tls` is the check's session, `None` for calls that
    /// may not do TLS.
    fn store(
        &self,
        net: Arc<NetPolicy>,
        tls: Option<Arc<Session>>,
        auth: sandbox::auth::Slot,
        deadline: Instant,
    ) -> (Store<Sandbox>, Outputs) {
        let (sandbox, outputs) = Sandbox::new(Spec {
            net,
            memory_bytes: self.config.memory_limit,
            output_cap: self.config.output_cap,
            deadline,
            max_handles: self.config.max_handles,
            tls: tls.unwrap_or_else(|| Arc::new(Session::disabled())),
            ticking: self.ticker.hold(),
            auth,
        });
        let mut store = Store::new(&self.engine, sandbox);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        (store, outputs)
    }

    /// The endpoints `plugin` declares for `config`, asked in a fresh
    /// instance with no network, within `timeout`. The service compares the
    /// answers for an old and a new config to tell whether a change moves
    /// where a source's stored secrets would go (DESIGN §4).
    pub async fn endpoints(
        &self,
        plugin: &Plugin,
        config: &Value,
        timeout: Duration,
    ) -> Result<Vec<Endpoint>, String> {
        let deadline = Instant::now() + timeout;
        let text = crate::schema::guest_json(&guest_config(plugin, config));
        let (mut store, outputs) =
            self.store(Arc::new(NetPolicy::deny_all()), None, Default::default(), deadline);
        let call = async {
            let instance = plugin.contract.instantiate(&mut store).await?;
            instance.endpoints(&mut store, &text).await
        };
        match within(deadline, call).await {
            None => Err(format!("no answer within {timeout:?}")),
            Some(Ok(Ok(endpoints))) => Ok(endpoints),
            Some(Ok(Err(reason))) => Err(reason),
            Some(Err(e)) => {
                let r = outcome::classify_trap(&e, &outputs.stderr.captured());
                Err(r.message.unwrap_or_else(|| "the plugin failed".into()))
            }
        }
    }

    /// Runs one attempt of a check under the global egress policy (`sonde
    /// check`): validate, `endpoints`, resolve, `check`, all within
    /// `timeout`. Never panics; every failure is a report.
    pub async fn check(&self, plugin: &Plugin, config: &Value, timeout: Duration) -> CheckReport {
        self.check_with(&self.global_egress(), plugin, config, timeout).await
    }

    /// [`Runtime::check`] under `egress`: the policy of the organization
    /// the source belongs to ([`Runtime::egress`]).
    pub async fn check_with(
        &self,
        egress: &Arc<Egress>,
        plugin: &Plugin,
        config: &Value,
        timeout: Duration,
    ) -> CheckReport {
        self.run(
            egress,
            plugin,
            config,
            crate::schema::validate_bounded(&plugin.schema, config).await,
            timeout,
        )
        .await
    }

    /// [`Runtime::check`] of a config its caller has validated already
    /// ([`Plugin::validate`]), so it is not validated twice.
    pub async fn check_valid(&self, valid: ValidConfig<'_>, timeout: Duration) -> CheckReport {
        self.check_valid_with(&self.global_egress(), valid, timeout).await
    }

    /// [`Runtime::check_valid`] under `egress`.
    pub async fn check_valid_with(
        &self,
        egress: &Arc<Egress>,
        valid: ValidConfig<'_>,
        timeout: Duration,
    ) -> CheckReport {
        self.run(egress, valid.plugin, valid.config, Ok(()), timeout).await
    }

    async fn run(
        &self,
        egress: &Arc<Egress>,
        plugin: &Plugin,
        config: &Value,
        validity: Result<(), Vec<crate::schema::Violation>>,
        timeout: Duration,
    ) -> CheckReport {
        let started_at = Utc::now();
        let t0 = Instant::now();
        let mut trace = Trace::default();

        let policies = validity.map(|()| {
            let auth = sandbox::auth::AuthPolicy::from_config(plugin.schema.auth(), config);
            TlsPolicy::from_config(config)
                .map_err(|e| e.to_string())
                .and_then(|tls| Ok((tls, auth.map_err(|e| e.to_string())?)))
        });
        let mut report = match policies {
            Err(violations) if crate::schema::too_complex(&violations) => {
                CheckReport::failed(crate::schema::TOO_COMPLEX.to_string())
            }
            Err(violations) => {
                let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
                CheckReport::failed(format!("config does not match the schema: {}", list.join("; ")))
            }
            Ok(Err(e)) => CheckReport::failed(e),
            Ok(Ok((policy, auth))) => {
                let session = Arc::new(Session::new(policy, Arc::clone(&self.config.tls_roots)));
                trace.tls = Some(Arc::clone(&session));
                trace.auth = auth;
                // The guest never sees a client key nor a credential: the
                // host does the TLS and the signing.
                let text = crate::schema::guest_json(&guest_config(plugin, config));
                match within(t0 + timeout, self.attempt(egress, plugin, &text, t0 + timeout, &mut trace))
                    .await
                {
                    Some(mut report) => {
                        let enforce = plugin.contract.has_tls();
                        sandbox::tls::report::apply(&session, &mut report, enforce, Utc::now());
                        report
                    }
                    None => CheckReport::timeout(timeout),
                }
            }
        };

        report.started_at = started_at;
        report.duration = t0.elapsed();
        if let Some(outputs) = &trace.outputs {
            report.stdout = outputs.stdout.captured();
            report.stderr = outputs.stderr.captured();
        }
        report.denied_connects = trace.net.as_ref().map_or(0, |n| n.denied());
        // One redactor per check, built once the tokens made from the
        // secrets are known too.
        let mut secrets = plugin.schema.secrets_in(config);
        if let Some(prepared) = trace.prepared.get() {
            report.details = sandbox::auth::add_details(report.details.take(), &prepared.details);
            secrets.extend(prepared.mask.iter().cloned());
        }
        let redactor = Redactor::new(secrets);
        scrub(&mut report, &redactor);
        report
    }

    async fn attempt(
        &self,
        egress: &Arc<Egress>,
        plugin: &Plugin,
        config: &str,
        deadline: Instant,
        trace: &mut Trace,
    ) -> CheckReport {
        // One instance answers both calls. Its network policy denies
        // everything while it says which peers the config needs, and widens
        // to exactly those before it runs the check.
        let net = Arc::new(NetPolicy::deny_all());
        let (mut store, outputs) =
            self.store(Arc::clone(&net), trace.tls.clone(), Arc::clone(&trace.prepared), deadline);
        trace.outputs = Some(outputs.clone());
        trace.net = Some(Arc::clone(&net));
        let trapped = |e: wasmtime::Error| outcome::classify_trap(&e, &outputs.stderr.captured());
        let instance = match plugin.contract.instantiate(&mut store).await {
            Ok(instance) => instance,
            Err(e) => return trapped(e),
        };

        // 1. Which peers does this config need? Asked with no network at all.
        let endpoints: Vec<Endpoint> = match instance.endpoints(&mut store, config).await {
            Ok(Ok(endpoints)) => endpoints,
            Ok(Err(reason)) => return CheckReport::failed(reason),
            Err(e) => return trapped(e),
        };

        // 2. Resolve them here, and allow exactly those addresses that the
        //    organization's egress policy permits.
        let caps = SocketCaps {
            max_connects: self.config.max_connects,
            max_new_sockets: self.config.max_new_sockets,
        };
        let resolver = self.config.resolver.as_ref();
        // While `auth` is present the check reaches its target only, so
        // what it reads with the credential cannot leave for elsewhere.
        if let Some(policy) = &trace.auth {
            let outside = sandbox::auth::Prepared::outside(policy, &endpoints);
            if !outside.is_empty() {
                net.count_denied();
                return CheckReport::error(
                    Cause::Denied,
                    "permission denied by sandbox",
                    Some(format!(
                        "while `auth` is present the check reaches only {} (and `auth.hosts`); the plugin declared {}",
                        policy.target.url(),
                        outside.join(", ")
                    )),
                );
            }
        }
        match Grant::resolve(&endpoints, egress, caps, resolver).await {
            Ok(grant) => net.grant(grant),
            Err(GrantError::TooMany) => return CheckReport::failed("too many endpoints"),
            Err(e @ GrantError::Denied { .. }) => {
                net.count_denied();
                return CheckReport::error(
                    Cause::Denied,
                    "permission denied by sandbox",
                    Some(e.to_string()),
                );
            }
            Err(e @ GrantError::Unresolvable { .. }) => {
                return CheckReport::error(
                    Cause::Unresolvable,
                    "could not resolve host",
                    Some(e.to_string()),
                );
            }
        }

        // 3. The credential, before the guest runs: a token step that
        //    fails is the check's answer.
        if let Some(policy) = trace.auth.clone() {
            let reach = sandbox::auth::fetch::Reach {
                egress: egress.as_ref(),
                resolver,
                roots: self.config.tls_roots.as_slice(),
                deadline,
            };
            match sandbox::auth::Prepared::prepare(policy, &self.tokens, &reach).await {
                Ok(prepared) => {
                    _ = trace.prepared.set(Arc::new(prepared));
                }
                Err(failure) => {
                    let cause = if failure.message == "permission denied by sandbox" {
                        Cause::Denied
                    } else {
                        Cause::Unhealthy
                    };
                    return CheckReport::error(cause, failure.message, Some(failure.extra()));
                }
            }
        }

        // 4. The check itself.
        match instance.check(&mut store, config).await {
            Ok(Ok(healthy)) => {
                let mut r = CheckReport::new(Status::Ok, Cause::Healthy, None);
                r.details = healthy.details.map(|d| parse_details(&d));
                r.items = healthy.items;
                r
            }
            Ok(Err(CheckError::InvalidConfig(reason))) => CheckReport::failed(reason),
            Ok(Err(CheckError::Unhealthy(p))) => CheckReport::error(Cause::Unhealthy, p.message, p.extra),
            Err(e) => trapped(e),
        }
    }
}

/// `config` as the guest sees it: no TLS client key, no credential.
fn guest_config(plugin: &Plugin, config: &Value) -> Value {
    let config = sandbox::tls::policy::strip_private_key(config);
    sandbox::auth::policy::guest_config(plugin.schema.auth(), &config)
}

/// Details are meant to be a JSON object; anything else is kept as text.
fn parse_details(text: &str) -> Value {
    if text.len() > MAX_DETAILS {
        return Value::String(format!("(details dropped: {} bytes)", text.len()));
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn truncate(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Masks secrets in everything the guest produced, and caps its size.
fn scrub(report: &mut CheckReport, redactor: &Redactor) {
    report.message = redactor.redact_opt(report.message.take()).map(|m| truncate(m, MAX_MESSAGE));
    report.extra = redactor.redact_opt(report.extra.take()).map(|m| truncate(m, MAX_EXTRA));
    report.details = report.details.take().map(|d| redactor.redact_json(&d));
    report.stdout.text = redactor.redact(&report.stdout.text);
    report.stderr.text = redactor.redact(&report.stderr.text);
}
