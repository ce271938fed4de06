//! The real `sonde serve` against guests that hoard host resources (issue 9):
//! one creates 100,000 TCP sockets without connecting, one 100,000 UDP
//! sockets, one keeps 3,000,000 timer pollables. Each gets its documented outcome, while the process's
//! descriptor count (/proc/PID/fd) and resident memory (VmRSS) stay flat and
//! an ordinary check of another source keeps passing beside them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::harness::{Server, hostile, wait_for};

/// Growth over the baseline the host may show while the hoards run: the
/// budget is 16 sockets, and a capped handle table is a few hundred KiB.
/// Without the caps the same run held every descriptor the process may
/// open (about 20,000 here) and grew by about 48 MiB.
const MAX_FD_GROWTH: usize = 64;
const MAX_RSS_GROWTH_KIB: u64 = 16 << 10;

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    fds: usize,
    rss_kib: u64,
}

fn sample(pid: u32) -> Sample {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Sample { fds, rss_kib }
}

/// Sets the flag when dropped, so the helper threads stop even when an
/// assertion in the scope panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn create(server: &Server, name: &str, config: Value) -> String {
    let body = json!({
        "name": name, "type": "hostile", "config": config, "organization": "org_a",
        "state": "paused", "retries": 0, "timeout": "20s",
    });
    let (status, made) = server.post("/api/v1/sources", body);
    assert_eq!(status, 200, "{made}");
    made["id"].as_str().expect("id").to_string()
}

/// The newest outcome of source `name` in Hasura's shape: `{status, error}`.
fn outcome(server: &Server, name: &str) -> Value {
    let (status, all) = server.get("/healthz/sources");
    assert_eq!(status, 200, "{all}");
    all[name].clone()
}

fn metrics(server: &Server) -> String {
    let mut r = ureq::get(format!("{}/metrics", server.serve.base)).call().expect("GET /metrics");
    r.body_mut().read_to_string().expect("metrics text")
}

#[test]
fn hoarding_guests_get_their_outcome_while_the_host_stays_flat() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("mkdir");
    std::fs::write(dir.path().join("plugins/hostile.wasm"), hostile()).expect("copy");
    let server = Server::start(dir.path(), "");
    wait_for("the hostile plugin", Duration::from_secs(5), || server.serving("hostile").is_some());
    let steady = create(&server, "steady", json!({"mode": "ok"}));
    let sockets =
        create(&server, "sockets", json!({"mode": "hoard_sockets", "count": 100_000, "hold_ms": 300}));
    let udp = create(&server, "udp", json!({"mode": "hoard_sockets", "count": 100_000, "udp": true}));
    let pollables = create(&server, "pollables", json!({"mode": "hoard_pollables", "count": 3_000_000}));
    // Warm up with an ordinary check only: the baseline must not already
    // hold what a hoard left behind.
    assert_eq!(server.check(&steady).0, "SUCCESS");
    let pid = server.serve.pid();
    let base = sample(pid);

    let stop = AtomicBool::new(false);
    let peak = Mutex::new(base);
    let steady_runs = Mutex::new(Vec::new());
    let mut hoards = Vec::new();
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let now = sample(pid);
                let mut p = peak.lock().expect("peak");
                p.fds = p.fds.max(now.fds);
                p.rss_kib = p.rss_kib.max(now.rss_kib);
                drop(p);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let run = server.check(&steady).0;
                steady_runs.lock().expect("runs").push(run);
            }
        });
        for _ in 0..3 {
            hoards.push(("sockets", server.check(&sockets), outcome(&server, "sockets")));
            hoards.push(("udp", server.check(&udp), outcome(&server, "udp")));
            hoards.push(("pollables", server.check(&pollables), outcome(&server, "pollables")));
        }
    });
    let elapsed = t0.elapsed();
    let peak = *peak.lock().expect("peak");
    let steady_runs = steady_runs.into_inner().expect("runs");
    let fd_growth = peak.fds.saturating_sub(base.fds);
    let rss_growth = peak.rss_kib.saturating_sub(base.rss_kib);
    println!(
        "9 hoarding checks in {elapsed:?}: fds {} -> peak {} (+{fd_growth}), VmRSS {} KiB -> peak {} KiB (+{rss_growth} \
         KiB), {} steady checks beside them",
        base.fds,
        peak.fds,
        base.rss_kib,
        peak.rss_kib,
        steady_runs.len()
    );

    for (what, (status, reason), hasura) in &hoards {
        println!("{what}: {status} {reason} {hasura}");
        assert_eq!(status, "FAILURE", "{what}: {reason}");
        assert_eq!(hasura["status"], "ERROR", "{what}: {hasura}");
        let extra = &hasura["error"]["extra"];
        let refused = || extra.as_str().map_or(extra.clone(), |t| serde_json::from_str(t).expect("json"));
        match *what {
            "sockets" => {
                assert_eq!(reason, "socket refused");
                assert_eq!(refused(), json!({"created": 16, "refused": {"new-socket-limit": 99_984}}));
            }
            "udp" => {
                // UDP is disabled: refused before a descriptor exists, and
                // still counted against the budget.
                assert_eq!(reason, "socket refused");
                let expected =
                    json!({"created": 0, "refused": {"access-denied": 16, "new-socket-limit": 99_984}});
                assert_eq!(refused(), expected);
            }
            _ => assert_eq!(reason, "too many handles"),
        }
    }
    assert!(fd_growth < MAX_FD_GROWTH, "descriptors grew by {fd_growth}");
    assert!(rss_growth < MAX_RSS_GROWTH_KIB, "resident memory grew by {rss_growth} KiB");
    assert!(!steady_runs.is_empty(), "no ordinary check ran beside the hoards");
    assert!(steady_runs.iter().all(|s| s == "SUCCESS"), "{steady_runs:?}");

    let text = metrics(&server);
    let traps = text
        .lines()
        .find(|l| l.starts_with("sonde_check_traps_total") && l.contains(r#"cause="too_many_handles""#))
        .unwrap_or_else(|| panic!("no too_many_handles trap counted:\n{text}"));
    assert!(traps.ends_with(" 3"), "{traps}");
}
