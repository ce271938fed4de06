//! A child process's peak resident memory, from the kernel's own count:
//! `wait4(2)` reaps the child and hands back its `rusage`, whose `ru_maxrss`
//! is the high-water mark of its RSS over its whole life (so a short spike
//! is not missed, as sampling `/proc` could).
//!
//! One caveat of Linux's count: `exec` records the high-water mark of the
//! memory it replaces, and a spawned child replaces (a view of) its
//! parent's, so `ru_maxrss` is at least the parent's own peak at spawn time
//! ([`Measured::parent_peak`]). The figure is always an upper bound of the
//! child's peak; it is the child's own only when it is above the parent's,
//! so measure from a test that did nothing heavy in its own process first
//! (nextest runs each test in a process of its own).

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a measured child did.
#[derive(Debug)]
pub struct Measured {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Peak resident set size, in bytes.
    pub max_rss: u64,
    /// This process's own peak RSS when it spawned the child (`VmHWM`), in
    /// bytes: the floor under `max_rss`.
    pub parent_peak: u64,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// Whether it had to be killed at `limit`.
    pub killed: bool,
}

impl Measured {
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss as f64 / f64::from(1u32 << 20)
    }
}

/// `wait4(pid, WNOHANG)`: `Some((status, rusage))` once the child has ended.
#[allow(unsafe_code)]
fn try_reap(pid: libc::pid_t) -> std::io::Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    // SAFETY: `rusage` is plain old data, valid when zeroed; both pointers
    // are to locals that outlive the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `pid` is our own unreaped child.
    let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
    match r {
        0 => Ok(None),
        r if r == pid => Ok(Some((status, usage))),
        _ => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted { Ok(None) } else { Err(e) }
        }
    }
}

/// Runs `command` to its end (killed after `limit`) and measures its peak
/// RSS. Its stdout and stderr are captured.
pub fn run(mut command: Command, limit: Duration) -> std::io::Result<Measured> {
    let parent_peak = own_peak();
    let t0 = Instant::now();
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let pid = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;
    let mut killed = false;
    let (status, usage) = loop {
        if let Some(done) = try_reap(pid)? {
            break done;
        }
        if !killed && t0.elapsed() > limit {
            // Not reaped yet, so the pid is still this child's.
            child.kill()?;
            killed = true;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let elapsed = t0.elapsed();
    Ok(Measured {
        status: ExitStatus::from_raw(status),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        // Linux reports kilobytes.
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        parent_peak,
        elapsed,
        killed,
    })
}

/// This process's peak RSS so far, from `/proc/self/status`; 0 if unknown.
fn own_peak() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
