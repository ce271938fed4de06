//! A private RabbitMQ node whose only listener is TLS, for the amqp probe's
//! TLS tests (the shared broker on 127.0.0.1:5672 has none). It takes a few
//! seconds to boot (5 on a quiet 2-core machine, 11 on a busy one).
//!
//! Nothing meets the system node: its own node name, config, Mnesia and log
//! directories under a temp dir, no plaintext listener, and its own
//! distribution and epmd ports on loopback. Dropping it kills the node and
//! the epmd it started, and removes the directory.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::spawned::Spawned;
use crate::{closed_port, in_ci};

/// The broker's own start script (Debian's `/usr/sbin/rabbitmq-server`
/// switches to the `rabbitmq` user, who cannot read the temp dir).
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// How long a node may take to open its listener on a busy machine.
const READY_WITHIN: Duration = Duration::from_secs(45);

pub struct PrivateRabbitMq {
    /// The TLS (AMQPS) port.
    pub port: u16,
    epmd_port: u16,
    dir: PathBuf,
    child: Child,
}

impl PrivateRabbitMq {
    /// A node whose only listener is TLS with `pair` as its certificate;
    /// with `demand_client_cert`, it refuses clients without a certificate
    /// that chains to `ca`. `guest` logs in from loopback, as usual. None
    /// (skip) when RabbitMQ is not installed, outside CI.
    pub fn with_tls(pair: &crate::certs::Pair, ca: &Path, demand_client_cert: bool) -> Option<Self> {
        if !Path::new(SERVER).exists() {
            assert!(!in_ci(), "RabbitMQ is required in CI at {SERVER}");
            eprintln!("SKIPPED: {SERVER} is not installed");
            return None;
        }
        let dir = Spawned::temp_dir("rabbitmq");
        let (port, dist_port, epmd_port) = (closed_port(), closed_port(), closed_port());
        let verify = if demand_client_cert { "verify_peer" } else { "verify_none" };
        let config = format!(
            "listeners.tcp = none\n\
             listeners.ssl.default = 127.0.0.1:{port}\n\
             ssl_options.cacertfile = {}\n\
             ssl_options.certfile = {}\n\
             ssl_options.keyfile = {}\n\
             ssl_options.verify = {verify}\n\
             ssl_options.fail_if_no_peer_cert = {demand_client_cert}\n",
            ca.display(),
            pair.cert_file.display(),
            pair.key_file.display(),
        );
        std::fs::write(dir.join("rabbitmq.conf"), config).expect("rabbitmq.conf");
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("enabled_plugins");
        // Instead of /etc/rabbitmq/rabbitmq-env.conf, which names the system node.
        std::fs::write(dir.join("rabbitmq-env.conf"), "").expect("rabbitmq-env.conf");
        let log = File::create(dir.join("rabbitmq.out")).expect("log file");
        let path = |name: &str| dir.join(name).display().to_string();
        let child = Command::new(SERVER)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            // The Erlang cookie goes here.
            .env("HOME", &dir)
            .env("RABBITMQ_NODENAME", format!("sonde-{}-{port}@localhost", std::process::id()))
            .env("RABBITMQ_CONF_ENV_FILE", path("rabbitmq-env.conf"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_FLAGS", "-kernel inet_dist_use_interface {127,0,0,1}")
            // The script then execs the VM, so the child is the node itself.
            .env("RABBITMQ_ALLOW_INPUT", "1")
            .env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-noinput")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("starting rabbitmq-server");
        let mut node = Self { port, epmd_port, dir, child };
        node.wait_listening();
        Some(node)
    }

    fn wait_listening(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rabbitmq-server exited with {status}: {}", self.log());
            }
            assert!(started.elapsed() < READY_WITHIN, "RabbitMQ did not listen on {addr}: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("rabbitmq.out")).unwrap_or_default();
        text.get(text.len().saturating_sub(2000)..).unwrap_or(&text).to_string()
    }
}

impl Drop for PrivateRabbitMq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The epmd the node started on its own port, and only that one.
        let _ = Command::new("epmd")
            .arg("-kill")
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
