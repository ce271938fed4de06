//! `[network]` and `[[organizations]]`: the egress policy of every check
//! (DESIGN §2 "egress policy", §7).
//!
//! ```toml
//! [network]
//! deny  = ["169.254.0.0/16"]   # CIDRs (or single addresses) no check may reach
//! allow = []                   # when not empty: only these
//! allow_metadata = false       # `[checks] allow_link_local` is its alias
//!
//! [[organizations]]            # can only narrow [network]
//! name = "org_tenant"
//! deny = ["127.0.0.0/8", "::1/128"]
//! ```
//!
//! The lists are parsed (by `ipnet`) and checked with the rest of the file,
//! each error naming its key, and prepared once into
//! [`EgressPolicies`]; a reload prepares them again.

use ipnet::IpNet;
use serde::Deserialize;

use super::{Config, ConfigError};
use crate::runtime::{Egress, EgressPolicies};

/// `[network]`: the global egress policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// CIDRs no check may reach.
    pub deny: Vec<String>,
    /// When not empty, the only CIDRs a check may reach.
    pub allow: Vec<String>,
    /// Let checks reach link-local and cloud metadata addresses.
    pub allow_metadata: bool,
}

/// `[[organizations]]`: one organization's narrowing of `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    pub name: String,
    /// Denied beside the global `deny`.
    #[serde(default)]
    pub deny: Vec<String>,
    /// When not empty, intersected with the global `allow`.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// A CIDR, or one address as its own /32 or /128.
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    match text.parse::<std::net::IpAddr>() {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) => Err(format!("{text:?} is not a CIDR (e.g. \"10.0.0.0/8\", \"fc00::/7\") or an IP address")),
    }
}

impl Config {
    fn cidrs(&self, key: &str, list: &[String]) -> Result<Vec<IpNet>, ConfigError> {
        list.iter()
            .enumerate()
            .map(|(i, text)| parse_cidr(text).map_err(|reason| self.invalid(format!("{key}[{i}]"), reason)))
            .collect()
    }

    /// The egress policies of `[network]` and `[[organizations]]`, ready
    /// for the runtime; an error names the key.
    pub fn egress(&self) -> Result<EgressPolicies, ConfigError> {
        let n = &self.network;
        let allow_metadata = n.allow_metadata || self.checks.allow_link_local;
        let global = Egress::new(
            allow_metadata,
            &self.cidrs("network.deny", &n.deny)?,
            &self.cidrs("network.allow", &n.allow)?,
        );
        let mut policies = EgressPolicies::new(global);
        let mut seen = std::collections::HashSet::new();
        for (i, org) in self.organizations.iter().enumerate() {
            let key = |k: &str| format!("organizations[{i}].{k}");
            if !org.name.starts_with("org_") {
                return Err(self.invalid(key("name"), "must start with \"org_\""));
            }
            if !seen.insert(org.name.as_str()) {
                return Err(self.invalid(key("name"), format!("{:?} is listed twice", org.name)));
            }
            let deny = self.cidrs(&key("deny"), &org.deny)?;
            let allow = self.cidrs(&key("allow"), &org.allow)?;
            policies = policies.with_organization(&org.name, &deny, &allow);
        }
        Ok(policies)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "test.toml")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn organizations_narrow_the_global_lists() {
        let c = parse(
            r#"
            [network]
            deny = ["192.168.0.0/16", "10.9.9.9"]
            [[organizations]]
            name = "org_tenant"
            deny = ["127.0.0.0/8", "::1/128"]
            "#,
        )
        .expect("valid");
        let p = c.egress().expect("policies");
        assert!(!p.of("org_tenant").permits(ip("127.0.0.1")));
        assert!(!p.of("org_tenant").permits(ip("::1")));
        assert!(!p.of("org_tenant").permits(ip("192.168.1.1")));
        assert!(p.of("org_acme").permits(ip("127.0.0.1")));
        assert!(!p.of("org_acme").permits(ip("10.9.9.9")));
        assert!(!p.of("org_acme").permits(ip("169.254.169.254")));
    }

    #[test]
    fn allow_link_local_is_the_alias_of_allow_metadata() {
        for text in ["[network]\nallow_metadata = true", "[checks]\nallow_link_local = true"] {
            let p = parse(text).expect("valid").egress().expect("policies");
            assert!(p.global().permits(ip("169.254.169.254")), "{text}");
        }
        let p = parse("").expect("valid").egress().expect("policies");
        assert!(!p.global().permits(ip("169.254.169.254")));
    }

    #[test]
    fn bad_lists_name_their_key() {
        for (text, key) in [
            ("[network]\ndeny = [\"10.0.0.0/33\"]", "network.deny[0]"),
            ("[network]\nallow = [\"::1/128\", \"nope\"]", "network.allow[1]"),
            ("[[organizations]]\nname = \"org_a\"\ndeny = [\"1.2.3\"]", "organizations[0].deny[0]"),
            ("[[organizations]]\nname = \"acme\"", "organizations[0].name"),
            (
                "[[organizations]]\nname = \"org_a\"\n[[organizations]]\nname = \"org_a\"",
                "organizations[1].name",
            ),
        ] {
            let e = parse(text).expect_err(text).to_string();
            assert!(e.contains(&format!("`{key}`")), "{text}: {e}");
        }
    }
}
