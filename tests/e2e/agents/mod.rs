//! Private agents (DESIGN §10) end to end: the real `sonde serve` and the
//! real `sonde agent` processes, on loopback, or across network namespaces
//! the test makes ([`reach`]).
//!
//! - [`tenancy`]: locations granted per organization, agent keys that
//!   reach nothing else, bound agents, hostile results.
//! - [`fallback`]: `kill -9` of an agent hands its claims to another of
//!   its location within a lease; with none, ERROR "no agent for location"
//!   and the alert route is told.
//! - [`on_demand`]: Unstructured's and Aitronos's on-demand checks run by
//!   the agent, under the id the service answered.
//! - [`away`]: the service gone for 20 s; the agent checks on and its
//!   results arrive afterwards, in order, none lost.
//! - [`reach`]: a listener only a namespace `site-a` can reach, checked
//!   by an agent inside it over HTTPS with the test's CA.
//! - [`quorum`]: `central` and `site-a` disagree; `min_locations_failed`
//!   decides, and only the combined outcome reaches routes and alerts.
//! - [`replicas`]: two replicas on PostgreSQL, an agent polling each.
//! - [`secrets`]: a source's password reaches the agent in its claim and
//!   nowhere else: not its logs, not its disk, not the API.
//! - [`site`]: the namespace, its listener, and the service over HTTPS.

mod away;
mod fallback;
mod on_demand;
mod quorum;
mod reach;
mod replicas;
mod secrets;
mod site;
mod tenancy;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::serve::{Serve, wait_for};

pub const ADMIN: &str = "agents-admin-key";
pub const ORG_A: &str = "agents-org-a-key";
pub const ORG_B: &str = "agents-org-b-key";
/// An agent of `site-a`, bound to no organization.
pub const AGENT_A: &str = "agents-site-a-key";
/// An agent of `site-a` bound to `org_b`.
pub const AGENT_A_ORG_B: &str = "agents-site-a-org-b";
/// An agent of `site-b` (granted to `org_b` alone).
pub const AGENT_B: &str = "agents-site-b-key";

/// Keys, locations and a short lease, for every test here.
pub fn keys_and_locations(lease: &str) -> String {
    format!(
        "[[keys]]\nkey = \"{ADMIN}\"\nrole = \"admin\"\n\
         [[keys]]\nkey = \"{ORG_A}\"\norganization = \"org_a\"\n\
         [[keys]]\nkey = \"{ORG_B}\"\norganization = \"org_b\"\n\
         [[keys]]\nkey = \"{AGENT_A}\"\nrole = \"agent\"\nlocation = \"site-a\"\n\
         [[keys]]\nkey = \"{AGENT_A_ORG_B}\"\nrole = \"agent\"\nlocation = \"site-a\"\norganization = \"org_b\"\n\
         [[keys]]\nkey = \"{AGENT_B}\"\nrole = \"agent\"\nlocation = \"site-b\"\n\
         [[locations]]\nname = \"site-a\"\norganizations = [\"org_a\", \"org_b\"]\n\
         [[locations]]\nname = \"site-b\"\norganizations = [\"org_b\"]\n\
         [agents]\nlease = \"{lease}\"\npoll_wait = \"500ms\"\n"
    )
}

/// A `tcp` source of `organization` checked from `locations` every 300 ms.
pub fn tcp_source(name: &str, organization: &str, port: u16, locations: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\norganization = \"{organization}\"\ntype = \"tcp\"\n\
         config = {{ host = \"127.0.0.1\", port = {port} }}\ninterval = \"300ms\"\ntimeout = \"2s\"\n\
         retries = 0\nlocations = [{locations}]\n"
    )
}

/// A running `sonde agent`; killed with SIGKILL when dropped.
pub struct Agent {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// `sonde agent --server server --location location --name name`,
    /// the key in `SONDE_AGENT_KEY`; `wrap` runs it through another
    /// command first (`ip netns exec …`).
    pub fn start(server: &str, location: &str, name: &str, key: &str, extra: &[&str], wrap: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("agent.log");
        // Its working directory, which must stay empty: nothing on disk.
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        let file = std::fs::File::create(&log).expect("log");
        let bin = env!("CARGO_BIN_EXE_sonde");
        let mut command = match wrap.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        command
            .args(["agent", "--server", server, "--location", location, "--name", name])
            .args(extra)
            .current_dir(&work)
            .env("HOME", &work)
            .env("SONDE_AGENT_KEY", key)
            .env("SONDE_LOG", "info,sonde=debug")
            .stdout(Stdio::null())
            .stderr(file);
        let child = command.spawn().expect("start sonde agent");
        Self { child, log, _dir: dir }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the agent wrote in its working directory and home.
    pub fn written(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self._dir.path().join("work"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    /// SIGKILL: the agent gets no chance to say goodbye.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The id of `organization`'s source `name` (read with its key).
pub fn source_id(serve: &Serve, key: &str, name: &str) -> String {
    let (status, body) = serve.call("GET", "/api/v1/sources", key, None);
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name))
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no source {name} in {body}"))
        .to_string()
}

/// The source's checks, newest first (admin key).
pub fn checks(serve: &Serve, id: &str) -> Vec<Value> {
    let (status, body) = serve.call("GET", &format!("/v1/sources/{id}/checks?limit=1000"), ADMIN, None);
    assert_eq!(status, 200, "{body}");
    body["checks"].as_array().cloned().unwrap_or_default()
}

/// Waits until a check of `id` satisfies `pred`; returns it.
pub fn wait_check(
    serve: &Serve,
    id: &str,
    what: &str,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut found = Value::Null;
    wait_for(what, within, || {
        if let Some(c) = checks(serve, id).into_iter().find(|c| pred(c)) {
            found = c;
            true
        } else {
            false
        }
    });
    found
}

/// `POST /v1/agent/poll` as agent `name` with `key`.
pub fn poll(serve: &Serve, key: &str, name: &str) -> (u16, Value) {
    serve.call("POST", "/v1/agent/poll", key, Some(&json!({"name": name, "version": "test"})))
}
