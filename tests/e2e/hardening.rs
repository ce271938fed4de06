//! What an outsider's words and the file system can do to the service:
//!
//! - a source name (or a path) holding a newline and a made-up log line
//!   does not forge a line in `sonde serve`'s text logs;
//! - the data directory is `0700` and the database files `0600` after a
//!   start, whatever the umask;
//! - the compile cache is created `0700` and its files `0600`, and a cache
//!   directory others can write is not used: a plugin still loads and
//!   works, compiled in memory, one warning names the directory and why,
//!   and the directory's contents are neither read nor written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sonde::runtime::{Runtime, RuntimeConfig, Status};
use sonde_test_support::{closed_port, open_port};

use crate::serve::{Serve, wait_for};

/// What a forged line would start with.
const FORGED: &str = "2031-01-01T00:00:00.000000Z  INFO sonde: forged";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0)
}

#[test]
fn a_newline_in_a_source_name_or_a_path_cannot_forge_a_log_line() {
    let temp = tempfile::tempdir().expect("tmp");
    // The data directory's path is logged at start, the name when the
    // source turns healthy.
    let dir = temp.path().join(format!("dir\n{FORGED} path=yes"));
    std::fs::create_dir_all(&dir).expect("dir");
    let name = serde_json::to_string(&format!("db\n{FORGED} source=yes\r\u{1b}[2K")).expect("json");
    let toml = format!(
        "[[sources]]\nname = {name}\norganization = \"org_a\"\ntype = \"tcp\"\n\
         config = {{ host = \"127.0.0.1\", port = {} }}\ninterval = \"300ms\"\n",
        open_port()
    );
    let serve = Serve::start_in(&dir, closed_port(), &toml, |_| {});
    wait_for("the source to turn healthy", Duration::from_secs(20), || {
        serve.logs().contains("source is healthy")
    });
    let logs = serve.logs();
    let forged: Vec<&str> =
        logs.lines().filter(|l| l.contains("forged") && !l.contains("Z  INFO sonde")).collect();
    assert!(forged.is_empty(), "{forged:?}");
    for line in logs.lines() {
        assert!(!line.starts_with(FORGED), "a forged line: {line:?}\n{logs}");
        assert!(!line.contains('\u{1b}') && !line.contains('\r'), "a control character: {line:?}");
    }
    assert!(logs.contains(&format!("source=db\\n{FORGED} source=yes\\r\\u{{1b}}[2K")), "{logs}");
    assert!(logs.contains(&format!("dir\\n{FORGED} path=yes")), "{logs}");
}

#[test]
fn the_data_directory_is_0700_and_the_database_files_0600() {
    let temp = tempfile::tempdir().expect("tmp");
    let serve = Serve::start_in(temp.path(), closed_port(), "", |_| {});
    let data = temp.path().join("data");
    assert_eq!(mode(&data), 0o700, "{}", data.display());
    for file in ["sonde.db", "sonde.db-wal", "sonde.db-shm"] {
        let path = data.join(file);
        assert!(path.exists(), "{} missing\n{}", path.display(), serve.logs());
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    drop(serve);

    // Files an older version left readable are made private at the next start.
    for file in ["sonde.db", "sonde.db-wal", "sonde.db-shm"] {
        let _ = std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(0o644));
    }
    let _serve = Serve::start_in(temp.path(), closed_port(), "", |_| {});
    for file in ["sonde.db", "sonde.db-wal", "sonde.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file} after a restart");
    }
}

/// Captures the `tracing` events of what `f` does on this thread.
fn with_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buffer.0.lock().expect("lock")).into_owned();
    (out, text)
}

/// One check of the built-in `tcp` probe, loaded by `rt`, against an open port.
async fn tcp_works(rt: &Runtime) {
    let plugin = crate::common::load(rt, sonde_test_support::probe("tcp")).await;
    let config = serde_json::json!({"host": "127.0.0.1", "port": open_port()});
    let report = rt.check(&plugin, &config, Duration::from_secs(10)).await;
    assert_eq!(report.status, Status::Ok, "{report:?}");
}

#[tokio::test]
async fn the_compile_cache_is_private_and_one_others_can_write_is_not_used() {
    let temp = tempfile::tempdir().expect("tmp");

    // A new cache: every directory made is 0700, every file 0600.
    let cache = temp.path().join("new").join("compiled");
    let rt = Runtime::new(RuntimeConfig { cache_dir: Some(cache.clone()), ..RuntimeConfig::default() })
        .expect("runtime");
    assert_eq!((mode(&temp.path().join("new")), mode(&cache)), (0o700, 0o700));
    tcp_works(&rt).await;
    let cached: Vec<_> = std::fs::read_dir(&cache).expect("read").filter_map(Result::ok).collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(mode(&cached[0].path()), 0o600);

    // The same cache made writable by all: a file planted under the cached
    // file's name is neither loaded nor replaced.
    let planted = cached[0].path();
    std::fs::write(&planted, b"planted native code").expect("plant");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let (rt, logs) = with_logs(|| {
        Runtime::new(RuntimeConfig { cache_dir: Some(cache.clone()), ..RuntimeConfig::default() })
            .expect("runtime")
    });
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(warnings[0].contains(&cache.display().to_string()), "names the directory: {logs}");
    assert!(warnings[0].contains("mode 0777"), "says why: {logs}");
    tcp_works(&rt).await;
    assert_eq!(std::fs::read(&planted).ok().as_deref(), Some(&b"planted native code"[..]));
    assert_eq!(std::fs::read_dir(&cache).expect("read").count(), 1, "nothing written");

    // Private at start but opened to the group afterwards: not used for
    // the next load either (the check is made again at each load).
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let rt = Runtime::new(RuntimeConfig { cache_dir: Some(cache.clone()), ..RuntimeConfig::default() })
        .expect("runtime");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o770)).expect("chmod");
    tcp_works(&rt).await;
    assert_eq!(std::fs::read(&planted).ok().as_deref(), Some(&b"planted native code"[..]));
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}
