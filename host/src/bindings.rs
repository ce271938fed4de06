//! Host-side bindings of `wit/probe.wit`: the one `bindgen!` in the host.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    exports: { default: async },
});

pub use sonde::probe::types::{CheckError, Endpoint, Healthy, ProbeInfo, Problem};

/// The contract version this host speaks, as plugins declare it.
pub const WIT_PACKAGE: &str = "sonde:probe@0.1.0";
