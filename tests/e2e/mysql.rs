//! The mysql probe against the shared MariaDB, a scripted MySQL 8 server for
//! `caching_sha2_password` (MariaDB has no such plugin), and wrong or silent
//! peers on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::mysql::MariaDbUser;
use sonde_test_support::{closed_port, probe, require};

use crate::common::{assert_error, check_probe, load, runtime};

async fn check(config: Value) -> CheckReport {
    check_within(config, Duration::from_secs(5)).await
}

async fn check_within(config: Value, timeout: Duration) -> CheckReport {
    check_probe("mysql", config, timeout).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_as_root_against_the_shared_mariadb() {
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "database": "test"})).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    let details = r.details.clone().expect("details");
    let version = details["server_version"].as_str().expect("server_version");
    assert!(version.contains("MariaDB") && !version.starts_with("5.5.5-"), "{version}");
    assert_eq!(details["query_rows"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_password_login_right_and_wrong() {
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let user = MariaDbUser::create("sonde_probe_test_login", "probe-secret");
    let rt = runtime();
    let p = load(&rt, probe("mysql")).await;
    let config = |password: &str| {
        json!({"host": "127.0.0.1", "user": user.name, "password": password, "database": "test",
               "query": "SELECT 1 UNION SELECT 2"})
    };
    let r = rt.check(&p, &config(&user.password), Duration::from_secs(5)).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert_eq!(r.details.as_ref().expect("details")["query_rows"], 2);

    let r = rt.check(&p, &config("wrong-password"), Duration::from_secs(5)).await;
    assert_error(&r, "authentication failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("1045")), "{r:?}");

    let r = rt.check(&p, &json!({"host": "127.0.0.1", "user": user.name}), Duration::from_secs(5)).await;
    assert_error(&r, "authentication failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_for_a_database_that_does_not_exist() {
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "database": "sonde_no_such_db"})).await;
    assert_error(&r, "database does not exist");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("1049")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_query_is_an_error_with_the_server_text() {
    if !require("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let r =
        check(json!({"host": "127.0.0.1", "database": "test", "query": "SELECT * FROM no_such_table"})).await;
    assert_error(&r, "query failed");
    assert!(r.extra.as_deref().is_some_and(|e| e.contains("1146")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_against_a_closed_port() {
    crate::common::assert_refused_on_a_closed_port("mysql").await;
}

/// NATS greets with `INFO {...}`: not a MySQL packet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_protocol_against_nats() {
    if !require("NATS", "127.0.0.1:4222") {
        return;
    }
    let r = check(json!({"host": "127.0.0.1", "port": 4222})).await;
    assert_error(&r, "unexpected protocol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_against_a_listener_that_never_answers() {
    crate::common::assert_times_out_on_a_silent_listener("mysql").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_for_a_config_that_cannot_work() {
    let rt = runtime();
    let p = load(&rt, probe("mysql")).await;
    for config in [
        json!({}),
        json!({"host": ""}),
        json!({"host": "h", "port": 0}),
        json!({"host": "h", "user": ""}),
        json!({"host": "h", "database": ""}),
        json!({"host": "h", "query": ""}),
        json!({"host": "h", "password": 5}),
        json!({"host": "h", "sslmode": "require"}),
        json!({"host": "127.0.0.1", "port": closed_port(), "user": "a\u{0}b"}),
    ] {
        let r = rt.check(&p, &config, Duration::from_secs(5)).await;
        assert_eq!(r.status, Status::Failed, "{config}: {r:?}");
    }
}

// A scripted MySQL 8 server, speaking just enough for one login with
// caching_sha2_password and one `SELECT 1`.

/// The public half of a throwaway RSA key made for this test.
const PUBLIC_KEY: &str = r"-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApsQKqmDZ9Q/MEeGlLbUq
OctWQGt8wsxtJmkgoj3CRePo59vJBaTOCKAyqR+hHjJZdv5vhg8qZqNcwVbirZeb
gIBKSBh8vkLV7hJe7JhtU1ERcBeqBOpEbo32RlhVTLAnHLdjdjLwJZYR71rc93lO
H/S40S8+IGIM4F8HDVi6oCqUi+DJPArWVeoDQh3lVm72Be8qJwvFc5NOpgSQp8TR
36qmMZdel4sB9U2QnmIHZQy7okU6Xc6+yCdjAyea1d/YFa3Dvk84Nr3Vhlh3POek
kQ/U1gAccGT5kze5BX/vmaeEbbVJmMfEScX1thY2puCSShkVbcmhvOY2hyFJ4G6s
zQIDAQAB
-----END PUBLIC KEY-----";

const NONCE: [u8; 20] = *b"abcdefghij0123456789";

#[derive(Clone, Copy, PartialEq)]
enum Sha2Path {
    /// The password is in the server's cache: the scramble decides.
    Fast,
    /// Not cached: the client fetches the RSA key and sends the password
    /// encrypted with it (not decrypted here: the probe's unit tests do).
    Full,
}

struct Framed {
    s: TcpStream,
    seq: u8,
}

impl Framed {
    fn read(&mut self) -> Vec<u8> {
        let mut head = [0u8; 4];
        self.s.read_exact(&mut head).expect("packet header");
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        assert_eq!(head[3], self.seq, "sequence id");
        self.seq = self.seq.wrapping_add(1);
        let mut body = vec![0u8; len];
        self.s.read_exact(&mut body).expect("packet body");
        body
    }

    fn write(&mut self, body: &[u8]) {
        let mut p = (body.len() as u32).to_le_bytes()[..3].to_vec();
        p.push(self.seq);
        p.extend_from_slice(body);
        self.seq = self.seq.wrapping_add(1);
        self.s.write_all(&p).expect("packet write");
    }
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// Serves one connection; the thread returns whether the login succeeded.
fn mysql8(path: Sha2Path, password: &'static str) -> (u16, thread::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut f = Framed { s, seq: 0 };
        // Handshake v10: capabilities PROTOCOL_41 | SECURE_CONNECTION |
        // PLUGIN_AUTH | PLUGIN_AUTH_LENENC_CLIENT_DATA | CONNECT_WITH_DB.
        let caps: u32 = 0x0200 | 0x8000 | 0x0008_0000 | 0x0020_0000 | 0x0008 | 0x0001;
        let mut hs = vec![10];
        hs.extend_from_slice(b"8.0.36\0");
        hs.extend_from_slice(&7u32.to_le_bytes());
        hs.extend_from_slice(&NONCE[..8]);
        hs.push(0);
        hs.extend_from_slice(&(caps as u16).to_le_bytes());
        hs.push(255);
        hs.extend_from_slice(&2u16.to_le_bytes());
        hs.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        hs.push(21);
        hs.extend_from_slice(&[0; 10]);
        hs.extend_from_slice(&NONCE[8..]);
        hs.push(0);
        hs.extend_from_slice(b"caching_sha2_password\0");
        f.write(&hs);

        // HandshakeResponse41: caps, max packet, charset, 23 zeros, user\0,
        // lenenc auth data, ...
        let resp = f.read();
        let rest = &resp[32..];
        let nul = rest.iter().position(|&b| b == 0).expect("user");
        assert_eq!(&rest[..nul], b"probe");
        let rest = &rest[nul + 1..];
        let scramble = &rest[1..1 + rest[0] as usize];
        let p1 = sha256(&[password.as_bytes()]);
        let p3 = sha256(&[&sha256(&[&p1]), &NONCE]);
        let expected: Vec<u8> = p1.iter().zip(&p3).map(|(a, b)| a ^ b).collect();
        let deny = b"\xff\x15\x04#28000Access denied for user 'probe'";
        match path {
            Sha2Path::Fast if scramble != expected => {
                f.write(deny);
                return false;
            }
            Sha2Path::Fast => f.write(&[0x01, 0x03]),
            Sha2Path::Full => {
                f.write(&[0x01, 0x04]);
                assert_eq!(f.read(), [0x02], "a request for the public key");
                f.write(&[&[0x01][..], PUBLIC_KEY.as_bytes()].concat());
                assert_eq!(f.read().len(), 256, "the password, RSA-2048 encrypted");
            }
        }
        f.write(&[0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);

        f.seq = 0;
        assert_eq!(f.read(), b"\x03SELECT 1");
        let eof = [0xFE, 0x00, 0x00, 0x02, 0x00];
        f.write(&[0x01]);
        f.write(b"\x03def\x00\x00\x00\x011\x00\x0c\x3f\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00");
        f.write(&eof);
        f.write(b"\x011");
        f.write(&eof);
        true
    });
    (port, handle)
}

async fn against_mysql8(path: Sha2Path, password: &str) -> (CheckReport, bool) {
    let (port, server) = mysql8(path, "s3cret");
    let r = check(json!({"host": "127.0.0.1", "port": port, "user": "probe", "password": password})).await;
    (r, server.join().expect("scripted server"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_sha2_fast_path_against_a_scripted_mysql8() {
    let (r, logged_in) = against_mysql8(Sha2Path::Fast, "s3cret").await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(logged_in);
    assert_eq!(r.details.as_ref().expect("details")["server_version"], "8.0.36");

    let (r, logged_in) = against_mysql8(Sha2Path::Fast, "wrong").await;
    assert_error(&r, "authentication failed");
    assert!(!logged_in);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_sha2_full_auth_with_the_rsa_key_against_a_scripted_mysql8() {
    let (r, logged_in) = against_mysql8(Sha2Path::Full, "s3cret").await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(logged_in);
}
