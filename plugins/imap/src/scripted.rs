//! The probe against scripted loopback servers, for what Dovecot is not
//! made to do in the e2e tests: PREAUTH and BYE greetings, literals in the
//! server's responses, a `[NOPERM]` refusal, a reply to the wrong tag.

use serde_json::json;
use sonde_sdk::testing::{self, unhealthy};

use crate::Imap;

#[test]
fn preauth_needs_no_login_and_literals_are_read_through() {
    let (port, rx) = testing::serve_lines(
        "* PREAUTH [CAPABILITY IMAP4rev1] logged in as ada\r\n",
        &[
            // A literal in an untagged response holds a CRLF and a fake tag.
            "* LIST () \"/\" {12}\r\na1 NO fake\r\n\r\n* 5 EXISTS\r\na1 OK [READ-ONLY] done\r\n",
            "* BYE logging out\r\na2 OK bye\r\n",
        ],
    );
    let report =
        testing::check::<Imap>(json!({"host": "127.0.0.1", "port": port, "mailbox": "Archiv/Entwürfe"}))
            .expect("healthy");
    assert_eq!(report.items, Some(5));
    assert_eq!(report.details["preauth"], true);
    let sent: Vec<String> = rx.iter().collect();
    assert_eq!(sent, ["a1 EXAMINE \"Archiv/Entw&APw-rfe\"", "a2 LOGOUT"]);
}

#[test]
fn bye_greeting_is_the_servers_words() {
    let (port, _rx) = testing::serve_lines("* BYE too many connections\r\n", &[]);
    let (message, _) =
        unhealthy(testing::check::<Imap>(json!({"host": "127.0.0.1", "port": port})).expect_err("bye"));
    assert_eq!(message, "server closed the connection");
}

#[test]
fn noperm_is_permission_denied() {
    let (port, _rx) = testing::serve_lines(
        "* OK [CAPABILITY IMAP4rev1] ready\r\n",
        &["a1 OK logged in\r\n", "a2 NO [NOPERM] no access to Shared\r\n"],
    );
    let config =
        json!({"host": "127.0.0.1", "port": port, "user": "ada", "password": "pw", "mailbox": "Shared"});
    let (message, extra) = unhealthy(testing::check::<Imap>(config).expect_err("refused"));
    assert_eq!(message, "permission denied");
    assert_eq!(extra["detail"], "NO [NOPERM] no access to Shared");
}

#[test]
fn a_reply_to_another_tag_is_not_imap() {
    let (port, _rx) = testing::serve_lines("* OK [CAPABILITY IMAP4rev1] ready\r\n", &["zz OK what\r\n"]);
    let config = json!({"host": "127.0.0.1", "port": port, "user": "ada", "password": "pw"});
    let (message, _) = unhealthy(testing::check::<Imap>(config).expect_err("bad"));
    assert_eq!(message, "unexpected protocol");
}

#[test]
fn a_password_never_shows() {
    let (port, rx) = testing::serve_lines(
        "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n",
        &["a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"],
    );
    let config = json!({"host": "127.0.0.1", "port": port, "user": "ada", "password": "s3\"cr\\et"});
    let e = testing::check::<Imap>(config).expect_err("refused");
    assert!(!format!("{e:?}").contains("s3"), "{e:?}");
    assert_eq!(unhealthy(e).0, "authentication failed");
    let sent: Vec<String> = rx.iter().collect();
    assert_eq!(sent, [r#"a1 LOGIN "ada" "s3\"cr\\et""#]);
}
