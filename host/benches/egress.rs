//! The cost of one egress decision (DESIGN §2 "egress policy"): how long
//! `Egress::permits` takes for one address, asked at every grant and every
//! connect. 10 million decisions over a mixed set of IPv4, IPv6 and
//! IPv4-embedding IPv6 addresses, against the default policy (metadata
//! only) and against a multi-tenant one (the `[network]` and
//! `[[organizations]]` of DESIGN §7 plus a global allow list).
//!
//! Run with `cargo bench --bench egress`.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use ipnet::IpNet;
use sonde::runtime::{Egress, EgressPolicies};

const DECISIONS: usize = 10_000_000;

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|s| s.parse().expect("cidr")).collect()
}

/// Nanoseconds per decision over `addrs`, and how many were permitted.
fn measure(egress: &Egress, addrs: &[IpAddr]) -> (f64, usize) {
    let mut permitted = 0usize;
    let t0 = Instant::now();
    for i in 0..DECISIONS {
        let ip = black_box(addrs[i % addrs.len()]);
        permitted += usize::from(black_box(egress).permits(ip));
    }
    let ns = t0.elapsed().as_nanos() as f64 / DECISIONS as f64;
    (ns, permitted)
}

fn main() {
    let addrs: Vec<IpAddr> = [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.7.20",
        "172.20.0.5",
        "8.8.8.8",
        "93.184.216.34",
        "169.254.169.254",
        "168.63.129.16",
        "::1",
        "2001:db8::10",
        "2606:4700::6810:85e5",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:c0a8:0101::1",
    ]
    .iter()
    .map(|s| s.parse().expect("ip"))
    .collect();

    let tenant_deny =
        nets(&["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"]);
    let global = Egress::new(
        false,
        &nets(&["169.254.0.0/16", "100.64.0.0/10", "198.18.0.0/15", "2001:db8:dead::/48"]),
        &nets(&["0.0.0.0/1", "128.0.0.0/1", "2000::/3", "::1/128", "fc00::/7", "64:ff9b::/96", "2002::/16"]),
    );
    let policies = EgressPolicies::new(global).with_organization("org_tenant", &tenant_deny, &[]);

    println!("egress decisions: {DECISIONS} over {} mixed addresses (v4, v6, embedded v4)", addrs.len());
    for (name, egress) in [
        ("default ([network] left out)", &Egress::default()),
        ("multi-tenant (org_tenant)", policies.of("org_tenant")),
    ] {
        // One warm-up pass, then the measured one.
        let _ = measure(egress, &addrs);
        let (ns, permitted) = measure(egress, &addrs);
        println!("  {name:<30} {ns:>6.1} ns/decision   ({permitted} permitted)");
    }
}
