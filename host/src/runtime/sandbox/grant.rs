//! What one check is granted: the endpoints it declared, resolved once by
//! the host and filtered by the organization's egress policy.
//!
//! Everything kept here is bounded whatever the guest declares (DESIGN §2
//! "endpoints", "host memory"): duplicates collapse before anything is
//! resolved, at most [`MAX_ENDPOINTS`] distinct `host:port` pairs are
//! accepted, each name is resolved once and keeps at most
//! [`MAX_ADDRS_PER_NAME`] addresses, shared (`Arc<[IpAddr]>`) by every guest
//! lookup of it instead of copied.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::egress::Egress;
use super::resolver::Resolver;
use crate::bindings::Endpoint;

/// Distinct `host:port` pairs one check may declare.
pub const MAX_ENDPOINTS: usize = 64;

/// Addresses kept for one declared name, in the resolver's order: more than
/// a probe tries, few enough that a name costs the host nothing.
pub const MAX_ADDRS_PER_NAME: usize = 16;

/// Why a check was granted nothing.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A declared name the host could not resolve.
    #[error("could not resolve {host}: {reason}")]
    Unresolvable { host: String, reason: String },
    /// Every address of a declared endpoint is denied by the egress policy.
    #[error("{host}:{port} is denied by the egress policy")]
    Denied { host: String, port: u16 },
    /// More distinct endpoints than [`MAX_ENDPOINTS`].
    #[error("the probe declared more than {MAX_ENDPOINTS} distinct endpoints")]
    TooMany,
}

/// How many sockets one check may open (DESIGN §2 "sockets").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketCaps {
    /// TCP connects, counted by the socket check.
    pub max_connects: usize,
    /// Socket objects (TCP, UDP, and the connections `wasi:http` makes).
    pub max_new_sockets: usize,
}

/// The addresses and budgets a check was granted.
#[derive(Debug, Default)]
pub struct Grant {
    /// Socket addresses TCP may connect to.
    pub(super) allowed: HashSet<SocketAddr>,
    /// Declared names and the addresses the host resolved them to.
    pub(super) names: HashMap<String, Arc<[IpAddr]>>,
    /// `host:port` pairs outgoing HTTP may reach (host lowercased).
    pub(super) http: HashSet<(String, u16)>,
    /// The organization's policy, asked again at every connect.
    pub(super) egress: Arc<Egress>,
    pub(super) max_connects: usize,
    pub(super) max_new_sockets: usize,
}

/// A declared host as the policy keys it: no brackets, lowercase.
pub fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

/// The distinct `host:port` pairs of `endpoints`, in declaration order.
fn distinct(endpoints: &[Endpoint]) -> Result<Vec<(String, u16)>, GrantError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for ep in endpoints {
        let key = (normalize_host(&ep.host), ep.port);
        if seen.contains(&key) {
            continue;
        }
        if out.len() == MAX_ENDPOINTS {
            return Err(GrantError::TooMany);
        }
        seen.insert(key.clone());
        out.push(key);
    }
    Ok(out)
}

impl Grant {
    /// Resolves `endpoints` with `resolver` and allows exactly those of
    /// their addresses that `egress` permits. An endpoint whose addresses
    /// are all denied fails the grant (nothing has been sent anywhere); a
    /// name with some denied addresses keeps the others.
    pub async fn resolve(
        endpoints: &[Endpoint],
        egress: &Arc<Egress>,
        caps: SocketCaps,
        resolver: &dyn Resolver,
    ) -> Result<Self, GrantError> {
        let mut grant = Self {
            egress: Arc::clone(egress),
            max_connects: caps.max_connects,
            max_new_sockets: caps.max_new_sockets,
            ..Self::default()
        };
        for (host, port) in distinct(endpoints)? {
            let ips = match grant.names.get(&host) {
                Some(ips) => Arc::clone(ips),
                None => {
                    let resolved = lookup(&host, port, resolver).await?;
                    let mut permitted: Vec<IpAddr> = Vec::new();
                    for ip in resolved.iter().filter(|ip| egress.permits(**ip)) {
                        if permitted.len() == MAX_ADDRS_PER_NAME {
                            break;
                        }
                        if !permitted.contains(ip) {
                            permitted.push(*ip);
                        }
                    }
                    if permitted.is_empty() && !resolved.is_empty() {
                        return Err(GrantError::Denied { host, port });
                    }
                    let ips: Arc<[IpAddr]> = permitted.into();
                    grant.names.insert(host.clone(), Arc::clone(&ips));
                    ips
                }
            };
            grant.allowed.extend(ips.iter().map(|ip| SocketAddr::new(*ip, port)));
            // HTTP goes by name: reachable only if some address is permitted.
            if !ips.is_empty() {
                grant.http.insert((host, port));
            }
        }
        Ok(grant)
    }
}

/// The addresses of `host`, canonical (IPv4-mapped as IPv4).
async fn lookup(host: &str, port: u16, resolver: &dyn Resolver) -> Result<Vec<IpAddr>, GrantError> {
    // A literal needs no lookup (and no blocking thread).
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip.to_canonical()]);
    }
    let ips = resolver
        .lookup(host, port)
        .await
        .map_err(|e| GrantError::Unresolvable { host: host.to_string(), reason: e.to_string() })?;
    Ok(ips.into_iter().map(|ip| ip.to_canonical()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::sandbox::resolver::{StaticResolver, SystemResolver};

    fn ep(host: &str, port: u16) -> Endpoint {
        Endpoint { host: host.into(), port }
    }

    const CAPS: SocketCaps = SocketCaps { max_connects: 16, max_new_sockets: 16 };

    #[tokio::test]
    async fn duplicates_collapse_and_distinct_endpoints_are_capped() {
        let copies = vec![ep("127.0.0.1", 80); 500_000];
        let g = Grant::resolve(&copies, &Arc::default(), CAPS, &SystemResolver).await.expect("one endpoint");
        assert_eq!(g.allowed.len(), 1);
        assert_eq!(g.names["127.0.0.1"].len(), 1);

        let at_cap: Vec<Endpoint> = (0..64).map(|i| ep("127.0.0.1", 1000 + i)).collect();
        let mut spelled = at_cap.clone();
        spelled.push(ep("[127.0.0.1]", 1000));
        let g = Grant::resolve(&spelled, &Arc::default(), CAPS, &SystemResolver).await.expect("64");
        assert_eq!(g.allowed.len(), 64);
        let mut over = at_cap;
        over.push(ep("127.0.0.2", 1000));
        let e = Grant::resolve(&over, &Arc::default(), CAPS, &SystemResolver).await.expect_err("65");
        assert!(matches!(e, GrantError::TooMany), "{e:?}");
    }

    #[tokio::test]
    async fn a_name_is_resolved_once_capped_and_filtered() {
        let many: Vec<IpAddr> = (1..=40).map(|i| IpAddr::from([127, 0, 0, i])).collect();
        let mut answer = vec!["169.254.169.254".parse().expect("ip")];
        answer.extend(many.iter().copied());
        let resolver = StaticResolver::new().with("db.example", answer);
        let eps = [ep("db.example", 1), ep("DB.example", 2)];
        let g = Grant::resolve(&eps, &Arc::default(), CAPS, &resolver).await.expect("resolves");
        let ips = &g.names["db.example"];
        assert_eq!(&ips[..], &many[..MAX_ADDRS_PER_NAME], "metadata dropped, then the first 16 kept");
        assert_eq!(g.allowed.len(), 2 * MAX_ADDRS_PER_NAME);
    }

    #[tokio::test]
    async fn an_endpoint_with_only_denied_addresses_is_refused() {
        for host in ["169.254.169.254", "[64:ff9b::a9fe:a9fe]", "2002:a9fe:a9fe::"] {
            let e = Grant::resolve(&[ep(host, 80)], &Arc::default(), CAPS, &SystemResolver).await;
            assert!(matches!(e, Err(GrantError::Denied { port: 80, .. })), "{host}: {e:?}");
        }
        let tenant = Arc::new(Egress::new(false, &["127.0.0.0/8".parse().expect("cidr")], &[]));
        let e = Grant::resolve(&[ep("127.0.0.1", 80)], &tenant, CAPS, &SystemResolver).await;
        assert!(matches!(e, Err(GrantError::Denied { .. })), "{e:?}");
        let open = Arc::new(Egress::new(true, &[], &[]));
        assert!(Grant::resolve(&[ep("169.254.169.254", 80)], &open, CAPS, &SystemResolver).await.is_ok());
    }
}
