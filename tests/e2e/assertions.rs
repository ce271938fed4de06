//! `expect` on the SQL probes (DESIGN §3): one case table, run against an
//! `orders` table each test fills in real PostgreSQL and in real MariaDB.
//! Each case passes or fails with the `expected` and `observed` it names;
//! a query's own error stays "query failed".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::pgdb::TestDatabase;
use sonde_test_support::{mysql, require};

use crate::common::{load, runtime};

/// What a case must come to.
enum Want {
    Ok,
    /// "assertion failed" with this `detail`, `expected` and `observed`
    /// (`observed` as a prefix when it is a string: an age).
    Fails {
        detail: &'static str,
        expected: Value,
        observed: Value,
    },
    /// An error of the query itself, not of the expectation.
    QueryFailed,
    /// FAILED before any connect.
    Invalid(&'static str),
}

struct Case {
    name: &'static str,
    /// `{t}` is the table's name.
    query: &'static str,
    expect: Value,
    want: Want,
}

/// Three orders: 1 two days old, 2 a minute old, 3 three days old with no
/// price. `updated_at` carries a zone (or MySQL's session zone);
/// `created` is the same instant in UTC with no zone.
fn cases() -> Vec<Case> {
    use Want::*;
    let c = |name, query, expect, want| Case { name, query, expect, want };
    vec![
        c("rows exactly", "SELECT id FROM {t}", json!({"rows": 3}), Ok),
        c(
            "rows exactly, failing",
            "SELECT id FROM {t}",
            json!({"rows": 5}),
            Fails { detail: "3 rows", expected: json!(5), observed: json!(3) },
        ),
        c("rows in a range", "SELECT id FROM {t}", json!({"rows": {"min": 1, "max": 3}}), Ok),
        c(
            "rows above the range",
            "SELECT id FROM {t}",
            json!({"rows": {"max": 2}}),
            Fails { detail: "3 rows", expected: json!({"min": null, "max": 2}), observed: json!(3) },
        ),
        c("no rows, zero expected", "SELECT id FROM {t} WHERE id > 99", json!({"rows": 0}), Ok),
        c("equals text", "SELECT name FROM {t} ORDER BY id LIMIT 1", json!({"equals": "alpha"}), Ok),
        c(
            "equals text, failing",
            "SELECT name FROM {t} ORDER BY id LIMIT 1",
            json!({"equals": "beta"}),
            Fails { detail: "the first value differs", expected: json!("beta"), observed: json!("alpha") },
        ),
        c("equals a count", "SELECT count(*) FROM {t}", json!({"equals": 3}), Ok),
        c(
            "a count is a number, not text",
            "SELECT count(*) FROM {t}",
            json!({"equals": "3"}),
            Fails { detail: "the first value differs", expected: json!("3"), observed: json!(3) },
        ),
        c("equals a decimal", "SELECT price FROM {t} WHERE id = 1", json!({"equals": 1.5}), Ok),
        c("equals null", "SELECT price FROM {t} WHERE id = 3", json!({"equals": null}), Ok),
        c(
            "equals with no row",
            "SELECT price FROM {t} WHERE id = 99",
            json!({"equals": null}),
            Fails { detail: "no row came back", expected: json!(null), observed: json!(null) },
        ),
        c("fresh", "SELECT max(updated_at) FROM {t}", json!({"max_age": "1h"}), Ok),
        c(
            "stale",
            "SELECT max(updated_at) FROM {t} WHERE id <> 2",
            json!({"max_age": "1d"}),
            Fails { detail: "", expected: json!("1d"), observed: json!("2d") },
        ),
        c("fresh, a zoneless UTC timestamp", "SELECT max(created) FROM {t}", json!({"max_age": "1h"}), Ok),
        c(
            "stale, a zoneless UTC timestamp",
            "SELECT max(created) FROM {t} WHERE id <> 2",
            json!({"max_age": "1d"}),
            Fails { detail: "", expected: json!("1d"), observed: json!("2d") },
        ),
        c(
            "nothing to date",
            "SELECT max(created) FROM {t} WHERE id > 99",
            json!({"max_age": "1d"}),
            Fails { detail: "nothing was read to date", expected: json!("1d"), observed: json!(null) },
        ),
        c(
            "all three at once, the first failing one reported",
            "SELECT max(updated_at) FROM {t}",
            json!({"rows": 1, "equals": "x", "max_age": "1h"}),
            Fails { detail: "the first value differs", expected: json!("x"), observed: json!("") },
        ),
        c("a query error stays a query error", "SELECT nope FROM {t}", json!({"rows": 1}), QueryFailed),
        c("json has no meaning for SQL", "SELECT 1", json!({"json": {"/a": 1}}), Invalid("expect.json")),
        c("min above max", "SELECT 1", json!({"rows": {"min": 3, "max": 1}}), Invalid("expect.rows")),
        c("a bad duration", "SELECT 1", json!({"max_age": "soon"}), Invalid("max_age")),
    ]
}

/// A table the test filled, and how the probe reaches it.
struct Filled {
    probe: &'static str,
    base: Value,
    table: String,
}

async fn run(db: &Filled) {
    let rt = runtime();
    let plugin = load(&rt, sonde_test_support::probe(db.probe)).await;
    let mut wrong = Vec::new();
    for case in cases() {
        let mut config = db.base.clone();
        config["query"] = json!(case.query.replace("{t}", &db.table));
        config["expect"] = case.expect.clone();
        let r = rt.check(&plugin, &config, Duration::from_secs(10)).await;
        if let Err(why) = judge(&case.want, &r) {
            wrong.push(format!("{}: {why}\n    {r:?}", case.name));
        }
    }
    assert!(wrong.is_empty(), "{} against {}:\n{}", db.probe, db.table, wrong.join("\n"));
}

fn judge(want: &Want, r: &CheckReport) -> Result<(), String> {
    let extra: Value = r.extra.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or(Value::Null);
    match want {
        Want::Ok if r.status == Status::Ok => Ok(()),
        Want::QueryFailed if r.status == Status::Error && r.message.as_deref() == Some("query failed") => {
            Ok(())
        }
        Want::Invalid(key)
            if r.status == Status::Failed && r.message.as_deref().is_some_and(|m| m.contains(key)) =>
        {
            Ok(())
        }
        Want::Fails { detail, expected, observed }
            if r.status == Status::Error && r.message.as_deref() == Some("assertion failed") =>
        {
            let same_observed = match (observed, &extra["observed"]) {
                (Value::String(prefix), Value::String(got)) => got.starts_with(prefix.as_str()),
                (want, got) => want == got,
            };
            if extra["stage"] != "assertion" || extra["expected"] != *expected || !same_observed {
                return Err(format!("expected {expected} observed {observed} at stage assertion"));
            }
            match extra["detail"].as_str() {
                Some(got) if got.starts_with(detail) => Ok(()),
                got => Err(format!("detail {got:?}, not {detail:?}")),
            }
        }
        _ => Err("another outcome".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(db) = TestDatabase::create() else { return };
    db.query(
        "CREATE TABLE orders (id int PRIMARY KEY, name text NOT NULL, price numeric(10, 2),
             updated_at timestamptz NOT NULL, created timestamp NOT NULL);
         INSERT INTO orders SELECT id, name, price, now() - age, (now() AT TIME ZONE 'UTC') - age
           FROM (VALUES (1, 'alpha', 1.50, interval '2 days'), (2, '', 2.25, interval '1 minute'),
                        (3, 'gamma', NULL, interval '3 days')) AS v(id, name, price, age);",
    );
    let base = json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": db.name});
    run(&Filled { probe: "postgres", base, table: "orders".into() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb() {
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let table = MariaDbTable::create();
    // `updated_at` is a TIMESTAMP: MariaDB reads it out in the session's
    // zone, which the probe sets to UTC when it dates a value.
    table.sql(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, name text NOT NULL, price decimal(10, 2),
             updated_at timestamp(6) NOT NULL, created datetime(6) NOT NULL);
         INSERT INTO {t} VALUES
           (1, 'alpha', 1.50, NOW(6) - INTERVAL 2 DAY, UTC_TIMESTAMP(6) - INTERVAL 2 DAY),
           (2, '', 2.25, NOW(6) - INTERVAL 1 MINUTE, UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE),
           (3, 'gamma', NULL, NOW(6) - INTERVAL 3 DAY, UTC_TIMESTAMP(6) - INTERVAL 3 DAY);",
        t = table.name
    ));
    let base = json!({"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test"});
    run(&Filled { probe: "mysql", base: base.clone(), table: table.name.clone() }).await;

    // The probe dates values in a UTC session, whatever the server's zone.
    let rt = runtime();
    let plugin = load(&rt, sonde_test_support::probe("mysql")).await;
    let mut config = base;
    config["query"] = json!("SELECT IF(@@session.time_zone = '+00:00', NOW(), '2000-01-01 00:00:00')");
    config["expect"] = json!({"max_age": "1h"});
    let r = rt.check(&plugin, &config, Duration::from_secs(10)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}

/// A table of its own in MariaDB's `test` database, dropped on drop.
struct MariaDbTable {
    name: String,
}

impl MariaDbTable {
    fn create() -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        Self { name: format!("sonde_expect_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)) }
    }

    fn sql(&self, sql: &str) {
        // A session zone far from UTC: a probe that read TIMESTAMPs in it
        // would date them 10 hours off.
        mysql::shared_sql(&format!("SET time_zone = '+10:00'; {sql}"));
    }
}

impl Drop for MariaDbTable {
    fn drop(&mut self) {
        let _ = mysql::client(&format!("DROP TABLE IF EXISTS {}", self.name));
    }
}
