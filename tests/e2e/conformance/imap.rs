//! The imap probe's rows: private Dovecots (Debian's `dovecot-imapd`), one
//! without TLS and ones with STARTTLS and IMAPS, each with three users
//! whose passwords need plain quoting, escaping, and a literal.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::dovecot::{
    self, Dovecot, FOLDER, INBOX_MESSAGES, LITERAL_USER, QUOTED_USER, REQUIRED_HOST, Ssl,
};
use sonde_test_support::exim::Exim;

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NO_TLS, Probe, Row, Scenario, Server, UNEXPECTED_PROTOCOL, another_protocol, cases,
    host_port, invalid_host_port, loopback, step,
};

fn private(d: Dovecot) -> Server {
    Server::private(d.port, d)
}

fn plain() -> Option<Server> {
    Dovecot::plain().map(private)
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    Dovecot::with_tls(pair, &ca.ca_file(), if demand { Ssl::ClientCert } else { Ssl::On }).map(private)
}

/// A server that takes logins over TLS only: its plaintext port says LOGINDISABLED.
fn start_required(pair: &Pair, ca: &TestCa, _demand: bool) -> Option<Server> {
    Dovecot::with_tls(pair, &ca.ca_file(), Ssl::Required).map(private)
}

/// The config of the main user on `port`, with `extra`'s members.
fn probe_user(port: u16, extra: Value) -> Value {
    let mut config = loopback(port, json!({"user": dovecot::USER, "password": dovecot::PASSWORD}));
    for (key, value) in extra.as_object().into_iter().flatten().filter(|(_, v)| !v.is_null()) {
        config[key] = value.clone();
    }
    config
}

fn address(port: u16) -> Value {
    probe_user(port, json!({}))
}

/// The config of the main user on the server's IMAPS port.
fn imaps(s: &Server, extra: Value) -> Value {
    let mut config = probe_user(s.get::<Dovecot>().imaps_port, extra);
    config["implicit_tls"] = true.into();
    config
}

/// OK with `items` messages.
fn ok_with(items: u64) -> Expect {
    Expect::ok().then(move |r, s| {
        assert_eq!(r.items, Some(items), "{r:?}\n{}", s.get::<Dovecot>().log());
    })
}

/// A password must never show in a report.
fn without(secret: &'static str, expect: Expect) -> Expect {
    expect.then(move |r, _| assert!(!format!("{r:?}").contains(secret), "the password leaked: {r:?}"))
}

pub fn probe() -> Probe {
    Probe {
        source_type: "imap",
        address,
        ok: Row::Run(vec![Scenario::on(
            plain,
            vec![
                step(
                    |s| address(s.port),
                    ok_with(INBOX_MESSAGES).then(|r, _| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(details["mailbox"], "INBOX", "{details}");
                        assert!(
                            details["greeting"].as_str().is_some_and(|g| g.contains("Dovecot")),
                            "{details}"
                        );
                        let caps = details["capabilities"].as_array().expect("capabilities");
                        assert!(caps.iter().any(|c| c == "IMAP4rev1"), "{details}");
                        assert_eq!(details["preauth"], false, "{details}");
                    }),
                ),
                // A non-ASCII mailbox name goes out in modified UTF-7.
                step(|s| probe_user(s.port, json!({"mailbox": FOLDER})), ok_with(1)),
                step(|s| probe_user(s.port, json!({"mailbox": "inbox"})), ok_with(INBOX_MESSAGES)),
            ],
        )]),
        credentials: Row::Run(vec![
            Scenario::on(
                plain,
                vec![
                    step(|s| address(s.port), ok_with(INBOX_MESSAGES)),
                    // `"` and `\` escaped inside a quoted string.
                    step(
                        |s| loopback(s.port, json!({"user": QUOTED_USER.0, "password": QUOTED_USER.1})),
                        ok_with(INBOX_MESSAGES),
                    ),
                    // Not ASCII: a literal.
                    step(
                        |s| loopback(s.port, json!({"user": LITERAL_USER.0, "password": LITERAL_USER.1})),
                        ok_with(INBOX_MESSAGES),
                    ),
                    // No credentials: nothing to log in with.
                    step(|s| host_port(s.port), Expect::error(AUTH_FAILED)),
                    step(
                        |s| probe_user(s.port, json!({"password": "wrong-s3cret"})),
                        without("wrong-s3cret", Expect::error(AUTH_FAILED).extra("AUTHENTICATIONFAILED")),
                    ),
                ],
            ),
            // One wrong password per server: Dovecot delays logins after a
            // failure, more with each.
            Scenario::on(
                plain,
                vec![step(
                    |s| loopback(s.port, json!({"user": QUOTED_USER.0, "password": "q\"uo\\te"})),
                    without("q\\\"uo", Expect::error(AUTH_FAILED)),
                )],
            ),
            // A CR LF inside a password is data, never a second command.
            Scenario::on(
                plain,
                vec![step(
                    |s| loopback(s.port, json!({"user": LITERAL_USER.0, "password": "x\r\na9 LOGOUT"})),
                    without("LOGOUT", Expect::error(AUTH_FAILED)),
                )],
            ),
            // LOGIN disabled, AUTH=PLAIN offered: AUTHENTICATE PLAIN, with
            // the response after the server's `+` (no SASL-IR) or at once.
            Scenario::on(
                || Dovecot::with_capability("IMAP4rev1 AUTH=PLAIN LOGINDISABLED").map(private),
                vec![
                    step(|s| address(s.port), ok_with(INBOX_MESSAGES)),
                    step(
                        |s| loopback(s.port, json!({"user": LITERAL_USER.0, "password": LITERAL_USER.1})),
                        ok_with(INBOX_MESSAGES),
                    ),
                    step(
                        |s| probe_user(s.port, json!({"password": "wrong-s3cret"})),
                        without("wrong-s3cret", Expect::error(AUTH_FAILED).extra("AUTHENTICATIONFAILED")),
                    ),
                ],
            ),
            Scenario::on(
                || Dovecot::with_capability("IMAP4rev1 SASL-IR AUTH=PLAIN LOGINDISABLED").map(private),
                vec![step(|s| address(s.port), ok_with(INBOX_MESSAGES))],
            ),
            // No LITERAL+: a literal waits for the server's `+`.
            Scenario::on(
                || Dovecot::with_capability("IMAP4rev1").map(private),
                vec![
                    step(
                        |s| loopback(s.port, json!({"user": LITERAL_USER.0, "password": LITERAL_USER.1})),
                        ok_with(INBOX_MESSAGES),
                    ),
                    step(
                        |s| loopback(s.port, json!({"user": LITERAL_USER.0, "password": "päss"})),
                        Expect::error(AUTH_FAILED),
                    ),
                ],
            ),
            // Plaintext login is disabled and `tls.mode` says no TLS: the
            // server takes no credentials here.
            on_tls(
                start_required,
                Leaf::Good,
                vec![step(
                    |s| probe_user(s.port, json!({"host": REQUIRED_HOST, "tls": {"mode": "disable"}})),
                    Expect::error(AUTH_FAILED).extra("LOGINDISABLED"),
                )],
            ),
        ]),
        missing_resource: Row::Run(vec![Scenario::on(
            plain,
            vec![step(
                |s| probe_user(s.port, json!({"mailbox": "Nope"})),
                Expect::error("mailbox does not exist").extra("doesn't exist"),
            )],
        )]),
        wrong_server: Row::Run(vec![
            // NATS greets first with `INFO {…}`: not an IMAP greeting.
            another_protocol("NATS", 4222, address),
            // MariaDB greets first with a binary handshake.
            another_protocol("MariaDB", 3306, address),
            // An SMTP server's greeting, `220 …`.
            Scenario::on(
                || Exim::plain().map(|e| Server::private(e.port, e)),
                vec![step(|s| address(s.port), Expect::error(UNEXPECTED_PROTOCOL))],
            ),
            // Redis waits for the client, and an IMAP client waits for the
            // greeting (RFC 3501 §7.1): as silent as a hung server.
            Scenario::shared("Redis", 6379, vec![step(|s| address(s.port), Expect::timeout())]),
        ]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "user": "u"}),
            json!({"host": "h", "password": "p"}),
            json!({"host": "h", "username": "u", "password": "p"}),
            json!({"host": "h", "mailbox": ""}),
            json!({"host": "h", "mailbox": 5}),
            json!({"host": "h", "implicit_tls": "yes"}),
            json!({"host": "h", "port": 993, "tls": {"mode": "disable"}}),
            json!({"host": "h", "implicit_tls": true, "tls": {"mode": "disable"}}),
        ]),
        // STARTTLS on the IMAP port; a server without TLS offers no STARTTLS.
        tls: Tls::Table(TlsServers { start: start_tls, plain, address }),
        tls_modes: Row::Run(vec![
            Scenario::on(
                plain,
                vec![
                    step(|s| address(s.port), in_plaintext()),
                    step(|s| probe_user(s.port, json!({"tls": {"mode": "disable"}})), in_plaintext()),
                    step(|s| probe_user(s.port, json!({"tls": {"mode": "prefer"}})), in_plaintext()),
                    step(|s| probe_user(s.port, json!({"tls": {"mode": "require"}})), Expect::error(NO_TLS)),
                ],
            ),
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    // Without `tls`, STARTTLS only when the server wants it (it does not).
                    step(|s| address(s.port), in_plaintext()),
                    step(|s| probe_user(s.port, json!({"tls": {"mode": "prefer"}})), over_tls()),
                    step(
                        |s| {
                            let ca = &s.tls.as_ref().expect("tls").ca;
                            probe_user(s.port, json!({"tls": {"mode": "verify-full", "ca": ca}}))
                        },
                        over_tls(),
                    ),
                    // Implicit TLS (IMAPS): with `tls` left out, any certificate.
                    step(|s| imaps(s, json!({})), over_tls()),
                    step(
                        |s| {
                            let ca = &s.tls.as_ref().expect("tls").ca;
                            imaps(s, json!({"tls": {"mode": "verify-full", "ca": ca}}))
                        },
                        over_tls(),
                    ),
                    // Implicit TLS against the STARTTLS port: the server's
                    // plaintext greeting is no ServerHello.
                    step(
                        |s| probe_user(s.port, json!({"implicit_tls": true, "tls": {"mode": "require"}})),
                        Expect::error(NO_TLS),
                    ),
                ],
            ),
            // LOGINDISABLED in plaintext: without `tls` the probe follows
            // the server and upgrades.
            on_tls(
                start_required,
                Leaf::Good,
                vec![step(|s| probe_user(s.port, json!({"host": REQUIRED_HOST})), over_tls())],
            ),
        ]),
        own_messages: &[],
    }
}

cases!(probe);
