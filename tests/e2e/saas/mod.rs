//! The SaaS probes end to end: each of the 17 built probes
//! (`plugins/<type>`), run by the real host with its credentials, against a
//! local HTTPS server that answers the vendor's documented requests and
//! responses ([`sonde_test_support::vendor::Vendor`]), with every token from
//! a real OAuth 2.0 authorization server
//! ([`sonde_test_support::oidc::OidcProvider`]).
//!
//! These are verified against the vendors' documentation only, never
//! against the live services (docs/probes-saas.md): the vendor server is not
//! the vendor, it answers what the API reference shows. What is real is the
//! host (policy, token step, TLS, where credentials go), the probe as built
//! for wasm32-wasip2, and the authorization server.
//!
//! The vendors' public names (`graph.microsoft.com`, `slack.com`,
//! `acme.zendesk.com`, …) are the targets, as an operator writes them or as
//! the probes' defaults give them; the runtime resolves them to a loopback
//! address of the test's own, where the vendor server listens on 443 with a
//! certificate for those names from a throwaway CA the runtime trusts.
//! Nothing leaves 127.0.0.0/8.
//!
//! # Layout
//! - [`vendor_cases`]: the table of documented request → response pairs and
//!   the outcome each must give, one table for every type (also run
//!   natively by each probe crate's unit tests, `sonde_saas::cases`).
//! - [`types`]: what each type adds to the table: the vendor's host name,
//!   where the target is set, the authorization server's setup, and the
//!   credentials in each documented form with what the vendor must receive.
//! - [`harness`]: runs a type's rows through the host and asserts the
//!   outcome, the requests the vendor recorded, the credential on each, and
//!   that no secret shows in the report.
//!
//! One test per type, so each runs in its own process and reports alone.

mod harness;
mod types;
pub mod vendor_cases;

macro_rules! conformance {
    ($($source_type:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $source_type() {
            harness::conform(stringify!($source_type)).await;
        }
    )*};
}

conformance!(
    gcs,
    google_drive,
    sharepoint,
    onedrive,
    outlook,
    confluence,
    jira,
    salesforce,
    slack,
    zendesk,
    r#box,
    dropbox,
    databricks_volumes,
    snowflake,
    couchbase,
    elasticsearch,
    opensearch,
);
