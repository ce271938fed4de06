//! The status page's server-side session over real HTTP, against the real
//! `sonde serve` (DESIGN §5): the cookie holds an opaque token and no key,
//! `HttpOnly` and `SameSite=Strict`; the session lives in the store (it
//! outlives a restart, and works on another replica: [`replicas`]); a key
//! removed by a reload ends its sessions at once; an organization's session
//! sees its own sources only; every POST needs its CSRF token; failed
//! sign-ins are limited per client.

mod replicas;

use std::io::{Read, Write};
use std::time::Duration;

use sonde_test_support::open_port;

use crate::serve::{Serve, config_text, wait_for};

pub const ADMIN: &str = "session-admin-key-0b7e1c";
pub const ORG_A: &str = "session-org-a-key-5d21f9";

/// An answer: status, `Set-Cookie` values, `Retry-After`, body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub set_cookies: Vec<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Answer {
    /// The `name=value` of the `Set-Cookie` for `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .map(String::from)
    }

    /// Whether this is the status page itself (not the sign-in form).
    pub fn signed_in(&self) -> bool {
        self.status == 200 && self.body.contains(r#"table id="sources""#)
    }

    /// The value of the page's hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let field = r#"name="csrf" value=""#;
        let at = self.body.find(field).unwrap_or_else(|| panic!("no csrf field: {}", self.body));
        let rest = &self.body[at + field.len()..];
        rest[..rest.find('"').unwrap_or(0)].to_string()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = result.unwrap_or_else(|e| panic!("no answer: {e}"));
    let header = |name: &str| -> Vec<String> {
        r.headers().get_all(name).iter().filter_map(|v| v.to_str().ok()).map(String::from).collect()
    };
    let set_cookies = header("set-cookie");
    let retry_after = header("retry-after").into_iter().next();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    Answer { status: r.status().as_u16(), set_cookies, retry_after, body }
}

/// `GET /` with `cookie` (`name=value; ...`).
pub fn page(base: &str, cookie: Option<&str>) -> Answer {
    let mut req = agent().get(format!("{base}/"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    answer(req.call())
}

/// A form POST to `path` with `cookie` and the urlencoded `fields`.
pub fn post(base: &str, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Answer {
    let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let mut req =
        agent().post(format!("{base}{path}")).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    answer(req.send(body))
}

/// The sign-in form's CSRF cookie (`name=value`) and field value.
pub fn login_csrf(base: &str) -> (String, String) {
    let form = page(base, None);
    let cookie = form.cookie("sonde_login").unwrap_or_else(|| panic!("no sign-in cookie: {form:?}"));
    (cookie, form.csrf())
}

/// `POST /login` with `key` and a fresh CSRF pair.
pub fn try_sign_in(base: &str, key: &str) -> Answer {
    let (cookie, csrf) = login_csrf(base);
    post(base, "/login", Some(&cookie), &[("csrf", &csrf), ("key", key)])
}

/// Signs in with `key`; the session cookie as `name=value`.
pub fn sign_in(base: &str, key: &str) -> String {
    let a = try_sign_in(base, key);
    assert_eq!(a.status, 303, "{a:?}");
    a.cookie("sonde_session").unwrap_or_else(|| panic!("no session cookie: {a:?}"))
}

/// Admin and organization keys, an open port's source in `org_a` and a
/// closed port's in `org_b`; without the `org_a` key when `with_org_key`
/// is false.
fn toml(port: u16, with_org_key: bool) -> String {
    let org_key = if with_org_key {
        format!("[[keys]]\nkey = \"{ORG_A}\"\norganization = \"org_a\"\n")
    } else {
        String::new()
    };
    format!(
        "[[keys]]\nkey = \"{ADMIN}\"\nrole = \"admin\"\n{org_key}\
         [[sources]]\nname = \"alpha-db\"\norganization = \"org_a\"\ntype = \"tcp\"\n\
         config = {{ host = \"127.0.0.1\", port = {port} }}\ninterval = \"1h\"\n\
         [[sources]]\nname = \"bravo-db\"\norganization = \"org_b\"\ntype = \"tcp\"\n\
         config = {{ host = \"127.0.0.1\", port = 1 }}\ninterval = \"1h\"\n"
    )
}

#[test]
fn a_session_cookie_holds_no_key_sees_its_organization_and_outlives_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut serve =
        Serve::start_in(dir.path(), sonde_test_support::closed_port(), &toml(open_port(), true), |_| {});
    let base = serve.base.clone();

    let signed = try_sign_in(&base, ADMIN);
    assert_eq!(signed.status, 303, "{signed:?}");
    let set = signed.set_cookies.iter().find(|c| c.starts_with("sonde_session=")).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    assert!(!set.contains("Secure"), "not asked for: {set}");
    let admin = signed.cookie("sonde_session").expect("cookie");
    let token = admin.trim_start_matches("sonde_session=").to_string();
    assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{admin}");
    assert!(
        signed.set_cookies.iter().all(|c| !c.contains(ADMIN)),
        "key material in {:?}",
        signed.set_cookies
    );

    let all = page(&base, Some(&admin));
    assert!(all.signed_in() && all.body.contains("alpha-db") && all.body.contains("bravo-db"), "{all:?}");
    let org = sign_in(&base, ORG_A);
    let own = page(&base, Some(&org));
    assert!(own.signed_in() && own.body.contains("alpha-db") && own.body.contains("org_a"), "{own:?}");
    assert!(!own.body.contains("bravo-db") && !own.body.contains("org_b"), "{own:?}");

    // Neither the keys nor the tokens are in the store's files.
    let data = dir.path().join("data");
    let mut stored = Vec::new();
    for file in ["sonde.db", "sonde.db-wal"] {
        stored.extend(std::fs::read(data.join(file)).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored);
    let org_token = org.trim_start_matches("sonde_session=");
    for secret in [ADMIN, ORG_A, token.as_str(), org_token] {
        assert!(!stored.contains(secret), "{secret} is in the store");
    }

    // The session is in the store, not in the process.
    serve.kill9_and_restart(|_| {});
    assert!(page(&base, Some(&admin)).signed_in(), "the admin session after a restart");
    let own = page(&base, Some(&org));
    assert!(own.signed_in() && !own.body.contains("bravo-db"), "{own:?}");
}

#[test]
fn removing_a_key_from_the_configuration_ends_its_sessions_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = sonde_test_support::closed_port();
    let open = open_port();
    let serve = Serve::start_in(dir.path(), port, &toml(open, true), |_| {});
    let admin = sign_in(&serve.base, ADMIN);
    let org = sign_in(&serve.base, ORG_A);
    assert!(page(&serve.base, Some(&org)).signed_in());

    let reloads = |s: &Serve| s.logs().matches("configuration reloaded").count();
    let reload = |with_org_key: bool| {
        let before = reloads(&serve);
        std::fs::write(
            dir.path().join("sonde.toml"),
            config_text(dir.path(), port, &toml(open, with_org_key)),
        )
        .expect("config");
        serve.hangup();
        wait_for("the reload", Duration::from_secs(15), || reloads(&serve) > before);
    };
    reload(false);
    let gone = page(&serve.base, Some(&org));
    assert!(!gone.signed_in() && gone.body.contains(r#"action="/login""#), "{gone:?}");
    assert!(page(&serve.base, Some(&admin)).signed_in(), "the admin key stayed");
    assert_eq!(try_sign_in(&serve.base, ORG_A).status, 401, "the removed key no longer signs in");

    // Ended, not suspended: the key coming back does not revive it.
    reload(true);
    assert!(!page(&serve.base, Some(&org)).signed_in());
}

#[test]
fn every_post_needs_its_csrf_token() {
    let serve = Serve::start(&toml(open_port(), true));
    let base = serve.base.as_str();
    let admin = sign_in(base, ADMIN);
    let csrf = page(base, Some(&admin)).csrf();
    let other_csrf = page(base, Some(&sign_in(base, ORG_A))).csrf();
    assert_ne!(csrf, other_csrf, "each session has its own token");

    // Sign-out without the token, with a wrong one or another session's.
    for fields in [vec![], vec![("csrf", "wrong")], vec![("csrf", other_csrf.as_str())]] {
        let refused = post(base, "/logout", Some(&admin), &fields);
        assert_eq!(refused.status, 403, "{fields:?}: {refused:?}");
        assert!(refused.cookie("sonde_session").is_none(), "{refused:?}");
    }
    let raw = agent().post(format!("{base}/logout")).header("cookie", &admin).send_empty();
    assert_eq!(answer(raw).status, 403, "no body at all");
    assert!(page(base, Some(&admin)).signed_in(), "still signed in after refused sign-outs");

    // Sign-in without the form's token, or with one its cookie does not match.
    let (cookie, login_csrf) = login_csrf(base);
    let (other_cookie, _) = self::login_csrf(base);
    let attempts = [
        (Some(cookie.as_str()), vec![("key", ADMIN)]),
        (None, vec![("csrf", login_csrf.as_str()), ("key", ADMIN)]),
        (Some(other_cookie.as_str()), vec![("csrf", login_csrf.as_str()), ("key", ADMIN)]),
        (Some(cookie.as_str()), vec![("csrf", "wrong"), ("key", ADMIN)]),
    ];
    for (cookie, fields) in attempts {
        let refused = post(base, "/login", cookie, &fields);
        assert_eq!(refused.status, 403, "{cookie:?} {fields:?}: {refused:?}");
        assert!(refused.cookie("sonde_session").is_none(), "{refused:?}");
    }

    // With the token, sign-out ends the session.
    let out = post(base, "/logout", Some(&admin), &[("csrf", &csrf)]);
    assert_eq!(out.status, 303, "{out:?}");
    assert!(out.set_cookies.iter().any(|c| c.starts_with("sonde_session=;") && c.contains("Max-Age=0")));
    assert!(!page(base, Some(&admin)).signed_in(), "the old cookie is signed out");
}

/// `POST /login` over a connection from `from` (any 127/8 address), by
/// hand: the status and the whole answer.
fn sign_in_from(from: &str, port: u16, key: &str, cookie: &str, csrf: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(format!("{from}:0").parse().expect("addr")).expect("bind");
        socket.connect(([127, 0, 0, 1], port).into()).await.expect("connect").into_std().expect("std")
    });
    stream.set_nonblocking(false).expect("blocking");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let body = format!("csrf={csrf}&key={key}");
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    stream.write_all(request.as_bytes()).expect("send");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[test]
fn six_failed_sign_ins_from_one_client_answer_429_with_retry_after() {
    let serve = Serve::start(&toml(open_port(), true));
    let base = serve.base.as_str();
    for i in 0..5 {
        let wrong = try_sign_in(base, &format!("guess-{i}"));
        assert_eq!(wrong.status, 401, "failure {i}: {wrong:?}");
    }
    let held = try_sign_in(base, "guess-5");
    assert_eq!(held.status, 429, "{held:?}");
    let wait: u64 = held.retry_after.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!((1..=60).contains(&wait), "Retry-After {:?}", held.retry_after);
    // Held means not even a right key is tried.
    let right = try_sign_in(base, ADMIN);
    assert_eq!(right.status, 429, "{right:?}");
    assert!(right.cookie("sonde_session").is_none());

    // Another client is not held.
    let (cookie, csrf) = login_csrf(base);
    let (status, text) = sign_in_from("127.0.0.2", serve.port, ADMIN, &cookie, &csrf);
    assert_eq!(status, 303, "{text}");
    assert!(text.contains("sonde_session="), "{text}");
}
