//! Unit-testing a probe natively (`cargo test --target <host triple>`): the
//! same calls the host makes, from config JSON to the answer it would see,
//! without building a component. [`crate::net`] is `std::net` off wasm32, so
//! `check` can talk to a fake server the test opens on loopback.
//!
//! ```no_run
//! # use sonde_sdk::{Probe, Endpoint, Healthy, CheckError};
//! # #[derive(serde::Deserialize, schemars::JsonSchema)] struct C { port: u16 }
//! # struct P;
//! # impl Probe for P { type Config = C; const SOURCE_TYPE: &'static str = "p";
//! #   const DESCRIPTION: &'static str = "";
//! #   fn endpoints(_: &C) -> Result<Vec<Endpoint>, String> { Ok(vec![]) }
//! #   fn check(_: C) -> Result<Healthy, CheckError> { Ok(Healthy::new().items(1)) } }
//! let report = sonde_sdk::testing::check::<P>(serde_json::json!({"port": 7})).expect("healthy");
//! assert_eq!(report.items, Some(1));
//! ```

use serde_json::Value;

use crate::bindings::sonde::probe::types as wit;
use crate::{CheckError, Endpoint, Probe, Problem};

/// What the host receives from a healthy check.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The `details` object (empty when the probe set none).
    pub details: Value,
    pub items: Option<u64>,
}

/// `check` as the host calls it: `config` is deserialized first, and JSON
/// that does not fit is `InvalidConfig` without the probe seeing it.
pub fn check<P: Probe>(config: Value) -> Result<Report, CheckError> {
    unknown_keys::<P>(&config).map_err(CheckError::InvalidConfig)?;
    match crate::__glue::check::<P>(&config.to_string()) {
        Ok(h) => Ok(Report {
            details: h
                .details
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_else(|| Value::Object(Default::default())),
            items: h.items,
        }),
        Err(wit::CheckError::InvalidConfig(m)) => Err(CheckError::InvalidConfig(m)),
        Err(wit::CheckError::Unhealthy(p)) => {
            Err(CheckError::Unhealthy(Problem { message: p.message, extra: p.extra }))
        }
    }
}

/// `endpoints` as the host calls it.
pub fn endpoints<P: Probe>(config: Value) -> Result<Vec<Endpoint>, String> {
    unknown_keys::<P>(&config)?;
    let eps = crate::__glue::endpoints::<P>(&config.to_string())?;
    Ok(eps.into_iter().map(|e| Endpoint::new(e.host, e.port)).collect())
}

/// The `config-schema` the probe publishes, parsed.
pub fn config_schema<P: Probe>() -> Value {
    serde_json::from_str(&crate::__glue::info::<P>("0.0.0").config_schema).unwrap_or(Value::Null)
}

/// A key of `config` that the schema's `additionalProperties: false` rules
/// out. The host validates against the whole schema; serde cannot refuse
/// unknown keys through `#[serde(flatten)]` (the [`crate::conn`] types), so
/// this is the part of that validation a native test would otherwise miss.
fn unknown_keys<P: Probe>(config: &Value) -> Result<(), String> {
    let schema = config_schema::<P>();
    let (Some(config), Some(properties)) = (config.as_object(), schema["properties"].as_object()) else {
        return Ok(());
    };
    if schema["additionalProperties"] != Value::Bool(false) {
        return Ok(());
    }
    match config.keys().find(|k| !properties.contains_key(*k)) {
        Some(key) => {
            let known: Vec<&str> = properties.keys().map(String::as_str).collect();
            Err(format!("config does not fit: unknown field `{key}`, expected one of {known:?}"))
        }
        None => Ok(()),
    }
}
