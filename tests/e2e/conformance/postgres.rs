//! The postgres probe's rows: the shared PostgreSQL (trust auth), a private
//! one for the password methods, and private ones with `ssl=on`.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::closed_port;
use sonde_test_support::postgres::{MD5_USER, PASSWORD_USER, PrivatePostgres, SCRAM_USER};

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NO_TLS, Probe, Row, Scenario, Server, another_protocol, cases, host_port,
    invalid_host_port, loopback, step,
};

fn private(pg: PrivatePostgres) -> Server {
    Server::private(pg.port, pg)
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    PrivatePostgres::with_tls(pair, &ca.ca_file(), demand).map(private)
}

/// A private server's config as `user` with `password` (none: the key left out).
fn login(port: u16, user: &str, password: Option<&str>) -> Value {
    loopback(port, json!({"user": user, "password": password, "database": "postgres"}))
}

pub fn probe() -> Probe {
    // Every password method of one private server, right, wrong and
    // missing: the server takes a second or two to start.
    let mut logins = Vec::new();
    for (user, password) in [PASSWORD_USER, MD5_USER, SCRAM_USER] {
        logins.push(step(
            move |s| login(s.port, user, Some(password)),
            Expect::ok().then(move |r, s| {
                let pg = s.get::<PrivatePostgres>();
                assert!(
                    r.details.as_ref().is_some_and(|d| d["server_version"].is_string()),
                    "{r:?}\n{}",
                    pg.log()
                );
                // The md5 user's password is stored as MD5, so its `md5` line
                // made the server ask for MD5 (with a SCRAM verifier it would
                // have used SCRAM).
                if user == MD5_USER.0 {
                    let sql =
                        format!("SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = '{user}'");
                    assert!(
                        String::from_utf8_lossy(&pg.psql(&sql).stdout).contains('t'),
                        "md5 stored as md5"
                    );
                }
            }),
        ));
        logins.push(step(
            move |s| login(s.port, user, Some("wrong-password")),
            Expect::error(AUTH_FAILED).extra("28P01"),
        ));
        logins.push(step(move |s| login(s.port, user, None), Expect::error(AUTH_FAILED)));
    }
    let (user, password) = PASSWORD_USER;
    let as_password_user = |tls: Value, expect: Expect| {
        let config = json!({"user": user, "password": password, "database": "postgres", "tls": tls});
        step(move |s| loopback(s.port, config.clone()), expect)
    };

    Probe {
        source_type: "postgres",
        address: host_port,
        ok: Row::Run(vec![Scenario::shared(
            "PostgreSQL",
            5432,
            vec![step(
                |_| json!({"host": "127.0.0.1", "database": "test"}),
                Expect::ok().then(|r, _| {
                    let details = r.details.as_ref().expect("details");
                    let version = details["server_version"].as_str();
                    assert!(
                        version.is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())),
                        "{details}"
                    );
                    assert_eq!(details["query_rows"], 1);
                    assert!(r.items.is_some(), "a table count: {r:?}");
                }),
            )],
        )]),
        credentials: Row::Run(vec![Scenario::on(|| PrivatePostgres::start().map(private), logins)]),
        missing_resource: Row::Run(vec![Scenario::shared(
            "PostgreSQL",
            5432,
            vec![step(
                |_| json!({"host": "127.0.0.1", "database": "sonde_no_such_db"}),
                Expect::error("database does not exist").extra("3D000"),
            )],
        )]),
        wrong_server: Row::Run(vec![
            // NATS speaks first (`INFO {...}`): not a PostgreSQL message.
            another_protocol("NATS", 4222, host_port),
            // MariaDB greets with its handshake: not an authentication request.
            another_protocol("MariaDB", 3306, host_port),
            // Redis waits for a line end that a startup message never has,
            // so it stays as silent as a hung server: a timeout, not a
            // wrong answer.
            Scenario::shared("Redis", 6379, vec![step(|s| host_port(s.port), Expect::timeout())]),
        ]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "user": ""}),
            json!({"host": "h", "query": ""}),
            json!({"host": "h", "password": 5}),
            json!({"host": "h", "sslmode": "require"}),
            json!({"host": "127.0.0.1", "port": closed_port(), "database": "a\u{0}b"}),
        ]),
        tls: Tls::Table(TlsServers {
            start: start_tls,
            plain: || PrivatePostgres::start().map(private),
            address: |port| loopback(port, json!({"user": "postgres", "database": "postgres"})),
        }),
        // Against a server with TLS off: `require` is the stable ERROR (the
        // server said `N`), `prefer` and the default (libpq's `prefer`) go on
        // in plaintext; against one with TLS on, the default is TLS.
        tls_modes: Row::Run(vec![
            Scenario::on(
                || PrivatePostgres::start().map(private),
                vec![
                    as_password_user(json!({"mode": "require"}), Expect::error(NO_TLS)),
                    as_password_user(json!({"mode": "prefer"}), in_plaintext()),
                    as_password_user(Value::Null, in_plaintext()),
                    as_password_user(json!({"mode": "disable"}), in_plaintext()),
                ],
            ),
            on_tls(
                start_tls,
                Leaf::Good,
                vec![step(
                    |s| loopback(s.port, json!({"user": "postgres", "database": "postgres"})),
                    over_tls(),
                )],
            ),
        ]),
        own_messages: &[],
    }
}

cases!(probe);
