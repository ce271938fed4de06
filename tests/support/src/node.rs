//! The Node.js servers of the tests (Azurite, oidc-provider): where their
//! packages are installed (`tests/support/node`, by `npm ci`, which .ci/run
//! does), and a node process that speaks JSON lines on stdout and takes
//! commands on stdin.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::in_ci;
use crate::spawned::Spawned;

/// `tests/support/node`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// `tests/support/node/node_modules/<package>` if it and `node` are
/// installed: else None with a printed reason, or a failure under `CI=true`.
pub fn require_package(package: &str) -> Option<PathBuf> {
    let path = dir().join("node_modules").join(package);
    let reason = match Command::new("node").arg("--version").output() {
        Err(e) => Some(format!("node is not installed ({e})")),
        Ok(_) if !path.join("package.json").exists() => {
            Some(format!("{} is missing: run `npm ci` in {}", path.display(), dir().display()))
        }
        Ok(_) => None,
    };
    match reason {
        None => Some(path),
        Some(reason) => {
            assert!(!in_ci(), "{reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

type Lines = Arc<(Mutex<Vec<Value>>, Condvar)>;

/// `node SCRIPT ARGS…` whose stdout is JSON lines, collected as they come;
/// its stderr goes to `stderr.log` in its own directory. Killed on drop.
pub struct NodeProcess {
    pub dir: PathBuf,
    child: Mutex<Child>,
    stdin: Mutex<ChildStdin>,
    lines: Lines,
    seq: Mutex<u64>,
}

impl NodeProcess {
    pub fn start(script: &Path, args: &[String], dir: PathBuf) -> std::io::Result<Self> {
        let err = File::create(dir.join("stderr.log"))?;
        // A node that hangs before it speaks can be asked where it is: on
        // SIGUSR2 it writes a diagnostic report (its JavaScript stack) here.
        let mut child = Command::new("node")
            .arg("--report-on-signal")
            .arg("--report-signal=SIGUSR2")
            .arg(format!("--report-directory={}", dir.display()))
            .arg(script)
            .args(args)
            .current_dir(self::dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("no pipes to node"));
        };
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Anything that is not JSON is a stray print: kept as text.
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                let (list, changed) = &*sink;
                list.lock().expect("lines").push(value);
                changed.notify_all();
            }
        });
        Ok(Self { dir, child: Mutex::new(child), stdin: Mutex::new(stdin), lines, seq: Mutex::new(0) })
    }

    /// The first line so far for which `pred` holds, waiting up to `within`
    /// for it. Err names why not (the process exited, or the time ran out).
    pub fn wait_for(&self, within: Duration, pred: impl Fn(&Value) -> bool) -> Result<Value, String> {
        self.wait_from(0, within, pred)
    }

    /// [`Self::wait_for`] among the lines from index `from` on.
    fn wait_from(
        &self,
        from: usize,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let started = Instant::now();
        loop {
            {
                let (list, changed) = &*self.lines;
                let guard = list.lock().expect("lines");
                if let Some(found) = guard.iter().skip(from).find(|v| pred(v)) {
                    return Ok(found.clone());
                }
                let _ = changed.wait_timeout(guard, Duration::from_millis(50)).expect("lines");
            }
            let exited = self.child.lock().expect("child").try_wait();
            if let Ok(Some(status)) = exited {
                return Err(format!("node exited with {status}; stderr:\n{}", self.stderr()));
            }
            if started.elapsed() > within {
                return Err(format!(
                    "no such line within {within:?}; stderr:\n{}\nwhere node was:\n{}",
                    self.stderr(),
                    self.report()
                ));
            }
        }
    }

    /// Sends one command line and waits for the line that acknowledges it.
    pub fn command(&self, line: &str, ack: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let mut stdin = self.stdin.lock().expect("stdin");
        let from = self.lines.0.lock().expect("lines").len();
        writeln!(stdin, "{line}").map_err(|e| format!("writing to node: {e}"))?;
        stdin.flush().map_err(|e| format!("writing to node: {e}"))?;
        drop(stdin);
        self.wait_from(from, Duration::from_secs(10), ack)
    }

    /// Every line the process wrote before now: a `sync N` round trip
    /// first, so nothing it wrote earlier is still in the pipe.
    pub fn lines(&self) -> Vec<Value> {
        let n = {
            let mut seq = self.seq.lock().expect("seq");
            *seq += 1;
            *seq
        };
        let want = n.to_string();
        let acked = self.command(&format!("sync {n}"), |v| {
            v["event"] == "sync" && v["client_id"].as_str() == Some(want.as_str())
        });
        if let Err(why) = acked {
            panic!("node did not answer sync: {why}");
        }
        self.lines.0.lock().expect("lines").clone()
    }

    /// The JavaScript stack and pending libuv handles of a live node, from
    /// the diagnostic report SIGUSR2 makes it write; a reason if none came.
    // The workspace denies unsafe code; this one call is the exception.
    #[allow(unsafe_code)]
    fn report(&self) -> String {
        let pid = self.child.lock().expect("child").id();
        match Command::new("kill").args(["-USR2", &pid.to_string()]).status() {
            Ok(s) if s.success() => {}
            Ok(s) => return format!("kill -USR2 {pid}: {s}"),
            Err(e) => return format!("kill -USR2 {pid}: {e}"),
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let found = std::fs::read_dir(&self.dir).into_iter().flatten().flatten().find(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("report.") && name.ends_with(".json")
            });
            // The report is written in one go; a half-written one fails to parse.
            let parsed = found
                .and_then(|e| std::fs::read_to_string(e.path()).ok())
                .and_then(|text| serde_json::from_str::<Value>(&text).ok());
            if let Some(report) = parsed {
                let handles: Vec<String> = report["libuv"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|h| h["is_active"] == true)
                    .map(|h| format!("{} {}", h["type"], h["details"].as_str().unwrap_or("")))
                    .collect();
                return format!(
                    "javascript stack: {:#}\nactive handles: {handles:?}",
                    report["javascriptStack"]
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        "no diagnostic report within 5 s (node's main thread is blocked)".into()
    }

    fn stderr(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or(&text).to_string()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let child = self.child.get_mut().expect("child");
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh temporary directory for a node server called `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    Spawned::temp_dir(name)
}
