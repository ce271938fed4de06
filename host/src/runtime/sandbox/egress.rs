//! The operator's egress policy (DESIGN §2 "egress policy"): which
//! addresses any check of an organization may reach at all.
//!
//! The policy is decided once per address the host resolves for a check
//! ([`super::net::Grant::resolve`]) and again at every connect the guest or
//! the `wasi:http` sender makes, so it costs a few comparisons: the CIDR
//! lists are split by family and prepared when the configuration loads
//! ([`EgressPolicies`], one [`Egress`] per organization, shared by `Arc`).
//!
//! An IPv6 address that embeds an IPv4 one is judged in both forms: the
//! IPv4-mapped form is the IPv4 address itself; the IPv4-compatible
//! (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) forms are
//! denied when either form is denied, and allowed only when both are
//! allowed. So `2002:a9fe:a9fe::` is metadata like 169.254.169.254, and a
//! deny of `10.0.0.0/8` also denies `64:ff9b::a00:1`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Cloud metadata services and other addresses no check reaches unless the
/// operator sets `allow_metadata`: link-local (169.254.0.0/16, where AWS, GCP
/// and OpenStack answer), Alibaba's 100.100.100.200 and Azure's wire server
/// 168.63.129.16.
fn is_metadata_v4(ip: Ipv4Addr) -> bool {
    ip.is_link_local() || ip == Ipv4Addr::new(100, 100, 100, 200) || ip == Ipv4Addr::new(168, 63, 129, 16)
}

/// AWS's `fd00:ec2::254`, GCP's `fd20:ce::254`, and link-local `fe80::/10`.
fn is_metadata_v6(ip: Ipv6Addr) -> bool {
    ip.is_unicast_link_local()
        || ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
        || ip == Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254)
}

/// Addresses that name no peer at all: the unspecified address (a connect
/// to it reaches the local host) and the IPv4 broadcast. Never allowed.
fn is_nowhere(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unspecified(),
    }
}

/// The forms an address is judged in: itself (IPv4 when it is IPv4-mapped)
/// and the IPv4 address an IPv6 one embeds, if any.
pub fn forms(ip: IpAddr) -> (IpAddr, Option<Ipv4Addr>) {
    let v6 = match ip.to_canonical() {
        IpAddr::V4(v4) => return (IpAddr::V4(v4), None),
        IpAddr::V6(v6) => v6,
    };
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let embedded = if s[..6] == [0; 6] {
        // IPv4-compatible (deprecated); `::` and `::1` are IPv6's own, as is
        // anything in 0.0.0.0/8 (no host is numbered there).
        (low.octets()[0] != 0).then_some(low)
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(low)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8))
    } else {
        None
    };
    (IpAddr::V6(v6), embedded)
}

/// CIDRs split by family, so a decision compares only like with like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Nets {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

impl Nets {
    fn new(nets: &[IpNet]) -> Self {
        let mut out = Self::default();
        for net in IpNet::aggregate(&nets.iter().map(IpNet::trunc).collect()) {
            match net {
                IpNet::V4(n) => out.v4.push(n),
                IpNet::V6(n) => out.v6.push(n),
            }
        }
        out
    }

    fn all(&self) -> Vec<IpNet> {
        self.v4.iter().copied().map(IpNet::V4).chain(self.v6.iter().copied().map(IpNet::V6)).collect()
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.contains_v4(v4),
            IpAddr::V6(v6) => self.v6.iter().any(|n| n.contains(&v6)),
        }
    }

    fn contains_v4(&self, ip: Ipv4Addr) -> bool {
        self.v4.iter().any(|n| n.contains(&ip))
    }

    /// The addresses in both `self` and `other`: of two overlapping
    /// prefixes, the longer one.
    fn intersect(&self, other: &Nets) -> Nets {
        let (a, b) = (self.all(), other.all());
        let mut both = Vec::new();
        for x in &a {
            for y in &b {
                if x.contains(y) {
                    both.push(*y);
                } else if y.contains(x) {
                    both.push(*x);
                }
            }
        }
        Nets::new(&both)
    }
}

/// The egress policy of one organization (or of `sonde check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Egress {
    allow_metadata: bool,
    deny: Nets,
    /// `None` allows every address not denied; an empty list allows none.
    allow: Option<Nets>,
}

impl Default for Egress {
    /// Everything but metadata addresses: `[network]` left out.
    fn default() -> Self {
        Self::new(false, &[], &[])
    }
}

impl Egress {
    /// The global policy: `deny`, and when `allow` is not empty, only it.
    pub fn new(allow_metadata: bool, deny: &[IpNet], allow: &[IpNet]) -> Self {
        let allow = (!allow.is_empty()).then(|| Nets::new(allow));
        Self { allow_metadata, deny: Nets::new(deny), allow }
    }

    /// This policy narrowed by an organization's lists: its `deny` adds, its
    /// `allow` (when not empty) intersects.
    pub fn narrowed(&self, deny: &[IpNet], allow: &[IpNet]) -> Self {
        let mut all_deny = self.deny.all();
        all_deny.extend_from_slice(deny);
        let allow = match (&self.allow, allow.is_empty()) {
            (global, true) => global.clone(),
            (None, false) => Some(Nets::new(allow)),
            (Some(global), false) => Some(global.intersect(&Nets::new(allow))),
        };
        Self { allow_metadata: self.allow_metadata, deny: Nets::new(&all_deny), allow }
    }

    /// Whether a check under this policy may reach `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let (ip, embedded) = forms(ip);
        if is_nowhere(ip) {
            return false;
        }
        if !self.allow_metadata {
            let metadata = match ip {
                IpAddr::V4(v4) => is_metadata_v4(v4),
                IpAddr::V6(v6) => is_metadata_v6(v6),
            };
            if metadata || embedded.is_some_and(is_metadata_v4) {
                return false;
            }
        }
        if self.deny.contains(ip) || embedded.is_some_and(|v4| self.deny.contains_v4(v4)) {
            return false;
        }
        match &self.allow {
            None => true,
            Some(allow) => allow.contains(ip) && embedded.is_none_or(|v4| allow.contains_v4(v4)),
        }
    }
}

/// An [`Egress`] as a claim carries it to an agent (DESIGN §10): the
/// agent checks under the policy of the service's operator, not its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EgressWire {
    pub allow_metadata: bool,
    pub deny: Vec<IpNet>,
    /// `None` allows every address not denied.
    pub allow: Option<Vec<IpNet>>,
}

impl From<&Egress> for EgressWire {
    fn from(e: &Egress) -> Self {
        Self { allow_metadata: e.allow_metadata, deny: e.deny.all(), allow: e.allow.as_ref().map(Nets::all) }
    }
}

impl From<&EgressWire> for Egress {
    fn from(w: &EgressWire) -> Self {
        Self {
            allow_metadata: w.allow_metadata,
            deny: Nets::new(&w.deny),
            allow: w.allow.as_deref().map(Nets::new),
        }
    }
}

/// Every organization's egress policy, prepared when the configuration is
/// loaded; an organization without `[[organizations]]` gets the global one.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicies {
    global: Arc<Egress>,
    organizations: HashMap<String, Arc<Egress>>,
}

impl EgressPolicies {
    pub fn new(global: Egress) -> Self {
        Self { global: Arc::new(global), organizations: HashMap::new() }
    }

    /// Adds `organization`'s narrowing of the global policy.
    pub fn with_organization(mut self, organization: &str, deny: &[IpNet], allow: &[IpNet]) -> Self {
        let narrowed = self.global.narrowed(deny, allow);
        self.organizations.insert(organization.to_string(), Arc::new(narrowed));
        self
    }

    /// The policy of `sonde check` and of any organization not listed.
    pub fn global(&self) -> &Arc<Egress> {
        &self.global
    }

    /// The policy every check of `organization` runs under.
    pub fn of(&self, organization: &str) -> &Arc<Egress> {
        self.organizations.get(organization).unwrap_or(&self.global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().expect("cidr")).collect()
    }

    #[test]
    fn metadata_is_denied_in_every_spelling() {
        let e = Egress::default();
        for addr in [
            "169.254.169.254",
            "100.100.100.200",
            "168.63.129.16",
            "fd00:ec2::254",
            "fd20:ce::254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::",
            "2002:a9fe:a9fe:1::5",
            "64:ff9b::6464:64c8",
            "2002:a83f:8110::",
            "0.0.0.0",
            "255.255.255.255",
            "::",
        ] {
            assert!(!e.permits(ip(addr)), "{addr}");
        }
        for addr in ["127.0.0.1", "::1", "10.0.0.1", "2001:db8::1", "64:ff9b::808:808", "2002:808:808::"] {
            assert!(e.permits(ip(addr)), "{addr}");
        }
        let open = Egress::new(true, &[], &[]);
        for addr in ["169.254.169.254", "fd00:ec2::254", "2002:a9fe:a9fe::", "64:ff9b::a9fe:a9fe"] {
            assert!(open.permits(ip(addr)), "{addr} with allow_metadata");
        }
        assert!(!open.permits(ip("0.0.0.0")), "the unspecified address is never a peer");
    }

    #[test]
    fn deny_lists_apply_to_embedded_ipv4() {
        let e = Egress::new(false, &nets(&["10.0.0.0/8", "::1/128"]), &[]);
        for addr in
            ["10.1.2.3", "::ffff:10.1.2.3", "::10.1.2.3", "64:ff9b::a01:203", "2002:a01:203::1", "::1"]
        {
            assert!(!e.permits(ip(addr)), "{addr}");
        }
        assert!(e.permits(ip("11.0.0.1")));
        assert!(e.permits(ip("127.0.0.1")));
    }

    #[test]
    fn an_allow_list_allows_only_itself_in_every_form() {
        let e = Egress::new(false, &nets(&["10.0.0.9/32"]), &nets(&["10.0.0.0/8", "2001:db8::/32"]));
        assert!(e.permits(ip("10.0.0.1")));
        assert!(e.permits(ip("::ffff:10.0.0.1")), "the mapped form is the IPv4 address");
        assert!(!e.permits(ip("10.0.0.9")), "deny wins over allow");
        assert!(!e.permits(ip("11.0.0.1")));
        assert!(!e.permits(ip("64:ff9b::a00:1")), "the NAT64 prefix itself is not allowed");
        assert!(e.permits(ip("2001:db8::1")));
        assert!(!e.permits(ip("2001:db9::1")));
    }

    #[test]
    fn organizations_only_narrow() {
        let global = Egress::new(false, &nets(&["192.168.0.0/16"]), &nets(&["10.0.0.0/8", "192.168.0.0/16"]));
        let policies = EgressPolicies::new(global)
            .with_organization("org_t", &nets(&["10.1.0.0/16"]), &nets(&["10.0.0.0/16", "172.16.0.0/12"]))
            .with_organization("org_wide", &[], &nets(&["0.0.0.0/0", "::/0"]))
            .with_organization("org_none", &[], &nets(&["172.16.0.0/12"]));
        let t = policies.of("org_t");
        assert!(t.permits(ip("10.0.0.1")));
        assert!(!t.permits(ip("10.2.0.1")), "outside the organization's allow");
        assert!(!t.permits(ip("172.16.0.1")), "the organization cannot allow what the global list does not");
        let wide = policies.of("org_wide");
        assert!(wide.permits(ip("10.2.0.1")));
        assert!(!wide.permits(ip("192.168.1.1")), "the global deny stays");
        assert!(!wide.permits(ip("8.8.8.8")), "the global allow stays");
        let none = policies.of("org_none");
        assert!(!none.permits(ip("10.0.0.1")), "disjoint allow lists allow nothing");
        assert!(!none.permits(ip("172.16.0.1")));
        assert_eq!(policies.of("org_other"), policies.global());
    }

    #[test]
    fn forms_find_the_embedded_ipv4() {
        let v4 = |s: &str| Some(s.parse::<Ipv4Addr>().expect("v4"));
        assert_eq!(forms(ip("::ffff:1.2.3.4")), (ip("1.2.3.4"), None));
        assert_eq!(forms(ip("::1.2.3.4")), (ip("::1.2.3.4"), v4("1.2.3.4")));
        assert_eq!(forms(ip("64:ff9b::1.2.3.4")), (ip("64:ff9b::102:304"), v4("1.2.3.4")));
        assert_eq!(forms(ip("2002:102:304::9")), (ip("2002:102:304::9"), v4("1.2.3.4")));
        assert_eq!(forms(ip("::1")), (ip("::1"), None));
        assert_eq!(forms(ip("2001:db8::1")), (ip("2001:db8::1"), None));
    }
}
