//! The probe against scripted loopback servers, for what Exim cannot be
//! made to do in the e2e tests: no EHLO, a multi-line greeting, a server
//! that offers only mechanisms the probe does not speak.

use serde_json::json;
use sonde_sdk::testing::{self, unhealthy};

use crate::Smtp;

#[test]
fn helo_when_ehlo_is_unknown() {
    let (port, rx) = testing::serve_lines(
        "220-old.example first line\r\n220 old.example ready\r\n",
        &["502 5.5.2 Error: command not recognized\r\n", "250 old.example\r\n", "221 bye\r\n"],
    );
    let report = testing::check::<Smtp>(json!({"host": "127.0.0.1", "port": port})).expect("healthy");
    assert_eq!(report.details["esmtp"], false);
    assert_eq!(report.details["server_name"], "old.example");
    assert_eq!(report.details["greeting"], "old.example first line");
    assert_eq!(report.details["extensions"], json!([]));
    let sent: Vec<String> = rx.iter().collect();
    assert_eq!(sent, ["EHLO sonde-probe.invalid", "HELO sonde-probe.invalid", "QUIT"]);
}

#[test]
fn greeting_refusal_is_the_servers_words() {
    let (port, _rx) = testing::serve_lines("554 5.3.2 No SMTP service here\r\n", &[]);
    let e = testing::check::<Smtp>(json!({"host": "127.0.0.1", "port": port})).expect_err("refused");
    let (message, extra) = unhealthy(e);
    assert_eq!(message, "service not available");
    assert_eq!(extra["detail"], "greeting: 554 5.3.2 No SMTP service here");
}

#[test]
fn auth_login_refused_shows_no_credentials() {
    let (port, rx) = testing::serve_lines(
        "220 mx ready\r\n",
        &["250-mx\r\n250 AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "535 5.7.8 no\r\n"],
    );
    let config = json!({"host": "127.0.0.1", "port": port, "user": "ada", "password": "s3cret-pw"});
    let e = testing::check::<Smtp>(config).expect_err("refused");
    let shown = format!("{e:?}");
    let (message, extra) = unhealthy(e);
    assert_eq!((message.as_str(), &extra["detail"]), ("authentication failed", &json!("AUTH: 535 5.7.8 no")));
    let sent: Vec<String> = rx.iter().collect();
    assert_eq!(sent, ["EHLO sonde-probe.invalid", "AUTH LOGIN", "YWRh", "czNjcmV0LXB3"]);
    assert!(!shown.contains("czNjcmV0") && !shown.contains("s3cret"), "{shown}");
}

#[test]
fn no_mechanism_in_common() {
    let (port, _rx) = testing::serve_lines("220 mx\r\n", &["250-mx\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n"]);
    let config = json!({"host": "127.0.0.1", "port": port, "user": "ada", "password": "pw"});
    let (message, extra) = unhealthy(testing::check::<Smtp>(config).expect_err("refused"));
    assert_eq!(message, "authentication failed");
    assert!(extra["detail"].as_str().is_some_and(|d| d.contains("CRAM-MD5 XOAUTH2")), "{extra}");
}

#[test]
fn garbage_after_a_good_greeting() {
    let (port, _rx) = testing::serve_lines("220 mx\r\n", &["+OK POP3 server ready\r\n"]);
    let (message, _) =
        unhealthy(testing::check::<Smtp>(json!({"host": "127.0.0.1", "port": port})).expect_err("bad"));
    assert_eq!(message, "unexpected protocol");
}
