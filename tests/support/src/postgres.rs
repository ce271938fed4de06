//! A private PostgreSQL server for what the shared one cannot be used for:
//! outages (it can be stopped and restarted, [`PrivatePostgres::stop`]), and
//! the auth paths the shared one (which
//! trusts every local login) cannot exercise: `password`, `md5` and
//! `scram-sha-256` logins, one user each.
//!
//! It runs the installed binaries (`/usr/lib/postgresql/*/bin`) on a free
//! loopback port, with its data directory and unix socket in a temp dir; when
//! the process runs as root it runs them as the `postgres` OS user, since
//! `initdb` refuses root. Dropping it stops the server and removes the dir.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{closed_port, in_ci};

/// The users the private server has, their passwords and how each logs in.
pub const PASSWORD_USER: (&str, &str) = ("sonde_password", "cleartext-secret");
pub const MD5_USER: (&str, &str) = ("sonde_md5", "md5-secret");
pub const SCRAM_USER: (&str, &str) = ("sonde_scram", "scram-secret");

pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// The OS user the server runs as, when not the caller.
    owner: Option<(u32, u32)>,
    /// `-c` settings for `ssl=on` and the certificates, if any.
    ssl_args: Vec<String>,
}

impl PrivatePostgres {
    /// Starts a server and creates the three users, or skips (None, with a
    /// printed reason) when PostgreSQL is not installed; under `CI=true` a
    /// missing installation fails instead.
    pub fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// A server with `ssl=on` and `pair` as its certificate, trusting every
    /// loopback login (the TLS tests are about the transport, not the
    /// password); with `demand_client_cert`, only over TLS with a client
    /// certificate that chains to `ca`.
    pub fn with_tls(pair: &crate::certs::Pair, ca: &Path, demand_client_cert: bool) -> Option<Self> {
        Self::start_with(Some(Ssl { pair, ca, demand_client_cert }))
    }

    fn start_with(ssl: Option<Ssl<'_>>) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            assert!(!in_ci(), "PostgreSQL binaries are required in CI under /usr/lib/postgresql/*/bin");
            eprintln!("SKIPPED: no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
            return None;
        };
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sonde-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let owner = postgres_os_user(&dir);
        let mut server = Self { port: closed_port(), dir, child: None, owner, ssl_args: Vec::new() };
        if let Some((uid, gid)) = owner {
            let status =
                Command::new("chown").arg(format!("{uid}:{gid}")).arg(&server.dir).status().expect("chown");
            assert!(status.success(), "chown of {} failed", server.dir.display());
        }

        let data = server.dir.join("data");
        let out = run(
            Command::new(bin.join("initdb"))
                .args(["--no-sync", "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C"])
                .arg("-D")
                .arg(&data),
            owner,
        );
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let hba = match &ssl {
            None => None,
            Some(ssl) if ssl.demand_client_cert => {
                Some("local all postgres trust\nhostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n")
            }
            Some(_) => Some("local all postgres trust\nhost all all 127.0.0.1/32 trust\n"),
        };
        let mut ssl_args = Vec::new();
        if let Some(ssl) = &ssl {
            ssl_args = server.install_certificates(ssl);
        }
        fs::write(
            data.join("pg_hba.conf"),
            hba.map(str::to_string).unwrap_or_else(|| {
                format!(
                    "local all postgres trust\n\
                 host all {} 127.0.0.1/32 password\n\
                 host all {} 127.0.0.1/32 md5\n\
                 host all {} 127.0.0.1/32 scram-sha-256\n\
                 host all all 127.0.0.1/32 scram-sha-256\n",
                    PASSWORD_USER.0, MD5_USER.0, SCRAM_USER.0
                )
            }),
        )
        .expect("pg_hba.conf");

        server.ssl_args = ssl_args;
        server.spawn_server();
        server.wait_ready();

        let sql = format!(
            "SET password_encryption = 'scram-sha-256';\n\
             CREATE ROLE {} LOGIN PASSWORD '{}';\n\
             CREATE ROLE {} LOGIN PASSWORD '{}';\n\
             SET password_encryption = 'md5';\n\
             CREATE ROLE {} LOGIN PASSWORD '{}';\n",
            PASSWORD_USER.0, PASSWORD_USER.1, SCRAM_USER.0, SCRAM_USER.1, MD5_USER.0, MD5_USER.1
        );
        let out = server.psql(&sql);
        assert!(out.status.success(), "creating users failed: {}", String::from_utf8_lossy(&out.stderr));
        Some(server)
    }

    /// Copies the certificate, key and CA where the server may read them:
    /// PostgreSQL refuses a key that is not the server user's own with mode
    /// 0600. Returns the `-c` settings that point at them.
    fn install_certificates(&self, ssl: &Ssl<'_>) -> Vec<String> {
        use std::os::unix::fs::PermissionsExt;
        let mut args = vec!["-c".to_string(), "ssl=on".to_string()];
        for (from, name, setting) in [
            (&ssl.pair.cert_file, "server.crt", "ssl_cert_file"),
            (&ssl.pair.key_file, "server.key", "ssl_key_file"),
            (&ssl.ca.to_path_buf(), "ca.crt", "ssl_ca_file"),
        ] {
            let to = self.dir.join(name);
            fs::copy(from, &to).expect("copying a certificate");
            fs::set_permissions(&to, fs::Permissions::from_mode(0o600)).expect("chmod");
            if let Some((uid, gid)) = self.owner {
                std::os::unix::fs::chown(&to, Some(uid), Some(gid)).expect("chown");
            }
            args.extend(["-c".to_string(), format!("{setting}={}", to.display())]);
        }
        args
    }

    /// Starts the server process on the data directory and port.
    fn spawn_server(&mut self) {
        let bin = bin_dir().expect("PostgreSQL binaries");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("postgres.log"))
            .expect("log file");
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-k")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(&self.ssl_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        self.child = Some(cmd.spawn().expect("starting postgres"));
    }

    /// Waits until psql gets in over the socket.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.psql("SELECT 1").status.success() {
                break;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("postgres exited with {status}: {}", self.log());
            }
            assert!(Instant::now() < deadline, "postgres did not get ready: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown: sessions are cut, as in an outage);
    /// [`PrivatePostgres::restart`] brings it back on the same port and data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        self.spawn_server();
        self.wait_ready();
    }

    /// CPU seconds (user + system) used so far by the server: the postmaster
    /// and the backends, background workers and autovacuum it started.
    pub fn cpu_seconds(&self) -> f64 {
        let Some(root) = self.child.as_ref().map(Child::id) else { return 0.0 };
        let mut ticks = 0.0;
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
            let Some((head, tail)) = stat.rsplit_once(')') else { continue };
            let pid: u32 = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let fields: Vec<&str> = tail.split_whitespace().collect();
            let ppid: u32 = fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            if pid == root || ppid == root {
                let t = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                ticks += t(11) + t(12);
            }
        }
        ticks / 100.0
    }

    /// Runs SQL as the superuser over the unix socket.
    pub fn psql(&self, sql: &str) -> Output {
        self.psql_in("postgres", sql)
    }

    /// [`PrivatePostgres::psql`] in `database`, output unaligned, tuples only.
    pub fn psql_in(&self, database: &str, sql: &str) -> Output {
        let bin = bin_dir().expect("PostgreSQL binaries");
        run(
            Command::new(bin.join("psql"))
                .arg("-h")
                .arg(&self.dir)
                .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", database])
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]),
            self.owner,
        )
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }
}

/// How [`PrivatePostgres::with_tls`] serves TLS.
struct Ssl<'a> {
    pair: &'a crate::certs::Pair,
    ca: &'a Path,
    demand_client_cert: bool,
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: immediate shutdown, the postmaster takes its backends down.
            let _ = Command::new("kill").args(["-QUIT", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The `postgres` OS user's (uid, gid) when running as root (the owner of
/// the `dir` just created), else None.
fn postgres_os_user(dir: &Path) -> Option<(u32, u32)> {
    if fs::metadata(dir).expect("temp dir").uid() != 0 {
        return None;
    }
    let passwd = fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd.lines().find(|l| l.starts_with("postgres:")).expect("a postgres OS user");
    let fields: Vec<&str> = line.split(':').collect();
    match (fields.get(2).and_then(|u| u.parse().ok()), fields.get(3).and_then(|g| g.parse().ok())) {
        (Some(uid), Some(gid)) => Some((uid, gid)),
        _ => panic!("bad /etc/passwd line {line:?}"),
    }
}

/// The newest installed `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn run(cmd: &mut Command, owner: Option<(u32, u32)>) -> Output {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    // The postgres user may not read the caller's working directory.
    cmd.current_dir(Path::new("/")).output().expect("running a PostgreSQL binary")
}
