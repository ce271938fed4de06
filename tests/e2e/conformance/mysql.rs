//! The mysql probe's rows: the shared MariaDB (root without a password), an
//! account made on it, and private MariaDB servers with and without
//! `--ssl-cert` (TLS is the SSL request after the greeting).

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::closed_port;
use sonde_test_support::mariadb::PrivateMariaDb;
use sonde_test_support::mysql::MariaDbUser;

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NO_TLS, Probe, Row, Scenario, Server, another_protocol, cases, host_port,
    invalid_host_port, loopback, step,
};

const PASSWORD: &str = "probe-secret";

fn private(db: PrivateMariaDb) -> Server {
    Server::private(db.port, db)
}

/// With a client certificate demanded, root must log in with one (`REQUIRE X509`).
fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    PrivateMariaDb::with_tls(pair, &ca.ca_file(), demand).map(private)
}

/// A step with `tls` (null: none at all) against the scenario's server.
fn with_mode(tls: Value, expect: Expect) -> super::Step {
    step(move |s| loopback(s.port, json!({"tls": tls})), expect)
}

pub fn probe() -> Probe {
    Probe {
        source_type: "mysql",
        address: host_port,
        ok: Row::Run(vec![Scenario::shared(
            "MariaDB",
            3306,
            vec![step(
                |_| json!({"host": "127.0.0.1", "database": "test"}),
                Expect::ok().then(|r, _| {
                    let details = r.details.as_ref().expect("details");
                    let version = details["server_version"].as_str().expect("server_version");
                    assert!(version.contains("MariaDB") && !version.starts_with("5.5.5-"), "{version}");
                    assert_eq!(details["query_rows"], 1);
                }),
            )],
        )]),
        // `mysql_native_password`; `caching_sha2_password` is in
        // tests/e2e/mysql.rs against a scripted MySQL 8 (MariaDB has none).
        credentials: Row::Run(vec![Scenario::on(
            || {
                let server = Server::shared("MariaDB", 3306)?;
                let user = MariaDbUser::create("sonde_probe_test_login", PASSWORD);
                let name = user.name.clone();
                Some(server.holding(&name, user))
            },
            vec![
                step(
                    |s| {
                        json!({"host": "127.0.0.1", "user": s.user, "password": PASSWORD, "database": "test",
                               "query": "SELECT 1 UNION SELECT 2"})
                    },
                    Expect::ok()
                        .then(|r, _| assert_eq!(r.details.as_ref().expect("details")["query_rows"], 2)),
                ),
                step(
                    |s| json!({"host": "127.0.0.1", "user": s.user, "password": "nope", "database": "test"}),
                    Expect::error(AUTH_FAILED).extra("1045"),
                ),
                step(|s| json!({"host": "127.0.0.1", "user": s.user}), Expect::error(AUTH_FAILED)),
            ],
        )]),
        missing_resource: Row::Run(vec![Scenario::shared(
            "MariaDB",
            3306,
            vec![step(
                |_| json!({"host": "127.0.0.1", "database": "sonde_no_such_db"}),
                Expect::error("database does not exist").extra("1049"),
            )],
        )]),
        // NATS greets with `INFO {...}`: not a MySQL packet.
        wrong_server: Row::Run(vec![another_protocol("NATS", 4222, host_port)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "user": ""}),
            json!({"host": "h", "database": ""}),
            json!({"host": "h", "query": ""}),
            json!({"host": "h", "password": 5}),
            json!({"host": "h", "sslmode": "require"}),
            json!({"host": "127.0.0.1", "port": closed_port(), "user": "a\u{0}b"}),
        ]),
        // A plaintext server's greeting offers no `CLIENT_SSL`.
        tls: Tls::Table(TlsServers {
            start: start_tls,
            plain: || PrivateMariaDb::start().map(private),
            address: host_port,
        }),
        // `prefer` upgrades when the greeting offers TLS and goes on in
        // plaintext when it does not; `disable` (the default, DESIGN §4)
        // never upgrades; `require` against TLS off is the stable ERROR.
        tls_modes: Row::Run(vec![
            Scenario::on(
                || PrivateMariaDb::start().map(private),
                vec![
                    with_mode(json!({"mode": "require"}), Expect::error(NO_TLS)),
                    with_mode(json!({"mode": "prefer"}), in_plaintext()),
                    with_mode(Value::Null, in_plaintext()),
                    with_mode(json!({"mode": "disable"}), in_plaintext()),
                ],
            ),
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    with_mode(json!({"mode": "prefer"}), over_tls()),
                    with_mode(Value::Null, in_plaintext()),
                    with_mode(json!({"mode": "disable"}), in_plaintext()),
                ],
            ),
        ]),
        own_messages: &[],
    }
}

cases!(probe);
