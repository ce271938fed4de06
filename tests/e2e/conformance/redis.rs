//! The redis probe's rows: the shared Redis (no auth), ACL users on it,
//! private password-only servers, and private `--tls-port` servers.

use serde_json::json;
use sonde_test_support::redis::{AclUser, RedisServer};

use super::tls::{Tls, TlsServers};
use super::{
    AUTH_FAILED, Expect, Probe, Row, Scenario, Server, another_protocol, cases, host_port, invalid_host_port,
    loopback, step,
};

pub fn probe() -> Probe {
    Probe {
        source_type: "redis",
        address: host_port,
        ok: Row::Run(vec![Scenario::shared(
            "Redis",
            6379,
            vec![step(
                |_| json!({"host": "127.0.0.1"}),
                Expect::ok().then(|r, _| {
                    let details = r.details.as_ref().expect("details");
                    assert!(details["server_version"].as_str().is_some_and(|v| v.contains('.')), "{details}");
                    assert_eq!(details["database"], 0);
                    assert!(r.items.is_some(), "DBSIZE as items");
                }),
            )],
        )]),
        credentials: Row::Run(vec![
            // An ACL user on the shared server, with a database.
            Scenario::on(
                || {
                    let server = Server::shared("Redis", 6379)?;
                    let user = AclUser::create("pw");
                    let name = user.name.clone();
                    Some(server.holding(&name, user))
                },
                vec![
                    step(
                        |s| json!({"host": "127.0.0.1", "user": s.user, "password": "pw", "database": 3}),
                        Expect::ok()
                            .then(|r, _| assert_eq!(r.details.as_ref().expect("details")["database"], 3)),
                    ),
                    step(
                        |s| json!({"host": "127.0.0.1", "user": s.user, "password": "nope"}),
                        Expect::error(AUTH_FAILED).extra("WRONGPASS"),
                    ),
                ],
            ),
            // A password without a user (`requirepass`).
            Scenario::on(
                || RedisServer::with_password("pw").map(|r| Server::private(r.port, r)),
                vec![
                    step(
                        |s| loopback(s.port, json!({"password": "pw"})),
                        Expect::ok().then(|r, _| assert_eq!(r.items, Some(0))),
                    ),
                    step(|s| loopback(s.port, json!({"password": "nope"})), Expect::error(AUTH_FAILED)),
                    // No password at all: the server answers PING with NOAUTH.
                    step(|s| host_port(s.port), Expect::error(AUTH_FAILED).extra("NOAUTH")),
                ],
            ),
        ]),
        missing_resource: Row::Run(vec![Scenario::shared(
            "Redis",
            6379,
            vec![step(
                |_| json!({"host": "127.0.0.1", "database": 100000}),
                Expect::error("database does not exist"),
            )],
        )]),
        // PostgreSQL reads our command as a bad startup packet and hangs up.
        wrong_server: Row::Run(vec![another_protocol("PostgreSQL", 5432, host_port)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            json!({"host": "h", "database": -1}),
            json!({"host": "h", "db": 1}),
            json!({"host": "h", "user": "u"}),
        ]),
        tls: Tls::Table(TlsServers {
            start: |pair, ca, demand| {
                RedisServer::with_tls(pair, &ca.ca_file(), demand).map(|r| Server::private(r.port, r))
            },
            plain: || None,
            address: host_port,
        }),
        tls_modes: Row::Skip(
            "`--tls-port` is TLS from the first byte on a port of its own: no mode negotiates it",
        ),
        own_messages: &[],
    }
}

cases!(probe);
