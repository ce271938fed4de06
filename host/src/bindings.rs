//! Host-side bindings of the probe contract: one `bindgen!` per supported
//! `sonde:probe` version. The top level is 0.1 (`wit/probe.wit`), whose
//! types are the host's own; [`v0_2`] is 0.2 (`wit/0.2.0/`), converted to
//! them in `runtime::contract`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    exports: { default: async },
});

pub use sonde::probe::types::{CheckError, Endpoint, Healthy, ProbeInfo, Problem};

/// The contract version this host speaks, as plugins declare it.
pub const WIT_PACKAGE: &str = "sonde:probe@0.1.0";

/// `sonde:probe@0.2.0`: 0.1 plus the `wasi:tls` client import, which the
/// linker already holds (wasmtime-wasi-tls), so only the exports are new.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../wit/0.2.0",
        world: "plugin",
        exports: { default: async },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:tls": wasmtime_wasi_tls::p2::bindings,
        },
    });

    /// The package as plugins declare it.
    pub const WIT_PACKAGE: &str = "sonde:probe@0.2.0";
}
