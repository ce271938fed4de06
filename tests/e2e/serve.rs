//! The real `sonde serve` for a test: a `sonde.toml` in a directory (listen,
//! data and plugin dirs, the shared compile cache, then the test's TOML),
//! its base URL, pid and log, and a JSON client. Dropping it kills the
//! process; a temporary directory goes with it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_test_support::closed_port;

pub struct Serve {
    child: Child,
    pub base: String,
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
    /// Whether it answers on this port; `None` for a plain `GET /livez`.
    ready: Option<Ready>,
    _temp: Option<tempfile::TempDir>,
}

/// A test's own sign that the server is up (HTTPS, which the plain
/// `/livez` poll cannot reach), given the port.
pub type Ready = Box<dyn Fn(u16) -> bool + Send + Sync>;

/// The config file's head: where it listens and keeps things, intervals
/// down to 100 ms (tests check often; `[limits]` says 1 s by default), then
/// `toml`.
pub fn config_text(dir: &Path, port: u16, toml: &str) -> String {
    format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\n\
         limits.min_interval = \"100ms\"\n{toml}",
        dir.join("data"),
        dir.join("plugins"),
        crate::common::cache_dir(),
    )
}

impl Serve {
    /// Starts the binary on `toml` in a temporary directory and waits until
    /// `/livez` answers.
    pub fn start(toml: &str) -> Self {
        Self::start_with(toml, |_| {})
    }

    /// [`Serve::start`], with `tweak` adding arguments or environment.
    pub fn start_with(toml: &str, tweak: impl FnOnce(&mut Command)) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut serve = Self::start_in(temp.path(), closed_port(), toml, tweak);
        serve._temp = Some(temp);
        serve
    }

    /// [`Serve::start`] on HTTPS: `base` is `https://`, and the server is up
    /// once `ready(port)` holds.
    pub fn start_https(toml: &str, ready: impl Fn(u16) -> bool + Send + Sync + 'static) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut serve = Self::start_until(temp.path(), closed_port(), toml, |_| {}, Some(Box::new(ready)));
        serve.base = format!("https://127.0.0.1:{}", serve.port);
        serve._temp = Some(temp);
        serve
    }

    /// In `dir` (kept, so a test can start the process again on the same
    /// data) on `port`.
    pub fn start_in(dir: &Path, port: u16, toml: &str, tweak: impl FnOnce(&mut Command)) -> Self {
        Self::start_until(dir, port, toml, tweak, None)
    }

    fn start_until(
        dir: &Path,
        port: u16,
        toml: &str,
        tweak: impl FnOnce(&mut Command),
        ready: Option<Ready>,
    ) -> Self {
        static RUN: AtomicUsize = AtomicUsize::new(0);
        std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
        std::fs::write(dir.join("sonde.toml"), config_text(dir, port, toml)).expect("config");
        // A log per start, so a restart's log does not hide the first one's.
        let log = dir.join(format!("serve-{}.log", RUN.fetch_add(1, Ordering::Relaxed)));
        let child = Self::spawn(dir, &log, tweak);
        let mut serve = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir: dir.to_path_buf(),
            log,
            ready,
            _temp: None,
        };
        serve.wait_up();
        serve
    }

    /// `sonde serve --config dir/sonde.toml`, its stderr appended to `log`.
    fn spawn(dir: &Path, log: &Path, tweak: impl FnOnce(&mut Command)) -> Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_sonde"));
        command.args(["serve", "--config"]).arg(dir.join("sonde.toml")).stdout(Stdio::null()).stderr(log);
        tweak(&mut command);
        command.spawn().expect("start sonde serve")
    }

    fn wait_up(&mut self) {
        // The first start of a run compiles every built-in probe into the
        // shared cache, with other tests doing the same beside it.
        let end = Instant::now() + Duration::from_secs(90);
        let up = |s: &Self| match &s.ready {
            Some(ready) => ready(s.port),
            None => ureq::get(format!("{}/livez", s.base)).call().is_ok(),
        };
        while !up(self) {
            // A process that exited (a bad config, a port taken) will not
            // come up: say so now rather than after the whole wait.
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sonde serve exited ({status}) before it came up:\n{}", self.logs());
            }
            assert!(Instant::now() < end, "sonde serve did not come up:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and starts
    /// it again on the same configuration and data; one log for both lives.
    pub fn kill9_and_restart(&mut self, tweak: impl FnOnce(&mut Command)) {
        self.child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
        let _ = self.child.wait();
        self.child = Self::spawn(&self.dir, &self.log, tweak);
        self.wait_up();
    }

    /// Kills the process with SIGKILL, leaves it dead for `away`, then
    /// starts it again on the same configuration, data and port.
    pub fn kill9_and_restart_after(&mut self, away: Duration, tweak: impl FnOnce(&mut Command)) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
        std::thread::sleep(away);
        self.child = Self::spawn(&self.dir, &self.log, tweak);
        self.wait_up();
    }

    /// One request with `key` in `x-api-key`: the status and the JSON body
    /// (`null` when there is none; status 0 when the server does not answer).
    pub fn call(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let url = format!("{}{path}", self.base);
        let answer = match (method, body) {
            ("GET", _) => agent.get(&url).header("x-api-key", key).call(),
            ("DELETE", _) => agent.delete(&url).header("x-api-key", key).call(),
            ("POST", Some(b)) => agent.post(&url).header("x-api-key", key).send_json(b),
            ("POST", None) => agent.post(&url).header("x-api-key", key).send_empty(),
            ("PUT", b) => {
                agent.put(&url).header("x-api-key", key).send_json(b.cloned().unwrap_or(Value::Null))
            }
            (other, _) => panic!("no such method in tests: {other}"),
        };
        match answer {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    /// The watched `plugins_dir`.
    pub fn plugins_dir(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: the process gets no chance to release anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGHUP: reread the config file.
    pub fn hangup(&self) {
        let ok = Command::new("kill").args(["-HUP", &self.pid().to_string()]).status().expect("kill");
        assert!(ok.success());
    }

    /// Kills the process with SIGKILL, as a crash would (`Child::kill` is
    /// SIGKILL on Unix); returns its whole log.
    pub fn kill9(mut self) -> String {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
        self.logs()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` every 50 ms until it holds; fails naming `what` after `within`.
pub fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cond(), "timed out waiting for {what}");
}
