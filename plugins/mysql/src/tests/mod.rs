//! Native unit tests (`cargo test --target x86_64-unknown-linux-gnu`): the
//! auth scrambles against known vectors, garbage greetings, and
//! ([`scripted`]) a scripted MySQL 8 server on loopback for the
//! `caching_sha2_password` paths no local server offers (MariaDB has no
//! such plugin), with and without TLS.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::packets::{AuthPlugin, HandshakePacket};
use mysql_common::proto::MySerialize;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256};
use sonde_sdk::serde_json::{Value, json};
use sonde_sdk::{CheckError, Healthy, Tls, messages};

use crate::auth::{auth_data, encrypt_password};
use crate::conn::Transport;
use crate::{Config, check_on};

mod scripted;

/// A throwaway RSA key made for these tests only.
pub(crate) const TEST_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCmxAqqYNn1D8wR
4aUttSo5y1ZAa3zCzG0maSCiPcJF4+jn28kFpM4IoDKpH6EeMll2/m+GDypmo1zB
VuKtl5uAgEpIGHy+QtXuEl7smG1TURFwF6oE6kRujfZGWFVMsCcct2N2MvAllhHv
Wtz3eU4f9LjRLz4gYgzgXwcNWLqgKpSL4Mk8CtZV6gNCHeVWbvYF7yonC8Vzk06m
BJCnxNHfqqYxl16XiwH1TZCeYgdlDLuiRTpdzr7IJ2MDJ5rV39gVrcO+Tzg2vdWG
WHc856SRD9TWABxwZPmTN7kFf++Zp4RttUmYx8RJxfW2Fjam4JJKGRVtyaG85jaH
IUngbqzNAgMBAAECggEAHP/lTOiHrmZfWdKv2ylwXNl/t7cZXHSZHH9WhfAQav/t
ffhJ1jno/DYDaUaPSYV+6kLnmNvlRzDsTdCynXZKO8fTYwMjGiDcO8ilCiadiEoG
KsRqs+0bFlCIfYYZ2zqcqpE3chP8j8SvfLyDxWMqU0NGqlW5S39Rduj/fHIsDfLh
vCrr6Fp4fdZq+i74Niz2nSQmacWjImISWUAPfkcXK2ArM7DVZQGx/9uQwXG4d7Sj
mDEL5E1X3RRiosK4Devgv8oWj8AF/vzZ8GRRynOyqRj3voT7da5kiME06FynHon1
ggRxXnj+BTehDWW+K2LBvtuirnbUcZU0up5uKh1dnwKBgQDUIwUq0DgsIQntBAJC
A3kzLeCsFTBinTHi4k2ZGhuizJvT9miW0hBKlLBfhTGe5qsAbeMaRxPgw5pv6zK0
GPjGSwrosOrEs+LEgjhCspslQzfMQGsjsw3qFj+3lcizovSUIFjoKGTHQ4K1bKkS
QD0oB+GlIgAetsQ4X6g5Y62lowKBgQDJP2j6Hs+lpp50PKYondBryT9e7S9YAoEq
0Q9PBE8KeMBvSN+HYnuUvPsHUSJCKYOWafoY3s2NgxFrpkCEHFxeHgAJI4zeMBgW
xb154KWgyjJFZzxPfPm+hE8L1dH0VgIEzNy26arwCT82g8o3XjpDPN9+tw8jWDh4
pikt8lMqzwKBgQDTYR3p/laqqjUwxhjV3I4tUB6aefafnNEzqZn238v/2W/Asrye
5Cw1lJl2ZMr/8gscv2JXMdH92gqOUMdSK7vgIrB5EqisXi6s7rDOzRfI9oSn8tyP
UwCfa5IMBaVaUhrxapYMpwtcfsnEq8SAmiAWPlw6ZnnGIQm+vppqrQc/jwKBgQCF
4nmkbPsX6VFhYzfnrZYLH0fZj1H/6yqjoZHdr7Al90+OuZx8JTiyK0eWBpQUECpK
1xZblV6K1rewNlqViYip1KuRaOU+rCBahhMYEiweXGY1ZgjpmOtNpBgyd33GX7HY
H7J2vd3K81vqmKLfUwDP2p+VXZPkn7xyB5k9yAksYQKBgCMWA/ttBWumdn1vqhdU
Hy5mEgl5FuNuoWxX/opiXfL0dBLp6o4Ov2gdIwA6jYOz7W1bKNYhucApSZB4ueK2
FPgnxpYQ9323rbHJk8/GnJzALTVw0dmfb0s+u3l4UZSZcS4ycK4hIVF3Ij30AD4y
fNlZ+3Qsa254qzE3Hl6Zlz8O
-----END PRIVATE KEY-----";

pub(crate) const NONCE: [u8; 20] = *b"abcdefghij0123456789";

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// caching_sha2_password's fast-path scramble, written out from the spec:
/// XOR(SHA256(password), SHA256(SHA256(SHA256(password)) || nonce)).
pub(crate) fn expected_sha2_scramble(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    let p1 = sha256(&[password]);
    let p2 = sha256(&[&p1]);
    let p3 = sha256(&[&p2, nonce]);
    p1.iter().zip(p3).map(|(a, b)| a ^ b).collect()
}

#[test]
fn scrambles_match_known_vectors() {
    // The vector of mysql_common's own tests (password "G!ider27").
    let nonce = [
        0x4e, 0x52, 0x33, 0x48, 0x50, 0x3a, 0x71, 0x49, 0x59, 0x61, 0x5f, 0x39, 0x3d, 0x64, 0x62, 0x3f, 0x53,
        0x64, 0x7b, 0x60,
    ];
    let password = "G!ider27";
    let native = auth_data(&AuthPlugin::MysqlNativePassword, password, &nonce).expect("native");
    assert_eq!(
        native,
        [
            0x09, 0xcf, 0xf8, 0x85, 0x5e, 0x9e, 0x70, 0x53, 0x40, 0xff, 0x22, 0x70, 0xd8, 0xfb, 0x9f, 0xad,
            0xba, 0x90, 0x6b, 0x70
        ]
    );
    let sha2 = auth_data(&AuthPlugin::CachingSha2Password, password, &nonce).expect("sha2");
    assert_eq!(
        sha2,
        [
            0x4f, 0x97, 0xbb, 0xfd, 0x20, 0x24, 0x01, 0xc4, 0x2a, 0x69, 0xde, 0xaa, 0xe5, 0x3b, 0xda, 0x07,
            0x7e, 0xd7, 0x57, 0x85, 0x63, 0xc1, 0xa8, 0x0e, 0xb8, 0x16, 0xc8, 0x21, 0x19, 0xb6, 0x8d, 0x2e
        ]
    );
    assert_eq!(sha2, expected_sha2_scramble(password.as_bytes(), &nonce));
    // A trailing NUL on the nonce is not part of it.
    let mut with_nul = nonce.to_vec();
    with_nul.push(0);
    assert_eq!(auth_data(&AuthPlugin::CachingSha2Password, password, &with_nul).expect("sha2"), sha2);
    // An empty password answers with no data.
    assert!(auth_data(&AuthPlugin::CachingSha2Password, "", &nonce).expect("empty").is_empty());
}

#[test]
fn the_full_auth_payload_decrypts_to_the_password_xor_nonce() {
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(TEST_KEY).expect("test key");
    let public = private.to_public_key().to_public_key_pem(Default::default()).expect("pem");
    let sealed = encrypt_password("s3cret", &NONCE, public.as_bytes()).expect("encrypt");
    let plain = private.decrypt(rsa::Oaep::new::<sha1::Sha1>(), &sealed).expect("decrypt");
    let unxored: Vec<u8> = plain.iter().enumerate().map(|(i, b)| b ^ NONCE[i % NONCE.len()]).collect();
    assert_eq!(unxored, b"s3cret\0");
    // A key that is not PEM is "unexpected protocol", not a panic.
    let e = encrypt_password("s3cret", &NONCE, b"not a key").expect_err("garbage key");
    assert!(matches!(e, CheckError::Unhealthy(ref p) if p.message == messages::UNEXPECTED_PROTOCOL), "{e:?}");
}

/// A test's loopback connection. Natively only the host could do TLS, so
/// `start_tls` changes nothing on the wire here: the scripted server reads,
/// in plaintext, what the probe sends once it believes TLS is up.
struct Loopback(TcpStream);

impl Read for Loopback {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Loopback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Transport for Loopback {
    fn start_tls(&mut self, _tls: &Tls) -> Result<(), CheckError> {
        Ok(())
    }
}

/// The probe's config for user `probe` with `password` and `tls`, as JSON
/// the host would pass.
fn config(password: &str, tls: Value) -> Config {
    let c = json!({"host": "127.0.0.1", "user": "probe", "password": password, "tls": tls});
    sonde_sdk::serde_json::from_value(c).expect("a config that fits")
}

/// One check against whatever listens on `port`.
fn check_port(port: u16, config: &Config) -> Result<Healthy, CheckError> {
    check_on(Loopback(TcpStream::connect(("127.0.0.1", port)).expect("connect")), config)
}

#[test]
fn garbage_greetings_are_unexpected_protocol_not_panics() {
    let mut greetings: Vec<Vec<u8>> = vec![
        b"INFO {\"server_id\":\"x\"}\r\n".to_vec(),
        b"\x05\x00\x00\x00\x0a\x00".to_vec(),
        b"\x02\x00\x00\x00\x0a8".to_vec(),
        b"\x01\x00\x00\x00\x09".to_vec(),
    ];
    // A real MySQL 8 greeting cut at every length.
    let hs = HandshakePacket::new(
        10,
        &b"8.0.36"[..],
        7,
        NONCE[..8].try_into().expect("8 bytes"),
        Some(&NONCE[8..]),
        CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH,
        255,
        StatusFlags::empty(),
        Some(&b"caching_sha2_password"[..]),
    );
    let mut full = Vec::new();
    hs.serialize(&mut full);
    for cut in 0..full.len() {
        let body = &full[..cut];
        let mut g = (body.len() as u32).to_le_bytes()[..3].to_vec();
        g.push(0);
        g.extend_from_slice(body);
        greetings.push(g);
    }
    for greeting in greetings {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let g = greeting.clone();
        let server = thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.write_all(&g);
                // Closing makes a truncated greeting end the check.
            }
        });
        let r = check_port(port, &config("x", json!({})));
        server.join().expect("server");
        match r {
            Err(CheckError::Unhealthy(p)) => assert!(
                [messages::UNEXPECTED_PROTOCOL, messages::CONNECTION_RESET, messages::AUTHENTICATION_FAILED]
                    .contains(&p.message.as_str()),
                "{greeting:?}: {p:?}"
            ),
            other => panic!("{greeting:?}: {other:?}"),
        }
    }
}
