//! What a scheduled check costs PostgreSQL, measured on a private server
//! (so nothing else runs on it): transactions per check (every statement
//! Sonde sends outside a source write is its own transaction, so this counts
//! statements) and server CPU per 1,000 checks, with three replicas checking
//! 600 sources every second for 20 s, first without an alert route, then
//! with one webhook route watching every source (whose views the store
//! moves in each result's transaction). The figures are printed (docs/performance.md,
//! "Cost per check on a shared PostgreSQL"); the test fails when a check costs more than one
//! transaction on average (claims and results are batched, so far fewer).

use std::time::{Duration, Instant};

use sonde_test_support::postgres::{PrivatePostgres, SCRAM_USER};

use super::group::replica_toml;
use crate::alerts::receiver::Receiver;
use crate::serve::Serve;
use sonde_test_support::open_port;

fn scalar(pg: &PrivatePostgres, db: &str, sql: &str) -> f64 {
    let out = pg.psql_in(db, sql);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("{sql}: {out:?}"))
}

/// What one run measured.
struct Cost {
    checks: f64,
    wall: f64,
    per_check: f64,
    cpu_ms_per_1000: f64,
    cpu_share: f64,
}

/// Three replicas on a fresh database of `pg`, `sources` tcp sources every
/// second for `seconds`, with `extra` added to their configuration.
fn measure(pg: &PrivatePostgres, db: &str, sources: u32, seconds: u64, extra: &str) -> Cost {
    let (user, password) = SCRAM_USER;
    let out = pg.psql(&format!("CREATE DATABASE {db} OWNER {user}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", pg.port);
    let toml = replica_toml(&url, "10s", sources as usize, open_port(), "1s") + extra;
    let replicas: Vec<Serve> = (1..=3)
        .map(|i| {
            Serve::start_with(&toml, |c| {
                c.args(["--replica-id", &format!("c{i}")]);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3)); // past start-up and the first spread

    let finished = "SELECT count(*) FROM checks WHERE status NOT IN ('SCHEDULED', 'RUNNING')";
    let xacts = format!("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'");
    let (checks0, xacts0, cpu0) = (scalar(pg, db, finished), scalar(pg, db, &xacts), pg.cpu_seconds());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (checks1, xacts1, cpu1) = (scalar(pg, db, finished), scalar(pg, db, &xacts), pg.cpu_seconds());
    let wall = t0.elapsed().as_secs_f64();
    drop(replicas);
    let checks = checks1 - checks0;
    Cost {
        checks,
        wall,
        // Each psql sample is itself one transaction.
        per_check: (xacts1 - xacts0 - 1.0) / checks,
        cpu_ms_per_1000: (cpu1 - cpu0) * 1000.0 / checks * 1000.0,
        cpu_share: (cpu1 - cpu0) / wall * 100.0,
    }
}

#[test]
fn a_scheduled_check_costs_a_few_statements() {
    let Some(pg) = PrivatePostgres::start() else { return };
    let (sources, seconds): (u32, u64) = (600, 20);
    let receiver = Receiver::start();
    let route = format!(
        "[[alerts]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{}/hook\"\n",
        receiver.port
    );
    // Without a route, then with one webhook route watching every source
    // (its views move in the transaction of every result), alternating for
    // `SONDE_COST_ROUNDS` rounds (1 in the suite; more for docs/performance.md).
    let rounds: usize = std::env::var("SONDE_COST_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
    let sides = [("plain", "", "no alert route"), ("routed", route.as_str(), "one webhook route")];
    for (round, (db, extra, label)) in (0..rounds).flat_map(|r| sides.iter().map(move |s| (r, *s))) {
        let c = measure(&pg, &format!("{db}{round}"), sources, seconds, extra);
        eprintln!(
            "COST ({label}): {} checks in {:.1} s ({:.0}/s; target {sources}/s), {:.3} transactions per check, \
             PostgreSQL CPU {:.0} ms per 1,000 checks ({:.1}% of one core), so one core carries about {:.0} \
             sources at a 60 s interval",
            c.checks,
            c.wall,
            c.checks / c.wall,
            c.per_check,
            c.cpu_ms_per_1000,
            c.cpu_share,
            60_000_000.0 / c.cpu_ms_per_1000,
        );
        assert!(c.checks > f64::from(sources) * seconds as f64 * 0.8, "{label}: {} checks", c.checks);
        assert!(c.per_check <= 1.0, "{label}: {:.2} transactions per check", c.per_check);
    }
    assert!(receiver.all().is_empty(), "every source stayed up: nothing to notify");
}
