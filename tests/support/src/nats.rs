//! Private `nats-server`s for the nats probe's auth paths (the shared one on
//! 127.0.0.1:4222 needs none): one with a token, one with a user and password.

use crate::spawned::Spawned;

/// A private `nats-server` on a free loopback port.
pub struct NatsServer {
    pub port: u16,
    _process: Spawned,
}

impl NatsServer {
    /// Clients must send `auth_token`. None (skip) when `nats-server` is not
    /// installed, outside CI.
    pub fn with_token(token: &str) -> Option<Self> {
        Self::start(&["--auth", token])
    }

    /// Clients must send `user` and `pass`.
    pub fn with_user(user: &str, password: &str) -> Option<Self> {
        Self::start(&["--user", user, "--pass", password])
    }

    /// A server that requires TLS, with `pair` as its certificate; with
    /// `demand_client_cert`, a client certificate that chains to `ca`.
    pub fn with_tls(
        pair: &crate::certs::Pair,
        ca: &std::path::Path,
        demand_client_cert: bool,
    ) -> Option<Self> {
        let mut args = vec![
            "--tls".to_string(),
            "--tlscert".into(),
            pair.cert_file.display().to_string(),
            "--tlskey".into(),
            pair.key_file.display().to_string(),
        ];
        if demand_client_cert {
            args.extend(["--tlsverify".to_string(), "--tlscacert".into(), ca.display().to_string()]);
        }
        Self::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A server without TLS or authentication.
    pub fn plain() -> Option<Self> {
        Self::start(&[])
    }

    fn start(auth: &[&str]) -> Option<Self> {
        let dir = Spawned::temp_dir("nats");
        let process = Spawned::start("nats-server", dir, |port| {
            let mut args = vec!["--addr".to_string(), "127.0.0.1".into(), "--port".into(), port.to_string()];
            args.extend(auth.iter().map(|a| a.to_string()));
            args
        })?;
        Some(Self { port: process.port, _process: process })
    }
}
