//! Reading S3's answers: a ListObjectsV2 `ListBucketResult`, and an
//! `<Error>` body mapped to the stable messages by its `<Code>` (the S3 API
//! reference's error codes), before falling back to the HTTP status.

use sonde_sdk::{CheckError, Problem, api, clock, messages, stage};

/// What a ListObjectsV2 page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `KeyCount`: objects and common prefixes returned.
    pub key_count: u64,
    /// `Contents` elements: the objects listed.
    pub objects: u64,
    /// The latest `LastModified` of the objects listed, as S3 wrote it.
    pub newest: Option<String>,
    /// `IsTruncated`: more objects than were listed.
    pub truncated: bool,
}

fn unexpected(detail: String) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
}

impl Listing {
    pub fn parse(xml: &str) -> Result<Listing, CheckError> {
        let doc = roxmltree::Document::parse(xml)
            .map_err(|e| unexpected(format!("the listing is not XML: {e}")))?;
        let root = doc.root_element();
        if root.tag_name().name() != "ListBucketResult" {
            return Err(unexpected(format!("expected a ListBucketResult, got <{}>", root.tag_name().name())));
        }
        let child = |name: &str| root.children().find(|n| n.has_tag_name(name)).and_then(|n| n.text());
        let mut objects = 0;
        let mut newest: Option<(i64, String)> = None;
        for contents in root.children().filter(|n| n.has_tag_name("Contents")) {
            objects += 1;
            let modified =
                contents.children().find(|n| n.has_tag_name("LastModified")).and_then(|n| n.text());
            if let Some(text) = modified
                && let Ok(at) = clock::parse_timestamp(text)
                && newest.as_ref().is_none_or(|(t, _)| at > *t)
            {
                newest = Some((at, text.to_string()));
            }
        }
        let key_count = match child("KeyCount") {
            Some(n) => n.trim().parse().map_err(|_| unexpected(format!("KeyCount {n:?} is not a number")))?,
            // Some S3-compatible stores leave KeyCount out; count instead.
            None => objects + root.children().filter(|n| n.has_tag_name("CommonPrefixes")).count() as u64,
        };
        let truncated = child("IsTruncated").is_some_and(|t| t.trim().eq_ignore_ascii_case("true"));
        Ok(Listing { key_count, objects, newest: newest.map(|(_, text)| text), truncated })
    }
}

/// The `<Code>` of an S3 `<Error>` body.
fn error_code(body: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(body).ok()?;
    let root = doc.root_element();
    root.has_tag_name("Error").then_some(())?;
    root.children().find(|n| n.has_tag_name("Code"))?.text().map(|t| t.trim().to_string())
}

/// The stable failure for an S3 error answer: by its error `<Code>`, else
/// by status ([`api::failure`], "bucket" as the noun).
pub fn s3_failure(resp: &api::Response, region: &str) -> CheckError {
    let text = resp.text();
    let code = error_code(&text);
    let detail = api::status_detail(resp);
    let staged = |message: &str, at: &str| -> CheckError {
        let mut p = Problem::staged(message, at, detail.clone()).with_member("status", resp.status);
        if let Some(code) = &code {
            p = p.with_member("code", code.as_str());
        }
        p.into()
    };
    match code.as_deref() {
        Some("NoSuchBucket") => staged(&messages::does_not_exist("bucket"), stage::RESOURCE),
        Some(
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired",
        ) => staged(messages::AUTHENTICATION_FAILED, stage::AUTH),
        Some("AuthorizationHeaderMalformed") => {
            let hint = api::xml_text(&text, "Region")
                .map(|r| format!(" (the bucket's region is {r}, not {region})"));
            let p = Problem::staged(
                messages::AUTHENTICATION_FAILED,
                stage::AUTH,
                format!("{detail}{}", hint.unwrap_or_default()),
            );
            CheckError::Unhealthy(
                p.with_member("status", resp.status).with_member("code", "AuthorizationHeaderMalformed"),
            )
        }
        Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem" | "InvalidObjectState") => {
            staged(messages::PERMISSION_DENIED, stage::PERMISSION)
        }
        Some("SlowDown" | "RequestLimitExceeded" | "TooManyRequests") => {
            match (staged(messages::RATE_LIMITED, stage::PERMISSION), api::retry_after(resp)) {
                (CheckError::Unhealthy(p), Some(after)) => p.with_member("retry_after", after).into(),
                (e, _) => e,
            }
        }
        Some("PermanentRedirect" | "IllegalLocationConstraintException") | None if resp.status == 301 => {
            let region = resp.header("x-amz-bucket-region").unwrap_or("another region");
            CheckError::invalid_config(format!(
                "the bucket is in {region}: set endpoint_url to https://s3.{region}.amazonaws.com and region to {region}"
            ))
        }
        _ => api::failure(resp, "bucket"),
    }
}

#[cfg(test)]
mod tests {
    use sonde_sdk::testing::unhealthy;

    use super::*;

    /// A ListObjectsV2 answer as the S3 API reference documents it.
    const LISTING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>docs/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>false</IsTruncated>
  <Contents><Key>docs/a.pdf</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"fba9dede5f27731c9771645a39863328"</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>docs/b.pdf</Key><LastModified>2010-01-01T00:00:00.000Z</LastModified>
    <Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>
</ListBucketResult>"#;

    fn error(status: u16, code: &str) -> api::Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>m {code}</Message>\
             <RequestId>4442587FB7D0A2F9</RequestId></Error>"
        );
        api::Response { status, headers: vec![], body: body.into_bytes() }
    }

    #[test]
    fn a_listing_counts_and_dates_its_objects() {
        let l = Listing::parse(LISTING).expect("parses");
        assert_eq!(
            l,
            Listing {
                key_count: 2,
                objects: 2,
                newest: Some("2010-01-01T00:00:00.000Z".into()),
                truncated: false
            }
        );
        let empty = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
            <KeyCount>0</KeyCount><IsTruncated>true</IsTruncated></ListBucketResult>"#;
        let l = Listing::parse(empty).expect("parses");
        assert_eq!((l.key_count, l.objects, l.newest, l.truncated), (0, 0, None, true));
    }

    #[test]
    fn what_is_not_a_listing_is_an_unexpected_protocol() {
        for body in ["", "<html>", "<Other/>", "<ListBucketResult><KeyCount>x</KeyCount></ListBucketResult>"]
        {
            let (m, extra) = unhealthy(Listing::parse(body).expect_err(body));
            assert_eq!(
                (m.as_str(), extra["stage"].as_str()),
                ("unexpected protocol", Some("protocol")),
                "{body}"
            );
        }
    }

    #[test]
    fn error_codes_map_to_the_stable_messages() {
        let cases = [
            (404, "NoSuchBucket", "bucket does not exist", "resource"),
            (403, "InvalidAccessKeyId", "authentication failed", "auth"),
            (403, "SignatureDoesNotMatch", "authentication failed", "auth"),
            (400, "ExpiredToken", "authentication failed", "auth"),
            (403, "AccessDenied", "permission denied", "permission"),
            (503, "SlowDown", "rate limited", "permission"),
            (500, "InternalError", "unexpected status", "protocol"),
            (401, "Whatever", "authentication failed", "auth"),
        ];
        for (status, code, message, at) in cases {
            let (m, extra) = unhealthy(s3_failure(&error(status, code), "us-east-1"));
            assert_eq!((m.as_str(), extra["stage"].as_str()), (message, Some(at)), "{code}");
            assert_eq!(extra["detail"], format!("HTTP {status}: m {code}"), "{code}");
        }
    }

    #[test]
    fn a_wrong_region_says_which_one() {
        let body = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is \
                    malformed</Message><Region>eu-west-1</Region></Error>";
        let resp = api::Response { status: 400, headers: vec![], body: body.as_bytes().to_vec() };
        let (_, extra) = unhealthy(s3_failure(&resp, "us-east-1"));
        assert!(extra["detail"].as_str().is_some_and(|d| d.contains("eu-west-1")), "{extra}");
        let moved = api::Response {
            status: 301,
            headers: vec![("x-amz-bucket-region".into(), "eu-central-1".into())],
            body: b"<Error><Code>PermanentRedirect</Code></Error>".to_vec(),
        };
        match s3_failure(&moved, "us-east-1") {
            CheckError::InvalidConfig(m) => {
                assert!(m.contains("https://s3.eu-central-1.amazonaws.com"), "{m}")
            }
            e => panic!("{e:?}"),
        }
    }
}
