//! Sonde: a health service for data-source connectors.
//!
//! Probe plugins are WebAssembly components of the `sonde:probe` world
//! (`wit/probe.wit`). The host loads them, runs every check in a fresh
//! sandbox with a deadline and resource limits, and reports the outcome.
//!
//! # Layout
//! - [`bindings`]: the host side of `wit/probe.wit`.
//! - [`runtime`]: engine, plugin loading, sandbox, outcomes.
//! - [`schema`]: config validation and secret handling.
//! - [`report`]: the JSON a check is printed as.
//! - [`config`]: the configuration file.
//! - [`model`]: sources, policies and check records.
//! - [`private_fs`]: `0700` directories and `0600` files for the data and cache.
//! - [`store`]: persistence (embedded SQLite).
//! - [`service`]: scheduling, fairness, history, latest health.
//! - [`metrics`]: Prometheus metrics of checks, queue and plugins.
//! - [`alerts`]: alert routes, their outbox and delivery, silences.
//! - [`server`]: the HTTP surfaces.
//! - [`cli`]: the `sonde` command line.
//! - [`logging`]: text logs with control characters escaped.
//! - [`scaffold`]: `sonde plugin new`, with the SDK the binary carries.

pub mod agent;
pub mod alerts;
pub mod bindings;
pub mod cli;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod private_fs;
pub mod report;
pub mod runtime;
pub mod scaffold;
pub mod schema;
pub mod server;
pub mod service;
pub mod store;
