//! The network policy of one check: which addresses it may reach.
//!
//! The host resolves the endpoints the probe declared (through the runtime's
//! [`super::resolver::Resolver`]), drops the addresses the organization's
//! egress policy denies ([`super::egress`]), and allows TCP connects to
//! exactly what is left ([`Grant`]); every connect is asked of the egress
//! policy again. The guest sees a refused connect as an ordinary
//! "permission denied" I/O error.
//!
//! The policy also keeps the per-check socket budget: every socket object the
//! guest creates costs the host a file descriptor whether or not it ever
//! connects, so creation is capped ([`NetPolicy::admit_new_socket`], charged by
//! [`super::sockets`] and by the `wasi:http` sender), beside the connect cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use wasmtime_wasi::sockets::SocketAddrUse;

use super::grant::normalize_host;
pub use super::grant::{Grant, GrantError, SocketCaps};

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

    /// The addresses a declared name resolves to inside the sandbox, shared
    /// with the grant (a guest's lookups never copy them).
    pub fn lookup(&self, name: &str) -> Option<Arc<[IpAddr]>> {
        self.granted()?.names.get(&normalize_host(name)).cloned()
    }

    /// Whether outgoing HTTP may go to `host:port`.
    pub fn allows_http(&self, host: &str, port: u16) -> bool {
        self.granted().is_some_and(|g| g.http.contains(&(normalize_host(host), port)))
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

    /// Counts a connection refused before the guest could try it: an
    /// endpoint the egress policy denies.
    pub fn count_denied(&self) {
        self.denied.fetch_add(1, Ordering::Relaxed);
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
                        && g.egress.permits(addr.ip())
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

    use crate::bindings::Endpoint;
    use crate::runtime::sandbox::egress::Egress;
    use crate::runtime::sandbox::resolver::{StaticResolver, SystemResolver};

    fn ep(host: &str, port: u16) -> Endpoint {
        Endpoint { host: host.into(), port }
    }

    fn egress(allow_metadata: bool) -> Arc<Egress> {
        Arc::new(Egress::new(allow_metadata, &[], &[]))
    }

    async fn resolve(eps: &[Endpoint], allow: bool, max_connects: usize) -> Result<NetPolicy, GrantError> {
        let caps = SocketCaps { max_connects, max_new_sockets: 16 };
        Grant::resolve(eps, &egress(allow), caps, &SystemResolver).await.map(NetPolicy::allowing)
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
        p.grant(
            Grant::resolve(&[ep("127.0.0.1", 5432)], &egress(false), caps, &SystemResolver)
                .await
                .expect("grant"),
        );
        assert!(p.check(addr, SocketAddrUse::TcpConnect));
        assert!(p.admit_new_socket());
        let other = Grant::resolve(&[ep("127.0.0.1", 5433)], &egress(false), caps, &SystemResolver)
            .await
            .expect("grant");
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
        for host in ["169.254.169.254", "fd00:ec2::254", "fe80::1", "[fe80::1]", "[2002:a9fe:a9fe::]"] {
            let denied = resolve(&[ep(host, 80)], false, 16).await;
            assert!(matches!(denied, Err(GrantError::Denied { .. })), "{host}: {denied:?}");
            let addr = SocketAddr::new(host.trim_matches(['[', ']']).parse().expect("ip"), 80);
            let p = resolve(&[ep(host, 80)], true, 16).await.expect("resolves");
            assert!(p.check(addr, SocketAddrUse::TcpConnect), "{host} when allowed");
            assert!(p.allows_http(host.trim_matches(['[', ']']), 80), "{host} over http when allowed");
        }
    }

    #[tokio::test]
    async fn every_connect_asks_the_egress_policy_again() {
        // A grant made under one policy cannot outlive it: a connect is
        // refused if the grant's own policy denies the address.
        let caps = SocketCaps { max_connects: 16, max_new_sockets: 16 };
        let mut grant = Grant::resolve(&[ep("127.0.0.1", 80)], &egress(false), caps, &SystemResolver)
            .await
            .expect("grant");
        grant.egress = Arc::new(Egress::new(false, &["127.0.0.0/8".parse().expect("cidr")], &[]));
        let p = NetPolicy::allowing(grant);
        assert!(!p.check("127.0.0.1:80".parse().expect("addr"), SocketAddrUse::TcpConnect));
        assert_eq!(p.denied(), 1);
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
        let p = NetPolicy::allowing(
            Grant::resolve(&[], &egress(false), caps, &SystemResolver).await.expect("resolves"),
        );
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
        let grant = Grant::resolve(&[ep("localhost", 8080)], &egress(false), caps, &resolver)
            .await
            .expect("resolves");
        let p = NetPolicy::allowing(grant);
        assert_eq!(p.http_targets("LOCALHOST", 8080), Some(vec![SocketAddr::new(pinned, 8080)]));
        assert_eq!(p.http_targets("localhost", 8081), None);
        assert_eq!(p.lookup("localhost").as_deref(), Some(&[pinned][..]));
        let unknown = Grant::resolve(&[ep("db.example", 1)], &egress(false), caps, &resolver).await;
        assert!(unknown.is_err());
    }
}
