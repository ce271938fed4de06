//! `email` routes through the real `sonde serve` against a real SMTP
//! server the test starts (aiosmtpd, [`SmtpServer`]): STARTTLS verified
//! with the test's CA given in `[tls] ca_files`, AUTH, implicit TLS, a
//! refused password, a server without STARTTLS and an untrusted
//! certificate (neither gets the mail, nor the password).

use std::time::{Duration, Instant};

use sonde_test_support::certs::{Leaf, TestCa};
use sonde_test_support::smtp::{Mode, Received, SmtpServer};

use super::{Target, env, metric, sources, wait_for_streak, wait_metric};
use crate::serve::Serve;

const PASSWORD_ENV: &str = "SONDE_TEST_SMTP_PASSWORD";

/// An email route `name` to `server`, down and up at the first check.
fn route(name: &str, server: &SmtpServer) -> String {
    format!(
        "[[alerts]]\nname = \"{name}\"\ntype = \"email\"\nto = [\"ops@example.com\", \"Oncall <oncall@example.com>\"]\n\
         from = \"Sonde <sonde@example.com>\"\nsmtp_url = \"{}\"\npassword_env = \"{PASSWORD_ENV}\"\n\
         failure_threshold = 1\nsuccess_threshold = 1\n\n",
        server.url()
    )
}

/// `[tls] ca_files` trusting `ca`, then the sources and `routes`.
fn config(ca: Option<&TestCa>, target: &Target, routes: &str) -> String {
    let tls = ca.map_or(String::new(), |ca| {
        format!("[tls]\nca_files = [{:?}]\n\n", ca.ca_file().display().to_string())
    });
    format!("{tls}{}{routes}", sources(&[("orders-db", "org_acme", target)]))
}

/// Waits for `n` mails; on a timeout, fails with Sonde's log and the server's.
fn wait_mail(server: &SmtpServer, n: usize, sonde: &Serve) -> Vec<Received> {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let got = server.received();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{} of {n} mails; auth log:\n{}\nserver:\n{}\nsonde:\n{}",
            got.len(),
            server.auth_log(),
            server.log(),
            sonde.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn serve(toml: &str, password: &str) -> Serve {
    Serve::start_with(toml, |c| {
        env(c);
        // Retries are logged at debug: a failed test shows why.
        c.env(PASSWORD_ENV, password).env("SONDE_LOG", "info,sonde::alerts=debug");
    })
}

#[test]
fn starttls_with_the_operators_ca_and_auth_sends_text_and_html() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(dir.path());
    let Some(server) = SmtpServer::start(Mode::StartTls, Some(&ca.server(Leaf::Good, "smtp"))) else {
        return;
    };
    let target = Target::start();
    let sonde = serve(&config(Some(&ca), &target, &route("mail", &server)), &server.password);
    target.down();
    wait_mail(&server, 1, &sonde);
    target.up();
    let got = wait_mail(&server, 2, &sonde);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.received().len(), 2, "one down, one up");

    let (down, up) = (&got[0], &got[1]);
    assert_eq!(down.subject, "[Sonde] orders-db is down");
    assert_eq!(up.subject, "[Sonde] orders-db is up again");
    for m in [down, up] {
        assert_eq!(m.login.as_deref(), Some(server.user.as_str()), "authenticated");
        assert_eq!(m.mail_from, "sonde@example.com");
        assert_eq!(m.rcpt_tos, ["ops@example.com", "oncall@example.com"]);
        assert!(m.from.contains("Sonde <sonde@example.com>"), "{}", m.from);
        assert_eq!(m.content_type, "multipart/alternative");
        assert_eq!(m.parts, ["text/plain", "text/html"]);
        let (text, html) = (m.text.as_deref().unwrap_or_default(), m.html.as_deref().unwrap_or_default());
        assert!(text.contains("orders-db") && text.contains("org_acme"), "{text}");
        assert!(html.contains("<table>") && html.contains("orders-db"), "{html}");
        assert!(m.message_id.ends_with("@sonde.invalid>"), "{}", m.message_id);
        assert!(!m.raw.contains(&server.password), "no secret in the mail:\n{}", m.raw);
    }
    assert!(down.text.as_deref().is_some_and(|t| t.contains("ERROR")));
    assert_ne!(down.message_id, up.message_id);
    assert!(server.auth_log().lines().all(|l| l.starts_with("ok ")), "{}", server.auth_log());
    assert_eq!(metric(&sonde, "sonde_notifications_total", "outcome=\"sent\""), Some(2.0));
    let logs = sonde.logs();
    assert_eq!(logs.matches("notification sent").count(), 2, "{logs}");
    assert!(!logs.contains(&server.password), "no password in the logs:\n{logs}");
}

#[test]
fn implicit_tls_smtps_delivers() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(dir.path());
    let Some(server) = SmtpServer::start(Mode::Smtps, Some(&ca.server(Leaf::Good, "smtps"))) else { return };
    assert!(server.url().starts_with("smtps://"));
    let target = Target::start();
    let sonde = serve(&config(Some(&ca), &target, &route("mail", &server)), &server.password);
    target.down();
    let got = wait_mail(&server, 1, &sonde);
    assert_eq!(got[0].subject, "[Sonde] orders-db is down");
    assert_eq!(got[0].login.as_deref(), Some(server.user.as_str()));
}

#[test]
fn plain_smtp_goes_to_a_loopback_relay_with_tls_none() {
    let Some(server) = SmtpServer::start(Mode::Plain, None) else { return };
    assert!(server.url().ends_with("?tls=none"), "{}", server.url());
    let target = Target::start();
    let routes = format!(
        "[[alerts]]\nname = \"relay\"\ntype = \"email\"\nto = [\"ops@example.com\"]\nfrom = \"sonde@example.com\"\n\
         smtp_url = \"{}\"\nfailure_threshold = 1\n",
        server.url()
    );
    let sonde = serve(&config(None, &target, &routes), "unused");
    target.down();
    let got = wait_mail(&server, 1, &sonde);
    assert_eq!((got[0].subject.as_str(), got[0].login.as_deref()), ("[Sonde] orders-db is down", None));
}

#[test]
fn a_refused_password_is_retried_counted_and_never_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(dir.path());
    let Some(server) = SmtpServer::start(Mode::StartTls, Some(&ca.server(Leaf::Good, "smtp"))) else {
        return;
    };
    let target = Target::start();
    let wrong = "not-the-smtp-password-4242";
    let sonde = serve(&config(Some(&ca), &target, &route("mail", &server)), wrong);
    target.down();
    // Refused, then refused again on the retry (backoff starts at about 1 s).
    let end = Instant::now() + Duration::from_secs(20);
    while server.auth_log().lines().filter(|l| l.starts_with("refused ")).count() < 2 {
        assert!(
            Instant::now() < end,
            "no second attempt; auth log:\n{}\n{}",
            server.auth_log(),
            sonde.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.received().is_empty(), "nothing was sent");
    let retry =
        sonde.logs().lines().find(|l| l.contains("not delivered")).map(str::to_string).unwrap_or_default();
    assert!(retry.contains("535"), "the server's refusal is the reason: {retry}");
    assert!(metric(&sonde, "sonde_notifications_total", "outcome=\"failed\"").is_some_and(|n| n >= 2.0));
    wait_metric(&sonde, "sonde_notifications_pending", "route=\"mail\"", 1.0, Duration::from_secs(5));
    let logs = sonde.logs();
    assert!(!logs.contains(wrong) && !logs.contains(&server.password), "no password in the logs:\n{logs}");
}

#[test]
fn no_starttls_or_an_untrusted_certificate_gets_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(dir.path());
    let Some(plain) = SmtpServer::start(Mode::NoStartTls, None) else { return };
    let Some(untrusted) = SmtpServer::start(Mode::StartTls, Some(&ca.server(Leaf::Good, "smtp"))) else {
        return;
    };
    let target = Target::start();
    // No `[tls] ca_files`: the test CA is not trusted.
    let routes = format!("{}{}", route("no-starttls", &plain), route("untrusted", &untrusted));
    let sonde = serve(&config(None, &target, &routes), &plain.password);
    target.down();
    wait_for_streak(&sonde, "orders-db", "ERROR", 3);
    for route in ["no-starttls", "untrusted"] {
        let labels = format!("route=\"{route}\",outcome=\"failed\"");
        let end = Instant::now() + Duration::from_secs(10);
        while metric(&sonde, "sonde_notifications_total", &labels).is_none_or(|n| n < 1.0) {
            assert!(Instant::now() < end, "{route} never failed:\n{}", sonde.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(plain.received().is_empty() && untrusted.received().is_empty());
    let logs = sonde.logs();
    let why = |route: &str| {
        logs.lines()
            .find(|l| l.contains("not delivered") && l.contains(&format!("route={route} ")))
            .unwrap_or_else(|| panic!("no retry of {route}:\n{logs}"))
            .to_string()
    };
    assert!(why("no-starttls").contains("STARTTLS is not supported"), "{}", why("no-starttls"));
    assert!(why("untrusted").contains("UnknownIssuer"), "{}", why("untrusted"));
    assert_eq!(plain.auth_log(), "", "the password never went out in the clear");
    assert_eq!(untrusted.auth_log(), "", "nor to a server it does not trust");
}

/// A stored batch of `n` notifications in the documented shape (the
/// store makes these for a route with `group_wait`), every fourth an "up".
fn stored_batch(n: usize) -> String {
    let now = "2026-03-01T02:00:20.480Z";
    let notifications: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-{i:012}"), "event": if i % 4 == 3 { "up" } else { "down" },
                "route": "mail",
                "source": {"id": format!("10000000-0000-4000-8000-{i:012}"), "name": format!("db-{i}"),
                           "organization": "org_acme", "type": "postgres"},
                "status": "ERROR", "error": "connection <refused>", "check_id": "20000000-0000-4000-8000-000000000000",
                "since": now, "timestamp": now,
            })
        })
        .collect();
    serde_json::json!({"id": "30000000-0000-4000-8000-000000000000", "event": "batch", "route": "mail",
                       "timestamp": now, "notifications": notifications})
    .to_string()
}

#[test]
fn a_batch_is_one_mail_listing_every_source() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use sonde::alerts::payload::{Outgoing, render};
    use sonde::alerts::route::{Channel, Route, Security, Smtp};
    use sonde::alerts::transport::Transport;

    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(dir.path());
    let Some(server) = SmtpServer::start(Mode::StartTls, Some(&ca.server(Leaf::Good, "smtp"))) else {
        return;
    };
    // The host's own transport, as the delivery worker uses it, trusting
    // the test CA as `[tls] ca_files` would make it.
    let ca_der = CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("CA");
    let transport = Transport::new(&[ca_der]).expect("transport");
    let route = Route::new(
        "mail",
        Channel::Email(Box::new(Smtp {
            host: "127.0.0.1".into(),
            port: server.port,
            security: Security::StartTls,
            credentials: Some((server.user.clone(), server.password.clone())),
            from: "sonde@example.com".parse().expect("from"),
            to: vec!["ops@example.com".parse().expect("to")],
        })),
    );
    let out = render(&route, &stored_batch(200)).expect("render");
    assert!(matches!(out, Outgoing::Mail(_)));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let code = runtime.block_on(transport.send(&route, out, Duration::from_secs(10))).expect("sent");
    assert_eq!(code, 250);
    let got = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "one mail for the whole batch");
    let m = &got[0];
    assert_eq!(m.subject, "[Sonde] mail: 150 down, 50 up");
    assert_eq!(m.message_id, "<30000000-0000-4000-8000-000000000000@sonde.invalid>");
    let (text, html) = (m.text.as_deref().unwrap_or_default(), m.html.as_deref().unwrap_or_default());
    for i in 0..200 {
        assert!(text.contains(&format!("db-{i} ")) && html.contains(&format!("<td>db-{i}</td>")), "db-{i}");
    }
    assert!(html.contains("connection &lt;refused&gt;") && !html.contains("<refused>"), "escaped");
}
