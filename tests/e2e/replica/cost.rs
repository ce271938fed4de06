//! What a scheduled check costs PostgreSQL, measured on a private server
//! (so nothing else runs on it): transactions per check (every statement
//! Sonde sends outside a source write is its own transaction, so this counts
//! statements) and server CPU per 1,000 checks, with three replicas checking
//! 600 sources every second for 20 s. The figures are printed (README
//! "Several replicas"); the test fails when a check costs more than one
//! statement on average (claims and results are batched, so far fewer).

use std::time::{Duration, Instant};

use sonde_test_support::postgres::{PrivatePostgres, SCRAM_USER};

use super::group::replica_toml;
use crate::serve::Serve;
use sonde_test_support::open_port;

fn scalar(pg: &PrivatePostgres, sql: &str) -> f64 {
    let out = pg.psql_in("sonde", sql);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("{sql}: {out:?}"))
}

#[test]
fn a_scheduled_check_costs_a_few_statements() {
    let Some(pg) = PrivatePostgres::start() else { return };
    let (user, password) = SCRAM_USER;
    let out = pg.psql(&format!("CREATE DATABASE sonde OWNER {user}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("postgres://{user}:{password}@127.0.0.1:{}/sonde", pg.port);
    let (sources, seconds): (u32, u64) = (600, 20);
    let toml = replica_toml(&url, "10s", sources as usize, open_port(), "1s");
    let replicas: Vec<Serve> = (1..=3)
        .map(|i| {
            Serve::start_with(&toml, |c| {
                c.args(["--replica-id", &format!("c{i}")]);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3)); // past start-up and the first spread

    let finished = "SELECT count(*) FROM checks WHERE status NOT IN ('SCHEDULED', 'RUNNING')";
    let xacts = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'sonde'";
    let (checks0, xacts0, cpu0) = (scalar(&pg, finished), scalar(&pg, xacts), pg.cpu_seconds());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (checks1, xacts1, cpu1) = (scalar(&pg, finished), scalar(&pg, xacts), pg.cpu_seconds());
    let wall = t0.elapsed().as_secs_f64();
    drop(replicas);

    let checks = checks1 - checks0;
    // Each psql sample is itself one transaction.
    let per_check = (xacts1 - xacts0 - 1.0) / checks;
    let cpu_ms_per_1000 = (cpu1 - cpu0) * 1000.0 / checks * 1000.0;
    let per_core_60s = checks / (cpu1 - cpu0) * 60.0;
    eprintln!(
        "COST: {checks} checks in {wall:.1} s ({:.0}/s; target {}/s), {per_check:.2} statements per check, \
         PostgreSQL CPU {cpu_ms_per_1000:.0} ms per 1,000 checks ({:.1}% of one core), \
         so one core carries about {per_core_60s:.0} sources at a 60 s interval",
        checks / wall,
        sources,
        (cpu1 - cpu0) / wall * 100.0
    );
    assert!(checks > f64::from(sources) * seconds as f64 * 0.8, "{checks} checks");
    assert!(per_check <= 1.0, "{per_check:.2} statements per check");
}
