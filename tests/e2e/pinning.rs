//! `wasi:http` goes to the host's own answer for a declared name (DESIGN §2
//! "HTTP names"): the runtime is given a resolver that answers `localhost`
//! with 127.0.0.2, where server A listens, while the system answers
//! 127.0.0.1, where server B listens on the same port. A request that
//! resolved the name again at send time would reach B.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sonde::runtime::{RuntimeConfig, StaticResolver, Status};
use sonde_test_support::http_server::{Reply, Server};

use crate::common::{check, hostile, runtime_with};

const PINNED: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// Server A on 127.0.0.2 and server B on 127.0.0.1, on one port.
fn same_port_on_two_loopbacks() -> (Server, Server) {
    for _ in 0..20 {
        let a = Server::start_on(SocketAddr::new(PINNED, 0)).expect("127.0.0.2 is loopback on Linux");
        if let Ok(b) = Server::start_on(SocketAddr::from(([127, 0, 0, 1], a.port))) {
            return (a, b);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_goes_to_the_hosts_answer_and_never_resolves_again() {
    let system: Vec<IpAddr> = tokio::net::lookup_host(("localhost", 80))
        .await
        .expect("localhost resolves")
        .map(|a| a.ip())
        .collect();
    assert!(!system.contains(&PINNED), "the system already answers 127.0.0.2: {system:?}");

    let (a, b) = same_port_on_two_loopbacks();
    a.route("/", Reply::new(200).body("A"));
    b.route("/", Reply::new(418).body("B"));
    let resolver = StaticResolver::new().with("localhost", [PINNED]);
    let rt = runtime_with(RuntimeConfig { resolver: Arc::new(resolver), ..RuntimeConfig::default() });
    let p = hostile(&rt).await;

    let r =
        check(&rt, &p, json!({"mode": "http", "host": "localhost", "port": a.port}), Duration::from_secs(5))
            .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let status = r.details.as_ref().expect("details")["status"].clone();
    println!("answered with HTTP {status}; A saw {}, B accepted {}", a.requests().len(), b.accepted());
    assert_eq!(status, 200, "answered by B (418): the name was resolved again at send time");
    let seen = a.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let host = format!("localhost:{}", a.port);
    assert_eq!(seen[0].header("host"), Some(host.as_str()), "the Host header keeps the name");
    assert_eq!(b.accepted(), 0, "B, the system's answer, was reached");

    // TCP and the guest's own lookups see the same answer.
    let r =
        check(&rt, &p, json!({"mode": "dns", "host": "localhost", "port": a.port}), Duration::from_secs(5))
            .await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.expect("details")["addrs"], json!([format!("127.0.0.2:{}", a.port)]));
    assert_eq!(b.accepted(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_host_cannot_resolve_is_an_error_before_the_guest_runs() {
    let rt = runtime_with(RuntimeConfig {
        resolver: Arc::new(StaticResolver::new().with("localhost", [PINNED])),
        ..RuntimeConfig::default()
    });
    let p = hostile(&rt).await;
    let r = check(&rt, &p, json!({"mode": "http", "host": "db.invalid", "port": 80}), Duration::from_secs(5))
        .await;
    assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("could not resolve host")), "{r:?}");
}
