//! Load from `wrk` (2 threads, 32 connections): a Lua script sends each
//! side's request and reads every answer, so only checks that succeeded
//! count. And the TIME_WAIT drain between runs.

use std::process::Command;
use std::time::{Duration, Instant};

/// One side of a row: what `wrk` sends, and what a successful answer holds.
pub struct Load {
    pub name: String,
    url: String,
    script: String,
}

/// A run's outcome.
pub struct Rate {
    pub ok_per_second: f64,
    pub failed: u64,
}

/// The Lua that counts answers whose body lacks `marker`, per wrk thread,
/// and prints the total when the run is done.
fn script(request: &str, marker: &str) -> String {
    format!(
        r#"
{request}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, {marker:?}, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("FAILED %d\nTOTAL %d\n", n, summary.requests))
end
"#
    )
}

impl Load {
    pub fn get(name: &str, url: &str, marker: &str) -> Self {
        Self { name: name.into(), url: url.into(), script: script("", marker) }
    }

    pub fn post(name: &str, url: &str, key: &str, body: &str, marker: &str) -> Self {
        let request = format!(
            "wrk.method = \"POST\"\nwrk.body = {body:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"x-api-key\"] = {key:?}\n"
        );
        Self { name: name.into(), url: url.into(), script: script(&request, marker) }
    }

    /// `wrk` for `secs` seconds; successful answers per second.
    pub fn run(&self, secs: u64) -> Rate {
        let file = std::env::temp_dir().join(format!("sonde-bench-{}.lua", std::process::id()));
        std::fs::write(&file, &self.script).expect("lua script");
        let out = Command::new("wrk")
            .args(["-t2", "-c32", &format!("-d{secs}s"), "--timeout", "10s", "-s"])
            .arg(&file)
            .arg(&self.url)
            .output()
            .expect("run wrk (Debian's wrk)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no {name} in wrk's output:\n{text}"))
        };
        let (total, failed) = (field("TOTAL"), field("FAILED"));
        let seconds = field("Requests/sec:").recip() * total;
        Rate { ok_per_second: (total - failed) / seconds, failed: failed as u64 }
    }
}

/// TIME_WAIT sockets now, from /proc/net/sockstat (`TCP: ... tw N`).
fn time_wait() -> u64 {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("TCP:"))
        .and_then(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "tw")?;
            words.next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Waits (at most two minutes) until fewer than 1,000 sockets are in TIME_WAIT.
pub fn drain_time_wait() {
    let end = Instant::now() + Duration::from_secs(120);
    while time_wait() > 1000 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
    }
}
