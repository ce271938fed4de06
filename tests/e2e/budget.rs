//! The per-check socket budget and the per-call host handle cap (DESIGN §2
//! "sockets" and "host handles"), at the runtime level. The same limits
//! against the real `sonde serve`, with its descriptors and memory
//! measured, are in `live::hoard`.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{Cause, CheckReport, RuntimeConfig, Status};
use sonde_test_support::http_server::{Reply, Server};

use crate::common::{assert_still_works, check, hostile, runtime, runtime_with};

const T: Duration = Duration::from_secs(10);

/// The `extra` of a refused hoard, as JSON.
fn refused(r: &CheckReport) -> Value {
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("socket refused")), "{r:?}");
    serde_json::from_str(r.extra.as_deref().expect("extra")).expect("JSON extra")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_16_sockets_can_be_created_and_the_17th_is_refused() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "hoard_sockets", "count": 16}), T).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(16)), "{r:?}");

    let r = check(&rt, &p, json!({"mode": "hoard_sockets", "count": 17}), T).await;
    assert_eq!(refused(&r), json!({"created": 16, "refused": {"new-socket-limit": 1}}));

    // The budget is per check: the next one starts afresh.
    let r = check(&rt, &p, json!({"mode": "hoard_sockets", "count": 16}), T).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(16)), "{r:?}");
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_sockets_get_sixteen() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "hoard_sockets", "count": 100_000}), T).await;
    assert_eq!(refused(&r), json!({"created": 16, "refused": {"new-socket-limit": 99_984}}));
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_is_configurable() {
    let rt = runtime_with(RuntimeConfig { max_new_sockets: 3, ..RuntimeConfig::default() });
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "hoard_sockets", "count": 4}), T).await;
    assert_eq!(refused(&r), json!({"created": 3, "refused": {"new-socket-limit": 1}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_is_refused_and_counted_too() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "hoard_sockets", "count": 20, "udp": true}), T).await;
    // UDP is disabled: refused before any descriptor exists, then over the
    // budget like TCP.
    assert_eq!(refused(&r), json!({"created": 0, "refused": {"access-denied": 16, "new-socket-limit": 4}}));
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_connections_come_from_the_same_budget() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let server = Server::start();
    server.route("/", Reply::new(200).body("ok"));
    let config = |n: usize| json!({"mode": "http", "host": "127.0.0.1", "port": server.port, "requests": n});

    let r = check(&rt, &p, config(16), T).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(16)), "{r:?}");
    assert_eq!(server.accepted(), 16);

    let r = check(&rt, &p, config(17), T).await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("http failed")), "{r:?}");
    assert!(r.extra.as_deref().is_some_and(|x| x.contains("ConnectionLimitReached")), "{r:?}");
    assert_eq!(server.accepted(), 32, "the 17th request reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_million_pollables_end_as_too_many_handles() {
    let rt = runtime();
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "hoard_pollables", "count": 1000}), T).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(1000)), "below the cap: {r:?}");

    let t0 = std::time::Instant::now();
    let r = check(&rt, &p, json!({"mode": "hoard_pollables", "count": 3_000_000}), T).await;
    println!("3,000,000 pollables: {:?} after {:?}", r.message, t0.elapsed());
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("too many handles")), "{r:?}");
    assert_eq!(r.cause, Cause::TooManyHandles);
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handle_cap_is_configurable() {
    let rt = runtime_with(RuntimeConfig { max_handles: 100, ..RuntimeConfig::default() });
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "hoard_pollables", "count": 50}), T).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let r = check(&rt, &p, json!({"mode": "hoard_pollables", "count": 200}), T).await;
    assert_eq!(r.message.as_deref(), Some("too many handles"), "{r:?}");
}
