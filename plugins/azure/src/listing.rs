//! Reading Blob Storage's answers: a List Blobs `EnumerationResults`, and an
//! error mapped to the stable messages by its error code (the
//! `x-ms-error-code` header, else the `<Code>` of the body), as the Blob
//! service REST reference lists them, before falling back to the status.

use sonde_sdk::{CheckError, Problem, api, clock, messages, stage};

/// What a List Blobs page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `Blob` elements: the blobs listed.
    pub blobs: u64,
    /// The latest `Last-Modified` of the blobs listed, as Azure wrote it.
    pub newest: Option<String>,
    /// A non-empty `NextMarker`: more blobs than were listed.
    pub truncated: bool,
}

fn unexpected(detail: String) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
}

impl Listing {
    pub fn parse(xml: &str) -> Result<Listing, CheckError> {
        // Azure prefixes its XML with a byte-order mark.
        let xml = xml.trim_start_matches('\u{feff}');
        let doc = roxmltree::Document::parse(xml)
            .map_err(|e| unexpected(format!("the listing is not XML: {e}")))?;
        let root = doc.root_element();
        if !root.has_tag_name("EnumerationResults") {
            return Err(unexpected(format!("expected EnumerationResults, got <{}>", root.tag_name().name())));
        }
        let mut blobs = 0;
        let mut newest: Option<(i64, String)> = None;
        let list = root.children().find(|n| n.has_tag_name("Blobs"));
        for blob in list.iter().flat_map(|l| l.children()).filter(|n| n.has_tag_name("Blob")) {
            blobs += 1;
            let modified = blob
                .children()
                .find(|n| n.has_tag_name("Properties"))
                .and_then(|p| p.children().find(|n| n.has_tag_name("Last-Modified")))
                .and_then(|n| n.text());
            if let Some(text) = modified
                && let Ok(at) = clock::parse_timestamp(text)
                && newest.as_ref().is_none_or(|(t, _)| at > *t)
            {
                newest = Some((at, text.to_string()));
            }
        }
        let truncated = root
            .children()
            .find(|n| n.has_tag_name("NextMarker"))
            .and_then(|n| n.text())
            .is_some_and(|t| !t.trim().is_empty());
        Ok(Listing { blobs, newest: newest.map(|(_, text)| text), truncated })
    }
}

/// The error code of an answer: `x-ms-error-code`, else the body's `<Code>`.
fn error_code(resp: &api::Response) -> Option<String> {
    if let Some(code) = resp.header("x-ms-error-code") {
        return Some(code.trim().to_string());
    }
    let text = resp.text();
    let doc = roxmltree::Document::parse(text.trim_start_matches('\u{feff}')).ok()?;
    let root = doc.root_element();
    root.has_tag_name("Error").then_some(())?;
    root.children().find(|n| n.has_tag_name("Code"))?.text().map(|t| t.trim().to_string())
}

/// The stable failure for a Blob service error answer.
pub fn azure_failure(resp: &api::Response) -> CheckError {
    let code = error_code(resp);
    let staged = |message: &str, at: &str| -> Problem {
        let mut p = Problem::staged(message, at, api::status_detail(resp)).with_member("status", resp.status);
        if let Some(code) = &code {
            p = p.with_member("code", code.as_str());
        }
        p
    };
    let problem = match code.as_deref() {
        Some("ContainerNotFound") => staged(&messages::does_not_exist("container"), stage::RESOURCE),
        Some("AuthenticationFailed" | "InvalidAuthenticationInfo" | "NoAuthenticationInformation") => {
            staged(messages::AUTHENTICATION_FAILED, stage::AUTH)
        }
        Some(
            "AuthorizationPermissionMismatch"
            | "AuthorizationFailure"
            | "AuthorizationResourceTypeMismatch"
            | "AuthorizationServiceMismatch"
            | "AuthorizationSourceIPMismatch"
            | "AuthorizationProtocolMismatch"
            | "InsufficientAccountPermissions"
            | "AccountIsDisabled"
            | "PublicAccessNotPermitted",
        ) => staged(messages::PERMISSION_DENIED, stage::PERMISSION),
        Some("ServerBusy" | "TooManyRequests") => {
            let p = staged(messages::RATE_LIMITED, stage::PERMISSION);
            match api::retry_after(resp) {
                Some(after) => p.with_member("retry_after", after),
                None => p,
            }
        }
        Some("ResourceNotFound") if resp.status == 404 => {
            staged(&messages::does_not_exist("container"), stage::RESOURCE)
        }
        _ => return api::failure(resp, "container"),
    };
    problem.into()
}

#[cfg(test)]
mod tests {
    use sonde_sdk::testing::unhealthy;

    use super::*;

    /// A List Blobs answer as the Blob service REST reference documents it
    /// (with the byte-order mark Azure sends).
    const LISTING: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<EnumerationResults ServiceEndpoint=\"https://acct.blob.core.windows.net/\" ContainerName=\"docs\">\
<Prefix>in/</Prefix><MaxResults>1000</MaxResults><Blobs>\
<Blob><Name>in/a.pdf</Name><Properties><Creation-Time>Mon, 12 Oct 2009 17:50:30 GMT</Creation-Time>\
<Last-Modified>Mon, 12 Oct 2009 17:50:30 GMT</Last-Modified><Etag>0x8CBFF45D8A29A19</Etag>\
<Content-Length>100</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>\
<Blob><Name>in/b.pdf</Name><Properties><Last-Modified>Fri, 01 Jan 2010 00:00:00 GMT</Last-Modified></Properties></Blob>\
<BlobPrefix><Name>in/sub/</Name></BlobPrefix>\
</Blobs><NextMarker /></EnumerationResults>";

    fn answer(status: u16, header_code: Option<&str>, body: &str) -> api::Response {
        let headers =
            header_code.map(|c| vec![("x-ms-error-code".to_string(), c.to_string())]).unwrap_or_default();
        api::Response { status, headers, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn a_listing_counts_and_dates_its_blobs() {
        let l = Listing::parse(LISTING).expect("parses");
        assert_eq!(
            l,
            Listing { blobs: 2, newest: Some("Fri, 01 Jan 2010 00:00:00 GMT".into()), truncated: false }
        );
        let more = "<EnumerationResults><Blobs/><NextMarker>2!72!MDAwMDE</NextMarker></EnumerationResults>";
        assert_eq!(Listing::parse(more).ok(), Some(Listing { blobs: 0, newest: None, truncated: true }));
        for bad in ["", "{}", "<Error/>"] {
            let (m, _) = unhealthy(Listing::parse(bad).expect_err(bad));
            assert_eq!(m, "unexpected protocol");
        }
    }

    #[test]
    fn error_codes_map_to_the_stable_messages() {
        let body = |code: &str| {
            format!(
                "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code>\
                 <Message>m {code}\nRequestId:1\nTime:2026-01-01T00:00:00Z</Message></Error>"
            )
        };
        let cases = [
            (404, "ContainerNotFound", "container does not exist", "resource"),
            (403, "AuthenticationFailed", "authentication failed", "auth"),
            (403, "AuthorizationPermissionMismatch", "permission denied", "permission"),
            (403, "AuthorizationFailure", "permission denied", "permission"),
            (503, "ServerBusy", "rate limited", "permission"),
            (400, "InvalidQueryParameterValue", "unexpected status", "protocol"),
        ];
        for (status, code, message, at) in cases {
            for header in [Some(code), None] {
                let (m, extra) = unhealthy(azure_failure(&answer(status, header, &body(code))));
                assert_eq!((m.as_str(), extra["stage"].as_str()), (message, Some(at)), "{code} {header:?}");
                assert_eq!(
                    extra["detail"],
                    format!("HTTP {status}: m {code} RequestId:1 Time:2026-01-01T00:00:00Z")
                );
            }
        }
        // A HEAD-style answer: the code only in its header.
        let (m, _) = unhealthy(azure_failure(&answer(404, Some("ContainerNotFound"), "")));
        assert_eq!(m, "container does not exist");
    }
}
