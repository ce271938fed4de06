//! How the host turns a declared endpoint name into addresses.
//!
//! Every address a check may reach comes from one lookup made here, before
//! the check runs ([`super::net::Grant::resolve`]); TCP, the guest's own
//! name lookups and `wasi:http` are all pinned to that answer. The lookup is a
//! trait so that the runtime can be given another source of truth: tests use
//! a [`StaticResolver`] to make the host's answer differ from the system's,
//! which is the only way to show that nothing resolves a second time.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

/// A source of addresses for host names.
#[async_trait::async_trait]
pub trait Resolver: std::fmt::Debug + Send + Sync {
    /// The addresses of `host` (a name, never an IP literal), for `port`.
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.map(|a| a.ip()).collect())
    }
}

/// A fixed table of names; any other name does not resolve.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `name` (any case) with `ips`, in that order.
    pub fn with(mut self, name: &str, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.names.insert(name.to_ascii_lowercase(), ips.into_iter().collect());
        self
    }
}

#[async_trait::async_trait]
impl Resolver for StaticResolver {
    async fn lookup(&self, host: &str, _port: u16) -> io::Result<Vec<IpAddr>> {
        self.names.get(&host.to_ascii_lowercase()).cloned().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host} is not in the static table"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_static_table_answers_only_its_names() {
        let r = StaticResolver::new().with("Db.Example", ["10.0.0.7".parse().expect("ip")]);
        let ips = r.lookup("db.example", 5432).await.expect("known name");
        assert_eq!(ips, vec!["10.0.0.7".parse::<IpAddr>().expect("ip")]);
        assert_eq!(
            r.lookup("other.example", 5432).await.expect_err("unknown").kind(),
            io::ErrorKind::NotFound
        );
    }
}
