//! The ldap probe's rows: private slapd servers ([`Slapd`]): plaintext with
//! anonymous binds, one that refuses them, and ones with a throwaway
//! certificate for StartTLS and LDAPS.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::slapd::{
    ADMIN_DN, GROUPS_DN, PEOPLE_CHILDREN, PEOPLE_DN, READER_DN, SECRET_DN, SUFFIX, SUFFIX_CHILDREN,
    SUFFIX_VISIBLE_CHILDREN, Slapd,
};

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NO_TLS, PERMISSION_DENIED, Probe, Row, Scenario, Server, UNEXPECTED_PROTOCOL,
    another_protocol, cases, invalid_host_port, loopback, step,
};

fn private(slapd: Slapd) -> Server {
    Server::private(slapd.port, slapd)
}

fn plain() -> Option<Server> {
    Slapd::start().map(private)
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    Slapd::with_tls(pair, &ca.ca_file(), demand).map(private)
}

/// The suffix, read anonymously at `port`.
fn address(port: u16) -> Value {
    loopback(port, json!({"base_dn": SUFFIX}))
}

/// `base_dn` read as the rootdn, with `extra`'s members.
fn as_admin(s: &Server, base_dn: &str, extra: Value) -> Value {
    let password = s.get::<Slapd>().admin_password.clone();
    let mut config = loopback(s.port, json!({"bind_dn": ADMIN_DN, "password": password, "base_dn": base_dn}));
    for (key, value) in extra.as_object().into_iter().flatten() {
        config[key] = value.clone();
    }
    config
}

/// `base_dn` read as [`READER_DN`] with `password` (None: its own).
fn as_reader(s: &Server, base_dn: &str, password: Option<&str>) -> Value {
    let password = password.map_or_else(|| s.get::<Slapd>().reader_password.clone(), str::to_string);
    loopback(s.port, json!({"bind_dn": READER_DN, "password": password, "base_dn": base_dn}))
}

/// OK with this bind kind and, as `items`, this many children.
fn healthy(bind: &'static str, items: u64) -> Expect {
    Expect::ok().then(move |r, s| {
        let details = r.details.as_ref().expect("details");
        assert_eq!(details["bind"], bind, "{r:?}\n{}", s.get::<Slapd>().log());
        assert_eq!(r.items, Some(items), "{r:?}");
    })
}

/// The LDAPS port of a server with a certificate, with `tls`.
fn over_ldaps(s: &Server, tls: Value) -> Value {
    let port = s.get::<Slapd>().ldaps_port.expect("an ldaps:// listener");
    loopback(port, json!({"base_dn": SUFFIX, "implicit_tls": true, "tls": tls}))
}

fn verified(s: &Server) -> Value {
    json!({"mode": "verify-full", "ca": s.tls.as_ref().expect("on_tls").ca})
}

pub fn probe() -> Probe {
    Probe {
        source_type: "ldap",
        address,
        ok: Row::Run(vec![Scenario::on(
            plain,
            vec![
                // The rootdn sees `ou=secret` too.
                step(|s| as_admin(s, SUFFIX, json!({})), healthy("simple", SUFFIX_CHILDREN)),
                step(|s| as_reader(s, PEOPLE_DN, None), healthy("simple", PEOPLE_CHILDREN)),
                // Anonymous: no `bind_dn`, no `password`.
                step(|s| address(s.port), healthy("anonymous", SUFFIX_VISIBLE_CHILDREN)),
                step(|s| as_reader(s, SUFFIX, None), healthy("simple", SUFFIX_VISIBLE_CHILDREN)),
                // 101 children: the count stops at 100 and says so.
                step(
                    |s| loopback(s.port, json!({"base_dn": GROUPS_DN})),
                    Expect::ok().then(|r, _| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(
                            (r.items, &details["children_truncated"]),
                            (Some(100), &json!(true)),
                            "{r:?}"
                        );
                    }),
                ),
                // A leaf has no children: items 0, not absent.
                step(|s| as_reader(s, READER_DN, None), healthy("simple", 0)),
                // The root DSE (`""`), which every LDAP server publishes.
                step(
                    |s| loopback(s.port, json!({"base_dn": ""})),
                    Expect::ok().then(|r, _| {
                        assert_eq!(r.details.as_ref().expect("details")["connection"], "plaintext")
                    }),
                ),
            ],
        )]),
        credentials: Row::Run(vec![
            Scenario::on(
                || Slapd::without_anonymous().map(private),
                vec![
                    step(|s| as_admin(s, SUFFIX, json!({})), healthy("simple", SUFFIX_CHILDREN)),
                    step(
                        |s| as_admin(s, SUFFIX, json!({"password": "wrong-password"})),
                        Expect::error(AUTH_FAILED).extra("\"result_code\":49").extra("invalidCredentials"),
                    ),
                    step(|s| as_reader(s, SUFFIX, Some("wrong-password")), Expect::error(AUTH_FAILED)),
                    // A DN that is not in the directory binds no one.
                    step(
                        |s| as_admin(s, SUFFIX, json!({"bind_dn": format!("uid=nobody,{PEOPLE_DN}")})),
                        Expect::error(AUTH_FAILED).extra("invalidCredentials"),
                    ),
                    // No credentials: the anonymous bind is refused.
                    step(
                        |s| address(s.port),
                        Expect::error(AUTH_FAILED)
                            .extra("\"result_code\":48")
                            .extra("inappropriateAuthentication"),
                    ),
                ],
            ),
            // Bound, but the entry may only be disclosed, not searched.
            Scenario::on(
                plain,
                vec![step(
                    |s| as_reader(s, SECRET_DN, None),
                    Expect::error(PERMISSION_DENIED)
                        .extra("insufficientAccessRights")
                        .extra("\"stage\":\"permission\""),
                )],
            ),
        ]),
        missing_resource: Row::Run(vec![Scenario::on(
            plain,
            vec![
                step(
                    |s| as_reader(s, &format!("ou=missing,{SUFFIX}"), None),
                    Expect::error("entry does not exist")
                        .extra("\"result_code\":32")
                        .extra("noSuchObject")
                        .extra(r#""matched_dn":"dc=sonde,dc=test""#),
                ),
                // Anonymously the same: slapd discloses the suffix to all.
                step(
                    |s| loopback(s.port, json!({"base_dn": "dc=missing,dc=test"})),
                    Expect::error("entry does not exist"),
                ),
            ],
        )]),
        wrong_server: Row::Run(vec![
            // Redis takes the bytes up to the first request's line feed
            // (messageID 10) as a command and answers `-ERR`.
            another_protocol("Redis", 6379, address),
            // NATS greets first with `INFO {…}`.
            another_protocol("NATS", 4222, address),
            // PostgreSQL reads the bind as a startup packet of absurd
            // length and hangs up without a word.
            another_protocol("PostgreSQL", 5432, address),
            // Plaintext LDAP to an LDAPS port: slapd wanted a ClientHello.
            on_tls(
                start_tls,
                Leaf::Good,
                vec![step(
                    |s| address(s.get::<Slapd>().ldaps_port.expect("an ldaps:// listener")),
                    Expect::error(UNEXPECTED_PROTOCOL),
                )],
            ),
        ]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h"}),
            json!({"host": "h", "base_dn": SUFFIX, "bind_dn": ADMIN_DN}),
            json!({"host": "h", "base_dn": SUFFIX, "password": "pw"}),
            json!({"host": "h", "base_dn": SUFFIX, "bind_dn": ADMIN_DN, "password": ""}),
            json!({"host": "h", "base_dn": SUFFIX, "implicit_tls": true, "tls": {"mode": "disable"}}),
            json!({"host": "h", "base_dn": SUFFIX, "user": "u"}),
            json!({"host": "h", "base_dn": 5}),
        ]),
        // The table runs over StartTLS on the `ldap://` port; LDAPS is in `tls_modes`.
        tls: Tls::Table(TlsServers { start: start_tls, plain, address }),
        tls_modes: Row::Run(vec![
            // No certificate: StartTLS answers protocolError.
            Scenario::on(
                plain,
                vec![
                    step(|s| address(s.port), in_plaintext()),
                    step(
                        |s| loopback(s.port, json!({"base_dn": SUFFIX, "tls": {"mode": "disable"}})),
                        in_plaintext(),
                    ),
                    step(
                        |s| loopback(s.port, json!({"base_dn": SUFFIX, "tls": {"mode": "prefer"}})),
                        in_plaintext(),
                    ),
                    step(
                        |s| loopback(s.port, json!({"base_dn": SUFFIX, "tls": {"mode": "require"}})),
                        Expect::error(NO_TLS).extra("protocolError"),
                    ),
                    // LDAPS to a plaintext port: slapd hangs up on the ClientHello.
                    step(
                        |s| loopback(s.port, json!({"base_dn": SUFFIX, "implicit_tls": true})),
                        Expect::error(NO_TLS),
                    ),
                ],
            ),
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    // `disable` is the default, even where TLS is offered.
                    step(|s| address(s.port), in_plaintext()),
                    step(
                        |s| loopback(s.port, json!({"base_dn": SUFFIX, "tls": {"mode": "prefer"}})),
                        over_tls(),
                    ),
                    step(|s| as_admin(s, SUFFIX, json!({"tls": verified(s)})), over_tls()),
                    step(|s| over_ldaps(s, verified(s)), over_tls()),
                    // LDAPS without `tls.mode`: encrypted, not verified.
                    step(|s| over_ldaps(s, json!({})), over_tls()),
                ],
            ),
        ]),
        own_messages: &[],
    }
}

cases!(probe);
