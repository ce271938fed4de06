//! A fresh database on the shared local PostgreSQL (127.0.0.1:5432, trust
//! auth) for one test: created with a unique name, dropped (connections
//! and all) when the value is dropped, so tests never see each other's
//! rows and the shared server keeps nothing.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::require;

/// Where the shared server listens.
pub const ADDR: &str = "127.0.0.1:5432";

pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    /// A new empty database, or None (a printed skip) when the shared server
    /// is not there; under `CI=true` its absence fails the test.
    pub fn create() -> Option<Self> {
        if !require("PostgreSQL", ADDR) {
            return None;
        }
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name =
            format!("sonde_test_{}_{}_{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        psql(&format!("CREATE DATABASE {name}"));
        Some(Self { name })
    }

    /// The URL `sonde` connects with.
    pub fn url(&self) -> String {
        format!("postgres://postgres@{ADDR}/{}", self.name)
    }

    /// Runs SQL in this database and returns psql's unaligned output.
    pub fn query(&self, sql: &str) -> String {
        run(&self.name, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // FORCE ends the sessions of a `sonde serve` still connected.
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "test", "-X", "-q", "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
    }
}

fn psql(sql: &str) -> String {
    run("test", sql)
}

fn run(database: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", database])
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql (the PostgreSQL client) is required beside the server");
    assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
