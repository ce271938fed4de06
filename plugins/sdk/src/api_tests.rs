//! Unit tests of [`super`]: the failure mapping, error excerpts, URLs, and
//! the native transport against a one-shot server on loopback.

use std::net::TcpListener;

use serde_json::{Value, json};

use super::*;

fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response {
        status,
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn problem(e: CheckError) -> (String, Value) {
    match e {
        CheckError::Unhealthy(p) => {
            let m = p.members().map(Value::Object).unwrap_or(Value::Null);
            (p.message, m)
        }
        CheckError::InvalidConfig(m) => panic!("invalid config: {m}"),
    }
}

#[test]
fn statuses_map_to_the_stable_messages_and_stages() {
    let cases = [
        (401, "authentication failed", "auth"),
        (403, "permission denied", "permission"),
        (404, "bucket does not exist", "resource"),
        (429, "rate limited", "permission"),
        (500, "unexpected status", "protocol"),
    ];
    for (status, message, at) in cases {
        let (m, extra) = problem(failure(&resp(status, &[], ""), "bucket"));
        assert_eq!((m.as_str(), extra["stage"].as_str()), (message, Some(at)), "{status}");
        assert_eq!(
            (extra["status"].clone(), extra["detail"].clone()),
            (json!(status), json!(format!("HTTP {status}")))
        );
    }
}

#[test]
fn retry_after_as_seconds() {
    let (_, extra) = problem(failure(&resp(429, &[("retry-after", "30")], ""), "x"));
    assert_eq!(extra["retry_after"], 30);
    let (_, extra) =
        problem(failure(&resp(429, &[("Retry-After", "Mon, 12 Oct 2009 17:50:30 GMT")], ""), "x"));
    assert_eq!(extra["retry_after"], 0, "a date in the past is no wait");
    let (_, extra) = problem(failure(&resp(429, &[], ""), "x"));
    assert!(extra.get("retry_after").is_none());
}

#[test]
fn the_detail_holds_a_short_excerpt_of_the_error_message() {
    let bodies = [
        (
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
            "Client authentication failed",
        ),
        (
            r#"{"error":{"code":401,"message":"Request had invalid credentials."}}"#,
            "Request had invalid credentials.",
        ),
        (r#"{"errors":[{"message":"Bad credentials"}]}"#, "Bad credentials"),
        (r#"{"ok":false,"error":"invalid_auth"}"#, "invalid_auth"),
        (
            "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            "Access Denied",
        ),
        ("<Error><Code>NoSuchBucket</Code></Error>", "NoSuchBucket"),
        ("upstream unavailable\nmore lines", "upstream unavailable"),
    ];
    for (body, want) in bodies {
        let (_, extra) = problem(failure(&resp(401, &[], body), "x"));
        assert_eq!(extra["detail"], format!("HTTP 401: {want}"), "{body}");
    }
    let long = format!(r#"{{"message":"{}"}}"#, "a".repeat(5000));
    let detail = status_detail(&resp(500, &[], &long));
    assert!(detail.chars().count() < 220, "{detail}");
    assert_eq!(error_message(b"<html><body>nope</body></html>"), None);
    assert_eq!(error_message(b"  "), None);
}

#[test]
fn json_bodies_and_the_rest() {
    assert_eq!(resp(200, &[], r#"{"a":1}"#).json().ok(), Some(json!({"a": 1})));
    let (m, extra) = problem(resp(200, &[], "<html>").json().expect_err("not JSON"));
    assert_eq!((m.as_str(), extra["stage"].as_str()), ("unexpected protocol", Some("protocol")));
    let r = resp(200, &[("Content-Type", "text/plain")], "hi");
    assert_eq!((r.header("content-type"), r.header("x"), r.is_success()), (Some("text/plain"), None, true));
}

#[test]
fn urls_endpoints_and_methods() {
    assert_eq!(endpoint_of("https://s3.amazonaws.com/bucket"), Ok(Endpoint::new("s3.amazonaws.com", 443)));
    assert_eq!(endpoint_of("http://[::1]:9000/x"), Ok(Endpoint::new("::1", 9000)));
    assert_eq!(endpoint_of("http://127.0.0.1/"), Ok(Endpoint::new("127.0.0.1", 80)));
    assert!(endpoint_of("ftp://example.com/").is_err());
    assert!(endpoint_of("https://user:pw@example.com/").is_err());
    assert!(endpoint_of("not a url").is_err());
    assert_eq!(check_method("get"), Ok("GET".into()));
    assert_eq!(escape("a b/c+d~é"), "a%20b%2Fc%2Bd~%C3%A9");
    assert!(check_method("CONNECT").is_err() && check_method("GE T").is_err() && check_method("").is_err());
}

fn one_shot(answer: &str) -> (String, std::sync::mpsc::Receiver<String>) {
    crate::testing::serve_http(vec![answer.to_string()])
}

#[test]
fn natively_a_request_goes_out_and_its_answer_comes_back() {
    let (url, seen) = one_shot(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
    );
    let r =
        request("post", &format!("{url}/api?x=1"), &[("X-Probe", "yes")], Some(b"hello")).expect("answer");
    assert_eq!((r.status, r.json().ok()), (200, Some(json!({"ok": true}))));
    let seen = seen.recv().expect("request");
    assert!(seen.starts_with("POST /api?x=1 HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("X-Probe: yes\r\n") && seen.ends_with("\r\n\r\nhello"), "{seen}");
}

#[test]
fn natively_a_json_post() {
    let (url, seen) = one_shot("HTTP/1.1 204 No Content\r\n\r\n");
    let r = post_json(&format!("{url}/q"), &json!({"a": [1]})).expect("answer");
    assert_eq!((r.status, r.body.len()), (204, 0));
    let seen = seen.recv().expect("request");
    assert!(seen.contains("content-type: application/json\r\n") && seen.ends_with("{\"a\":[1]}"), "{seen}");
}

#[test]
fn natively_chunked_and_interim_answers() {
    let (url, _seen) = one_shot(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n\
         7\r\n{\"messa\r\n10\r\nge\":\"no space\"}\r\n0\r\n\r\n",
    );
    let r = get(&format!("{url}/")).expect("answer");
    let (m, extra) = problem(failure(&r, "space"));
    assert_eq!((m.as_str(), extra["detail"].as_str()), ("space does not exist", Some("HTTP 404: no space")));
}

#[test]
fn natively_refused_https_and_forbidden_headers() {
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (m, extra) = problem(get(&format!("http://127.0.0.1:{port}/")).expect_err("closed"));
    assert_eq!((m.as_str(), extra["stage"].as_str()), ("connection refused", Some("connect")));
    let (m, _) = problem(get("https://127.0.0.1:1/").expect_err("no TLS natively"));
    assert_eq!(m, "tls handshake failed");
    let e = request("GET", &format!("http://127.0.0.1:{port}/"), &[("Host", "x")], None);
    assert!(matches!(e, Err(CheckError::InvalidConfig(_))));
    assert!(matches!(get("ftp://x/"), Err(CheckError::InvalidConfig(_))));
}
