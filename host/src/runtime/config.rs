//! [`RuntimeConfig`]: the limits and policy every check of one runtime
//! shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::cache;
use super::engine::PoolTuning;
use super::sandbox::egress::EgressPolicies;
use super::sandbox::resolver::{Resolver, SystemResolver};
use crate::schema::SchemaLimits;

/// Limits and policy shared by every check.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Linear memory one check may use.
    pub memory_limit: usize,
    /// Bytes kept of each of stdout and stderr.
    pub output_cap: usize,
    /// TCP connects one check may make.
    pub max_connects: usize,
    /// Sockets one check may create (TCP, UDP, and `wasi:http`
    /// connections): each costs the host a file descriptor.
    pub max_new_sockets: usize,
    /// Resources one call may hold in the host at once (streams, pollables,
    /// sockets, HTTP requests, fields, ...). A probe at the socket cap holds
    /// about 100 (a socket, two streams and a pollable or two each, plus
    /// stdio); the cap leaves 20 times that. Each entry costs the host at most
    /// a few hundred bytes of bookkeeping, or one capped HTTP header block or
    /// body buffer (`sandbox::http`), so a call pins at most tens of MiB
    /// outside its linear memory. Past it the call ends as "too many handles".
    pub max_handles: usize,
    /// How the host resolves declared endpoint names.
    pub resolver: Arc<dyn Resolver>,
    /// Instances that may exist at once (the pool's size).
    pub max_instances: u32,
    /// Native stack a guest may use.
    pub wasm_stack: usize,
    /// The operator's egress policy, global and per organization
    /// (`[network]`, `[[organizations]]`); replaced by [`Runtime::set_egress`].
    pub egress: EgressPolicies,
    /// Where compiled plugins are cached; `None` compiles in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Deadline of the `info` call made at load time.
    pub info_timeout: Duration,
    /// CAs every source trusts beside the web PKI (`[tls] ca_files`).
    pub tls_roots: Arc<Vec<rustls::pki_types::TrustAnchor<'static>>>,
    /// How instance slots are recycled between checks.
    pub pool: PoolTuning,
    /// How long a CPU-bound guest runs before it yields (the epoch tick).
    /// With N guests spinning on C cores a deadline is noticed up to about
    /// one round, N × slice / C, late; `cargo bench --bench deadlines`
    /// measures 1,000 guests at 250 µs, 100 µs and this default.
    pub time_slice: Duration,
    /// Bounds on a plugin's `config-schema`, and the deadline of one
    /// validation against it.
    pub schema: SchemaLimits,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            memory_limit: 64 << 20,
            output_cap: 64 << 10,
            max_connects: 16,
            max_new_sockets: 16,
            max_handles: 2048,
            resolver: Arc::new(SystemResolver),
            max_instances: 1000,
            wasm_stack: 512 << 10,
            egress: EgressPolicies::default(),
            cache_dir: cache::default_dir(),
            info_timeout: Duration::from_secs(5),
            tls_roots: Arc::default(),
            pool: PoolTuning::default(),
            time_slice: Duration::from_micros(50),
            schema: SchemaLimits::default(),
        }
    }
}
