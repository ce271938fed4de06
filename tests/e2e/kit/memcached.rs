//! The worked example of docs/writing-a-probe.md, examples/memcached-probe:
//! its native unit tests pass, and the component (built by
//! sonde-test-support's build script) loads and checks a real memcached
//! this test starts (Debian's `memcached`; a skip outside CI when missing).

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::json;
use sonde_test_support::spawned::Spawned;
use sonde_test_support::{closed_port, fixture};

use super::{cargo, host_triple, root, sonde, stdout_json};

#[test]
fn the_memcached_example_passes_its_native_tests() {
    let out =
        cargo(&root().join("examples/memcached-probe"), &["test", "--offline", "--target", &host_triple()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("test result: ok. 5 passed"), "{text}");
}

#[test]
fn the_memcached_example_checks_a_real_memcached() {
    let plugin = fixture("memcached-probe");
    let plugin = plugin.to_str().expect("utf-8");
    let info = stdout_json(&sonde(&["plugin", "inspect", plugin]));
    assert_eq!(
        (info["source_type"].as_str(), info["wit_version"].as_str()),
        (Some("memcached"), Some("sonde:probe@0.2.0"))
    );
    assert_eq!(info["config_schema"]["properties"]["port"]["default"], 11211);

    // -U 0: no UDP listener; -u: memcached refuses to run as root without it.
    let Some(server) = Spawned::start("memcached", Spawned::temp_dir("memcached"), |port| {
        ["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0", "-u", "nobody"].map(String::from).to_vec()
    }) else {
        return;
    };
    // One item, so `items` is known to be 1.
    let mut conn = TcpStream::connect(("127.0.0.1", server.port)).expect("memcached");
    conn.write_all(b"set sonde 0 60 2\r\nok\r\n").expect("set");
    let mut answer = [0u8; 8];
    conn.read_exact(&mut answer).expect("STORED");
    assert_eq!(&answer, b"STORED\r\n");

    let config = json!({"host": "127.0.0.1", "port": server.port}).to_string();
    let out = sonde(&["check", "--plugin", plugin, "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let v = stdout_json(&out);
    assert_eq!((v["status"].as_str(), v["items"].as_u64()), (Some("OK"), Some(1)), "{v}");
    let version = v["details"]["version"].as_str().expect("details.version");
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{v}");

    let config = json!({"host": "127.0.0.1", "port": closed_port()}).to_string();
    let out = sonde(&["check", "--plugin", plugin, "--config", &config, "--timeout", "3s"]);
    let v = stdout_json(&out);
    assert_eq!(
        (out.status.code(), v["error"]["message"].as_str()),
        (Some(1), Some("connection refused")),
        "{v}"
    );
}
