//! The mysql probe's own tests, beyond the conformance table
//! (`conformance/mysql.rs` has its rows against MariaDB): a failing query,
//! and `caching_sha2_password` against a scripted MySQL 8 server (MariaDB
//! has no such plugin).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::require;

use crate::common::{assert_error, check_probe};

async fn check(config: Value) -> CheckReport {
    check_probe("mysql", config, Duration::from_secs(5)).await
}

/// Not a table case: "query failed" is the SQL probes' own message for the
/// operator's `query`, which no other kind of probe has.
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

/// Not a table case: the scripted server checks the scramble itself, and
/// MariaDB (the table's server) has no `caching_sha2_password`.
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

/// Not a table case: the RSA exchange of `caching_sha2_password`'s full
/// auth, which only this scripted MySQL 8 server offers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_sha2_full_auth_with_the_rsa_key_against_a_scripted_mysql8() {
    let (r, logged_in) = against_mysql8(Sha2Path::Full, "s3cret").await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(logged_in);
}
