//! The `s3` probe: ListObjectsV2 on a bucket (AWS S3 or any S3-compatible
//! store), healthy when the listing is allowed; with `expect`, the objects
//! listed under `prefix` are counted and the newest dated.
//!
//! It takes Unstructured's S3 source keys unchanged (`remote_url`, `key`,
//! `secret`, `token`, `anonymous`, `endpoint_url`, `recursive`). The
//! credentials among them never enter this probe: the schema root maps them
//! to the host's `aws_sigv4` auth, the host removes them from the config and
//! signs each request bound for `endpoint_url` (the auth target).
//!
//! Requests are always path-style (`<endpoint_url>/<bucket>?list-type=2`),
//! whatever `path_style` says: a virtual-hosted request would go to
//! `<bucket>.<endpoint host>`, which is not the target, so the host would
//! neither sign it nor let it out while credentials are present. Every
//! S3-compatible store and AWS itself answer path-style requests.

mod listing;

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls, api};

use crate::listing::{Listing, s3_failure};

/// Objects listed at most for `expect` (ListObjectsV2 returns up to 1000).
const MAX_SCAN: u32 = 1000;

/// An S3 bucket (or a prefix in it) that must be listable.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-sonde-auth" = {
    "kind": "aws_sigv4",
    "access_key_id": "/key",
    "secret_access_key": "/secret",
    "session_token": "/token",
    "region": "/region",
    "service": "s3"
}))]
struct Config {
    /// The bucket and an optional prefix: `s3://bucket/prefix/`.
    #[schemars(regex(pattern = r"^s3://[^/]+(/.*)?$"))]
    remote_url: String,
    /// The AWS access key id (Unstructured's `key`); signed with by the host.
    key: Option<String>,
    /// The AWS secret access key; kept by the host, never in this probe.
    #[allow(dead_code)] // In the schema for the host, which takes it.
    secret: Option<Secret>,
    /// An STS session token, for temporary credentials; kept by the host.
    #[allow(dead_code)] // In the schema for the host, which takes it.
    token: Option<Secret>,
    /// No credentials: the bucket is public. Leave `key` and `secret` out.
    #[serde(default)]
    anonymous: bool,
    /// The S3 endpoint, and the only place credentials go. AWS outside
    /// us-east-1: `https://s3.<region>.amazonaws.com`; MinIO, SeaweedFS,
    /// Ceph: their URL (`http://` only on loopback when signed).
    #[serde(default = "default_endpoint")]
    #[schemars(length(min = 1), extend("x-sonde-auth-target" = true))]
    endpoint_url: String,
    /// The region signed for (SigV4).
    #[serde(default = "default_region")]
    #[schemars(length(min = 1))]
    region: String,
    /// Accepted for compatibility; requests are always path-style, so that
    /// they go to `endpoint_url` itself (see the crate's doc).
    #[serde(default = "yes")]
    #[allow(dead_code)]
    path_style: bool,
    /// Count objects below sub-"folders" of the prefix too (no delimiter).
    #[serde(default = "yes")]
    recursive: bool,
    /// `rows` (objects listed, up to `scan`) and `max_age` (of the newest).
    expect: Option<Expect>,
    /// Objects listed at most for `expect`.
    #[serde(default = "default_scan")]
    #[schemars(range(min = 1, max = 1000))]
    scan: u32,
    /// The host's auth object (`kind: aws_sigv4`), instead of `key`/`secret`.
    auth: Option<Auth>,
    /// How the host verifies an `https` endpoint.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_endpoint() -> String {
    "https://s3.amazonaws.com".into()
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_scan() -> u32 {
    MAX_SCAN
}

fn yes() -> bool {
    true
}

/// `s3://bucket/prefix` as (bucket, prefix).
fn parse_remote_url(raw: &str) -> Result<(String, String), String> {
    let rest =
        raw.strip_prefix("s3://").ok_or_else(|| format!("remote_url {raw:?} must start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c) || c.is_ascii_uppercase();
    if bucket.is_empty() || bucket.len() > 255 || !bucket.chars().all(valid) {
        return Err(format!("remote_url {raw:?} does not name a valid bucket"));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// The ListObjectsV2 URL, path-style under `endpoint_url`.
fn list_url(config: &Config, bucket: &str, prefix: &str, max_keys: u32) -> String {
    let base = config.endpoint_url.trim_end_matches('/');
    let mut url = format!(
        "{base}/{}?list-type=2&max-keys={max_keys}&prefix={}",
        api::escape(bucket),
        api::escape(prefix)
    );
    if !config.recursive {
        url.push_str("&delimiter=%2F");
    }
    url
}

fn validate(config: &Config) -> Result<(String, String), String> {
    let (bucket, prefix) = parse_remote_url(&config.remote_url)?;
    api::parse_url(&config.endpoint_url).map_err(|e| format!("endpoint_url: {e}"))?;
    if config.auth.is_some() && config.key.is_some() {
        return Err("set either auth or key/secret/token, not both".into());
    }
    if config.anonymous && (config.key.is_some() || config.auth.is_some()) {
        return Err("anonymous is set together with credentials: leave one out".into());
    }
    if let Some(expect) = &config.expect {
        expect.only("the s3 probe", &["rows", "max_age"])?;
    }
    Ok((bucket, prefix))
}

struct S3;

impl Probe for S3 {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "s3";
    const DESCRIPTION: &'static str = "An S3 bucket lists (AWS or S3-compatible), signed by the host";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![api::endpoint_of(&config.endpoint_url).map_err(|e| format!("endpoint_url: {e}"))?])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let (bucket, prefix) = validate(&config).map_err(CheckError::InvalidConfig)?;
        let expect = config.expect.clone().unwrap_or_default();
        let max_keys = if expect.needs_rows() { config.scan.clamp(1, MAX_SCAN) } else { 1 };
        let resp = api::get(&list_url(&config, &bucket, &prefix, max_keys))?;
        if resp.status != 200 {
            return Err(s3_failure(&resp, &config.region));
        }
        let listing = Listing::parse(&resp.text())?;

        let healthy = Healthy::new()
            .items(listing.key_count)
            .detail("bucket", bucket)
            .detail("prefix", prefix)
            .detail("key_count", listing.key_count);
        Ok(expect.check_listing(listing.objects, listing.newest, listing.truncated, healthy)?)
    }
}

sonde_sdk::export_probe!(S3);

#[cfg(test)]
mod tests;
