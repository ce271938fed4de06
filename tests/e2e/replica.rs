//! The replica id of `sonde serve`: `--replica-id`, else `SONDE_REPLICA_ID`,
//! named in every check it runs (`GET /v1/sources/{source_id}/checks`);
//! and several replicas sharing one PostgreSQL ([`group`], [`outage`],
//! [`cost`]).

mod cost;
mod group;
mod outage;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve::Serve;

const KEY: &str = "replica-admin-key-1";

fn replicas_seen(serve: &Serve) -> Vec<String> {
    let get = |path: &str| -> Value {
        ureq::get(format!("{}{path}", serve.base))
            .header("x-api-key", KEY)
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json().ok())
            .unwrap_or(Value::Null)
    };
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let sources = get("/api/v1/sources");
        let id = sources[0]["id"].as_str().unwrap_or_default().to_string();
        let checks = get(&format!("/v1/sources/{id}/checks"));
        let seen: Vec<String> = checks["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["replica"].as_str().map(String::from))
            .collect();
        if !seen.is_empty() || Instant::now() > end {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn checks_name_the_replica_from_the_flag_or_the_environment() {
    let toml = format!(
        "[[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n\n[[sources]]\nname = \"self\"\norganization = \"org_a\"\n\
         type = \"tcp\"\nconfig = {{ host = \"127.0.0.1\", port = 1 }}\ninterval = \"200ms\"\nretries = 0\n"
    );
    let flag = Serve::start_with(&toml, |c| {
        c.args(["--replica-id", "replica-a"]).env("SONDE_REPLICA_ID", "not-this-one");
    });
    let seen = replicas_seen(&flag);
    assert!(!seen.is_empty() && seen.iter().all(|r| r == "replica-a"), "{seen:?}\n{}", flag.logs());
    let env = Serve::start_with(&toml, |c| {
        c.env("SONDE_REPLICA_ID", "replica-b");
    });
    let seen = replicas_seen(&env);
    assert!(!seen.is_empty() && seen.iter().all(|r| r == "replica-b"), "{seen:?}\n{}", env.logs());
}
