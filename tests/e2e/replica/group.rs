//! Three `sonde serve` processes on one PostgreSQL database (a fresh one
//! per test): one schedule for the group, a dead replica's checks moving
//! to the others, and reads that agree on every replica.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde_test_support::open_port;
use sonde_test_support::pgdb::TestDatabase;

use crate::serve::Serve;

pub const KEY: &str = "group-admin-key-1";

/// The TOML of one replica: the shared store, short leases, an admin key,
/// and `sources` tcp sources against `port` every `interval`.
pub fn replica_toml(url: &str, lease: &str, sources: usize, port: u16, interval: &str) -> String {
    let mut toml = format!(
        "store = \"{url}\"\n[postgres]\nlease = \"{lease}\"\npoll = \"100ms\"\n[checks]\nmax_concurrent = 64\n\
         [[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n"
    );
    for i in 0..sources {
        toml.push_str(&format!(
            "[[sources]]\nname = \"s{i:03}\"\norganization = \"org_{}\"\ntype = \"tcp\"\n\
             config = {{ host = \"127.0.0.1\", port = {port} }}\ninterval = \"{interval}\"\ntimeout = \"1s\"\nretries = 0\n",
            i % 5
        ));
    }
    toml
}

/// Three replicas named r1, r2, r3 on `toml`.
pub fn three(toml: &str) -> Vec<Serve> {
    (1..=3)
        .map(|i| {
            Serve::start_with(toml, |c| {
                c.args(["--replica-id", &format!("r{i}")]);
            })
        })
        .collect()
}

fn get(serve: &Serve, path: &str) -> (u16, Value) {
    match ureq::get(format!("{}{path}", serve.base))
        .header("x-api-key", KEY)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
    {
        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// Per source: (checks, shortest and longest gap in ms) over scheduled
/// checks created in the last `window_s` seconds but the final `tail_s`.
fn spacing(db: &TestDatabase, window_s: u32, tail_s: u32) -> Vec<(String, i64, i64, i64)> {
    let rows = db.query(&format!(
        "WITH w AS (SELECT s.name, c.created_at, c.created_at - lag(c.created_at) OVER \
           (PARTITION BY c.source_id ORDER BY c.created_at) AS gap FROM checks c JOIN sources s ON s.id = c.source_id \
           WHERE c.trigger = 'schedule' AND c.created_at > now() - interval '{window_s} seconds' \
           AND c.created_at < now() - interval '{tail_s} seconds') \
         SELECT name, count(*), COALESCE(min(extract(epoch FROM gap) * 1000)::bigint, 0), \
           COALESCE(max(extract(epoch FROM gap) * 1000)::bigint, 0) FROM w GROUP BY name ORDER BY name"
    ));
    rows.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap_or(0),
                f[2].parse().unwrap_or(0),
                f[3].parse().unwrap_or(0),
            )
        })
        .collect()
}

/// 300 sources every 2 s on three replicas for 30 s: each source checked
/// on schedule (14 or more checks in 28 s, never two within 1.5 s, never
/// more than 3 s apart), and all three replicas ran checks.
#[test]
fn three_replicas_share_one_schedule() {
    let Some(db) = TestDatabase::create() else { return };
    let toml = replica_toml(&db.url(), "5s", 300, open_port(), "2s");
    let replicas = three(&toml);
    std::thread::sleep(Duration::from_secs(32));
    let rows = spacing(&db, 30, 2);
    let logs = || replicas.iter().map(|r| r.logs()).collect::<Vec<_>>().join("\n---\n");
    assert_eq!(rows.len(), 300, "every source was checked: {} of 300\n{}", rows.len(), logs());
    for (name, count, min_gap, max_gap) in &rows {
        assert!(*count >= 13, "{name}: only {count} checks in 28 s at a 2 s interval");
        assert!(*min_gap >= 1500, "{name}: two checks {min_gap} ms apart, inside one interval");
        assert!(*max_gap <= 3000, "{name}: a gap of {max_gap} ms at a 2 s interval");
    }
    let seen = db.query("SELECT string_agg(DISTINCT replica, ',' ORDER BY replica) FROM checks");
    assert_eq!(seen, "r1,r2,r3", "every replica ran checks");
    let duplicates = db.query(
        "SELECT count(*) FROM (SELECT source_id, date_trunc('second', created_at) FROM checks \
         GROUP BY 1, 2 HAVING count(*) > 1) d",
    );
    assert_eq!(duplicates, "0");
}

/// `kill -9` of one of three: within one lease period plus one interval
/// (plus a second of slack) every source has been checked by the others
/// since, and none of the dead replica's checks is left SCHEDULED or RUNNING.
#[test]
fn a_killed_replicas_checks_move_to_the_others() {
    let Some(db) = TestDatabase::create() else { return };
    // Checks that take their whole 1 s timeout (a port whose connects get
    // no answer), so the victim dies holding some of them mid-check.
    let silent = sonde_test_support::FullBacklog::start();
    let toml = replica_toml(&db.url(), "3s", 60, silent.port, "2s");
    let mut replicas = three(&toml);
    std::thread::sleep(Duration::from_secs(6));
    let before = db.query("SELECT count(*) FROM schedule WHERE lease_owner = 'r3'");
    assert_ne!(before, "0", "r3 held leases when it was killed");
    replicas[2].kill();
    let killed = db.query("SELECT now()");
    // One lease (3 s) plus one interval (2 s), plus slack.
    std::thread::sleep(Duration::from_secs(6));
    let stale = db.query(&format!(
        "SELECT count(*) FROM sources s WHERE NOT EXISTS (SELECT 1 FROM checks c WHERE c.source_id = s.id \
         AND c.replica IN ('r1', 'r2') AND c.status NOT IN ('SCHEDULED', 'RUNNING') \
         AND c.reported_at > '{killed}'::timestamptz)"
    ));
    assert_eq!(stale, "0", "sources not checked by r1 or r2 since the kill");
    let stuck = db.query(&format!(
        "SELECT count(*) FROM checks WHERE status IN ('SCHEDULED', 'RUNNING') \
         AND created_at < '{killed}'::timestamptz"
    ));
    assert_eq!(stuck, "0", "checks from before the kill still unfinished");
    assert!(replicas[0].alive() && replicas[1].alive());
}

/// A source created through r1 is readable from r2 and r3 at once, is
/// checked by the group (r2 or r3 among the replicas that ran it), and
/// every read route answers the same on all three.
#[test]
fn a_source_created_through_one_replica_is_read_and_checked_by_all() {
    let Some(db) = TestDatabase::create() else { return };
    let replicas = three(&replica_toml(&db.url(), "5s", 0, 1, "1s"));
    let port = open_port();
    let body = json!({"name": "made-on-r1", "organization": "org_a", "workspace": uuid::Uuid::new_v4(),
        "type": "tcp", "config": {"host": "127.0.0.1", "port": port}, "interval": "500ms"});
    let mut created = ureq::post(format!("{}/api/v1/sources/", replicas[0].base))
        .header("x-api-key", KEY)
        .send_json(&body)
        .expect("create on r1");
    let created: Value = created.body_mut().read_json().expect("json");
    let id = created["id"].as_str().expect("id").to_string();
    for r in &replicas[1..] {
        let (status, got) = get(r, &format!("/api/v1/sources/{id}"));
        assert_eq!((status, &got), (200, &created), "read on {} at once", r.base);
    }
    // Checked by the group, and not only by r1.
    let end = Instant::now() + Duration::from_secs(15);
    let ran = loop {
        let (_, checks) = get(&replicas[1], &format!("/v1/sources/{id}/checks?limit=100"));
        let mut ran: Vec<String> = checks["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["replica"].as_str().map(String::from))
            .collect();
        ran.sort();
        ran.dedup();
        if ran.iter().any(|r| r != "r1") || Instant::now() > end {
            break ran;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(ran.iter().any(|r| r == "r2" || r == "r3"), "ran on {ran:?}");
    // Every read route: the same answer on every replica (retried while a
    // check lands between two of the reads).
    let kb = body["workspace"].as_str().expect("kb");
    let paths = [
        "/healthz/sources".to_string(),
        format!("/api/v1/sources/{id}/connection-check"),
        format!("/v1/knowledge-base/knowledge-bases/{kb}/sources/{id}/sync/status"),
        "/v1/organizations/org_a/knowledge/connectors/health".to_string(),
        format!("/v1/sources/{id}/checks"),
        "/api/v1/sources".to_string(),
    ];
    for path in &paths {
        let agreed = (0..20).any(|_| {
            let answers: Vec<(u16, Value)> = replicas.iter().map(|r| get(r, path)).collect();
            let same = answers.windows(2).all(|w| w[0] == w[1]) && answers[0].0 == 200;
            if !same {
                std::thread::sleep(Duration::from_millis(50));
            }
            same
        });
        assert!(agreed, "{path} differs between replicas");
    }
    let gauge = |r: &Serve| -> Vec<String> {
        let text = ureq::get(format!("{}/metrics", r.base))
            .header("x-api-key", KEY)
            .call()
            .expect("metrics")
            .body_mut()
            .read_to_string()
            .expect("text");
        text.lines()
            .filter(|l| l.contains("made-on-r1") && !l.starts_with('#') && l.contains("status"))
            .map(String::from)
            .collect()
    };
    let agreed = (0..20).any(|_| {
        let g: Vec<_> = replicas.iter().map(gauge).collect();
        !g[0].is_empty() && g.windows(2).all(|w| w[0] == w[1])
    });
    assert!(agreed, "per-source gauges differ: {:?}", replicas.iter().map(gauge).collect::<Vec<_>>());
}
