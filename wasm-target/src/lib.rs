//! Empty: this crate is its build script (`build.rs`), which makes sure the
//! `wasm32-wasip2` target is installed before the build scripts of `sonde`
//! and `sonde-test-support` compile the probes for it.
//!
//! Both name it as a build-dependency, so neither build script starts
//! before this check has passed.
