//! End-to-end tests: the real `sonde` binary and library, real plugins built
//! for wasm32-wasip2, real local servers and loopback listeners.
//!
//! # Layout
//! - `common`: a runtime per test and plugin loading.
//! - `hostile`: one misbehaving guest per sandbox rule.
//! - `cloud`: the s3, azure and http probes with host-side credentials
//!   against SeaweedFS, Azurite and oidc-provider, and their API binding.
//! - `budget`: the socket budget and the host handle cap.
//! - `egress`: the egress policy: metadata in every spelling, tenants.
//! - `host_memory`: host memory per check, with `sonde check`'s peak RSS.
//! - `pinning`: `wasi:http` goes to the host's resolution of a name.
//! - `loading`: every way a plugin file can be wrong.
//! - `schemas`: the built-in probes' published config schemas are strict.
//! - `config_schema`: plugin schemas as hostile input (bounds, `$ref`
//!   secrets, validation deadlines).
//! - `live`: the watched plugin directory and SIGHUP reloads.
//! - `concurrency`: many deadlines at once.
//! - `conformance`: the table of cases every built-in probe passes, one
//!   file of servers and rows per probe; `postgres`, `mysql`, `mongodb`, `http` hold
//!   what is only that probe's.
//! - `cli`: `sonde check` and `sonde plugin inspect`.
//! - `serve`: the real `sonde serve` on a test's own config.
//! - `https`: `sonde serve` answering HTTPS itself (`[server] tls_cert_file`).
//! - `session`: the status page's server-side session over real HTTP.
//! - `status_pages`: the public status pages, their JSON and badges,
//!   two organizations, and in Chromium.
//! - `source_page`: a page per source (charts, history, incidents, admin
//!   buttons) and the silences page, with two organizations and none.
//! - `status_list`: the status page's list: paging, filters, scoping, its fragment.
//! - `hardening`: escaped text logs, private data and cache files.
//! - `server_bounds`: header and idle timeouts, the connection cap, and
//!   the start-up warning about stored rows older rules let in.
//! - `alerts`: alert routes, delivery, silences and maintenance windows.
//! - `sdk`: the seeds' own clients (Unstructured's Python SDK) against it.
//! - `fuzz`: Schemathesis against its `/openapi.json`.
//! - `python_probe`: a probe written in Python, built with componentize-py.
//! - `unify`: the README's two commands share one build.
//! - `toolchain`: without the wasm32-wasip2 target the build stops at once,
//!   naming the command that installs it.
//! - `saas`: the 17 SaaS probes through the host's credentials, against
//!   the vendors' documented answers on their own names, one table.
//! - `docs`: README.md and docs/ against the code and themselves: the probe
//!   table, every relative link and anchor, the README's size.
//! - `kit`: what a probe author gets: the standalone SDK, `plugin new`, the
//!   memcached example of docs/writing-a-probe.md.

mod agents;
mod alerts;
mod api;
mod assertions;
mod auth;
mod budget;
mod cli;
mod clickhouse;
mod cloud;
mod common;
mod concurrency;
mod config_schema;
mod conformance;
mod docs;
mod egress;
mod examples;
mod fuzz;
mod hardening;
mod host_memory;
mod hostile;
mod http;
mod https;
mod kit;
mod live;
mod loading;
mod metrics;
mod mongodb;
mod mysql;
mod openapi;
mod pinning;
mod postgres;
mod python_probe;
mod replica;
mod restart;
mod saas;
mod schemas;
mod sdk;
mod serve;
mod server_bounds;
mod service;
mod session;
mod source_page;
mod status_list;
mod status_page;
mod status_pages;
mod store;
mod tls;
mod toolchain;
mod unify;
