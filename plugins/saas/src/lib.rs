//! What the SaaS probes (`plugins/<type>`, one crate per Unstructured source
//! type) have in common, so that none of them copies another:
//!
//! - [`web`]: one request to the source over the SDK's `api`, its non-2xx
//!   answers turned into DESIGN §3's staged failures with the vendor's own
//!   error text beside them, and the JSON of a 2xx;
//! - [`vendor`]: where each vendor's documented error body keeps its message;
//! - [`address`]: the base URL a probe reaches (the auth target), the
//!   endpoint it declares, and URLs built under it with escaped segments;
//! - [`cases`] (native builds): runs tests/e2e/saas/vendor_cases.rs, the
//!   documented request and answer pairs, against each probe's `check`;
//! - [`graph`], [`google`], [`atlassian`], [`search`]: what two or three
//!   probes of one vendor family share (Microsoft Graph; Google's
//!   service-account flow; Confluence and Jira; Elasticsearch and
//!   OpenSearch).
//!
//! Every probe is verified against its vendor's published API reference
//! only, never against the live service (docs/probes-saas.md).

pub mod address;
pub mod atlassian;
#[cfg(not(target_arch = "wasm32"))]
pub mod cases;
pub mod google;
pub mod graph;
pub mod search;
pub mod vendor;
pub mod web;

/// Adds the ROOT `x-sonde-auth` mapping (COMMON.md) to a probe's schema: the
/// host maps the config's flat secret keys to its own `auth` with it, so the
/// guest never holds them. Used from `#[schemars(transform = ...)]`.
pub fn root_auth(schema: &mut schemars::Schema, mapping: serde_json::Value) {
    schema.insert("x-sonde-auth".into(), mapping);
}

/// Adds a ROOT `x-sonde-auth-target` template (COMMON.md), for a target that
/// the config names by parts (`https://{/subdomain}.zendesk.com`).
pub fn root_target(schema: &mut schemars::Schema, template: &str) {
    schema.insert("x-sonde-auth-target".into(), template.into());
}

/// A yes/no key that Unstructured's examples write both as JSON `true` and
/// as the string `"true"` (Confluence's `extract_images`, OpenSearch's
/// `use_ssl`), so either is accepted unchanged.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    pub fn is_true(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(t) => t.trim().eq_ignore_ascii_case("true"),
        }
    }
}

/// At most this many named resources (spaces, projects, channels) are
/// looked up by one check, one request each: enough for a connector's list,
/// bounded for the check's deadline and the vendor's rate limits.
pub const MAX_LOOKUPS: usize = 20;

/// Widens the default `methods` of the `auth` object (DESIGN §4: GET and
/// HEAD) for an API whose reads are POSTs (Slack's `auth.test`, Dropbox,
/// Snowflake's SQL API). The root mappings carry their own `methods`.
pub fn widen_methods(schema: &mut schemars::Schema, methods: &[&str]) {
    if let Some(auth) = schema.get_mut("properties").and_then(|p| p.get_mut("auth"))
        && let Some(properties) = auth.get_mut("properties").and_then(serde_json::Value::as_object_mut)
        && let Some(field) = properties.get_mut("methods").and_then(serde_json::Value::as_object_mut)
    {
        field.insert("default".into(), serde_json::json!(methods));
    }
}

/// Applies the `expect` of a probe whose only meaningful member is `rows`
/// (DESIGN §3) to the count its check read: documents in an index, tickets,
/// items in a bucket or mailbox folders. A member it has no meaning for is
/// an invalid config; a failed `rows` is "assertion failed".
pub fn expect_rows(
    expect: Option<&sonde_sdk::Expect>,
    source_type: &str,
    count: u64,
) -> Result<(), sonde_sdk::CheckError> {
    let Some(expect) = expect else { return Ok(()) };
    expect.only(source_type, &["rows"]).map_err(sonde_sdk::CheckError::InvalidConfig)?;
    expect.check_rows(count).map_err(Into::into)
}
