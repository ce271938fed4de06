//! The mongodb probe's own tests, beyond the conformance table
//! (`conformance/mongodb.rs`): `expect` on a real server (SecantusDB), and
//! pymongo as the oracle: for each source, its `ping` and
//! `list_collection_names` must agree with the probe's verdict.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Runtime, Status};
use sonde_test_support::secantus::Secantus;

use crate::common::{assert_error, assert_hidden, load, runtime};
use crate::conformance::mongodb::source;

struct Probe {
    rt: Runtime,
    plugin: sonde::runtime::Plugin,
}

impl Probe {
    async fn new() -> Self {
        let rt = runtime();
        let plugin = load(&rt, sonde_test_support::probe("mongodb")).await;
        Self { rt, plugin }
    }

    async fn check(&self, config: Value) -> CheckReport {
        self.rt.check(&self.plugin, &config, Duration::from_secs(10)).await
    }
}

/// `expected` and `observed` of a failed assertion.
fn assertion(r: &CheckReport) -> (Value, Value) {
    assert_error(r, "assertion failed");
    let extra: Value = serde_json::from_str(r.extra.as_deref().unwrap_or("")).expect("extra is JSON");
    assert_eq!(extra["stage"], "assertion", "{r:?}");
    (extra["expected"].clone(), extra["observed"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_rows_counts_the_documents_matching_the_filter() {
    let Some(server) = Secantus::with_auth() else { return };
    let probe = Probe::new().await;
    let uri = server.admin_uri();

    let r = probe.check(source(&uri, json!({"filter": {"k": {"$gte": 2}}, "expect": {"rows": 3}}))).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(3)), "{r:?}");
    let r = probe.check(source(&uri, json!({"filter": {"k": 99}, "expect": {"rows": 0}}))).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(0)), "{r:?}");
    // Without a filter, the collection's count.
    let r = probe.check(source(&uri, json!({"expect": {"rows": {"min": 5, "max": 5}}}))).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(5)), "{r:?}");

    let r =
        probe.check(source(&uri, json!({"filter": {"k": {"$lt": 2}}, "expect": {"rows": {"min": 4}}}))).await;
    assert_eq!(assertion(&r), (json!({"min": 4, "max": null}), json!(2)));
    let r = probe.check(source(&uri, json!({"expect": {"rows": 4}}))).await;
    assert_eq!(assertion(&r), (json!(4), json!(5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_max_age_holds_the_newest_time_field() {
    let Some(server) = Secantus::with_auth() else { return };
    let probe = Probe::new().await;
    let uri = server.admin_uri();

    // Written at the fixture's start: fresh.
    let r = probe.check(source(&uri, json!({"time_field": "at", "expect": {"max_age": "1h"}}))).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let newest =
        r.details.as_ref().expect("details")["newest"].as_str().expect("an RFC 3339 date").to_string();
    assert!(newest.ends_with('Z') && newest.contains('T'), "{newest}");

    // Thirty days old.
    let stale = json!({"collection": "stale", "time_field": "at", "expect": {"max_age": "7d"}});
    let (expected, observed) = assertion(&probe.check(source(&uri, stale)).await);
    assert_eq!(expected, "7d");
    assert!(observed.as_str().is_some_and(|o| o.starts_with("29d") || o.starts_with("30d")), "{observed}");

    // The filter narrows the newest too: nothing matches, nothing to date.
    let none = json!({"filter": {"k": 99}, "time_field": "at", "expect": {"max_age": "1h"}});
    let (_, observed) = assertion(&probe.check(source(&uri, none)).await);
    assert_eq!(observed, Value::Null);

    // A field that holds no time.
    let r = probe.check(source(&uri, json!({"time_field": "k", "expect": {"max_age": "1h"}}))).await;
    assertion(&r);
}

/// The probe's verdict and pymongo's, for one source, agree: OK when
/// pymongo lists the collection, "does not exist" when it lists nothing,
/// and the same server code when it is refused.
fn agree(r: &CheckReport, oracle: &Value, what: &str) {
    let code = |v: &Value| v.get("code").and_then(Value::as_i64);
    let extra: Value = r.extra.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or(Value::Null);
    match (&oracle["ping"], &oracle["collections"]) {
        (Value::String(ok), Value::Array(names)) if ok == "ok" && !names.is_empty() => {
            assert_eq!(r.status, Status::Ok, "{what}: pymongo {oracle}, probe {r:?}");
        }
        (Value::String(ok), Value::Array(_)) if ok == "ok" => {
            let m = r.message.as_deref().unwrap_or_default();
            assert!(m.ends_with(" does not exist"), "{what}: pymongo {oracle}, probe {r:?}");
        }
        (Value::String(_), refused) => {
            assert_eq!(code(refused), code(&extra), "{what}: pymongo {oracle}, probe {r:?}");
            assert_eq!(code(refused), Some(13), "{what}: {oracle}");
        }
        (refused, _) => {
            assert_error(r, "authentication failed");
            assert_eq!(code(refused), code(&extra), "{what}: pymongo {oracle}, probe {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_agrees_with_pymongo() {
    let Some(server) = Secantus::with_auth() else { return };
    let probe = Probe::new().await;
    let password = server.password.clone();
    let cases = [
        (server.admin_uri(), "app", "events"),
        // Without authMechanism pymongo fails this SHA-1-only user on
        // SecantusDB 0.7.0b3 (its speculative SCRAM-SHA-256 in `hello` is
        // taken up, then refused, where mongod refuses it at once and the
        // driver falls back); the probe follows saslSupportedMechs (the
        // conformance row). Both are told the mechanism here.
        (format!("{}?authMechanism=SCRAM-SHA-1", server.uri("sha1", &password)), "app", "stale"),
        (server.uri("admin", "wrong"), "app", "events"),
        (server.uri("nobody", &password), "app", "events"),
        (server.uri("reader", "reader-pw"), "app", "events"),
        (server.uri("reader", "reader-pw"), "other", "things"),
        (server.uri("reader", "reader-pw"), "other", "nope"),
        (format!("mongodb://127.0.0.1:{}/", server.port), "app", "events"),
        (server.admin_uri(), "app", "nope"),
        (server.admin_uri(), "nodb", "events"),
    ];
    for (uri, database, collection) in cases {
        let oracle = server.oracle(&uri, database, collection);
        let r = probe.check(json!({"uri": uri, "database": database, "collection": collection})).await;
        let what = format!("{database}.{collection} as {}", uri.split('@').next().unwrap_or_default());
        agree(&r, &oracle, &what);
        // Neither the uri nor its password, raw or decoded, is ever reported.
        assert_hidden(&r, &uri);
        assert_hidden(&r, &password);
        assert_hidden(&r, &sonde_test_support::secantus::encode(&password));
    }
}
