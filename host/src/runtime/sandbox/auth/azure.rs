//! The Azure Storage SharedKey signature on one request
//! (`azure_shared_key`), as Microsoft's "Authorize with Shared Key"
//! reference defines it for version 2015-02-21 and later.
//!
//! The host sets `x-ms-date` (and `x-ms-version` when the guest sent none),
//! then signs; the guest's own `Authorization` is replaced.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::sigv4::hmac_sha256;

/// A Storage version Azurite and Azure both accept, for a guest that names
/// none.
const DEFAULT_VERSION: &str = "2021-08-06";

/// Why a request cannot be signed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("auth: `key` is not the base64 account key Azure shows")]
pub struct BadKey;

/// Adds `x-ms-date`, `x-ms-version` (if missing) and `authorization` to
/// `headers` (names lower case).
pub fn sign(
    account: &str,
    key: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &mut Vec<(String, String)>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), BadKey> {
    let key = STANDARD.decode(key.trim()).map_err(|_| BadKey)?;
    headers.retain(|(n, _)| n != "authorization" && n != "x-ms-date");
    headers.push(("x-ms-date".into(), now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()));
    if !headers.iter().any(|(n, _)| n == "x-ms-version") {
        headers.push(("x-ms-version".into(), DEFAULT_VERSION.into()));
    }
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
    // Since 2015-02-21 a zero length is signed as empty.
    let length = match get("content-length") {
        "0" => "",
        other => other,
    };
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.starts_with("x-ms-"))
        .map(|(n, v)| (n.clone(), v.trim().to_string()))
        .collect();
    ms.sort();
    let canonical_headers: String = ms.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let to_sign = format!(
        "{method}\n{}\n{}\n{length}\n{}\n{}\n\n{}\n{}\n{}\n{}\n{}\n{canonical_headers}{}",
        get("content-encoding"),
        get("content-language"),
        get("content-md5"),
        get("content-type"),
        get("if-modified-since"),
        get("if-match"),
        get("if-none-match"),
        get("if-unmodified-since"),
        get("range"),
        canonical_resource(account, path, query.unwrap_or("")),
    );
    let signature = STANDARD.encode(hmac_sha256(&key, to_sign.as_bytes()));
    headers.push(("authorization".into(), format!("SharedKey {account}:{signature}")));
    Ok(())
}

/// `/account/path`, then each query parameter, lower-cased and sorted, as
/// `\nname:v1,v2`.
fn canonical_resource(account: &str, path: &str, query: &str) -> String {
    let mut params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            (d(k).to_ascii_lowercase(), d(v))
        })
        .collect();
    params.sort();
    let mut out = format!("/{account}{path}");
    let mut i = 0;
    while i < params.len() {
        let name = params[i].0.clone();
        let values: Vec<&str> =
            params[i..].iter().take_while(|(n, _)| *n == name).map(|(_, v)| v.as_str()).collect();
        i += values.len();
        out.push_str(&format!("\n{name}:{}", values.join(",")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_resource_is_microsofts() {
        // Microsoft's example: "GET https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata".
        assert_eq!(
            canonical_resource("myaccount", "/mycontainer", "restype=container&comp=metadata"),
            "/myaccount/mycontainer\ncomp:metadata\nrestype:container"
        );
        // And a parameter given twice, and encoded values.
        assert_eq!(
            canonical_resource("a", "/c", "comp=list&include=snapshots&include=metadata&prefix=a%20b"),
            "/a/c\ncomp:list\ninclude:metadata,snapshots\nprefix:a b"
        );
    }

    #[test]
    fn a_signature_replaces_the_guests_and_a_bad_key_is_refused() {
        let mut headers = vec![("authorization".to_string(), "guest".to_string())];
        sign("acct", "a2V5", "GET", "/c", Some("restype=container"), &mut headers, chrono::Utc::now())
            .expect("signed");
        let auth: Vec<&str> =
            headers.iter().filter(|(n, _)| n == "authorization").map(|(_, v)| v.as_str()).collect();
        assert_eq!(auth.len(), 1);
        assert!(auth[0].starts_with("SharedKey acct:"), "{auth:?}");
        assert!(headers.iter().any(|(n, _)| n == "x-ms-version"));
        assert_eq!(
            sign("a", "not base64!", "GET", "/", None, &mut Vec::new(), chrono::Utc::now()),
            Err(BadKey)
        );
    }
}
