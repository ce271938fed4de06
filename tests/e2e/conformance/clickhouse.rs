//! The clickhouse probe's rows: private `clickhouse-server`s (Debian's
//! 18.16) over HTTP with generated passwords, and over HTTPS with the test
//! CA's certificates; Redis as the wrong kind of server.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::clickhouse::ClickHouse;

use super::tls::{Tls, TlsServers, in_plaintext, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NO_TLS, Probe, Row, Scenario, Server, another_protocol, cases, host_port,
    invalid_host_port, loopback, step,
};
use crate::common::assert_hidden;

fn private() -> Option<Server> {
    ClickHouse::start().map(|c| Server::private(c.port, c))
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    ClickHouse::with_tls(pair, &ca.ca_file(), demand).map(|c| Server::private(c.port, c))
}

/// The private server's `default` user with its password, and `extra`.
fn as_default(s: &Server, extra: Value) -> Value {
    let mut config = loopback(s.port, extra);
    config["password"] = s.get::<ClickHouse>().password.clone().into();
    config
}

/// The `sonde` user with `password`.
fn as_sonde(s: &Server, password: &str) -> Value {
    loopback(s.port, json!({"user": "sonde", "password": password}))
}

pub fn probe() -> Probe {
    Probe {
        source_type: "clickhouse",
        address: host_port,
        ok: Row::Run(vec![Scenario::on(
            private,
            vec![
                step(
                    |s| as_default(s, json!({})),
                    Expect::ok().then(|r, _| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(details["query_rows"], 1, "{details}");
                        assert!(r.items.is_some(), "the database's tables as items: {r:?}");
                    }),
                ),
                step(
                    |s| {
                        let c = s.get::<ClickHouse>();
                        let mut config = as_sonde(s, &c.user_password);
                        config["database"] = "system".into();
                        config["query"] = "SELECT name FROM tables WHERE database = 'system' LIMIT 3".into();
                        config["expect"] = json!({"rows": 3});
                        config
                    },
                    Expect::ok().then(|r, _| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(
                            (&details["database"], &details["query_rows"]),
                            (&json!("system"), &json!(3))
                        );
                        assert!(r.items.is_some_and(|n| n > 3), "system's tables: {r:?}");
                    }),
                ),
            ],
        )]),
        credentials: Row::Run(vec![Scenario::on(
            private,
            vec![
                step(|s| as_sonde(s, &s.get::<ClickHouse>().user_password), Expect::ok()),
                // WRONG_PASSWORD.
                step(
                    |s| as_sonde(s, "wrong-pw"),
                    Expect::error(AUTH_FAILED).extra("193").then(|r, _| assert_hidden(r, "wrong-pw")),
                ),
                // REQUIRED_PASSWORD: `default` without one.
                step(|s| host_port(s.port), Expect::error(AUTH_FAILED).extra("194")),
                // UNKNOWN_USER.
                step(
                    |s| loopback(s.port, json!({"user": "nobody", "password": "x"})),
                    Expect::error(AUTH_FAILED).extra("192"),
                ),
            ],
        )]),
        missing_resource: Row::Run(vec![Scenario::on(
            private,
            vec![step(
                |s| as_default(s, json!({"database": "nope"})),
                Expect::error("database does not exist").extra("81"),
            )],
        )]),
        wrong_server: Row::Run(vec![another_protocol("Redis", 6379, host_port)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "port": 70000}),
            json!({"host": "h", "username": "u"}),
            json!({"host": "h", "query": ""}),
            json!({"host": "h", "database": ""}),
            json!({"host": "h", "expect": {"json": {"/a": 1}}}),
            json!({"host": "h", "expect": {"rows": {"min": 3, "max": 1}}}),
            json!({"host": "h", "tls": {"mode": "sometimes"}}),
        ]),
        // Plain ClickHouse is no deterministic "plaintext only" peer: Poco's
        // parser answers a ClientHello with 400 or waits for a line end,
        // by its random bytes (about one hello in twelve holds a space
        // early enough to wait: TIMEOUT, seen in a full run). The table's
        // own greeting peer stands in.
        tls: Tls::Table(TlsServers { start: start_tls, plain: || None, address: host_port }),
        // Every mode but `disable` is HTTPS from the first byte (ClickHouse's
        // `https_port` is a port of its own): `prefer` cannot fall back.
        tls_modes: Row::Run(vec![
            on_tls(
                start_tls,
                Leaf::Good,
                vec![
                    step(|s| loopback(s.port, json!({"tls": {"mode": "require"}})), over_tls()),
                    step(|s| loopback(s.port, json!({"tls": {"mode": "prefer"}})), over_tls()),
                ],
            ),
            Scenario::on(
                private,
                vec![step(|s| as_default(s, json!({"tls": {"mode": "disable"}})), in_plaintext())],
            ),
            // `prefer` cannot fall back to plain HTTP. Against plain
            // ClickHouse the host's ClientHello meets Poco's HTTP parser,
            // which answers 400 or waits for a line end depending on the
            // hello's random bytes (a fresh-clone run once timed out), so
            // the plaintext peer here is PostgreSQL, which closes at once
            // on a startup length that large.
            Scenario::shared(
                "PostgreSQL",
                5432,
                vec![step(|s| loopback(s.port, json!({"tls": {"mode": "prefer"}})), Expect::error(NO_TLS))],
            ),
        ]),
        own_messages: &[],
    }
}

cases!(probe);
