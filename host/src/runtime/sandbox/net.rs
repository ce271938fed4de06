//! The network policy of one check: which addresses it may reach.
//!
//! The host resolves the endpoints the probe declared (through the runtime's
//! [`Resolver`]), drops addresses in denied ranges (link-local and cloud
//! metadata, unless the operator allows them), and allows TCP connects to
//! exactly what is left. The guest sees a refused connect as an ordinary
//! "permission denied" I/O error.
//!
//! The policy also keeps the per-check socket budget: every socket object the
//! guest creates costs the host a file descriptor whether or not it ever
//! connects, so creation is capped ([`NetPolicy::admit_new_socket`], charged by
//! [`super::sockets`] and by the `wasi:http` sender), beside the connect cap.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use wasmtime_wasi::sockets::SocketAddrUse;

use super::resolver::Resolver;
use crate::bindings::Endpoint;

/// The AWS metadata service's IPv6 address.
const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Whether `ip` lies in a range denied unless the operator allows it.
pub fn is_denied_range(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unicast_link_local() || v6 == EC2_METADATA_V6 || v6.is_unspecified(),
    }
}

/// A name the probe declared that the host could not resolve.
#[derive(Debug, thiserror::Error)]
#[error("could not resolve {host}: {reason}")]
pub struct ResolveError {
    pub host: String,
    pub reason: String,
}

/// How many sockets one check may open (DESIGN §2 "sockets").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketCaps {
    /// TCP connects, counted by the socket check.
    pub max_connects: usize,
    /// Socket objects (TCP, UDP, and the connections `wasi:http` makes).
    pub max_new_sockets: usize,
}

/// What one check may reach: nothing until [`NetPolicy::grant`], then
/// exactly the resolved endpoints. A check runs in one instance, so the same
/// policy denies everything while the guest answers `endpoints` and widens,
/// once, before it runs `check`.
#[derive(Debug, Default)]
pub struct NetPolicy {
    grant: OnceLock<Grant>,
    connects: AtomicUsize,
    new_sockets: AtomicUsize,
    denied: AtomicU64,
}

/// The addresses and budgets a check was granted.
#[derive(Debug, Default)]
pub struct Grant {
    /// Socket addresses TCP may connect to.
    allowed: HashSet<SocketAddr>,
    /// Declared names and the addresses the host resolved them to.
    names: HashMap<String, Vec<IpAddr>>,
    /// `host:port` pairs outgoing HTTP may reach (host lowercased).
    http: HashSet<(String, u16)>,
    max_connects: usize,
    max_new_sockets: usize,
}

impl Grant {
    /// Resolves `endpoints` with `resolver` and allows exactly their addresses.
    pub async fn resolve(
        endpoints: &[Endpoint],
        allow_denied_ranges: bool,
        caps: SocketCaps,
        resolver: &dyn Resolver,
    ) -> Result<Self, ResolveError> {
        let mut grant = Self {
            max_connects: caps.max_connects,
            max_new_sockets: caps.max_new_sockets,
            ..Self::default()
        };
        for ep in endpoints {
            let host = ep.host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
            let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
                // A literal needs no lookup (and no blocking thread).
                Ok(ip) => vec![ip.to_canonical()],
                Err(_) => resolver
                    .lookup(&host, ep.port)
                    .await
                    .map_err(|e| ResolveError { host: ep.host.clone(), reason: e.to_string() })?
                    .into_iter()
                    .map(|ip| ip.to_canonical())
                    .collect(),
            };
            let permitted: Vec<IpAddr> =
                ips.into_iter().filter(|ip| allow_denied_ranges || !is_denied_range(*ip)).collect();
            grant.allowed.extend(permitted.iter().map(|ip| SocketAddr::new(*ip, ep.port)));
            // HTTP goes by name: reachable only if some address is permitted,
            // so a metadata address cannot be reached through wasi:http.
            if !permitted.is_empty() {
                grant.http.insert((host.clone(), ep.port));
            }
            grant.names.entry(host).or_default().extend(permitted);
        }
        Ok(grant)
    }
}

impl NetPolicy {
    /// A policy that allows nothing (yet): for `info`, and for `endpoints`.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// A policy granted `grant` from the start.
    pub fn allowing(grant: Grant) -> Self {
        let policy = Self::deny_all();
        policy.grant(grant);
        policy
    }

    /// Widens a denying policy to `grant`. Only the first grant counts: a
    /// policy never changes once it allows something.
    pub fn grant(&self, grant: Grant) {
        let _ = self.grant.set(grant);
    }

    fn granted(&self) -> Option<&Grant> {
        self.grant.get()
    }

    /// The addresses a declared name resolves to inside the sandbox.
    pub fn lookup(&self, name: &str) -> Option<&[IpAddr]> {
        let name = name.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.granted()?.names.get(&name).map(Vec::as_slice)
    }

    /// Whether outgoing HTTP may go to `host:port`.
    pub fn allows_http(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.granted().is_some_and(|g| g.http.contains(&(host, port)))
    }

    /// The addresses outgoing HTTP to `host:port` goes to: the host's own
    /// answer for that declared name, in its order; `None` when not allowed.
    pub fn http_targets(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        if !self.allows_http(host, port) {
            return None;
        }
        let ips = self.lookup(host)?;
        Some(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
    }

    /// Takes one socket from the check's budget; `false` once it is spent.
    /// Every attempt counts, so a guest that retries a refused creation in a
    /// loop stays refused.
    pub fn admit_new_socket(&self) -> bool {
        let max = self.granted().map_or(0, |g| g.max_new_sockets);
        self.new_sockets.fetch_add(1, Ordering::Relaxed) < max
    }

    /// Connects refused so far (not allowed, or over the cap).
    pub fn denied(&self) -> u64 {
        self.denied.load(Ordering::Relaxed)
    }

    /// The `socket_addr_check` of wasmtime-wasi.
    ///
    /// wasmtime checks `TcpBind` of the unspecified address before every
    /// connect, so that one bind is allowed; no other bind, no UDP.
    pub fn check(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let ok = match use_ {
            SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
            SocketAddrUse::TcpConnect => {
                let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
                self.granted().is_some_and(|g| {
                    g.allowed.contains(&addr)
                        && self.connects.fetch_add(1, Ordering::Relaxed) < g.max_connects
                })
            }
            _ => false,
        };
        if !ok && !matches!(use_, SocketAddrUse::TcpBind) {
            self.denied.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }
}

/// Installs `policy` as the socket check of a WASI context.
pub fn install(builder: &mut wasmtime_wasi::WasiCtxBuilder, policy: &Arc<NetPolicy>) {
    let policy = Arc::clone(policy);
    builder
        .allow_tcp(true)
        .allow_udp(false)
        // Name lookups are answered by the pinned resolver in `dns`, never by
        // wasmtime-wasi's system resolver.
        .allow_ip_name_lookup(false)
        .socket_addr_check(move |addr, use_| {
            let ok = policy.check(addr, use_);
            Box::pin(async move { ok })
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::runtime::sandbox::resolver::{StaticResolver, SystemResolver};

    fn ep(host: &str, port: u16) -> Endpoint {
        Endpoint { host: host.into(), port }
    }

    async fn resolve(eps: &[Endpoint], allow: bool, max_connects: usize) -> Result<NetPolicy, ResolveError> {
        let caps = SocketCaps { max_connects, max_new_sockets: 16 };
        Grant::resolve(eps, allow, caps, &SystemResolver).await.map(NetPolicy::allowing)
    }

    #[tokio::test]
    async fn allows_only_declared_addresses() {
        let p = resolve(&[ep("127.0.0.1", 5432)], false, 16).await.expect("resolves");
        assert!(p.check("127.0.0.1:5432".parse().expect("addr"), SocketAddrUse::TcpConnect));
        assert!(!p.check("127.0.0.1:5433".parse().expect("addr"), SocketAddrUse::TcpConnect));
        assert!(!p.check("127.0.0.2:5432".parse().expect("addr"), SocketAddrUse::TcpConnect));
        assert!(p.check("0.0.0.0:0".parse().expect("addr"), SocketAddrUse::TcpBind));
        assert!(!p.check("0.0.0.0:8080".parse().expect("addr"), SocketAddrUse::TcpBind));
        assert!(!p.check("127.0.0.1:5432".parse().expect("addr"), SocketAddrUse::UdpBind));
        assert_eq!(p.denied(), 3);
    }

    #[tokio::test]
    async fn a_policy_denies_until_granted_and_is_granted_once() {
        let caps = SocketCaps { max_connects: 16, max_new_sockets: 16 };
        let addr: SocketAddr = "127.0.0.1:5432".parse().expect("addr");
        let p = NetPolicy::deny_all();
        assert!(!p.check(addr, SocketAddrUse::TcpConnect));
        assert!(!p.admit_new_socket());
        assert!(p.lookup("127.0.0.1").is_none());
        p.grant(Grant::resolve(&[ep("127.0.0.1", 5432)], false, caps, &SystemResolver).await.expect("grant"));
        assert!(p.check(addr, SocketAddrUse::TcpConnect));
        assert!(p.admit_new_socket());
        let other =
            Grant::resolve(&[ep("127.0.0.1", 5433)], false, caps, &SystemResolver).await.expect("grant");
        p.grant(other);
        assert!(!p.check("127.0.0.1:5433".parse().expect("addr"), SocketAddrUse::TcpConnect));
        assert_eq!(p.denied(), 2);
    }

    #[tokio::test]
    async fn ipv4_mapped_addresses_match_their_ipv4_form() {
        let p = resolve(&[ep("127.0.0.1", 80)], false, 16).await.expect("resolves");
        assert!(p.check("[::ffff:127.0.0.1]:80".parse().expect("addr"), SocketAddrUse::TcpConnect));
    }

    #[tokio::test]
    async fn metadata_and_link_local_are_denied_unless_allowed() {
        for host in ["169.254.169.254", "fd00:ec2::254", "fe80::1", "[fe80::1]"] {
            let p = resolve(&[ep(host, 80)], false, 16).await.expect("resolves");
            let addr = SocketAddr::new(host.trim_matches(['[', ']']).parse().expect("ip"), 80);
            assert!(!p.check(addr, SocketAddrUse::TcpConnect), "{host}");
            assert!(!p.allows_http(host.trim_matches(['[', ']']), 80), "{host} over http");
            let p = resolve(&[ep(host, 80)], true, 16).await.expect("resolves");
            assert!(p.check(addr, SocketAddrUse::TcpConnect), "{host} when allowed");
            assert!(p.allows_http(host.trim_matches(['[', ']']), 80), "{host} over http when allowed");
        }
    }

    #[tokio::test]
    async fn connects_are_capped() {
        let p = resolve(&[ep("127.0.0.1", 1)], false, 2).await.expect("resolves");
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        assert!(p.check(a, SocketAddrUse::TcpConnect));
        assert!(p.check(a, SocketAddrUse::TcpConnect));
        assert!(!p.check(a, SocketAddrUse::TcpConnect));
    }

    #[tokio::test]
    async fn names_resolve_on_the_host() {
        let p = resolve(&[ep("LocalHost", 6379)], false, 16).await.expect("resolves");
        let ips = p.lookup("localhost").expect("pinned");
        assert!(ips.iter().all(|ip| ip.is_loopback()), "{ips:?}");
        assert!(p.lookup("example.com").is_none());
        assert!(p.allows_http("localhost", 6379));
        assert!(!p.allows_http("localhost", 6380));
    }

    #[tokio::test]
    async fn socket_creation_has_its_own_budget() {
        let caps = SocketCaps { max_connects: 16, max_new_sockets: 2 };
        let p =
            NetPolicy::allowing(Grant::resolve(&[], false, caps, &SystemResolver).await.expect("resolves"));
        assert!(p.admit_new_socket());
        assert!(p.admit_new_socket());
        assert!(!p.admit_new_socket());
        assert!(!p.admit_new_socket(), "a refused attempt does not give the budget back");
        let none = NetPolicy::deny_all();
        assert!(!none.admit_new_socket());
    }

    #[tokio::test]
    async fn http_goes_to_the_injected_answer_only() {
        let pinned: IpAddr = "127.0.0.2".parse().expect("ip");
        let resolver = StaticResolver::new().with("localhost", [pinned]);
        let caps = SocketCaps { max_connects: 16, max_new_sockets: 16 };
        let grant = Grant::resolve(&[ep("localhost", 8080)], false, caps, &resolver).await.expect("resolves");
        let p = NetPolicy::allowing(grant);
        assert_eq!(p.http_targets("LOCALHOST", 8080), Some(vec![SocketAddr::new(pinned, 8080)]));
        assert_eq!(p.http_targets("localhost", 8081), None);
        assert_eq!(p.lookup("localhost"), Some(&[pinned][..]));
        let unknown = Grant::resolve(&[ep("db.example", 1)], false, caps, &resolver).await;
        assert!(unknown.is_err());
    }
}
