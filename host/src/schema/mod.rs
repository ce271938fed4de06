//! A plugin's config schema: validation of source configs, and its secrets.
//!
//! Properties marked `"writeOnly": true` are secrets. This module finds them,
//! so the rest of the host can strip them from anything it returns and scrub
//! their values from anything a guest prints or answers.
//!
//! A schema is plugin input, so it is bounded before anything else reads it.
//!
//! # Layout
//! - [`bounds`]: size, nesting and `$ref` expansion, checked at load.
//! - [`refs`]: resolving local references.
//! - [`secrets`]: where a schema's secrets live ([`SecretPath`]).
//! - [`values`]: those paths applied to a config (find, strip, split, merge).
//! - [`redact`]: masking secret values in guest text, every spelling.
//! - [`validate`]: validation under a deadline, off the async workers.

pub mod auth;
mod bounds;
mod redact;
mod refs;
mod secrets;
#[cfg(test)]
mod tests;
mod validate;
mod values;

use std::time::Duration;

use serde_json::{Map, Value};

pub use bounds::SchemaBounds;
pub use redact::Redactor;
use refs::Refs;
pub use secrets::{Pattern, SecretPath, Segment};
pub use validate::{DEFAULT_VALIDATION_DEADLINE, TOO_COMPLEX, too_complex, validate_bounded};

/// One reason a config does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where in the config, as object keys and array indices.
    pub path: Vec<String>,
    /// What is wrong, without echoing the offending value.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "/{}: {}", self.path.join("/"), self.message)
        }
    }
}

/// The bounds a schema is loaded under, and how long validating one
/// config against it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaLimits {
    pub bounds: SchemaBounds,
    pub validation_deadline: Duration,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        Self { bounds: SchemaBounds::default(), validation_deadline: DEFAULT_VALIDATION_DEADLINE }
    }
}

/// A compiled config schema.
#[derive(Debug)]
pub struct ConfigSchema {
    raw: Value,
    validator: jsonschema::Validator,
    /// Found once, at load. Includes `tls.client_key` unless the schema
    /// cannot carry a `tls` member.
    secret_paths: Vec<SecretPath>,
    /// Where host-side credentials go ([`auth::AuthShape`]).
    auth: auth::AuthShape,
    /// Nodes of the schema with its references expanded (the bounds').
    expanded: u64,
    pub(crate) validation_deadline: Duration,
}

/// Native stack for compiling a schema: the compiler and the walks recurse
/// along nesting and `$ref` chains, both bounded, but past what a runtime
/// worker's stack is sized for.
const PARSE_STACK: usize = 16 << 20;

impl ConfigSchema {
    /// Compiles a JSON Schema (2020-12) given as text, under the default
    /// [`SchemaLimits`].
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_with(text, SchemaLimits::default())
    }

    /// Compiles a JSON Schema (2020-12) given as text: bounded first (size,
    /// nesting, `$ref` expansion), then compiled with the linear-time regex
    /// engine, and its secrets found once.
    pub fn parse_with(text: &str, limits: SchemaLimits) -> Result<Self, String> {
        bounds::check_size(text, &limits.bounds)?;
        let text = text.to_string();
        let worker = std::thread::Builder::new()
            .name("sonde-schema".into())
            .stack_size(PARSE_STACK)
            .spawn(move || Self::compile(&text, limits));
        match worker.map(|w| w.join()) {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("config-schema could not be compiled (the compiler failed)".into()),
            Err(e) => Err(format!("config-schema could not be compiled: {e}")),
        }
    }

    fn compile(text: &str, limits: SchemaLimits) -> Result<Self, String> {
        let raw: Value = serde_json::from_str(text).map_err(|e| format!("config-schema is not JSON: {e}"))?;
        if !raw.is_object() {
            return Err("config-schema is not a JSON Schema object".into());
        }
        refs::check_nested_ids(&raw)?;
        let refs = Refs::new(&raw);
        let expanded = bounds::check_tree(&raw, &refs, &limits.bounds)?;
        let validator = jsonschema::draft202012::options()
            .with_pattern_options(jsonschema::PatternOptions::regex().size_limit(1 << 20))
            .build(&raw)
            .map_err(|e| invalid_schema(&e))?;
        let mut secret_paths = secrets::discover(&raw, &refs)?;
        let key = secrets::tls_client_key();
        if secrets::may_carry_tls(&raw, secrets::declares_tls(&raw, &refs)) && !secret_paths.contains(&key) {
            secret_paths.push(key);
        }
        let auth = auth::discover(&raw, &refs)?;
        for path in auth.secret_paths() {
            if !secret_paths.contains(&path) {
                secret_paths.push(path);
            }
        }
        drop(refs);
        Ok(Self {
            raw,
            validator,
            secret_paths,
            auth,
            expanded,
            validation_deadline: limits.validation_deadline,
        })
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Where the plugin takes host-side credentials, if it does.
    pub fn auth(&self) -> &auth::AuthShape {
        &self.auth
    }

    /// Where the secrets of a config live (`writeOnly` values, and the TLS
    /// client key).
    pub fn secret_paths(&self) -> &[SecretPath] {
        &self.secret_paths
    }

    /// Whether a config of this schema may hold any secret: when not, its
    /// checks need no read of the secrets table.
    pub fn has_secrets(&self) -> bool {
        !self.secret_paths.is_empty()
    }

    /// Every violation of the schema, with values masked. Unbounded in
    /// time: the service calls [`validate_bounded`] instead.
    pub fn validate(&self, config: &Value) -> Result<(), Vec<Violation>> {
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(config)
            .map(|e| Violation {
                path: e.instance_path().iter().map(|s| s.to_string()).collect(),
                message: e.masked().to_string(),
            })
            .collect();
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }

    /// The secret values present in `config`, for scrubbing guest output.
    pub fn secrets_in(&self, config: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for (_, v) in values::find(config, &self.secret_paths) {
            values::texts(v, &mut out);
        }
        out
    }

    /// Whether `config` holds a secret value (non-null) anywhere.
    pub fn holds_secrets(&self, config: &Value) -> bool {
        values::find(config, &self.secret_paths).iter().any(|(_, v)| !v.is_null())
    }

    /// Splits `config` into what may be shown and the secret values, which
    /// are stored apart, as an object of the same shape.
    pub fn split_secrets(&self, config: &Value) -> (Value, Value) {
        let mut public = config.clone();
        let mut secrets = Value::Object(Map::new());
        for member in values::secret_members(config, &self.secret_paths) {
            if let Some(v) = values::get(config, &member) {
                values::set(&mut secrets, &member, v.clone());
            }
            values::remove(&mut public, &member);
        }
        (public, secrets)
    }

    /// `config` without its secrets: what any API may return.
    pub fn strip_secrets(&self, config: &Value) -> Value {
        let mut out = config.clone();
        for member in values::secret_members(config, &self.secret_paths) {
            values::remove(&mut out, &member);
        }
        out
    }
}

/// `config` as JSON text for a guest. JSON Schema counts `5432.0` as an
/// integer, so the host accepts it where the schema says `integer`; a
/// guest's deserializer (serde's `u16`, say) would not. Whole floats are
/// written as integers, so what passed the schema reaches the plugin as the
/// schema meant it.
pub fn guest_json(config: &Value) -> String {
    fn has_whole_float(v: &Value) -> bool {
        match v {
            Value::Number(n) => whole(n).is_some(),
            Value::Array(items) => items.iter().any(has_whole_float),
            Value::Object(map) => map.values().any(has_whole_float),
            _ => false,
        }
    }
    fn whole(n: &serde_json::Number) -> Option<Value> {
        let f = n.as_f64().filter(|_| n.is_f64())?;
        // Past 2^53 a float is not one integer but a range of them.
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then(|| Value::from(f as i64))
    }
    fn normalize(v: &mut Value) {
        match v {
            Value::Number(n) => {
                if let Some(w) = whole(n) {
                    *v = w;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(normalize),
            Value::Object(map) => map.values_mut().for_each(normalize),
            _ => {}
        }
    }
    if !has_whole_float(config) {
        return config.to_string();
    }
    let mut copy = config.clone();
    normalize(&mut copy);
    copy.to_string()
}

/// Puts the secret values of `secrets` back into `public`, whose shape
/// wins: secrets for array elements it no longer has are dropped.
pub fn merge_secrets(public: &Value, secrets: &Value) -> Value {
    let mut out = public.clone();
    values::merge_into(&mut out, secrets, false);
    out
}

/// Stored secrets `old` with newly given ones `new` laid over them.
pub fn overlay_secrets(old: &Value, new: &Value) -> Value {
    let mut out = old.clone();
    values::merge_into(&mut out, new, true);
    out
}

/// A schema that fails the 2020-12 meta-schema, located for its author: the
/// JSON Pointer into `config-schema` to fix, and what is wrong there. The
/// value is the plugin's own schema, not a secret, so it is shown.
fn invalid_schema(e: &jsonschema::ValidationError<'_>) -> String {
    let path = e.instance_path().to_string();
    let at = if path.is_empty() { "the root".to_string() } else { path };
    format!("config-schema is not a valid JSON Schema (2020-12): at {at}: {e}")
}
