//! AWS Signature Version 4 on one request (`aws_sigv4`).
//!
//! Written here over `ring` (already the host's TLS provider) rather than
//! with `aws-sigv4`, which brings the Smithy runtime along for one
//! function. It follows AWS's published algorithm and is checked against
//! AWS's own worked example (the tests).
//!
//! Signed: `host`, every `x-amz-*` header, and `content-type`, `content-md5`
//! and `range` when present. S3 gets `UNSIGNED-PAYLOAD`, as its SDKs send;
//! other services the body's SHA-256, which the caller computes.

use ring::{digest, hmac};

/// What signs.
pub struct Credentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
}

/// The payload hash S3 accepts without reading the body first.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The hex SHA-256 of `body`.
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, body))
}

/// Adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` and
/// `authorization` to `headers` (names lower case), for a request of
/// `method` to `path` (as sent, percent-encoded) and `query` (raw).
pub fn sign(
    creds: &Credentials<'_>,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &mut Vec<(String, String)>,
    payload: &str,
    now: chrono::DateTime<chrono::Utc>,
) {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    headers.retain(|(n, _)| n != "authorization" && !n.starts_with("x-amz-"));
    headers.push(("x-amz-date".into(), amz_date.clone()));
    headers.push(("x-amz-content-sha256".into(), payload.into()));
    if let Some(token) = creds.session_token {
        headers.push(("x-amz-security-token".into(), token.into()));
    }

    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| {
            n == "host"
                || n.starts_with("x-amz-")
                || matches!(n.as_str(), "content-type" | "content-md5" | "range")
        })
        .map(|(n, v)| (n.clone(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    signed.sort();
    let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    let signed_headers = names.join(";");
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();

    // S3 signs the path as sent; other services encode it once more.
    let canonical_path = if creds.service == "s3" {
        encode(&decode(path), false)
    } else {
        encode(encode(&decode(path), false).as_bytes(), false)
    };
    let canonical_request = format!(
        "{method}\n{canonical_path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload}",
        canonical_query(query.unwrap_or(""))
    );
    let scope = format!("{date}/{}/{}/aws4_request", creds.region, creds.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(digest::digest(&digest::SHA256, canonical_request.as_bytes()))
    );
    let mut key = hmac_sha256(format!("AWS4{}", creds.secret_access_key).as_bytes(), date.as_bytes());
    for part in [creds.region, creds.service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac_sha256(&key, to_sign.as_bytes()));
    headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
}

pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// The query with each name and value encoded AWS's way, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k), true), encode(&decode(v), true))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Percent-decodes `text` (`+` stays `+`, as AWS reads it).
fn decode(text: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(text).collect()
}

/// AWS's URI encoding: everything but `A-Za-z0-9-_.~` (and `/` unless
/// `slash`) as `%XX`, upper case.
fn encode(bytes: &[u8], slash: bool) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (b == b'/' && !slash) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// AWS's worked example "GET Object" (Amazon S3 API reference,
    /// "Signature Calculations for the Authorization Header: Transferring
    /// Payload in a Single Chunk"), with its published signature.
    #[test]
    fn aws_documented_get_object_example() {
        let creds = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            service: "s3",
        };
        let mut headers = vec![
            ("host".to_string(), "examplebucket.s3.amazonaws.com".to_string()),
            ("range".into(), "bytes=0-9".into()),
        ];
        let now = chrono::Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).single().expect("date");
        sign(&creds, "GET", "/test.txt", None, &mut headers, &payload_hash(b""), now);
        let auth = headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.as_str());
        assert_eq!(
            auth,
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
                 Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            )
        );
    }

    /// The same page's "GET Bucket (List Objects)" example.
    #[test]
    fn aws_documented_list_objects_example() {
        let creds = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            service: "s3",
        };
        let mut headers = vec![("host".to_string(), "examplebucket.s3.amazonaws.com".to_string())];
        let now = chrono::Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).single().expect("date");
        sign(&creds, "GET", "/", Some("max-keys=2&prefix=J"), &mut headers, &payload_hash(b""), now);
        let auth =
            headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone()).unwrap_or_default();
        assert!(
            auth.ends_with("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            "{auth}"
        );
    }

    #[test]
    fn a_guests_own_amz_headers_are_replaced() {
        let creds = Credentials {
            access_key_id: "A",
            secret_access_key: "S",
            session_token: Some("T"),
            region: "r",
            service: "s3",
        };
        let mut headers = vec![
            ("host".to_string(), "h".to_string()),
            ("authorization".into(), "guest".into()),
            ("x-amz-security-token".into(), "guest".into()),
        ];
        sign(&creds, "GET", "/", None, &mut headers, UNSIGNED_PAYLOAD, chrono::Utc::now());
        assert!(headers.iter().all(|(_, v)| v != "guest"), "{headers:?}");
        assert_eq!(headers.iter().filter(|(n, _)| n == "authorization").count(), 1);
    }
}
