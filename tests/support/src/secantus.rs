//! SecantusDB for the mongodb probe's tests: a MongoDB-compatible server
//! from PyPI (`secantusdb`, whose `secantusd-py` lands in
//! `target/py/bin` by `tests/py/setup.sh`), private on a free loopback port
//! with its data in a temporary directory.
//!
//! [`Secantus::with_auth`] provisions as its docs say: a first run without
//! `--auth` where `tests/py/mongo_fixture.py setup` creates the users and
//! data (with `--sync-on-commit`, as that run is killed), then the server
//! again with `--auth`. Users: `admin` (root, SCRAM-SHA-256) and `sha1`
//! (root, SCRAM-SHA-1 only), both with [`Secantus::password`]; `reader`
//! (`reader-pw`, read on database `other` only). Data: `app.events` (5
//! documents, `k` 0..4, `at` now), `app.stale` (2, `at` 30 days ago),
//! `other.things` (1). [`Secantus::with_tls`] serves the same, without
//! `--auth`, over TLS from the first byte.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::certs::Pair;
use crate::in_ci;
use crate::spawned::Spawned;

/// Python's start is slow; a loaded machine slower.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A private SecantusDB; killed, and its data removed, on drop.
pub struct Secantus {
    pub port: u16,
    /// The password of `admin` and `sha1`: characters a uri must
    /// percent-encode, so the probe's decoding is exercised.
    pub password: String,
    process: Spawned,
    data: PathBuf,
}

impl Secantus {
    /// With `--auth`, its users and data. None (skip) when SecantusDB or
    /// pymongo is not installed, outside CI.
    pub fn with_auth() -> Option<Self> {
        Self::provisioned(&["--auth".to_string()])
    }

    /// The same users and data, served without `--auth` over TLS from the
    /// first byte with `pair`; with `demand`, a client certificate that
    /// chains to `ca` is required.
    pub fn with_tls(pair: &Pair, ca: &Path, demand: bool) -> Option<Self> {
        let path = |p: &Path| p.display().to_string();
        let mut args = vec![
            "--tls-cert-file".to_string(),
            path(&pair.cert_file),
            "--tls-key-file".into(),
            path(&pair.key_file),
        ];
        if demand {
            args.extend(["--tls-ca-file".into(), path(ca), "--tls-require-client-cert".into()]);
        }
        Self::provisioned(&args)
    }

    /// Provisions a data directory in a first run, then serves it with `args`.
    fn provisioned(args: &[String]) -> Option<Self> {
        let program = program()?;
        let python = crate::python::python_with("pymongo")?;
        let data = Spawned::temp_dir("secantus-data");
        let password = format!("p@ss:w/rd%{}", std::process::id());
        {
            let setup = start(&program, &data, &["--sync-on-commit".to_string()])?;
            let out = Command::new(&python)
                .arg(crate::python::script("mongo_fixture.py"))
                .args(["setup", &setup.port.to_string(), &password])
                .output()
                .expect("running mongo_fixture.py");
            assert!(
                out.status.success(),
                "mongo_fixture.py setup: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let process = start(&program, &data, args)?;
        Some(Self { port: process.port, password, process, data })
    }

    /// `mongodb://user:password@127.0.0.1:port/` with both percent-encoded.
    pub fn uri(&self, user: &str, password: &str) -> String {
        format!("mongodb://{}:{}@127.0.0.1:{}/", encode(user), encode(password), self.port)
    }

    /// `admin`'s uri.
    pub fn admin_uri(&self) -> String {
        self.uri("admin", &self.password)
    }

    /// What pymongo says for this source (`mongo_fixture.py oracle`):
    /// `{"ping": …, "collections": …}`.
    pub fn oracle(&self, uri: &str, database: &str, collection: &str) -> serde_json::Value {
        let python = crate::python::python_with("pymongo").expect("pymongo was there at start");
        let out = Command::new(python)
            .arg(crate::python::script("mongo_fixture.py"))
            .args(["oracle", uri, database, collection])
            .output()
            .expect("running mongo_fixture.py");
        assert!(out.status.success(), "mongo_fixture.py oracle: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("the oracle's JSON line")
    }

    /// The server's log so far, for a failing test's message.
    pub fn log(&self) -> String {
        let log = self.process.dir.join(format!("{}.log", self.port));
        std::fs::read_to_string(log).unwrap_or_default()
    }
}

impl Drop for Secantus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// One run of `program` on the data in `data`. Python takes a second or two
/// to bind, so the port [`Spawned`] saw open may be another test's server
/// that took it meanwhile: the run is ours only once its log says it
/// listens there, else it is started again on another port.
fn start(program: &Path, data: &Path, extra: &[String]) -> Option<Spawned> {
    let (data, extra) = (data.display().to_string(), extra.to_vec());
    let mut last = String::new();
    for _ in 0..3 {
        let (data, extra) = (data.clone(), extra.clone());
        let dir = Spawned::temp_dir("secantus");
        let process =
            Spawned::start_within(&program.display().to_string(), dir, READY_WITHIN, move |port| {
                let mut args: Vec<String> =
                    ["--host", "127.0.0.1", "--port", &port.to_string(), "--standalone"]
                        .map(String::from)
                        .to_vec();
                args.extend([
                    "--storage-path".to_string(),
                    data.clone(),
                    "--log-level".into(),
                    "INFO".into(),
                ]);
                args.extend(extra.iter().cloned());
                args
            })?;
        let log = process.dir.join(format!("{}.log", process.port));
        let mark = format!("listening on 127.0.0.1:{}", process.port);
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains(&mark) {
                return Some(process);
            }
            if text.contains("Traceback") || text.contains("rror") {
                last = text;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("secantusd-py did not start on a port of its own: {last}");
}

/// `target/py/bin/secantusd-py` (or `$SONDE_TEST_SECANTUSD`): else None with
/// a printed reason, or a failure under `CI=true`.
fn program() -> Option<PathBuf> {
    let path = std::env::var_os("SONDE_TEST_SECANTUSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::python::root().join("target/py/bin/secantusd-py"));
    if path.exists() {
        return Some(path);
    }
    let reason = format!("{} is missing: run tests/py/setup.sh (PyPI secantusdb)", path.display());
    assert!(!in_ci(), "{reason}");
    eprintln!("SKIPPED: {reason}");
    None
}

/// Percent-encodes all but unreserved characters (RFC 3986).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_auth_provisions_users_that_pymongo_can_use() {
        let Some(server) = Secantus::with_auth() else { return };
        let seen = server.oracle(&server.admin_uri(), "app", "events");
        assert_eq!(seen, serde_json::json!({"ping": "ok", "collections": ["events"]}), "{}", server.log());
        let seen = server.oracle(&server.uri("reader", "reader-pw"), "app", "events");
        assert_eq!(seen["collections"]["code"], 13, "{seen}");
    }

    #[test]
    fn encode_leaves_only_unreserved_characters() {
        assert_eq!(encode("p@ss:w/rd%1"), "p%40ss%3Aw%2Frd%251");
    }
}
