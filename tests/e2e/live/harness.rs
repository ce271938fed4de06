//! The real `sonde serve` for the live tests: a config in a temp dir, the
//! binary's HTTP API, its log and its pid; and plugin bytes to drop in.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sonde_test_support::{closed_port, fixture};

pub use crate::serve::wait_for;
use crate::serve::{self, Serve};

pub const KEY: &str = "test-admin-key-0123";

pub struct Server {
    pub serve: Serve,
    pub key: String,
}

impl Server {
    /// Writes `sonde.toml` (an admin key, then `extra`) in `dir` and starts
    /// the binary.
    pub fn start(dir: &Path, extra: &str) -> Self {
        let serve = Serve::start_in(dir, closed_port(), &admin(extra), |_| {});
        let server = Self { serve, key: KEY.into() };
        // The watch starts right after; give it its first look.
        wait_for("the watch", Duration::from_secs(5), || server.logs().contains("watching plugins_dir"));
        server
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.serve.call("GET", path, &self.key, None)
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.serve.call("POST", path, &self.key, Some(&body))
    }

    pub fn logs(&self) -> String {
        self.serve.logs()
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

    pub fn hangup(&self) {
        self.serve.hangup();
    }
}

/// The test's TOML after the admin key every live test uses.
fn admin(extra: &str) -> String {
    format!("\n[[keys]]\nkey = \"{KEY}\"\nrole = \"admin\"\n{extra}\n")
}

/// The whole `sonde.toml` a live test writes itself (to reload it).
pub fn config(dir: &Path, port: u16, extra: &str) -> String {
    serve::config_text(dir, port, &admin(extra))
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
