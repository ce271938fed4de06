//! The Sonde probe SDK: write a probe plugin as one trait impl and one macro.
//!
//! A probe is a WebAssembly component of the `plugin` world of
//! `sonde:probe@0.2.0`; this crate carries that WIT in its own `wit/`
//! directory, so it builds anywhere (start with `sonde plugin new NAME`,
//! which writes a crate using a copy of this SDK). A complete probe, one
//! that checks a line-based server and can speak TLS:
//!
//! ```no_run
//! use std::io::{BufRead, BufReader, Write};
//!
//! use sonde_sdk::conn::Server;
//! use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, Tls, TlsMode, messages};
//!
//! /// The source's config; the JSON Schema operators see is derived from it.
//! /// Unknown keys are refused by the schema (serde cannot, through `flatten`).
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[schemars(deny_unknown_fields)]
//! struct Config {
//!     /// `host`, and `port` (7 when absent), named as in every probe.
//!     #[serde(flatten)]
//!     server: Server<7>,
//!     /// A secret: published as `writeOnly`, never shown by Sonde.
//!     token: Option<Secret>,
//!     /// The one `tls` object every TCP probe embeds; the host enforces it.
//!     #[serde(default)]
//!     tls: Tls,
//! }
//!
//! struct Echo;
//!
//! impl Probe for Echo {
//!     type Config = Config;
//!     const SOURCE_TYPE: &'static str = "echo";
//!     const DESCRIPTION: &'static str = "A line sent comes back";
//!
//!     fn endpoints(c: &Config) -> Result<Vec<Endpoint>, String> {
//!         // Only these peers are reachable from inside `check`.
//!         Ok(vec![c.server.endpoint()])
//!     }
//!
//!     fn check(c: Config) -> Result<Healthy, CheckError> {
//!         // `?` on an io::Error gives the stable messages ("connection refused", …).
//!         let mut stream = sonde_sdk::net::connect(&c.server.host, c.server.port)?;
//!         if c.tls.mode_or(TlsMode::Disable) != TlsMode::Disable {
//!             stream.start_tls(&c.tls)?; // the host handshakes and verifies
//!         }
//!         let line = c.token.as_ref().map_or("ping", |t| t.expose());
//!         writeln!(stream, "{line}")?;
//!         let mut answer = String::new();
//!         BufReader::new(stream).read_line(&mut answer)?;
//!         if answer.trim_end() != line {
//!             return Err(Problem::new(messages::UNEXPECTED_PROTOCOL).with_extra("another line came back").into());
//!         }
//!         Ok(Healthy::new().detail("echoed", answer.trim_end().len()))
//!     }
//! }
//!
//! sonde_sdk::export_probe!(Echo);
//! # fn main() {}
//! ```
//!
//! The config arrives deserialized into `Probe::Config`; JSON that does not
//! fit becomes `invalid-config` (FAILED) without the probe seeing it. The JSON
//! Schema the host validates against is derived from the same type, so the two
//! cannot drift. Wrap secrets in [`Secret`] to mark them `writeOnly`.
//!
//! # Testing natively
//!
//! Built for any target but wasm32, [`net`] is `std::net` underneath (and
//! [`net::Stream::start_tls`] reports that TLS needs the host), so a probe's
//! `check` runs under a plain `cargo test --target <host triple>` against a
//! listener the test opens; [`testing`] makes the calls as the host does
//! (config JSON in, the reported details and items out). Under the sandbox,
//! the same calls go through `wasi:sockets`.
//!
//! # Probes of HTTP APIs, with credentials by the host
//!
//! A probe of an HTTP API (object stores, SaaS) sends its requests with
//! [`api::request`] / [`api::get`] to one base URL, the **target**, and
//! never holds a key: it embeds [`Auth`] (or maps flat config keys to it at
//! its schema root), and the host applies the credential to requests bound
//! for the target (see [`auth`] for the markers). It maps the source's
//! refusals with [`api::failure`] (401 "authentication failed", 403
//! "permission denied", 404 "`<noun>` does not exist", 429 "rate limited")
//! and checks what it read against an [`Expect`]. Every failure's `extra`
//! is the JSON object `{"stage", "detail", ...}` that [`Problem::staged`]
//! builds, with a [`stage`] name.
//!
//! # Layout
//! - [`outcome`]: `Healthy`, `Problem` (with [`Problem::staged`] and
//!   [`Problem::with_member`]), `CheckError`, the stable [`messages`], the
//!   [`stage`] names and the I/O error mapping.
//! - [`api`]: an HTTP client over `wasi:http` (plain HTTP/1.1 natively)
//!   and the mapping of HTTP refusals to stable messages.
//! - [`auth`]: the `auth` object the host applies ([`Auth`]) and the
//!   schema markers (`x-sonde-auth`, `x-sonde-auth-target`).
//! - [`expect`]: the `expect` assertions ([`Expect`]).
//! - [`clock`]: RFC 3339 / RFC 1123 timestamps and `7d`-style durations.
//! - [`secret`]: the `Secret` string type.
//! - [`net`]: connecting to a configured endpoint; a [`net::Stream`] that
//!   can be upgraded to TLS in place.
//! - [`tls`]: the `tls` config object every TCP probe embeds.
//! - [`conn`]: the `host`/`port`/`user`/`password` fields probes share,
//!   to embed with `#[serde(flatten)]`.
//! - [`testing`]: native unit tests of a probe, calling it as the host does.
//! - [`bindings`]: the raw WIT bindings (one `generate!`), for the macro.

pub mod api;
pub mod auth;
pub mod clock;
pub mod conn;
pub mod expect;
#[cfg(target_arch = "wasm32")]
pub mod net;
// Native builds (a probe's unit tests) get the same API over std::net.
#[cfg(not(target_arch = "wasm32"))]
#[path = "net_native.rs"]
pub mod net;
pub mod outcome;
pub mod secret;
pub mod sql;
pub mod testing;
pub mod tls;

pub use auth::{Auth, AuthKind};
pub use expect::{Expect, Rows};
pub use outcome::{CheckError, Healthy, Problem, closed_after, io_problem, messages, preview, stage};
pub use schemars;
pub use secret::Secret;
pub use serde;
pub use serde_json;
pub use tls::{Tls, TlsMode};

/// Raw bindings of this crate's `wit/` (`sonde:probe@0.2.0` with `wasi:tls`,
/// a copy of the repository's `wit/0.2.0`), used by [`export_probe!`] and [`net`]. `wasi:io` is wasip2's, so the
/// streams of a `wasi:sockets` connection can be handed to `wasi:tls`.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        features: ["tls"],
        with: {
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:tls/types@0.2.0-draft": generate,
        },
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "::sonde_sdk::bindings",
    });
}

/// A network peer a check will connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self { host: host.into(), port }
    }
}

/// A probe for one source type.
pub trait Probe {
    /// The source's configuration. Its derived JSON Schema is published as
    /// `config-schema`; serde defaults become schema defaults.
    type Config: serde::de::DeserializeOwned + schemars::JsonSchema;

    /// `[a-z0-9_-]+`, e.g. "postgres".
    const SOURCE_TYPE: &'static str;

    /// One line for operators.
    const DESCRIPTION: &'static str;

    /// The peers `check` needs. Only these are reachable from inside `check`.
    fn endpoints(config: &Self::Config) -> Result<Vec<Endpoint>, String>;

    /// One health check.
    fn check(config: Self::Config) -> Result<Healthy, CheckError>;
}

/// Exports a [`Probe`] implementation as the plugin's `sonde:probe/probe`.
#[macro_export]
macro_rules! export_probe {
    ($probe:ty) => {
        const _: () = {
            use $crate::bindings::exports::sonde::probe::probe as __wit;
            use $crate::bindings::sonde::probe::types as __types;

            struct __SondeExport;

            impl __wit::Guest for __SondeExport {
                fn info() -> __types::ProbeInfo {
                    $crate::__glue::info::<$probe>(env!("CARGO_PKG_VERSION"))
                }
                fn endpoints(config: String) -> Result<Vec<__types::Endpoint>, String> {
                    $crate::__glue::endpoints::<$probe>(&config)
                }
                fn check(config: String) -> Result<__types::Healthy, __types::CheckError> {
                    $crate::__glue::check::<$probe>(&config)
                }
            }

    $crate::bindings::__export_plugin_world!(__SondeExport with_types_in $crate::bindings);
        };
    };
}

/// What [`export_probe!`] expands to call. Not a stable API.
#[doc(hidden)]
pub mod __glue {
    use super::bindings::sonde::probe::types as wit;
    use super::{CheckError, Probe};

    pub fn info<P: Probe>(version: &str) -> wit::ProbeInfo {
        let schema = schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<P::Config>();
        wit::ProbeInfo {
            source_type: P::SOURCE_TYPE.to_string(),
            version: version.to_string(),
            description: P::DESCRIPTION.to_string(),
            config_schema: schema.as_value().to_string(),
        }
    }

    fn parse<P: Probe>(config: &str) -> Result<P::Config, String> {
        serde_json::from_str(config).map_err(|e| format!("config does not fit: {e}"))
    }

    pub fn endpoints<P: Probe>(config: &str) -> Result<Vec<wit::Endpoint>, String> {
        let config = parse::<P>(config)?;
        Ok(P::endpoints(&config)?.into_iter().map(|e| wit::Endpoint { host: e.host, port: e.port }).collect())
    }

    pub fn check<P: Probe>(config: &str) -> Result<wit::Healthy, wit::CheckError> {
        let config = parse::<P>(config).map_err(wit::CheckError::InvalidConfig)?;
        match P::check(config) {
            Ok(h) => Ok(h.into_wit()),
            Err(CheckError::InvalidConfig(m)) => Err(wit::CheckError::InvalidConfig(m)),
            Err(CheckError::Unhealthy(p)) => {
                Err(wit::CheckError::Unhealthy(wit::Problem { message: p.message, extra: p.extra }))
            }
        }
    }
}
