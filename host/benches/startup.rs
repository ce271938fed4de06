//! Start-up with 20 plugins (the 8 built-in probes and 12 dropped-in files):
//! from the start of `Service::start` to the first answer of `/livez`, once
//! compiling every plugin (an empty cache) and then from the precompiled
//! cache, alternating.
//!
//! Run with `cargo bench --bench startup`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde::config::Config;
use sonde::service::Service;

const DROPPED_IN: usize = 12;
const ROUNDS: usize = 3;

/// The hostile fixture with a custom section appended: the same probe,
/// other bytes, so another file to load and compile.
fn variant(bytes: &[u8], i: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let name = b"sonde-bench";
    let payload = format!("variant {i}");
    out.push(0);
    out.push((1 + name.len() + payload.len()) as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(payload.as_bytes());
    out
}

/// Starts a service on `dir` and serves it; the time to the first answer.
async fn start(dir: &std::path::Path, cache: &std::path::Path) -> Duration {
    let text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\n",
        dir.join("data"),
        dir.join("plugins"),
        cache
    );
    let config = Config::parse(&text, "bench.toml").expect("config");
    let t0 = Instant::now();
    let service = Service::start(&config).await.expect("start");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(axum::serve(listener, sonde::server::app(Arc::clone(&service))).into_future());
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /livez HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let took = t0.elapsed();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    let types: Vec<String> = service.registry().list().iter().map(|p| p.info.source_type.clone()).collect();
    let errors: Vec<String> = service.registry().errors().iter().map(|e| e.to_string()).collect();
    assert!(types.iter().any(|t| t == "hostile") && errors.is_empty(), "{types:?} {errors:?}");
    server.abort();
    took
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    let bytes = std::fs::read(sonde_test_support::fixture("hostile")).expect("fixture");
    let (mut compiling, mut cached) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins");
        for i in 0..DROPPED_IN {
            std::fs::write(
                dir.path().join(format!("plugins/p{i:02}.wasm")),
                variant(&bytes, round * 100 + i),
            )
            .expect("write");
        }
        let cache = dir.path().join("cache");
        compiling.push(start(dir.path(), &cache).await);
        cached.push(start(dir.path(), &cache).await);
    }
    compiling.sort();
    cached.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "start-up with 20 plugins to the first answer, median of {ROUNDS}: compiling {:.0} ms, precompiled cache {:.0} ms",
        ms(compiling[ROUNDS / 2]),
        ms(cached[ROUNDS / 2])
    );
}
