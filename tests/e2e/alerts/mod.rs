//! Alerts end to end (DESIGN §8): the real `sonde serve`, sources checked
//! by the built-in `http` probe against a loopback target whose answer the
//! test flips (200 OK, 500 ERROR), a loopback [`receiver::Receiver`]
//! standing in for the webhook, Slack, PagerDuty, Teams and Opsgenie
//! endpoints (checking their documented shapes), and a real SMTP server
//! for e-mail.
//!
//! # Layout
//! - `receiver`: the recording receiver.
//! - `delivery`: down/up, flapping, reminders, signatures, a dead receiver,
//!   kill -9, the Slack and PagerDuty shapes, organization scoping.
//! - `channels`: the Teams and Opsgenie shapes.
//! - `email`: real SMTP (STARTTLS, SMTPS, AUTH, refusals).
//! - `silences`: `/v1/silences` and `[[maintenance]]` holding notifications.
//! - `group`: one notification per transition for the whole group: 1, 2
//!   and 3 processes, kill -9 mid-incident, reminders; the MEASURE line.
//! - `incident`: the group tests' harness: N processes, one incident.
//! - `yardstick`: what one process would have sent for the checks a group ran.
//! - `storms`: a switch's dependents suppressed; `group_wait` batches.

mod channels;
mod delivery;
mod email;
mod group;
mod incident;
pub mod receiver;
mod silences;
mod storms;
mod yardstick;

use std::time::{Duration, Instant};

use serde_json::Value;
use sonde_test_support::http_server::{Reply, Server};

use crate::serve::Serve;

pub const ADMIN: &str = "alerts-admin-key-0123";
pub const ACME: &str = "alerts-acme-key-4567";
pub const OTHER: &str = "alerts-other-key-89ab";
pub const SECRET: &str = "hook-signing-secret-cafe";
pub const SECRET_ENV: &str = "SONDE_TEST_HOOK_SECRET";

/// A loopback HTTP endpoint a source checks; [`Target::up`] and
/// [`Target::down`] flip its answer.
pub struct Target {
    server: Server,
}

impl Target {
    pub fn start() -> Self {
        let t = Self { server: Server::start() };
        t.up();
        t
    }

    pub fn up(&self) {
        self.server.route("/health", Reply::new(200).body("ok"));
    }

    pub fn down(&self) {
        self.server.route("/health", Reply::new(500).body("broken"));
    }

    pub fn url(&self) -> String {
        self.server.url("/health")
    }
}

/// The keys, plus one source per `(name, organization, target)` checked
/// every 200 ms without retries.
pub fn sources(list: &[(&str, &str, &Target)]) -> String {
    let mut toml = format!(
        "[[keys]]\nkey = \"{ADMIN}\"\nrole = \"admin\"\n\n[[keys]]\nkey = \"{ACME}\"\norganization = \"org_acme\"\n\n\
         [[keys]]\nkey = \"{OTHER}\"\norganization = \"org_other\"\n\n"
    );
    for (name, org, target) in list {
        toml.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\norganization = \"{org}\"\ntype = \"http\"\n\
             config = {{ url = \"{}\" }}\ninterval = \"200ms\"\ntimeout = \"2s\"\nretries = 0\n\n",
            target.url()
        ));
    }
    toml
}

/// A webhook route named `name` to `url`, signed with [`SECRET`], plus `extra` lines.
pub fn webhook(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[alerts]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"{SECRET_ENV}\"\n{extra}\n"
    )
}

/// `sonde serve` on `toml`, with the signing secret in its environment.
pub fn serve(toml: &str) -> Serve {
    Serve::start_with(toml, env)
}

pub fn env(c: &mut std::process::Command) {
    c.env(SECRET_ENV, SECRET).env("SONDE_LOG", "info");
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// A request with `key`; the status and the JSON body (`Null` if none).
pub fn call(serve: &Serve, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", serve.base);
    let a = agent();
    let result = match (method, body) {
        ("GET", _) => a.get(&url).header("x-api-key", key).call(),
        ("DELETE", _) => a.delete(&url).header("x-api-key", key).call(),
        (_, Some(b)) => a.post(&url).header("x-api-key", key).send_json(b),
        (_, None) => a.post(&url).header("x-api-key", key).send_empty(),
    };
    let mut r = result.expect("request");
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
}

/// The source's newest finished statuses, newest first.
pub fn statuses(serve: &Serve, name: &str) -> Vec<String> {
    let (_, list) = call(serve, "GET", "/api/v1/sources", ADMIN, None);
    let id = list
        .as_array()
        .and_then(|l| l.iter().find(|s| s["name"] == name))
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no source {name}: {list}"))
        .to_string();
    let (_, h) = call(serve, "GET", &format!("/v1/sources/{id}/checks?limit=1000"), ADMIN, None);
    h["checks"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["status"].as_str()).map(str::to_string).collect::<Vec<String>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|s: &String| s != "SCHEDULED" && s != "RUNNING")
        .collect()
}

/// Waits until the source's newest `n` checks are all `status`.
pub fn wait_for_streak(serve: &Serve, name: &str, status: &str, n: usize) {
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        let s = statuses(serve, name);
        if s.len() >= n && s[..n].iter().all(|x| x == status) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} never had {n} checks {status} in a row: {:?}\n{}", statuses(serve, name), serve.logs());
}

/// A metric's value from `/metrics` (read with the admin key, which sees
/// every organization's series), by name and label substring.
pub fn metric(serve: &Serve, name: &str, labels: &str) -> Option<f64> {
    let answer = ureq::get(format!("{}/metrics", serve.base)).header("x-api-key", ADMIN).call();
    let text = answer.ok()?.body_mut().read_to_string().ok()?;
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Whether the status page (signed in with the admin key) marks exactly
/// one source as silenced, and that one is `orders-db`.
pub fn status_page_marks(serve: &Serve) -> bool {
    let cookie = crate::session::sign_in(&serve.base, ADMIN);
    let page = crate::session::page(&serve.base, Some(&cookie)).body;
    let marks: Vec<&str> = page.split("<tr").filter(|row| row.contains("badge s-silenced")).collect();
    marks.len() == 1 && marks[0].contains("orders-db")
}

/// Waits (the pending gauge is refreshed every 2 s) until a metric has `value`.
pub fn wait_metric(serve: &Serve, name: &str, labels: &str, value: f64, within: Duration) {
    let end = Instant::now() + within;
    while metric(serve, name, labels) != Some(value) {
        assert!(Instant::now() < end, "{name}{{{labels}}} is {:?}, not {value}", metric(serve, name, labels));
        std::thread::sleep(Duration::from_millis(100));
    }
}
