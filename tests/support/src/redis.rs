//! Redis for the redis probe's tests: a private `redis-server` with a
//! `requirepass`, and ACL users on the shared server (127.0.0.1:6379).

use std::process::Command;

use crate::spawned::Spawned;

/// A private `redis-server` on a free loopback port, no persistence, whose
/// default user needs `password`.
pub struct RedisServer {
    pub port: u16,
    _process: Spawned,
}

impl RedisServer {
    /// None (skip) when `redis-server` is not installed, outside CI.
    pub fn with_password(password: &str) -> Option<Self> {
        let dir = Spawned::temp_dir("redis");
        let process = Spawned::start("redis-server", dir, |port| {
            [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                password,
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .map(String::from)
            .to_vec()
        })?;
        Some(Self { port: process.port, _process: process })
    }
}

impl RedisServer {
    /// A private `redis-server` that speaks only TLS, with `pair` as its
    /// certificate; with `client_ca`, it demands a client certificate that
    /// chains to it.
    pub fn with_tls(
        pair: &crate::certs::Pair,
        ca: &std::path::Path,
        demand_client_cert: bool,
    ) -> Option<Self> {
        let dir = Spawned::temp_dir("redis-tls");
        let (cert, key, ca) = (pair.cert_file.clone(), pair.key_file.clone(), ca.to_path_buf());
        let process = Spawned::start("redis-server", dir, move |port| {
            let path = |p: &std::path::Path| p.display().to_string();
            let auth = if demand_client_cert { "yes" } else { "no" };
            vec![
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--tls-cert-file".into(),
                path(&cert),
                "--tls-key-file".into(),
                path(&key),
                "--tls-ca-cert-file".into(),
                path(&ca),
                "--tls-auth-clients".into(),
                auth.into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
            ]
        })?;
        Some(Self { port: process.port, _process: process })
    }
}

/// An ACL user on the shared Redis at 127.0.0.1:6379 with all commands and
/// keys and one password, created (or reset) now and deleted on drop. The
/// name carries the test process's id, so concurrent tests do not share one.
pub struct AclUser {
    pub name: String,
}

impl AclUser {
    pub fn create(password: &str) -> Self {
        let name = format!("sonde_probe_test_{}", std::process::id());
        let pass = format!(">{password}");
        if let Err(e) = redis_cli(&["ACL", "SETUSER", &name, "reset", "on", &pass, "~*", "+@all"]) {
            panic!("creating ACL user {name}: {e}");
        }
        Self { name }
    }
}

impl Drop for AclUser {
    fn drop(&mut self) {
        let _ = redis_cli(&["ACL", "DELUSER", &self.name]);
    }
}

/// Runs one command on the shared Redis; an error reply is an error.
fn redis_cli(args: &[&str]) -> Result<(), String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379"])
        .args(args)
        .output()
        .map_err(|e| format!("running redis-cli: {e}"))?;
    let reply = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && !reply.starts_with("ERR") && !reply.starts_with("(error)") {
        Ok(())
    } else {
        Err(format!("{reply}{}", String::from_utf8_lossy(&out.stderr)))
    }
}
