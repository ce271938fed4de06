//! The smtp probe's rows: private Exims (Debian's `exim4-daemon-light`),
//! one without TLS, ones with STARTTLS and SMTPS that advertise AUTH always
//! or only over TLS, one that offers only AUTH LOGIN, and one that refuses
//! every session with 554.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::dovecot::Dovecot;
use sonde_test_support::exim::{self, Auth, Exim};

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NO_TLS, Probe, Row, Scenario, Server, UNEXPECTED_PROTOCOL, another_protocol, cases,
    host_port, invalid_host_port, loopback, step,
};

const NOT_AVAILABLE: &str = "service not available";

fn private(e: Exim) -> Server {
    Server::private(e.port, e)
}

fn plain() -> Option<Server> {
    Exim::plain().map(private)
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    Exim::with_tls(pair, &ca.ca_file(), Auth::Always, demand).map(private)
}

/// AUTH advertised only after STARTTLS, as a submission server does.
fn start_tls_only_auth(pair: &Pair, ca: &TestCa, _demand: bool) -> Option<Server> {
    Exim::with_tls(pair, &ca.ca_file(), Auth::TlsOnly, false).map(private)
}

/// The fixed user's config on `port`, with `extra`'s members.
fn login(port: u16, extra: Value) -> Value {
    let mut config = loopback(port, json!({"user": exim::USER, "password": exim::PASSWORD}));
    for (key, value) in extra.as_object().into_iter().flatten() {
        if value.is_null() {
            config.as_object_mut().expect("object").remove(key);
        } else {
            config[key] = value.clone();
        }
    }
    config
}

/// The config on the server's SMTPS port.
fn smtps(s: &Server, extra: Value) -> Value {
    let mut config = login(s.get::<Exim>().smtps_port, extra);
    config["implicit_tls"] = true.into();
    config
}

fn ca(s: &Server) -> String {
    s.tls.as_ref().expect("a server started by on_tls").ca.clone()
}

/// OK, and whether it authenticated.
fn ok_authenticated(authenticated: bool) -> Expect {
    Expect::ok().then(move |r, s| {
        let details = r.details.as_ref().expect("details");
        assert_eq!(details["authenticated"], authenticated, "{r:?}\n{}", s.get::<Exim>().log());
    })
}

pub fn probe() -> Probe {
    Probe {
        source_type: "smtp",
        address: host_port,
        ok: Row::Run(vec![Scenario::on(
            plain,
            vec![
                step(
                    |s| host_port(s.port),
                    ok_authenticated(false).then(|r, _| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(details["server_name"], "sonde-test.example", "{details}");
                        assert_eq!(details["esmtp"], true, "{details}");
                        assert_eq!(details["auth_mechanisms"], json!(["PLAIN", "LOGIN"]), "{details}");
                        assert_eq!(details["size_limit"], 52_428_800, "{details}");
                        let extensions = details["extensions"].as_array().expect("extensions");
                        assert!(extensions.iter().any(|e| e == "PIPELINING"), "{details}");
                        assert!(
                            details["greeting"].as_str().is_some_and(|g| g.contains("Exim")),
                            "{details}"
                        );
                        assert_eq!(r.items, None, "{r:?}");
                    }),
                ),
                step(|s| login(s.port, json!({})), ok_authenticated(true)),
                step(|s| login(s.port, json!({"helo_name": "probe.example.com"})), ok_authenticated(true)),
            ],
        )]),
        credentials: Row::Run(vec![
            Scenario::on(
                plain,
                vec![
                    step(|s| login(s.port, json!({})), ok_authenticated(true)),
                    step(
                        |s| login(s.port, json!({"password": "wrong-s3cret"})),
                        Expect::error(AUTH_FAILED).extra("535").then(|r, _| {
                            assert!(!format!("{r:?}").contains("wrong-s3cret"), "the password leaked: {r:?}");
                        }),
                    ),
                    step(|s| login(s.port, json!({"user": "nobody"})), Expect::error(AUTH_FAILED)),
                    // No credentials: no AUTH, and a server that lets a
                    // session start is healthy.
                    step(|s| host_port(s.port), ok_authenticated(false)),
                ],
            ),
            // A server that offers only AUTH LOGIN (two 334 prompts).
            Scenario::on(
                || Exim::login_only().map(private),
                vec![
                    step(|s| login(s.port, json!({})), ok_authenticated(true)),
                    step(
                        |s| login(s.port, json!({"password": "wrong-s3cret"})),
                        Expect::error(AUTH_FAILED).extra("535"),
                    ),
                ],
            ),
            // AUTH only after STARTTLS and `tls.mode` disable: no AUTH to use.
            on_tls(
                start_tls_only_auth,
                Leaf::Good,
                vec![step(
                    |s| login(s.port, json!({"tls": {"mode": "disable"}})),
                    Expect::error(AUTH_FAILED).extra("no AUTH before STARTTLS"),
                )],
            ),
        ]),
        missing_resource: Row::Skip(
            "an SMTP session names no resource; a mailbox is only named by RCPT TO, and the probe sends no mail",
        ),
        wrong_server: Row::Run(vec![
            // NATS greets first with `INFO {…}`: not an SMTP reply.
            another_protocol("NATS", 4222, host_port),
            // MariaDB greets first with a binary handshake.
            another_protocol("MariaDB", 3306, host_port),
            // An IMAP server's greeting, `* OK …`.
            Scenario::on(
                || Dovecot::plain().map(|d| Server::private(d.port, d)),
                vec![step(|s| host_port(s.port), Expect::error(UNEXPECTED_PROTOCOL))],
            ),
            // Redis waits for the client, and an SMTP client waits for the
            // greeting (RFC 5321 §3.1): as silent as a hung server.
            Scenario::shared("Redis", 6379, vec![step(|s| host_port(s.port), Expect::timeout())]),
            // An SMTP server that refuses the session at its greeting.
            Scenario::on(
                || Exim::refusing().map(private),
                vec![step(|s| host_port(s.port), Expect::error(NOT_AVAILABLE).extra("554"))],
            ),
        ]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "user": "u"}),
            json!({"host": "h", "password": "p"}),
            json!({"host": "h", "username": "u", "password": "p"}),
            json!({"host": "h", "helo_name": ""}),
            json!({"host": "h", "helo_name": "two words"}),
            json!({"host": "h", "helo_name": "x\r\nMAIL FROM:<a@b>"}),
            json!({"host": "h", "implicit_tls": 1}),
            json!({"host": "h", "port": 465, "tls": {"mode": "disable"}}),
            json!({"host": "h", "implicit_tls": true, "tls": {"mode": "disable"}}),
        ]),
        // STARTTLS on the SMTP port; a server without TLS offers no STARTTLS.
        tls: Tls::Table(TlsServers { start: start_tls, plain, address: host_port }),
        tls_modes: Row::Run(vec![
            Scenario::on(
                plain,
                vec![
                    step(|s| host_port(s.port), in_plaintext()),
                    step(|s| loopback(s.port, json!({"tls": {"mode": "disable"}})), in_plaintext()),
                    step(|s| loopback(s.port, json!({"tls": {"mode": "prefer"}})), in_plaintext()),
                    step(|s| loopback(s.port, json!({"tls": {"mode": "require"}})), Expect::error(NO_TLS)),
                ],
            ),
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    // Without `tls`: AUTH is offered in plaintext, so no STARTTLS.
                    step(|s| login(s.port, json!({})), in_plaintext()),
                    step(|s| host_port(s.port), in_plaintext()),
                    step(|s| loopback(s.port, json!({"tls": {"mode": "prefer"}})), over_tls()),
                    step(|s| login(s.port, json!({"tls": {"mode": "verify-full", "ca": ca(s)}})), over_tls()),
                    // Implicit TLS (SMTPS): with `tls` left out, any certificate.
                    step(|s| smtps(s, json!({})), over_tls()),
                    step(|s| smtps(s, json!({"tls": {"mode": "verify-full", "ca": ca(s)}})), over_tls()),
                ],
            ),
            // AUTH only after STARTTLS: with credentials and no `tls` the
            // probe follows the server and upgrades; without credentials it
            // has no reason to.
            on_tls(
                start_tls_only_auth,
                Leaf::Good,
                vec![
                    step(|s| login(s.port, json!({})), over_tls()),
                    step(|s| host_port(s.port), in_plaintext()),
                    step(|s| login(s.port, json!({"tls": {"mode": "require"}})), over_tls()),
                ],
            ),
        ]),
        own_messages: &[(
            NOT_AVAILABLE,
            "a greeting of 554 (or 421): the server refuses the session, its words in `extra`",
        )],
    }
}

cases!(probe);
