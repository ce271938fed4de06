//! The sftp probe's rows: private OpenSSH servers (Debian's
//! `openssh-server`), each with a user of its own who logs in with a
//! password or an ed25519 key, and a host key the rows pin.

use serde_json::{Value, json};
use sonde_test_support::sshd::{self, FILE, Sshd};

use super::tls::Tls;
use super::{
    AUTH_FAILED, Expect, Probe, Row, Scenario, Server, UNEXPECTED_PROTOCOL, another_protocol, cases,
    invalid_host_port, loopback, step,
};

/// The message of a host key other than the pinned one.
const HOST_KEY_MISMATCH: &str = "host key mismatch";
/// A well-formed fingerprint of no server here.
const OTHER_KEY: &str = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

fn start() -> Option<Server> {
    Sshd::start().map(|s| Server::private(s.port, s))
}

/// The server's user with its password and its pinned host key, with `extra`'s members.
fn with_password(s: &Server, extra: Value) -> Value {
    let sshd = s.get::<Sshd>();
    merge(
        loopback(
            s.port,
            json!({"user": sshd.user, "password": sshd::PASSWORD, "host_key_sha256": sshd.host_key_sha256}),
        ),
        extra,
    )
}

/// The server's user with the key, not the password.
fn with_key(s: &Server, extra: Value) -> Value {
    let sshd = s.get::<Sshd>();
    merge(
        loopback(
            s.port,
            json!({"user": sshd.user, "private_key": sshd.client_key, "host_key_sha256": sshd.host_key_sha256}),
        ),
        extra,
    )
}

fn merge(mut config: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().into_iter().flatten() {
        if value.is_null() {
            config.as_object_mut().expect("an object").remove(key);
        } else {
            config[key] = value.clone();
        }
    }
    config
}

/// Credentials for `port`, with a host key no server has: for the harness's
/// silent and refused listeners, and for servers of other protocols.
fn address(port: u16) -> Value {
    // A password long enough that the host's redaction of it cannot mangle a message.
    loopback(port, json!({"user": "u", "password": "not-the-password", "host_key_sha256": OTHER_KEY}))
}

/// OK, logged in with `method`, at the user's home (or `under` it).
fn ok_at(method: &'static str, under: &'static str, kind: &'static str) -> Expect {
    Expect::ok().then(move |r, s| {
        let sshd = s.get::<Sshd>();
        let details = r.details.as_ref().expect("details");
        assert_eq!(details["authenticated"], true, "{details}\n{}", sshd.log());
        assert_eq!(details["auth_method"], method, "{details}");
        assert_eq!(details["host_key_sha256"], sshd.host_key_sha256.as_str(), "{details}");
        assert_eq!(details["host_key_algorithm"], "ssh-ed25519", "{details}");
        assert!(details["server_version"].as_str().is_some_and(|v| v.contains("OpenSSH")), "{details}");
        assert_eq!(details["sftp_version"], 3, "{details}");
        let want = if under.is_empty() { sshd.home.clone() } else { sshd.home.join(under) };
        assert_eq!(details["resolved_path"], want.display().to_string().as_str(), "{details}");
        assert_eq!(details["type"], kind, "{details}");
    })
}

/// A secret must never show in a report.
fn without(secret: &'static str, expect: Expect) -> Expect {
    expect.then(move |r, _| assert!(!format!("{r:?}").contains(secret), "a secret leaked: {r:?}"))
}

pub fn probe() -> Probe {
    Probe {
        source_type: "sftp",
        address,
        ok: Row::Run(vec![Scenario::on(
            start,
            vec![
                step(|s| with_password(s, json!({})), ok_at("password", "", "directory")),
                step(|s| with_key(s, json!({})), ok_at("publickey", "", "directory")),
                step(
                    |s| with_password(s, json!({"path": FILE})),
                    ok_at("password", FILE, "file").then(|r, _| {
                        let size = sshd::FILE_TEXT.len() as u64;
                        assert_eq!(r.details.as_ref().expect("details")["size"], size, "{r:?}");
                    }),
                ),
                // An absolute path; the key tried first, then the password.
                step(
                    |s| {
                        let home = s.get::<Sshd>().home.display().to_string();
                        merge(with_key(s, json!({"path": home})), json!({"password": sshd::PASSWORD}))
                    },
                    ok_at("publickey", "", "directory"),
                ),
                // No credentials: the handshake and the pinned host key only.
                step(
                    |s| loopback(s.port, json!({"host_key_sha256": s.get::<Sshd>().host_key_sha256})),
                    Expect::ok().then(|r, s| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(details["authenticated"], false, "{details}");
                        assert_eq!(details["host_key_sha256"], s.get::<Sshd>().host_key_sha256.as_str());
                        assert!(details.get("resolved_path").is_none(), "{details}");
                    }),
                ),
            ],
        )]),
        credentials: Row::Run(vec![Scenario::on(
            start,
            vec![
                step(|s| with_password(s, json!({})), Expect::ok()),
                step(|s| with_key(s, json!({})), Expect::ok()),
                step(
                    |s| with_password(s, json!({"password": "wrong-s3cret"})),
                    without("wrong-s3cret", Expect::error(AUTH_FAILED).extra("refused the password")),
                ),
                step(
                    |s| with_password(s, json!({"user": "nobody-here"})),
                    without(sshd::PASSWORD, Expect::error(AUTH_FAILED)),
                ),
                // A key the server does not authorize (its own host key), then a wrong password.
                step(
                    |s| {
                        let other = std::fs::read_to_string(s.get::<Sshd>().dir.join("host_key"))
                            .expect("the host key");
                        merge(with_key(s, json!({"private_key": other})), json!({"password": "wrong-s3cret"}))
                    },
                    without("PRIVATE KEY", Expect::error(AUTH_FAILED).extra("the key and the password")),
                ),
                // Missing credentials: without `user` the probe logs in as no one.
                step(
                    |s| loopback(s.port, json!({"host_key_sha256": s.get::<Sshd>().host_key_sha256})),
                    Expect::ok(),
                ),
                // Another host key pinned: ERROR before any credential is sent.
                step(
                    |s| with_password(s, json!({"host_key_sha256": OTHER_KEY})),
                    without(
                        sshd::PASSWORD,
                        Expect::error(HOST_KEY_MISMATCH).extra(OTHER_KEY).then(|r, s| {
                            let sshd = s.get::<Sshd>();
                            let extra = r.extra.as_deref().unwrap_or_default();
                            assert!(extra.contains(&sshd.host_key_sha256), "observed in extra: {r:?}");
                            assert!(!sshd.log().contains("Failed password"), "{}", sshd.log());
                        }),
                    ),
                ),
                step(
                    |s| loopback(s.port, json!({"host_key_sha256": OTHER_KEY})),
                    Expect::error(HOST_KEY_MISMATCH),
                ),
            ],
        )]),
        missing_resource: Row::Run(vec![Scenario::on(
            start,
            vec![
                step(
                    |s| with_password(s, json!({"path": "nope"})),
                    // OpenSSH resolves a missing last component; STAT finds it missing.
                    Expect::error("path does not exist").extra("No such file"),
                ),
                step(|s| with_key(s, json!({"path": "/nope/deeper"})), Expect::error("path does not exist")),
            ],
        )]),
        wrong_server: Row::Run(vec![
            // NATS speaks first with an `INFO {…}` line, answers the client's
            // version line with `-ERR` and closes: no SSH version line came.
            another_protocol("NATS", 4222, address),
            // MariaDB speaks first with a binary handshake: not text at all.
            another_protocol("MariaDB", 3306, address),
            // Redis answers the client's version line with an `-ERR` line and
            // waits: text lines may precede a server's version line (RFC 4253
            // §4.2), so this is a server that has not said its version yet.
            Scenario::shared("Redis", 6379, vec![step(|s| address(s.port), Expect::timeout())]),
            // Not other protocols, but a limit of the probe: SSH servers
            // whose only host key is ECDSA or RSA. sunset 0.6 negotiates
            // ed25519 host keys only (its `rsa` feature would add RSA, but
            // does not resolve against the ssh-key it needs), so no host
            // key algorithm is shared.
            Scenario::on(
                || Sshd::with_host_key("ecdsa").map(|s| Server::private(s.port, s)),
                vec![step(
                    |s| with_key(s, json!({})),
                    Expect::error(UNEXPECTED_PROTOCOL).extra("no hostkey algorithm"),
                )],
            ),
            Scenario::on(
                || Sshd::with_host_key("rsa").map(|s| Server::private(s.port, s)),
                vec![step(
                    |s| with_key(s, json!({})),
                    Expect::error(UNEXPECTED_PROTOCOL).extra("no hostkey algorithm"),
                )],
            ),
        ]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: invalid_host_port(vec![
            // Credentials without a pinned host key.
            json!({"host": "h", "user": "u", "password": "p"}),
            json!({"host": "h", "user": "u", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}),
            json!({"host": "h", "user": "u", "host_key_sha256": OTHER_KEY}),
            json!({"host": "h", "password": "p", "host_key_sha256": OTHER_KEY}),
            json!({"host": "h", "user": "u", "password": "p", "host_key_sha256": "SHA256:short"}),
            json!({"host": "h", "user": "u", "password": "p", "host_key_sha256": "MD5:aa:bb"}),
            json!({"host": "h", "user": "u", "private_key": "not a key", "host_key_sha256": OTHER_KEY}),
            json!({"host": "h", "user": "", "password": "p", "host_key_sha256": OTHER_KEY}),
            json!({"host": "h", "path": ""}),
            json!({"host": "h", "tls": {"mode": "require"}}),
        ]),
        tls: Tls::Skip("SSH has its own cryptography: the sftp probe opens no TLS"),
        tls_modes: Row::Skip("SSH has its own cryptography: the sftp probe opens no TLS"),
        own_messages: &[(
            HOST_KEY_MISMATCH,
            "the server's host key is not the pinned `host_key_sha256`: no TLS message of DESIGN §4 says it",
        )],
    }
}

cases!(probe);
