//! The cloud probes and the host's credentials end to end: the real host,
//! the real built-in probes and real servers on loopback (SeaweedFS,
//! Azurite, oidc-provider), never a stand-in for them.
//!
//! # Layout
//! - [`s3`]: the `s3` probe against SeaweedFS, with Unstructured's flat keys
//!   and with the `auth` object (SigV4 signed by the host).
//! - [`azure`]: the `azure` probe against Azurite (SharedKey and SAS).
//! - [`oauth`]: the host's token step against oidc-provider through the
//!   `http` probe: every client authentication, caching, expiry,
//!   revocation, an unreachable token URL, Salesforce's `instance_url`.
//! - [`binding`]: the API side: `auth` bound to its target and token URL,
//!   and the `s3` target default written at create.
//! - [`sdk`]: Unstructured's own Python SDK creates an `s3` source and its
//!   connection check succeeds against SeaweedFS.

mod azure;
mod binding;
mod oauth;
mod s3;
mod sdk;

use serde_json::Value;
use sonde::runtime::{CheckReport, Status};

/// `extra` parsed as the JSON object every staged failure carries.
pub fn extra(r: &CheckReport) -> Value {
    let text = r.extra.as_deref().unwrap_or_else(|| panic!("no extra: {r:?}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("extra is not JSON ({e}): {r:?}"))
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

/// OK, with the report in the failure message.
pub fn assert_ok(r: &CheckReport) {
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

/// An ERROR with `message` at `stage`.
pub fn assert_staged(r: &CheckReport, message: &str, stage: &str) {
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some(message)), "{r:?}");
    assert_eq!(extra(r)["stage"], stage, "{r:?}");
}

/// `details.auth` of a report.
pub fn auth_details(r: &CheckReport) -> Value {
    r.details.as_ref().map(|d| d["auth"].clone()).unwrap_or(Value::Null)
}
