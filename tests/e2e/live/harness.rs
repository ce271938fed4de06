//! The real `sonde serve` for the live tests: a config in a temp dir, the
//! binary's HTTP API, its log and its pid; and plugin bytes to drop in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde_test_support::{closed_port, fixture};

pub const KEY: &str = "test-admin-key-0123";

pub struct Server {
    child: Child,
    pub base: String,
    log: PathBuf,
    pub key: String,
}

impl Server {
    /// Writes `sonde.toml` (with `extra` appended) and starts the binary.
    pub fn start(dir: &Path, extra: &str) -> Self {
        let port = closed_port();
        std::fs::create_dir_all(dir.join("plugins")).expect("mkdir");
        std::fs::write(dir.join("sonde.toml"), config(dir, port, extra)).expect("config");
        let log = dir.join("serve.log");
        let child = Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args(["serve", "--config"])
            .arg(dir.join("sonde.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start sonde serve");
        let server = Self { child, base: format!("http://127.0.0.1:{port}"), log, key: KEY.into() };
        wait_for("sonde serve to come up", Duration::from_secs(10), || server.get("/v1/plugins").0 == 200);
        // The watch starts right after; give it its first look.
        wait_for("the watch", Duration::from_secs(5), || server.logs().contains("watching plugins_dir"));
        server
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder().http_status_as_error(false).build().into()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        match Self::agent().get(format!("{}{path}", self.base)).header("x-api-key", &self.key).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut r = Self::agent()
            .post(format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .send_json(body)
            .expect("POST");
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn plugins(&self) -> Value {
        self.get("/v1/plugins").1
    }

    /// The sha256 of the plugin serving `source_type`, if any.
    pub fn serving(&self, source_type: &str) -> Option<String> {
        self.plugins()["plugins"]
            .as_array()?
            .iter()
            .find(|p| p["source_type"] == source_type)
            .and_then(|p| p["sha256"].as_str().map(str::to_string))
    }

    /// The load error listed for `file`, if any.
    pub fn error_for(&self, file: &Path) -> Option<String> {
        let origin = file.display().to_string();
        self.plugins()["errors"]
            .as_array()?
            .iter()
            .find(|e| e["origin"] == origin.as_str())
            .and_then(|e| e["error"].as_str().map(str::to_string))
    }

    pub fn create_source(&self, name: &str) -> String {
        let (status, made) = self.post(
            "/api/v1/sources",
            json!({"name": name, "type": "hostile", "config": {"mode": "ok"}, "organization": "org_a"}),
        );
        assert_eq!(status, 200, "{made}");
        made["id"].as_str().expect("id").to_string()
    }

    /// Runs a check of source `id` and returns its status and reason.
    pub fn check(&self, id: &str) -> (String, Value) {
        let (status, pending) = self.post(&format!("/api/v1/sources/{id}/connection-check"), json!({}));
        assert_eq!(status, 202, "{pending}");
        let mut last = Value::Null;
        wait_for("the check to finish", Duration::from_secs(5), || {
            last = self.get(&format!("/api/v1/sources/{id}/connection-check")).1;
            last["id"] == pending["id"] && last["status"] != "SCHEDULED"
        });
        (last["status"].as_str().unwrap_or_default().to_string(), last["reason"].clone())
    }

    /// The process id of `sonde serve`, to read its /proc entries.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn hangup(&self) {
        let ok = Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().expect("kill");
        assert!(ok.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn config(dir: &Path, port: u16, extra: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:{port}"
data_dir = {data:?}
plugins_dir = {plugins:?}
cache_dir = {cache:?}

[[keys]]
key = "{KEY}"
role = "admin"
{extra}
"#,
        data = dir.join("data"),
        plugins = dir.join("plugins"),
        cache = crate::common::cache_dir(),
    )
}

pub fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cond(), "timed out waiting for {what}");
}

pub fn hostile() -> Vec<u8> {
    std::fs::read(fixture("hostile")).expect("hostile fixture")
}

/// The hostile fixture with a custom section appended: the same probe,
/// different bytes and digest.
pub fn hostile_variant() -> Vec<u8> {
    let mut bytes = hostile();
    let name = b"sonde-test";
    let payload = b"variant two";
    bytes.push(0); // custom section
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    bytes
}
