//! The mongodb probe's rows, against SecantusDB (a MongoDB-compatible
//! server from PyPI, `sonde_test_support::secantus`): private servers with
//! `--auth` and SCRAM users, and with TLS from the first byte.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::closed_port;
use sonde_test_support::secantus::Secantus;

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, PERMISSION_DENIED, Probe, Row, Scenario, Server, UNEXPECTED_PROTOCOL, cases, step,
    steps,
};

/// The source for `uri`, on `app.events` unless `extra` says otherwise.
pub fn source(uri: &str, extra: Value) -> Value {
    let mut config = json!({"uri": uri, "database": "app", "collection": "events"});
    for (key, value) in extra.as_object().into_iter().flatten() {
        config[key] = value.clone();
    }
    config
}

/// No credentials, on loopback `port`.
fn address(port: u16) -> Value {
    source(&format!("mongodb://127.0.0.1:{port}/"), json!({}))
}

fn with_auth() -> Option<Server> {
    Secantus::with_auth().map(|m| Server::private(m.port, m))
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    Secantus::with_tls(pair, &ca.ca_file(), demand).map(|m| Server::private(m.port, m))
}

fn admin(s: &Server, extra: Value) -> Value {
    source(&s.get::<Secantus>().admin_uri(), extra)
}

fn uri(s: &Server, user: &str, password: &str) -> String {
    s.get::<Secantus>().uri(user, password)
}

/// A detail of an OK report.
fn detail(r: &sonde::runtime::CheckReport, key: &str) -> Value {
    r.details.as_ref().expect("details")[key].clone()
}

pub fn probe() -> Probe {
    Probe {
        source_type: "mongodb",
        address,
        ok: Row::Run(vec![Scenario::on(
            with_auth,
            vec![
                step(
                    |s| admin(s, json!({})),
                    Expect::ok().then(|r, s| {
                        assert_eq!(r.items, Some(5), "{r:?}");
                        assert!(
                            detail(r, "server_version").as_str().is_some_and(|v| v.contains('.')),
                            "{r:?}"
                        );
                        assert!(detail(r, "max_wire_version").as_i64().is_some_and(|v| v >= 6), "{r:?}");
                        assert_eq!(detail(r, "host"), format!("127.0.0.1:{}", s.port));
                        assert_eq!(
                            (detail(r, "database"), detail(r, "collection")),
                            (json!("app"), json!("events"))
                        );
                    }),
                ),
                // A seed list whose first host refuses: the next one is checked
                // (both are declared endpoints, so the sandbox lets it through).
                step(
                    |s| {
                        let m = s.get::<Secantus>();
                        let u = m.admin_uri().replacen('@', &format!("@127.0.0.1:{},", closed_port()), 1);
                        source(&u, json!({}))
                    },
                    Expect::ok().then(|r, s| assert_eq!(detail(r, "host"), format!("127.0.0.1:{}", s.port))),
                ),
            ],
        )]),
        credentials: Row::Run(vec![Scenario::on(
            with_auth,
            vec![
                step(
                    |s| admin(s, json!({})),
                    Expect::ok().then(|r, _| assert_eq!(detail(r, "mechanism"), "SCRAM-SHA-256")),
                ),
                // A user with SCRAM-SHA-1 credentials only: hello's
                // saslSupportedMechs names the mechanism.
                step(
                    |s| source(&uri(s, "sha1", &s.get::<Secantus>().password), json!({})),
                    Expect::ok().then(|r, _| assert_eq!(detail(r, "mechanism"), "SCRAM-SHA-1")),
                ),
                // The uri's authMechanism wins: admin has no SHA-1 credentials.
                step(
                    |s| {
                        let u = format!("{}?authMechanism=SCRAM-SHA-1", s.get::<Secantus>().admin_uri());
                        source(&u, json!({}))
                    },
                    Expect::error(AUTH_FAILED).extra("AuthenticationFailed"),
                ),
                step(
                    |s| source(&uri(s, "admin", "nope"), json!({})),
                    Expect::error(AUTH_FAILED).extra("\"code\":18"),
                ),
                step(|s| source(&uri(s, "nobody", "nope"), json!({})), Expect::error(AUTH_FAILED)),
                // authSource defaults to the uri's database, where admin is not.
                step(
                    |s| source(&format!("{}app", s.get::<Secantus>().admin_uri()), json!({})),
                    Expect::error(AUTH_FAILED),
                ),
                // No credentials: ping passes, listCollections asks for a login.
                step(|s| address(s.port), Expect::error(AUTH_FAILED).extra("\"code\":13")),
                // A user without read on `app`.
                step(
                    |s| source(&uri(s, "reader", "reader-pw"), json!({})),
                    Expect::error(PERMISSION_DENIED).extra("Unauthorized"),
                ),
            ],
        )]),
        missing_resource: Row::Run(vec![Scenario::on(
            with_auth,
            vec![
                step(|s| admin(s, json!({"collection": "nope"})), Expect::error("collection does not exist")),
                // listDatabases (nameOnly, filtered) tells a missing database.
                step(|s| admin(s, json!({"database": "nodb"})), Expect::error("database does not exist")),
                // A user who may not run listDatabases learns only that the
                // collection is missing.
                step(
                    |s| {
                        source(
                            &uri(s, "reader", "reader-pw"),
                            json!({"database": "other", "collection": "x"}),
                        )
                    },
                    Expect::error("collection does not exist"),
                ),
            ],
        )]),
        wrong_server: Row::Run(vec![
            // PostgreSQL reads our message as a bad startup packet and hangs up.
            Scenario::shared(
                "PostgreSQL",
                5432,
                vec![step(|s| address(s.port), Expect::error(UNEXPECTED_PROTOCOL))],
            ),
            // MariaDB greets first: not a MongoDB reply.
            Scenario::shared(
                "MariaDB",
                3306,
                vec![step(|s| address(s.port), Expect::error(UNEXPECTED_PROTOCOL))],
            ),
            // Redis reads inline commands up to a line end, with C string
            // functions that stop at the NUL bytes every MongoDB message
            // length holds: it waits in silence, as a hung server does.
            Scenario::shared("Redis", 6379, vec![step(|s| address(s.port), Expect::timeout())]),
        ]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: Row::Run(vec![Scenario::serverless(
            [
                step(
                    |_| source("mongodb+srv://u:p@cluster0.example.net/?retryWrites=true", json!({})),
                    Expect::failed().then(|r, _| {
                        assert_eq!(
                            r.message.as_deref(),
                            Some(
                                "mongodb+srv needs SRV and TXT lookups, which a probe cannot make: \
                                 give the hosts as mongodb://…"
                            ),
                            "{r:?}"
                        );
                    }),
                ),
                // The password is never quoted back.
                step(
                    |_| source("mongodb://u:Secret-99@h:0/", json!({})),
                    Expect::failed().then(|r, _| assert!(!format!("{r:?}").contains("Secret-99"), "{r:?}")),
                ),
            ]
            .into_iter()
            .chain(steps(
                vec![
                    json!({}),
                    json!({"uri": "mongodb://h/", "database": "app"}),
                    json!({"uri": "mongodb://h/", "collection": "c"}),
                    source("", json!({})),
                    source("http://h/", json!({})),
                    source("mongodb://h/", json!({"host": "h"})),
                    source("mongodb://u@h/", json!({})),
                    source("mongodb://h/?authMechanism=GSSAPI", json!({})),
                    source("mongodb://h/?tls=true", json!({"tls": {"mode": "disable"}})),
                    source("mongodb://h/?tlsCAFile=/etc/ca.pem", json!({})),
                    source("mongodb://h/", json!({"expect": {"equals": 1}})),
                    source("mongodb://h/", json!({"expect": {"max_age": "1d"}})),
                    source("mongodb://h/", json!({"filter": "k > 1"})),
                ],
                Expect::failed,
            ))
            .collect(),
        )]),
        tls: Tls::Table(TlsServers { start: start_tls, plain: || None, address }),
        // MongoDB has no STARTTLS: every mode but disable is TLS from the
        // first byte, and the uri's tls=true asks for it as `require` does.
        tls_modes: Row::Run(vec![
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    step(
                        |s| source(&format!("mongodb://127.0.0.1:{}/?tls=true", s.port), json!({})),
                        over_tls(),
                    ),
                    step(
                        |s| source(&format!("mongodb://127.0.0.1:{}/?ssl=true", s.port), json!({})),
                        over_tls(),
                    ),
                    step(|s| with_mode(address(s.port), json!({"mode": "prefer"})), over_tls()),
                    step(
                        |s| {
                            let ca = s.tls.as_ref().expect("tls facts").ca.clone();
                            let u = format!("mongodb://127.0.0.1:{}/?tls=true", s.port);
                            source(&u, json!({"tls": {"mode": "verify-full", "ca": ca}}))
                        },
                        over_tls(),
                    ),
                ],
            ),
            Scenario::on(
                with_auth,
                vec![
                    step(|s| admin(s, json!({})), in_plaintext()),
                    step(|s| admin(s, json!({"tls": {"mode": "disable"}})), in_plaintext()),
                ],
            ),
        ]),
        own_messages: &[],
    }
}

fn with_mode(mut config: Value, tls: Value) -> Value {
    config["tls"] = tls;
    config
}

cases!(probe);
