//! Azurite, Microsoft's own local Azure Storage server (npm `azurite`, in
//! `tests/support/node`), for the azure probe's tests: its Blob service on a
//! free loopback port, with a private workspace directory. It verifies
//! SharedKey signatures and SAS tokens as Azure does.
//!
//! The account is Azurite's default, `devstoreaccount1`, whose key is public
//! (Microsoft documents it). URLs are path-style:
//! `http://127.0.0.1:{port}/devstoreaccount1/{container}?restype=container&comp=list`.
//! Setup (containers, blobs, SAS tokens) goes through Microsoft's Python
//! client `azure-storage-blob` (`tests/py/azure_fixture.py`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::certs::Pair;
use crate::spawned::Spawned;

/// Azurite's default account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Its well-known key (public: Microsoft's Azurite documentation lists it).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A private Azurite Blob service. Killed, and its workspace removed, on drop.
pub struct Azurite {
    pub port: u16,
    /// Whether it speaks HTTPS ([`Azurite::start_tls`]).
    pub tls: bool,
    /// From spawning node to the port accepting connections.
    pub startup: Duration,
    ca_file: Option<PathBuf>,
    _process: Spawned,
}

impl Azurite {
    /// Over plain HTTP. None (skip) when node, `azurite` or the Python
    /// client is not installed, outside CI.
    pub fn start() -> Option<Self> {
        Self::launch(None)
    }

    /// Over HTTPS with `pair` (a [`crate::certs`] leaf signed by the CA in `ca_file`).
    pub fn start_tls(pair: &Pair, ca_file: &Path) -> Option<Self> {
        Self::launch(Some((pair, ca_file)))
    }

    /// `http(s)://127.0.0.1:{port}`: the target (scheme, host, port).
    pub fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// `{origin}/devstoreaccount1`: the account's Blob endpoint.
    pub fn endpoint(&self) -> String {
        format!("{}/{ACCOUNT}", self.origin())
    }

    /// A connection string for Azure's SDKs.
    pub fn connection_string(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!(
            "DefaultEndpointsProtocol={scheme};AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={};",
            self.endpoint()
        )
    }

    pub fn create_container(&self, container: &str) {
        self.fixture(&["create-container", container], b"");
    }

    /// Uploads `body` as block blob `blob` in `container` (overwriting).
    pub fn put_blob(&self, container: &str, blob: &str, body: &[u8]) {
        self.fixture(&["put-blob", container, blob], body);
    }

    /// A container SAS (query string without `?`) with `permissions` in
    /// Azure's letters (`r` read, `l` list, `w` write, ...) valid for `valid_for`.
    pub fn container_sas(&self, container: &str, permissions: &str, valid_for: Duration) -> String {
        let secs = valid_for.as_secs().to_string();
        self.fixture(&["container-sas", container, permissions, &secs], b"")
    }

    /// An account SAS over service, container and object resource types.
    pub fn account_sas(&self, permissions: &str, valid_for: Duration) -> String {
        let secs = valid_for.as_secs().to_string();
        self.fixture(&["account-sas", permissions, &secs], b"")
    }

    /// Runs `azure_fixture.py`; its trimmed stdout.
    fn fixture(&self, args: &[&str], body: &[u8]) -> String {
        let python = crate::python::python_with("azure.storage.blob").expect("it was there at start");
        let ca = self.ca_file.as_ref().map_or("-".to_string(), |p| p.display().to_string());
        let mut child = Command::new(python)
            .arg(crate::python::script("azure_fixture.py"))
            .args([self.connection_string(), ca])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running azure_fixture.py");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(body).expect("writing to azure_fixture.py");
        }
        let out = child.wait_with_output().expect("azure_fixture.py");
        assert!(out.status.success(), "azure_fixture.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn launch(tls: Option<(&Pair, &Path)>) -> Option<Self> {
        let package = crate::node::require_package("azurite")?;
        crate::python::python_with("azure.storage.blob")?;
        let main = package.join("dist/src/blob/main.js").display().to_string();
        let dir = Spawned::temp_dir("azurite");
        let workspace = dir.join("workspace");
        std::fs::create_dir_all(&workspace).expect("azurite workspace");
        let workspace = workspace.display().to_string();
        let cert = tls.map(|(p, _)| (p.cert_file.display().to_string(), p.key_file.display().to_string()));
        let started = Instant::now();
        let process = Spawned::start_within("node", dir, Duration::from_secs(60), |port| {
            let mut args = vec![
                main.clone(),
                "--blobHost".into(),
                "127.0.0.1".into(),
                "--blobPort".into(),
                port.to_string(),
                "--location".into(),
                workspace.clone(),
                "--skipApiVersionCheck".into(),
                "--loose".into(),
                // Azurite would otherwise report usage to Microsoft.
                "--disableTelemetry".into(),
            ];
            if let Some((cert, key)) = &cert {
                args.extend(["--cert".into(), cert.clone(), "--key".into(), key.clone()]);
            }
            args
        })?;
        Some(Self {
            port: process.port,
            tls: tls.is_some(),
            startup: started.elapsed(),
            ca_file: tls.map(|(_, ca)| ca.to_path_buf()),
            _process: process,
        })
    }
}
