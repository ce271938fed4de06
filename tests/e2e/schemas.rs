//! Every built-in probe's published config schema: strict
//! (`additionalProperties: false`) over exactly its keys, its own and the
//! ones it flattens from the SDK's shared types (`sonde_sdk::conn`: serde
//! cannot refuse unknown keys through `flatten`, so the schema must), with
//! the usual defaults; and a key it does not list is FAILED before the
//! guest runs, naming the key.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::{closed_port, probe};

use crate::common::{load, runtime};

/// A probe, its keys, and the defaults that matter to operators (as JSON).
struct Expected {
    probe: &'static str,
    keys: &'static [&'static str],
    defaults: &'static [(&'static str, &'static str)],
}

const PROBES: &[Expected] = &[
    Expected { probe: "tcp", keys: &["host", "port"], defaults: &[] },
    Expected {
        probe: "postgres",
        keys: &["host", "port", "user", "password", "database", "query", "expect", "tls"],
        defaults: &[("port", "5432"), ("user", r#""postgres""#), ("query", r#""SELECT 1""#)],
    },
    Expected {
        probe: "mysql",
        keys: &["host", "port", "user", "password", "database", "query", "expect", "tls"],
        defaults: &[("port", "3306"), ("user", r#""root""#), ("query", r#""SELECT 1""#)],
    },
    Expected {
        probe: "redis",
        keys: &["host", "port", "user", "password", "database", "tls"],
        defaults: &[("port", "6379")],
    },
    Expected {
        probe: "amqp",
        keys: &["host", "port", "user", "password", "vhost", "tls"],
        defaults: &[("port", "5672"), ("user", r#""guest""#), ("vhost", r#""/""#)],
    },
    Expected {
        probe: "mqtt",
        keys: &["host", "port", "user", "password", "client_id", "protocol_version", "tls"],
        defaults: &[("port", "1883"), ("protocol_version", "4")],
    },
    Expected {
        probe: "nats",
        keys: &["host", "port", "user", "password", "token", "tls"],
        defaults: &[("port", "4222")],
    },
    Expected {
        probe: "ldap",
        keys: &["host", "port", "implicit_tls", "bind_dn", "password", "base_dn", "tls"],
        defaults: &[],
    },
    Expected {
        probe: "imap",
        keys: &["host", "port", "user", "password", "mailbox", "implicit_tls", "tls"],
        defaults: &[("port", "143"), ("mailbox", r#""INBOX""#)],
    },
    Expected {
        probe: "smtp",
        keys: &["host", "port", "user", "password", "helo_name", "implicit_tls", "tls"],
        defaults: &[("port", "25"), ("helo_name", r#""sonde-probe.invalid""#)],
    },
    Expected {
        probe: "sftp",
        keys: &["host", "port", "user", "password", "private_key", "host_key_sha256", "path"],
        defaults: &[("port", "22"), ("path", r#"".""#)],
    },
    Expected {
        probe: "clickhouse",
        keys: &["host", "port", "user", "password", "database", "query", "expect", "tls"],
        defaults: &[("user", r#""default""#), ("query", r#""SELECT 1""#)],
    },
    Expected {
        probe: "mongodb",
        keys: &["uri", "database", "collection", "expect", "filter", "time_field", "tls"],
        defaults: &[],
    },
    Expected {
        probe: "kafka-cloud",
        keys: &[
            "bootstrap_servers",
            "port",
            "topic",
            "kafka_api_key",
            "secret",
            "group_id",
            "sasl_mechanism",
            "tls",
        ],
        defaults: &[("port", "9092"), ("sasl_mechanism", r#""PLAIN""#)],
    },
    Expected {
        probe: "kafka",
        keys: &["bootstrap_servers", "port", "topic", "user", "password", "sasl_mechanism", "tls"],
        defaults: &[("port", "9092"), ("sasl_mechanism", r#""PLAIN""#)],
    },
    Expected {
        probe: "http",
        keys: &[
            "url",
            "method",
            "headers",
            "expected_status",
            "body_contains",
            "follow_redirects",
            "token",
            "user",
            "password",
            "auth",
            "expect",
            "tls",
        ],
        defaults: &[("method", r#""GET""#)],
    },
    Expected {
        probe: "s3",
        keys: &[
            "remote_url",
            "key",
            "secret",
            "token",
            "anonymous",
            "endpoint_url",
            "region",
            "path_style",
            "recursive",
            "expect",
            "scan",
            "auth",
            "tls",
        ],
        defaults: &[("endpoint_url", r#""https://s3.amazonaws.com""#)],
    },
    Expected {
        probe: "azure",
        keys: &[
            "remote_url",
            "account_name",
            "account_key",
            "sas_token",
            "connection_string",
            "authentication_method",
            "endpoint_url",
            "recursive",
            "expect",
            "scan",
            "auth",
            "tls",
        ],
        defaults: &[],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_schema_is_strict_over_exactly_its_keys() {
    let rt = runtime();
    for e in PROBES {
        let p = load(&rt, probe(e.probe)).await;
        let schema = &p.info.config_schema;
        assert_eq!(schema["additionalProperties"], false, "{}: {schema}", e.probe);
        let keys: BTreeSet<&str> =
            schema["properties"].as_object().expect("properties").keys().map(String::as_str).collect();
        assert_eq!(keys, e.keys.iter().copied().collect(), "{}", e.probe);
        for (key, default) in e.defaults {
            let default: Value = serde_json::from_str(default).expect("JSON");
            assert_eq!(schema["properties"][key]["default"], default, "{}.{key}", e.probe);
        }
        for (key, property) in schema["properties"].as_object().expect("properties") {
            let described = property["description"].as_str().is_some_and(|d| !d.is_empty());
            assert!(described || key == "tls", "{}.{key} has no description: {property}", e.probe);
        }
        for secret in ["password", "private_key", "secret", "kafka_api_key", "uri"] {
            if let Some(property) = schema["properties"].get(secret) {
                assert_eq!(property["writeOnly"], true, "{}.{secret}", e.probe);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_failed_before_the_guest_runs() {
    let rt = runtime();
    for e in PROBES {
        let p = load(&rt, probe(e.probe)).await;
        let mut config = match e.probe {
            "http" => json!({"url": format!("http://127.0.0.1:{}/", closed_port())}),
            "ldap" => json!({"host": "127.0.0.1", "port": closed_port(), "base_dn": ""}),
            "mongodb" => json!({
                "uri": format!("mongodb://127.0.0.1:{}/", closed_port()), "database": "d", "collection": "c",
            }),
            "kafka-cloud" | "kafka" => {
                json!({"bootstrap_servers": "127.0.0.1", "port": closed_port(), "topic": "t"})
            }
            _ => json!({"host": "127.0.0.1", "port": closed_port()}),
        };
        config["sonde_no_such_key"] = json!(1);
        let r = rt.check(&p, &config, Duration::from_secs(5)).await;
        assert_eq!(r.status, Status::Failed, "{}: {r:?}", e.probe);
        let said = format!("{:?} {:?}", r.message, r.extra);
        assert!(said.contains("sonde_no_such_key"), "{}: {r:?}", e.probe);
    }
}
