//! The test's own hosts (DESIGN §10 tests): a network namespace joined
//! to this one by a veth pair, a listener only it can reach, and the real
//! `sonde serve` on the veth's outer address over HTTPS under a test CA,
//! read with the host's own HTTPS client.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sonde_test_support::certs::TestCa;
use sonde_test_support::{closed_port, in_ci};

use crate::serve::wait_for;

/// A namespace `site` joined to this one by a veth pair: `outer` here,
/// the other end there, a /30 of 10/8 of its own. Removed when dropped.
pub struct Site {
    name: String,
    link: String,
    pub outer: Ipv4Addr,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Site {
    /// `None` when namespaces cannot be made here (not root, no `ip`).
    pub fn make() -> Option<Self> {
        let pid = std::process::id();
        let name = format!("sonde-site-{pid}");
        let link = format!("sv{}", pid % 100_000);
        let peer = format!("ss{}", pid % 100_000);
        let (x, y) = (200 + (pid / 64 % 50) as u8, (pid % 64) as u8 * 4);
        let (outer, inner) = (Ipv4Addr::new(10, x, y, 1), Ipv4Addr::new(10, x, y, 2));
        if !ip(&["netns", "add", &name]) {
            return None;
        }
        let site = Self { name: name.clone(), link: link.clone(), outer };
        let ok = ip(&["link", "add", &link, "type", "veth", "peer", "name", &peer])
            && ip(&["link", "set", &peer, "netns", &name])
            && ip(&["addr", "add", &format!("{outer}/30"), "dev", &link])
            && ip(&["link", "set", &link, "up"])
            && ip(&["netns", "exec", &name, "ip", "addr", "add", &format!("{inner}/30"), "dev", &peer])
            && ip(&["netns", "exec", &name, "ip", "link", "set", &peer, "up"])
            && ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        assert!(ok, "setting up namespace {name}");
        Some(site)
    }

    /// The arguments that run a command inside.
    pub fn exec(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.name]
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.name]);
        ip(&["link", "del", &self.link]);
    }
}

/// A listener inside the namespace on its own 127.0.0.1:`port`, accepting
/// and closing every connection.
pub fn listener_in(site: &Site, port: u16) -> Child {
    let code = format!(
        "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port}))\ns.listen(16)\nwhile True:\n    c, _ = s.accept()\n    c.close()\n"
    );
    let mut args = site.exec().to_vec();
    args.extend(["python3", "-c", &code]);
    Command::new(args[0]).args(&args[1..]).stdout(Stdio::null()).spawn().expect("listener")
}

/// `GET` over HTTPS trusting `ca` alone (beside the web PKI).
pub fn https(url: &str, key: &str, ca: &str) -> (u16, Value) {
    let certs = sonde::runtime::sandbox::tls::policy::certs(ca, "ca").expect("CA");
    let anchors = sonde::runtime::sandbox::tls::verifier::anchors(certs).expect("anchors");
    let client = sonde::alerts::http::Client::new(&anchors).expect("client");
    let uri: http::Uri = url.parse().expect("url");
    let headers = [("x-api-key", key.to_string())];
    let request = sonde::alerts::http::Request {
        method: http::Method::GET,
        url: &uri,
        headers: &headers,
        body: None,
        max_body: 1 << 20,
    };
    let answer = sonde_test_support::runtime().block_on(client.send(request, Duration::from_secs(10)));
    match answer {
        Ok((status, body)) => (status, serde_json::from_slice(&body).unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

/// [`Site::make`], or `None` after saying why (a failure in CI).
pub fn site_or_skip() -> Option<Site> {
    let site = Site::make();
    if site.is_none() {
        assert!(!in_ci(), "network namespaces are needed (run as root, with iproute2)");
        eprintln!("SKIPPED: cannot make network namespaces here (needs root and iproute2)");
    }
    site
}

/// `sonde serve` on `site.outer` over HTTPS, with `toml` after the usual
/// head; killed when dropped.
pub struct TlsService {
    child: Child,
    pub base: String,
    pub ca_pem: String,
    pub ca_file: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl TlsService {
    pub fn start(site: &Site, toml: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new(&dir.path().join("certs"));
        let pair = ca.server_at("service", IpAddr::V4(site.outer));
        let port = closed_port();
        let toml = format!(
            "[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n{toml}",
            pair.cert_file, pair.key_file
        );
        let config = crate::serve::config_text(dir.path(), port, &toml)
            .replace(&format!("127.0.0.1:{port}"), &format!("{}:{port}", site.outer));
        std::fs::write(dir.path().join("sonde.toml"), config).expect("config");
        std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins");
        let log = std::fs::File::create(dir.path().join("serve.log")).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_sonde"))
            .args(["serve", "--config"])
            .arg(dir.path().join("sonde.toml"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sonde serve");
        let service = Self {
            child,
            base: format!("https://{}:{port}", site.outer),
            ca_pem: ca.pem(),
            ca_file: ca.ca_file(),
            dir,
        };
        wait_for("the service over HTTPS", Duration::from_secs(120), || service.get("/livez", "").0 == 200);
        service
    }

    pub fn get(&self, path: &str, key: &str) -> (u16, Value) {
        https(&format!("{}{path}", self.base), key, &self.ca_pem)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    pub fn ca_arg(&self) -> [&str; 2] {
        ["--ca-file", self.ca_file.to_str().unwrap_or_default()]
    }

    /// The id of the source `name` that `key` sees.
    pub fn source_id(&self, key: &str, name: &str) -> String {
        let (_, all) = self.get("/api/v1/sources", key);
        all.as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name))
            .and_then(|s| s["id"].as_str())
            .unwrap_or_else(|| panic!("no source {name} in {all}"))
            .to_string()
    }
}

impl Drop for TlsService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
