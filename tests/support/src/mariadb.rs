//! A private MariaDB for the mysql probe's TLS tests (the shared one on
//! 127.0.0.1:3306 has TLS off): `mariadb-install-db` into a temp dir, then
//! `mariadbd` on a free loopback port, with `--ssl-cert`/`--ssl-key`/
//! `--ssl-ca` or without TLS at all. `root@127.0.0.1` logs in without a
//! password; with a client certificate demanded, only with one (`REQUIRE
//! X509`). Dropping it kills the server and removes the directory.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::in_ci;
use crate::spawned::Spawned;

pub struct PrivateMariaDb {
    pub port: u16,
    process: Spawned,
}

/// How [`PrivateMariaDb::with_tls`] serves TLS.
struct Ssl<'a> {
    pair: &'a crate::certs::Pair,
    ca: &'a Path,
    demand_client_cert: bool,
}

impl PrivateMariaDb {
    /// A server with TLS off: its greeting offers no `CLIENT_SSL`. None
    /// (skip) when MariaDB is not installed, outside CI.
    pub fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// A server with TLS on and `pair` as its certificate; with
    /// `demand_client_cert`, root logs in only with a client certificate
    /// that chains to `ca`.
    pub fn with_tls(pair: &crate::certs::Pair, ca: &Path, demand_client_cert: bool) -> Option<Self> {
        Self::start_with(Some(Ssl { pair, ca, demand_client_cert }))
    }

    fn start_with(ssl: Option<Ssl<'_>>) -> Option<Self> {
        let dir = Spawned::temp_dir("mariadb");
        let data = dir.join("data");
        // mariadbd refuses to run as root unless told to.
        let as_root = std::fs::metadata(&dir).is_ok_and(|m| m.uid() == 0);
        // `--no-defaults` first (as both programs require): nothing from
        // /etc/mysql, so the system server's settings cannot leak in.
        // A tmpdir of its own: at start-up mariadbd deletes every `#sql*`
        // file in its tmpdir, which in /tmp would be other servers' (the
        // shared one's, or a concurrent test's) temporary tables.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmpdir");
        let mut common = vec![
            "--no-defaults".to_string(),
            format!("--datadir={}", data.display()),
            format!("--tmpdir={}", tmp.display()),
            "--innodb-log-file-size=4M".into(),
        ];
        if as_root {
            common.push("--user=root".into());
        }
        let installed = Command::new("mariadb-install-db")
            .args(&common)
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output();
        match installed {
            Ok(out) => assert!(out.status.success(), "mariadb-install-db: {}", text(&out)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !in_ci() => {
                let _ = std::fs::remove_dir_all(&dir);
                eprintln!("SKIPPED: mariadb-install-db is not installed");
                return None;
            }
            Err(e) => panic!("running mariadb-install-db: {e}"),
        }
        let mut args = common;
        args.extend([
            format!("--socket={}", dir.join("mariadb.sock").display()),
            format!("--pid-file={}", dir.join("mariadb.pid").display()),
            "--bind-address=127.0.0.1".into(),
            "--skip-name-resolve".into(),
        ]);
        if let Some(ssl) = &ssl {
            args.extend([
                format!("--ssl-cert={}", ssl.pair.cert_file.display()),
                format!("--ssl-key={}", ssl.pair.key_file.display()),
                format!("--ssl-ca={}", ssl.ca.display()),
            ]);
        }
        let process = Spawned::start("mariadbd", dir, move |port| {
            let mut args = args.clone();
            args.push(format!("--port={port}"));
            args
        })?;
        let server = Self { port: process.port, process };
        server.wait_ready();
        if ssl.is_some_and(|s| s.demand_client_cert) {
            server.sql("ALTER USER 'root'@'127.0.0.1' REQUIRE X509;");
        }
        Some(server)
    }

    /// Waits until the server answers SQL (it listens a moment before it
    /// does).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.client("SELECT 1");
            if out.status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "mariadbd did not answer: {}", text(&out));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs SQL as root over the unix socket; a failure fails the test.
    pub fn sql(&self, sql: &str) {
        let out = self.client(sql);
        assert!(out.status.success(), "mariadb {sql:?}: {}", text(&out));
    }

    fn client(&self, sql: &str) -> Output {
        Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.process.dir.join("mariadb.sock").display()))
            .args(["-uroot", "-e", sql])
            .output()
            .expect("running the mariadb client")
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
