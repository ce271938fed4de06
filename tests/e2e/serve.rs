//! The real `sonde serve` for a test: a config of the test's own in a temp
//! dir (listen, data and plugin dirs, the shared compile cache, then the
//! test's TOML), its base URL, pid and log. Dropping it kills the process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sonde_test_support::closed_port;

pub struct Serve {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Serve {
    /// Starts the binary on `toml` and waits until `/livez` answers.
    pub fn start(toml: &str) -> Self {
        Self::start_with(toml, |_| {})
    }

    /// [`Serve::start`], with `tweak` adding arguments or environment.
    pub fn start_with(toml: &str, tweak: impl FnOnce(&mut Command)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = closed_port();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).expect("plugins dir");
        let config = format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nplugins_dir = {plugins:?}\ncache_dir = {:?}\n{toml}",
            dir.path().join("data"),
            crate::common::cache_dir(),
        );
        std::fs::write(dir.path().join("sonde.toml"), config).expect("config");
        let log = dir.path().join("serve.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_sonde"));
        command
            .args(["serve", "--config"])
            .arg(dir.path().join("sonde.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        tweak(&mut command);
        let child = command.spawn().expect("start sonde serve");
        let serve = Self { child, base: format!("http://127.0.0.1:{port}"), _dir: dir, log };
        let end = Instant::now() + Duration::from_secs(20);
        while ureq::get(format!("{}/livez", serve.base)).call().is_err() {
            assert!(Instant::now() < end, "sonde serve did not come up:\n{}", serve.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
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
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
