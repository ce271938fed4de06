//! The egress policy (DESIGN §2): metadata addresses in every spelling, and
//! `[[organizations]]` denying a tenant what another organization reaches.
//! Every denied check is ERROR "permission denied by sandbox" before any
//! packet leaves: the listeners here count the connections they see.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sonde::config::Config;
use sonde::runtime::{CheckReport, Egress, EgressPolicies, RuntimeConfig, Status};
use sonde::service::Service;
use sonde_test_support::SilentListener;
use sonde_test_support::http_server::{Reply, Server};

use crate::common::{assert_still_works, check, hostile, runtime, runtime_with};

const FIVE: Duration = Duration::from_secs(5);

fn assert_denied(r: &CheckReport, what: &str) {
    assert_eq!(
        (r.status, r.message.as_deref()),
        (Status::Error, Some("permission denied by sandbox")),
        "{what}: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_in_embedded_ipv6_forms_is_denied_to_tcp_and_http() {
    let rt = runtime();
    let p = hostile(&rt).await;
    for host in [
        "[64:ff9b::a9fe:a9fe]",
        "2002:a9fe:a9fe::",
        "::ffff:169.254.169.254",
        "[::169.254.169.254]",
        "169.254.169.254",
        "fd20:ce::254",
        "168.63.129.16",
        "100.100.100.200",
    ] {
        for mode in ["block", "http"] {
            let r = check(&rt, &p, json!({"mode": mode, "host": host, "port": 80}), FIVE).await;
            assert_denied(&r, &format!("{mode} to {host}"));
            assert_eq!(r.denied_connects, 1, "{mode} to {host}");
        }
    }
    assert_still_works(&rt, &p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_denied_loopback_reaches_nothing_there() {
    let tenant_deny = ["127.0.0.0/8".parse().expect("cidr"), "::1/128".parse().expect("cidr")];
    let egress = EgressPolicies::new(Egress::default()).with_organization("org_tenant", &tenant_deny, &[]);
    let rt = runtime_with(RuntimeConfig { egress, ..RuntimeConfig::default() });
    let p = hostile(&rt).await;
    let (tenant, other) = (rt.egress("org_tenant"), rt.egress("org_other"));

    let peer = SilentListener::start();
    let web = Server::start();
    web.route("/", Reply::new(200).body("ok"));
    let tcp = json!({"mode": "sockets", "connections": 1, "host": "127.0.0.1", "port": peer.port});
    let http = json!({"mode": "http", "host": "127.0.0.1", "port": web.port});
    // A name is judged by the addresses it resolves to.
    let named = json!({"mode": "sockets", "connections": 1, "host": "localhost", "port": peer.port});
    let mapped = json!({"mode": "sockets", "connections": 1, "host": "::ffff:127.0.0.1", "port": peer.port});
    for (what, config) in [("tcp", &tcp), ("http", &http), ("localhost", &named), ("mapped", &mapped)] {
        assert_denied(&rt.check_with(&tenant, &p, config, FIVE).await, what);
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!((peer.accepted(), web.accepted()), (0, 0), "a denied check reached a listener");

    let r = rt.check_with(&other, &p, &tcp, FIVE).await;
    assert_eq!((r.status, r.items), (Status::Ok, Some(1)), "{r:?}");
    let r = rt.check_with(&other, &p, &http, FIVE).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!((peer.accepted(), web.accepted()), (1, 1));
    assert_still_works(&rt, &p).await;
}

/// A config file with the hostile fixture as type `hostile` and two
/// organizations' identical sources, each at its own silent listener.
fn write_config(dir: &Path, tenant_port: u16, other_port: u16, tenant_deny: &str) -> std::path::PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    std::fs::copy(sonde_test_support::fixture("hostile"), plugins.join("hostile.wasm")).expect("copy");
    let source = |org: &str, port: u16| {
        format!(
            "[[sources]]\nname = \"db\"\norganization = \"{org}\"\ntype = \"hostile\"\ninterval = \"1h\"\n\
             config = {{ mode = \"sockets\", connections = 1, host = \"127.0.0.1\", port = {port} }}\n"
        )
    };
    let text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\n\
         [[organizations]]\nname = \"org_tenant\"\ndeny = {tenant_deny}\n{}{}",
        dir.join("data"),
        plugins,
        crate::common::cache_dir(),
        source("org_tenant", tenant_port),
        source("org_other", other_port),
    );
    let path = dir.join("sonde.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_denied_loopback_by_its_organization_is_denied_and_the_other_is_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let (tenant_peer, other_peer) = (SilentListener::start(), SilentListener::start());
    let path = write_config(dir.path(), tenant_peer.port, other_peer.port, r#"["127.0.0.0/8", "::1/128"]"#);
    let service: Arc<Service> =
        Service::start(&Config::load(&path).expect("config")).await.unwrap_or_else(|e| panic!("{e}"));
    let sources = service.list_sources().await.expect("list");
    let of = |org: &str| sources.iter().find(|s| s.organization == org).expect("source").clone();
    let (tenant, other) = (of("org_tenant"), of("org_other"));

    assert_denied(&service.check_now(&tenant).await.expect("runs"), "stored source");
    let inline = json!({"mode": "sockets", "connections": 1, "host": "127.0.0.1", "port": tenant_peer.port});
    let r = service.check_inline("org_tenant", "hostile", &inline, FIVE).await.expect("runs");
    assert_denied(&r, "inline test");
    let r = service.check_now(&other).await.expect("runs");
    assert_eq!((r.status, r.items), (Status::Ok, Some(1)), "{r:?}");
    let r = service.check_inline("org_other", "hostile", &inline, FIVE).await.expect("runs");
    assert_eq!(r.status, Status::Ok, "the other organization's inline test: {r:?}");
    // The scheduled first checks ran meanwhile, under the same policies.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tenant_peer.accepted(), 1, "only the other organization's inline test reached it");
    assert!(other_peer.accepted() >= 1);

    // A reload applies a new policy to the checks that start after it.
    write_config(dir.path(), tenant_peer.port, other_peer.port, "[]");
    service.reload(&path).await.unwrap_or_else(|e| panic!("{e}"));
    let r = service.check_now(&tenant).await.expect("runs");
    assert_eq!((r.status, r.items), (Status::Ok, Some(1)), "after the reload: {r:?}");
}
