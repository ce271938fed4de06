//! The sandbox one call runs in: the `Store` data, built deny-by-default.
//!
//! | resource | policy |
//! | --- | --- |
//! | network | [`grant`]: declared endpoints, deduplicated, capped, resolved once; [`egress`]: the operator's CIDR lists and the metadata addresses; [`net`]: TCP to granted addresses only; [`dns`]: pinned names; [`http`]: declared `host:port` only, sent to the pinned addresses |
//! | names | [`resolver`]: the host's one lookup, injectable |
//! | sockets | [`sockets`]: creation counted per check, like connects |
//! | host handles | the call's `ResourceTable` is capped ([`Spec::max_handles`]) |
//! | filesystem | no preopened directories |
//! | environment, arguments | empty |
//! | stdout, stderr | [`output`]: captured, tail kept, capped |
//! | memory | [`crate::runtime::limits`] |
//! | clocks, random | wasmtime-wasi's defaults |
//! | TLS | [`tls`]: by the host, under the source's policy (0.2 plugins) |
//! | credentials | [`auth`]: by the host, on requests to the source's target only |

pub mod auth;
pub mod dns;
pub mod egress;
pub mod grant;
pub mod http;
pub mod net;
pub mod output;
pub mod resolver;
pub mod sockets;
pub mod tls;

use std::sync::Arc;

use tokio::time::Instant;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};
use wasmtime_wasi_tls::{WasiTlsCtx, WasiTlsCtxBuilder, WasiTlsCtxView, WasiTlsView};

use super::engine::Ticking;
use super::limits::Limits;
use net::NetPolicy;
use output::Capture;

/// The `T` of every `Store<T>`: one per call, dropped afterwards.
pub struct Sandbox {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: http::HttpPolicy,
    tls: WasiTlsCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: Limits,
    pub(crate) net: Arc<NetPolicy>,
    /// Keeps the epoch ticking while this store lives.
    _ticking: Ticking,
}

/// Everything one call's sandbox is made from.
pub struct Spec {
    pub net: Arc<NetPolicy>,
    pub memory_bytes: usize,
    pub output_cap: usize,
    pub deadline: Instant,
    /// Entries the call's host `ResourceTable` may hold at once.
    pub max_handles: usize,
    /// The check's `wasi:tls` session: its policy and what it saw.
    pub tls: Arc<tls::Session>,
    /// The epoch's ticking, held for the store's life.
    pub ticking: Ticking,
    /// The check's credential, set when it is ready ([`auth`]).
    pub auth: auth::Slot,
}

/// The guest's captured stdout and stderr.
#[derive(Debug, Clone)]
pub struct Outputs {
    pub stdout: Capture,
    pub stderr: Capture,
}

impl Sandbox {
    pub fn new(spec: Spec) -> (Self, Outputs) {
        let outputs =
            Outputs { stdout: Capture::new(spec.output_cap), stderr: Capture::new(spec.output_cap) };
        let mut builder = WasiCtxBuilder::new();
        builder.stdout(outputs.stdout.clone()).stderr(outputs.stderr.clone());
        net::install(&mut builder, &spec.net);
        let mut table = ResourceTable::new();
        // Past the cap a push fails and the guest traps, classified as
        // "too many handles" (`outcome::classify_trap`).
        table.set_max_capacity(spec.max_handles);
        let mut http_ctx = WasiHttpCtx::new();
        http_ctx.set_field_size_limit(http::FIELD_SIZE_LIMIT);
        let sandbox = Self {
            wasi: builder.build(),
            http: http_ctx,
            hooks: http::HttpPolicy {
                net: Arc::clone(&spec.net),
                deadline: spec.deadline,
                tls: Arc::clone(&spec.tls),
                auth: spec.auth,
            },
            tls: WasiTlsCtxBuilder::new().provider(Box::new(tls::Provider(spec.tls))).build(),
            table,
            limits: Limits::new(spec.memory_bytes, super::engine::TABLE_ELEMENTS),
            net: spec.net,
            _ticking: spec.ticking,
        };
        (sandbox, outputs)
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Sandbox {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

impl WasiTlsView for Sandbox {
    fn tls(&mut self) -> WasiTlsCtxView<'_> {
        WasiTlsCtxView { ctx: &mut self.tls, table: &mut self.table }
    }
}

/// The imports every plugin may use: WASI 0.2, `wasi:http` and `wasi:tls`
/// (behind its `tls` feature gate, on), with the resolver pinned and socket
/// creation counted.
pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<Sandbox>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let mut tls = wasmtime_wasi_tls::p2::LinkOptions::default();
    tls.tls(true);
    wasmtime_wasi_tls::p2::add_to_linker(&mut linker, &tls)?;
    dns::add_to_linker(&mut linker)?;
    sockets::add_to_linker(&mut linker)?;
    Ok(linker)
}
