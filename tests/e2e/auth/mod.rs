//! Credentials by the host (DESIGN §4, "Auth policy"): the guest never holds
//! them, they go only to the target the operator wrote, only for the methods
//! allowed, and the host's own token requests keep the sandbox's rules.
//!
//! # Layout
//! - [`attacks`]: a plugin that tries to steal what the host holds for it.
//! - [`tokens`]: the token step's refusals, before any packet leaves.

mod attacks;
mod tokens;

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Plugin, Runtime};

use crate::common::load;

pub const FIVE: Duration = Duration::from_secs(5);

/// A secret no guest may ever see, in any spelling.
pub const SECRET: &str = "s3cret-T0KEN-never-in-a-guest";

pub async fn thief(rt: &Runtime) -> Plugin {
    load(rt, sonde_test_support::fixture("auth-thief")).await
}

/// `text` holds the secret in any of the spellings a guest could use.
pub fn leaks(text: &str) -> bool {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    text.contains(SECRET) || text.contains(&b64) || text.contains("T0KEN")
}

/// Everything a check shows: message, extra, details, stdout, stderr.
pub fn shown(r: &CheckReport) -> String {
    format!(
        "{:?} {:?} {} {} {}",
        r.message,
        r.extra,
        r.details.clone().unwrap_or(Value::Null),
        r.stdout.text,
        r.stderr.text
    )
}

/// The thief's config: target `url`, the `auth` object, and what to do.
pub fn config(url: &str, auth: Value, requests: Value) -> Value {
    json!({"url": url, "auth": auth, "requests": requests})
}

/// The statuses or errors the thief reported, one per request.
pub fn results(r: &CheckReport) -> Vec<Value> {
    r.details.as_ref().and_then(|d| d["results"].as_array().cloned()).unwrap_or_default()
}
