//! The `azure` probe: Blob Storage's List Blobs on a container, healthy when
//! the listing is allowed; with `expect`, the blobs listed under the path
//! are counted and the newest dated.
//!
//! It takes Unstructured's Azure source keys unchanged (`remote_url`,
//! `account_name`, `account_key`, `sas_token`, `connection_string`,
//! `recursive`, `authentication_method`). The credentials among them never
//! enter this probe: the schema root maps `account_key` to the host's
//! `azure_shared_key` auth and `sas_token` to a `query` auth, the host
//! removes them and signs (or appends the SAS to) each request bound for
//! the target.
//!
//! # The target
//!
//! Azure's endpoint is derived from the account, which a plain schema
//! default cannot express, so the target has two forms:
//! - `endpoint_url`, when given, is the target (`x-sonde-auth-target` on
//!   the property): Azurite's `http://127.0.0.1:10000/devstoreaccount1`, a
//!   sovereign cloud, a private endpoint;
//! - otherwise the root template `https://{/account_name}.blob.core.windows.net`.
//!
//! # SAS tokens
//!
//! A SAS token is a whole query string (`sv=...&sp=rl&sig=...`), not one
//! parameter: the mapping gives `query` auth a `value` and no `name`, which
//! the host appends to the request's query as it is (a leading `?`
//! dropped).
//!
//! # Connection strings
//!
//! A `connection_string` holds the account key (or a SAS) itself, so it is
//! mapped to the host like `account_key`: the host reads its `AccountKey`
//! (or `SharedAccessSignature`) and this probe never sees it. The target
//! still comes from `account_name` or `endpoint_url`, which must be given
//! beside it.

mod listing;

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::{Auth, CheckError, Endpoint, Expect, Healthy, Probe, Secret, Tls, api};

use crate::listing::{Listing, azure_failure};

/// Blobs listed at most for `expect` (List Blobs returns up to 5000; one
/// page of 1000 bounds the answer a check reads).
const MAX_SCAN: u32 = 1000;
/// The Blob service version asked for: old enough for Azurite and every
/// cloud, new enough for SAS tokens of today.
const API_VERSION: &str = "2020-10-02";

/// An Azure Blob Storage container (or a path in it) that must be listable.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "x-sonde-auth" = [
        {"kind": "azure_shared_key", "account": "/account_name", "key": "/account_key"},
        {"kind": "azure_shared_key", "account": "/account_name", "connection_string": "/connection_string"},
        {"kind": "query", "value": "/sas_token"}
    ],
    "x-sonde-auth-target" = "https://{/account_name}.blob.core.windows.net"
))]
struct Config {
    /// The container and an optional path: `az://container/path/`.
    #[schemars(regex(pattern = r"^(az|abfs|abfss)://[^/]+(/.*)?$"))]
    remote_url: String,
    /// The storage account; the endpoint is
    /// `https://<account_name>.blob.core.windows.net` unless `endpoint_url`
    /// says otherwise.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    account_name: Option<String>,
    /// The account key (SharedKey); kept by the host, never in this probe.
    #[allow(dead_code)] // In the schema for the host, which takes it.
    account_key: Option<Secret>,
    /// A SAS token (the whole query string); kept by the host.
    #[allow(dead_code)] // In the schema for the host, which takes it.
    sas_token: Option<Secret>,
    /// An Azure Storage connection string; kept by the host, which takes
    /// its `AccountKey` (or `SharedAccessSignature`). Give `account_name` or
    /// `endpoint_url` beside it.
    #[allow(dead_code)] // In the schema for the host, which takes it.
    connection_string: Option<Secret>,
    /// Unstructured's hint of which credential is given; the keys present
    /// decide.
    #[allow(dead_code)]
    authentication_method: Option<String>,
    /// The Blob endpoint, when not the account's public one; the only place
    /// credentials then go.
    #[schemars(length(min = 1), extend("x-sonde-auth-target" = true))]
    endpoint_url: Option<String>,
    /// Count blobs below virtual directories of the path too (no delimiter).
    #[serde(default = "yes")]
    recursive: bool,
    /// `rows` (blobs listed, up to `scan`) and `max_age` (of the newest).
    expect: Option<Expect>,
    /// Blobs listed at most for `expect`.
    #[serde(default = "default_scan")]
    #[schemars(range(min = 1, max = 1000))]
    scan: u32,
    /// The host's auth object (`azure_shared_key`, `query`, `oauth2`),
    /// instead of `account_key` or `sas_token`.
    auth: Option<Auth>,
    /// How the host verifies the `https` endpoint.
    #[serde(default)]
    #[allow(dead_code)]
    tls: Tls,
}

fn default_scan() -> u32 {
    MAX_SCAN
}

fn yes() -> bool {
    true
}

/// `az://container/path` as (container, path).
fn parse_remote_url(raw: &str) -> Result<(String, String), String> {
    let rest = ["az://", "abfs://", "abfss://"]
        .iter()
        .find_map(|s| raw.strip_prefix(s))
        .ok_or_else(|| format!("remote_url {raw:?} must start with az://"))?;
    let (container, path) = rest.split_once('/').unwrap_or((rest, ""));
    // abfs URLs may name the account after the container: container@account.dfs...
    let container = container.split('@').next().unwrap_or_default();
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '$';
    if container.len() < 3 || container.len() > 63 || !container.chars().all(valid) {
        return Err(format!("remote_url {raw:?} does not name a valid container (3-63 of a-z, 0-9, -)"));
    }
    Ok((container.to_string(), path.to_string()))
}

/// The Blob endpoint: `endpoint_url`, or the account's public one.
fn base_url(config: &Config) -> Result<String, String> {
    match (&config.endpoint_url, &config.account_name) {
        (Some(url), _) => {
            api::parse_url(url).map_err(|e| format!("endpoint_url: {e}"))?;
            Ok(url.trim_end_matches('/').to_string())
        }
        (None, Some(account)) => {
            let valid = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
            if account.is_empty() || !account.chars().all(valid) {
                return Err(format!("account_name {account:?} is not a storage account name"));
            }
            Ok(format!("https://{account}.blob.core.windows.net"))
        }
        (None, None) => Err("set account_name (or endpoint_url)".into()),
    }
}

fn list_url(config: &Config, base: &str, container: &str, path: &str, max: u32) -> String {
    let mut url = format!(
        "{base}/{}?restype=container&comp=list&maxresults={max}&prefix={}",
        api::escape(container),
        api::escape(path)
    );
    if !config.recursive {
        url.push_str("&delimiter=%2F");
    }
    url
}

fn validate(config: &Config) -> Result<(String, String, String), String> {
    let (container, path) = parse_remote_url(&config.remote_url)?;
    let base = base_url(config)?;
    if let Some(account) = config.auth.as_ref().and_then(|a| a.account.as_deref())
        && config.account_name.as_deref().is_some_and(|name| name != account)
    {
        return Err(format!(
            "auth.account {account:?} is not account_name: the key would sign for another account"
        ));
    }
    if let Some(expect) = &config.expect {
        expect.only("the azure probe", &["rows", "max_age"])?;
    }
    Ok((container, path, base))
}

struct Azure;

impl Probe for Azure {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "azure";
    const DESCRIPTION: &'static str = "An Azure Blob Storage container lists, signed by the host";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        Ok(vec![api::endpoint_of(&base_url(config)?)?])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let (container, path, base) = validate(&config).map_err(CheckError::InvalidConfig)?;
        let expect = config.expect.clone().unwrap_or_default();
        let max = if expect.needs_rows() { config.scan.clamp(1, MAX_SCAN) } else { 1 };
        let url = list_url(&config, &base, &container, &path, max);
        let resp = api::request("GET", &url, &[("x-ms-version", API_VERSION)], None)?;
        if resp.status != 200 {
            return Err(azure_failure(&resp));
        }
        let listing = Listing::parse(&resp.text())?;

        let healthy = Healthy::new()
            .items(listing.blobs)
            .detail("container", container)
            .detail("prefix", path)
            .detail("blob_count", listing.blobs);
        Ok(expect.check_listing(listing.blobs, listing.newest, listing.truncated, healthy)?)
    }
}

sonde_sdk::export_probe!(Azure);

#[cfg(test)]
mod tests;
