//! `sonde agent` (DESIGN §10): the same sandbox in a private network,
//! connected outward to the service.
//!
//! # Layout
//! - [`proto`]: the protocol's bodies, shared with the service's routes.
//! - [`client`]: the agent's HTTPS calls to the service.
//! - [`runner`]: one task per claimed source, checking at its interval.
//! - [`outbox`]: results waiting to be sent, bounded in memory.
//!
//! The agent keeps no state on disk: plugins are cached in memory by
//! digest, compiled in memory, and secrets (inside claims) never leave the
//! process. When the service cannot be reached, the agent keeps running
//! the checks it holds at their intervals, and results wait in the outbox.

pub mod client;
pub mod outbox;
pub mod proto;
pub mod runner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::runtime::{Plugin, Runtime, RuntimeConfig};
use outbox::Outbox;
use proto::{Claim, Poll};

/// `sonde agent`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub location: String,
    pub name: String,
    pub ca_file: Option<std::path::PathBuf>,
    /// Results kept while the service is away; past it the oldest go.
    pub buffer: usize,
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Setup(#[from] client::SetupError),
    #[error("the sandbox: {0}")]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error("the service refuses this agent's key: {0}")]
    Refused(String),
}

/// Runs until the process is stopped, or the service refuses the key.
pub async fn run(options: Options, key: String) -> Result<(), AgentError> {
    let service = Arc::new(client::Service::new(&options.server, key, options.ca_file.as_deref())?);
    let outbox = Arc::new(Outbox::new(options.buffer));
    tokio::spawn(outbox::send_loop(Arc::clone(&service), Arc::clone(&outbox), options.name.clone()));
    let mut runtime: Option<Arc<Runtime>> = None;
    let mut plugins: HashMap<String, Plugin> = HashMap::new();
    let mut running: HashMap<Uuid, Running> = HashMap::new();
    let mut known: Option<String> = None;
    let mut away = false;
    tracing::info!(server = %options.server, location = %options.location, name = %options.name, "agent started");
    loop {
        let poll = Poll {
            name: options.name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            known: known.clone(),
            checks_per_second: outbox.rate(),
            queue: outbox.len() as u64,
            dropped: outbox.dropped(),
        };
        let claims = match service.poll(&poll).await {
            Ok(c) => c,
            Err(client::CallError::Status { status: 401 | 403, detail }) => {
                return Err(AgentError::Refused(detail));
            }
            Err(e) => {
                if !std::mem::replace(&mut away, true) {
                    tracing::warn!(error = %e, held = running.len(), "service unreachable; checking on with the claims held");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if std::mem::take(&mut away) {
            tracing::info!("service reachable again");
        }
        if known.as_deref() == Some(claims.digest.as_str()) {
            continue;
        }
        let rt = match &runtime {
            Some(rt) => Arc::clone(rt),
            None => {
                let rt = Arc::new(sandbox(&claims)?);
                runtime = Some(Arc::clone(&rt));
                rt
            }
        };
        // Claims no longer held stop; new or changed ones (re)start.
        let wanted: HashMap<Uuid, &Claim> = claims.claims.iter().map(|c| (c.source_id, c)).collect();
        running.retain(|id, held| {
            let Some(w) = wanted.get(id).filter(|w| same(w, &held.claim)) else {
                held.task.abort();
                return false;
            };
            // Only an on-demand request is new: run it now, under its id.
            if let Some(asked) = w.run_now
                && held.claim.run_now != Some(asked)
            {
                let _ = held.asked.send(asked);
                held.claim.run_now = Some(asked);
            }
            true
        });
        let mut complete = true;
        for claim in &claims.claims {
            if running.contains_key(&claim.source_id) {
                continue;
            }
            let plugin = match plugins.get(&claim.plugin_sha256) {
                Some(p) => p.clone(),
                None => match fetch(&service, &rt, &claim.plugin_sha256).await {
                    Ok(p) => {
                        plugins.insert(claim.plugin_sha256.clone(), p.clone());
                        p
                    }
                    Err(e) => {
                        tracing::warn!(source_type = %claim.source_type, error = %e, "plugin not loaded; trying again");
                        complete = false;
                        continue;
                    }
                },
            };
            let (asked, rx) = tokio::sync::mpsc::unbounded_channel();
            let task =
                tokio::spawn(runner::run(Arc::clone(&rt), plugin, claim.clone(), Arc::clone(&outbox), rx));
            running.insert(claim.source_id, Running { claim: claim.clone(), task, asked });
        }
        tracing::debug!(claims = running.len(), "claims held");
        // A plugin that failed to load is tried again at the next poll.
        known = complete.then_some(claims.digest);
    }
}

/// A claimed source's task, and how to ask it for an on-demand check.
struct Running {
    claim: Claim,
    task: tokio::task::JoinHandle<()>,
    asked: tokio::sync::mpsc::UnboundedSender<Uuid>,
}

/// Whether two claims of a source run the same check (on-demand requests
/// aside).
fn same(a: &Claim, b: &Claim) -> bool {
    let plain = |c: &Claim| serde_json::to_value(Claim { run_now: None, ..c.clone() }).ok();
    plain(a) == plain(b)
}

/// The sandbox, under the limits and CAs the service's first answer gives
/// (they are the service's start-up settings, the same in every answer).
fn sandbox(claims: &proto::Claims) -> Result<Runtime, AgentError> {
    let mut certs = Vec::new();
    for pem in &claims.ca_pems {
        certs.extend(crate::runtime::sandbox::tls::policy::certs(pem, "ca").unwrap_or_default());
    }
    let roots = crate::runtime::sandbox::tls::verifier::anchors(certs).unwrap_or_default();
    Ok(Runtime::new(RuntimeConfig {
        memory_limit: usize::try_from(claims.memory_mib << 20).unwrap_or(usize::MAX),
        cache_dir: None,
        tls_roots: Arc::new(roots),
        ..RuntimeConfig::default()
    })?)
}

async fn fetch(service: &client::Service, rt: &Runtime, sha256: &str) -> Result<Plugin, String> {
    let bytes = service.plugin(sha256).await.map_err(|e| e.to_string())?;
    rt.load(crate::runtime::plugin::Origin::BuiltIn(format!("sha256:{sha256}")), &bytes)
        .await
        .map_err(|e| e.to_string())
}
