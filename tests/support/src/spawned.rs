//! A server process started for one test from its installed binary, on a
//! free loopback port, with a temporary directory of its own. Dropping it
//! kills the process and removes the directory.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::in_ci;

/// How long a private server may take to listen.
const READY_WITHIN: Duration = Duration::from_secs(10);

pub struct Spawned {
    pub port: u16,
    /// The process's own directory (config files, data), removed on drop.
    pub dir: PathBuf,
    child: Child,
}

impl Spawned {
    /// A fresh, empty temporary directory for a server called `name`.
    pub fn temp_dir(name: &str) -> PathBuf {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sonde-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        dir
    }

    /// Starts `program` with the arguments `args(port)` in `dir` and waits
    /// until it accepts connections on 127.0.0.1:port. A port taken in the
    /// meantime by someone else is retried with another one. When `program`
    /// is not installed: None with a printed reason, or a failure under
    /// `CI=true`.
    pub fn start(program: &str, dir: PathBuf, args: impl Fn(u16) -> Vec<String>) -> Option<Self> {
        Self::start_within(program, dir, READY_WITHIN, args)
    }

    /// [`Self::start`] for a server that may take up to `within` to listen.
    pub fn start_within(
        program: &str,
        dir: PathBuf,
        within: Duration,
        args: impl Fn(u16) -> Vec<String>,
    ) -> Option<Self> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = crate::closed_port();
            let log = dir.join(format!("{port}.log"));
            let out = File::create(&log).expect("creating a log file");
            let err = out.try_clone().expect("cloning a file handle");
            let spawned = Command::new(program)
                .args(args(port))
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !in_ci() => {
                    let _ = std::fs::remove_dir_all(&dir);
                    eprintln!("SKIPPED: {program} is not installed");
                    return None;
                }
                Err(e) => panic!("starting {program}: {e}"),
            };
            match wait_listening(port, &mut child, within) {
                Ok(()) => return Some(Self { port, dir, child }),
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!("{why}; its output:\n{}", read_tail(&log));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("{program} did not start: {last}");
    }
}

fn wait_listening(port: u16, child: &mut Child, within: Duration) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("it exited with {status}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if started.elapsed() > within {
            return Err(format!("it did not listen on {addr} within {within:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until a server started by [`Spawned::start`] accepts on a second
/// port of its own too (its listeners open at once, not in one instant).
pub fn wait_port(port: u16, program: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(started.elapsed() < READY_WITHIN, "{program} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(2000);
    text.get(start..).unwrap_or(&text).to_string()
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
