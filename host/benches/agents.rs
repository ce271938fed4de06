//! Private agents (DESIGN §10), measured with the real processes on
//! loopback: `sonde serve` (SQLite) and one `sonde agent`, `tcp` sources
//! against a local listener that accepts and closes.
//!
//! - **Carried.** `SOURCES` sources at `INTERVAL`, in `site-a` and in
//!   `central` alternately: the checks per second the service records
//!   (from one agent, or run itself), the agent's CPU, and the service's
//!   CPU per 1,000 checks (from `/proc/<pid>/stat`, user + system).
//! - **Latency.** `PROBES` sources at 1 s, placed alternately in `central`
//!   and `site-a` (rounds of `ROUND`, switched over the API): from a
//!   check's start to the moment its result is readable at the service
//!   (`GET /v1/sources/{id}/checks`, read every 20 ms), median and p95 per
//!   placement. The agent adds its batching (a batch a second, or at 64
//!   results) on top of the same check.
//!
//! Run with `cargo bench --bench agents` (`SONDE_BENCH_ONLY=latency` or
//! `carried` for one half).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-key";
const ORG: &str = "bench-org-key-1";
const AGENT: &str = "bench-agent-key";
const SOURCES: usize = 500;
const INTERVAL: &str = "1s";
const WARMUP: Duration = Duration::from_secs(10);
const WINDOW: Duration = Duration::from_secs(30);
const PROBES: usize = 10;
const ROUND: Duration = Duration::from_secs(15);
const ROUNDS: usize = 3;

/// A loopback port that accepts and closes every connection.
fn listener() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            drop(c);
        }
    });
    port
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// User + system CPU seconds of `pid` so far.
fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // After the ")": state is field 0, utime 11, stime 12.
    (ticks(11) + ticks(12)) / 100.0
}

fn call(base: &str, method: &str, path: &str, key: &str, body: Option<Value>) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{base}{path}");
    let answer = match (method, body) {
        ("GET", _) => agent.get(&url).header("x-api-key", key).call(),
        ("PUT", Some(b)) => agent.put(&url).header("x-api-key", key).send_json(b),
        ("POST", Some(b)) => agent.post(&url).header("x-api-key", key).send_json(b),
        _ => panic!("no such call"),
    };
    answer.ok().and_then(|mut r| r.body_mut().read_json().ok()).unwrap_or(Value::Null)
}

fn start(dir: &std::path::Path, port: u16, toml: &str) -> Child {
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nplugins_dir = {:?}\n[checks]\nmax_concurrent = 256\n{toml}",
        dir.join("data"),
        dir.join("plugins"),
    );
    std::fs::create_dir_all(dir.join("plugins")).expect("plugins");
    std::fs::write(dir.join("sonde.toml"), text).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--config"])
        .arg(dir.join("sonde.toml"))
        .env("SONDE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sonde serve");
    let base = format!("http://127.0.0.1:{port}");
    let end = Instant::now() + Duration::from_secs(300);
    while call(&base, "GET", "/livez", "", None)["status"] != "ok" {
        assert!(Instant::now() < end, "the service did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

fn agent(base: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["agent", "--server", base, "--location", "site-a", "--name", "bench", "--buffer", "100000"])
        .env("SONDE_AGENT_KEY", AGENT)
        .env("SONDE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sonde agent")
}

fn head() -> String {
    format!(
        "[[keys]]\nkey = \"{ADMIN}\"\nrole = \"admin\"\n[[keys]]\nkey = \"{ORG}\"\norganization = \"org_bench\"\n\
         [[keys]]\nkey = \"{AGENT}\"\nrole = \"agent\"\nlocation = \"site-a\"\n\
         [[locations]]\nname = \"site-a\"\norganizations = [\"org_bench\"]\n[agents]\nlease = \"30s\"\npoll_wait = \"5s\"\n"
    )
}

/// Checks recorded so far, over every source (the agent's, from the
/// service's history, by counting each source's checks).
fn recorded(base: &str, ids: &[String]) -> usize {
    ids.iter()
        .map(|id| {
            call(base, "GET", &format!("/v1/sources/{id}/checks?limit=1000"), ADMIN, None)["checks"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum()
}

fn carried(port: u16, location: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let service_port = free_port();
    let mut toml = head();
    for i in 0..SOURCES {
        toml.push_str(&format!(
            "[[sources]]\nname = \"s{i:04}\"\norganization = \"org_bench\"\ntype = \"tcp\"\n\
             config = {{ host = \"127.0.0.1\", port = {port} }}\ninterval = \"{INTERVAL}\"\ntimeout = \"2s\"\n\
             retries = 0\nlocations = [\"{location}\"]\n"
        ));
    }
    let mut service = start(dir.path(), service_port, &toml);
    let base = format!("http://127.0.0.1:{service_port}");
    let mut agent = agent(&base);
    std::thread::sleep(WARMUP);
    let sample: Vec<String> = call(&base, "GET", "/api/v1/sources", ORG, None)
        .as_array()
        .into_iter()
        .flatten()
        .take(50)
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect();
    let (c0, s0, a0, t0) = (recorded(&base, &sample), cpu(service.id()), cpu(agent.id()), Instant::now());
    std::thread::sleep(WINDOW);
    let (c1, s1, a1, t1) = (recorded(&base, &sample), cpu(service.id()), cpu(agent.id()), Instant::now());
    let secs = (t1 - t0).as_secs_f64();
    // The sample's rate, scaled to every source.
    let per_second = (c1 - c0) as f64 / secs * SOURCES as f64 / sample.len() as f64;
    let offered = SOURCES as f64 / humantime::parse_duration(INTERVAL).expect("interval").as_secs_f64();
    let checks = per_second * secs;
    println!(
        "carried in {location}: {SOURCES} sources at {INTERVAL} ({offered:.0}/s offered): {per_second:.0} checks/s \
         recorded; agent CPU {:.0}%; service CPU {:.0}%, {:.2} service CPU-s per 1,000 checks",
        (a1 - a0) / secs * 100.0,
        (s1 - s0) / secs * 100.0,
        (s1 - s0) / checks * 1000.0,
    );
    let _ = agent.kill();
    let _ = service.kill();
    let _ = (agent.wait(), service.wait());
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

fn latency(port: u16) {
    let dir = tempfile::tempdir().expect("tmp");
    let service_port = free_port();
    let mut service = start(dir.path(), service_port, &head());
    let base = format!("http://127.0.0.1:{service_port}");
    let mut agent = agent(&base);
    let body = |i: usize, location: &str| {
        json!({"name": format!("p{i}"), "type": "tcp", "config": {"host": "127.0.0.1", "port": port},
               "interval": "1s", "timeout": "2s", "retries": 0, "locations": [location]})
    };
    let ids: Vec<String> = (0..PROBES)
        .map(|i| {
            call(&base, "POST", "/api/v1/sources", ORG, Some(body(i, "central")))["id"]
                .as_str()
                .expect("as set up")
                .to_string()
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut samples: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for round in 0..ROUNDS * 2 {
        let location = if round % 2 == 0 { "central" } else { "site-a" };
        for (i, id) in ids.iter().enumerate() {
            call(&base, "PUT", &format!("/api/v1/sources/{id}"), ORG, Some(body(i, location)));
        }
        // Results of the previous placement still arriving are not this round's.
        std::thread::sleep(Duration::from_secs(2));
        let round_start = chrono::Utc::now();
        let end = Instant::now() + ROUND;
        while Instant::now() < end {
            for id in &ids {
                let newest =
                    &call(&base, "GET", &format!("/v1/sources/{id}/checks?limit=3"), ADMIN, None)["checks"];
                for c in newest.as_array().into_iter().flatten() {
                    let Some(check) = c["id"].as_str() else { continue };
                    if c["status"] == "RUNNING"
                        || c["status"] == "SCHEDULED"
                        || !seen.insert(check.to_string())
                    {
                        continue;
                    }
                    let here = if c["location"] == "central" { "central" } else { "site-a" };
                    if here != location {
                        continue;
                    }
                    let started =
                        chrono::DateTime::parse_from_rfc3339(c["started_at"].as_str().unwrap_or_default());
                    // Only checks of this round: an older one read now
                    // would count the time since it as latency.
                    if let Ok(started) = started.map(|t| t.with_timezone(&chrono::Utc))
                        && started > round_start
                    {
                        let ms = (chrono::Utc::now() - started.with_timezone(&chrono::Utc))
                            .num_microseconds()
                            .unwrap_or(0);
                        samples.entry(location).or_default().push(ms as f64 / 1000.0);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for (location, v) in &mut samples {
        let n = v.len();
        let (p50, p95) = (percentile(v, 0.5), percentile(v, 0.95));
        println!(
            "latency {location}: start → readable at the service, {n} checks: median {p50:.0} ms, p95 {p95:.0} ms"
        );
    }
    let _ = agent.kill();
    let _ = service.kill();
    let _ = (agent.wait(), service.wait());
}

fn main() {
    let port = listener();
    let only = std::env::var("SONDE_BENCH_ONLY").unwrap_or_default();
    if only != "carried" {
        latency(port);
    }
    if only == "latency" {
        return;
    }
    // The same sources run by the service itself and by one agent, alternating.
    for location in ["central", "site-a", "central", "site-a"] {
        carried(port, location);
    }
}
