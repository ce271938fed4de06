//! A scripted MySQL 8 server on loopback: one login with
//! `caching_sha2_password` (fast, full with the RSA key, full inside TLS,
//! after an auth switch) and one `SELECT 1`, checking every packet the
//! probe sends, the SSL request's bytes and sequence ids included.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use mysql_common::proto::sync_framed::MySyncFramed;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use sonde_sdk::serde_json::{Value, json};
use sonde_sdk::{CheckError, Healthy, messages};

use super::{NONCE, TEST_KEY, check_port, config, expected_sha2_scramble};

/// How the scripted server authenticates.
#[derive(Clone, Copy, PartialEq)]
enum Script {
    /// caching_sha2_password, the password cached: fast auth success.
    Fast,
    /// caching_sha2_password, not cached: full auth (with the RSA key, or
    /// the password itself inside TLS).
    Full,
    /// Greets with mysql_native_password, switches to caching_sha2_password.
    SwitchThenFull,
}

/// What the server's greeting offers.
#[derive(Clone, Copy, PartialEq)]
enum Offer {
    Plaintext,
    /// `CLIENT_SSL`: the probe may send an SSL request.
    Tls,
}

/// What the scripted server saw of the probe.
#[derive(Debug, PartialEq)]
struct Seen {
    /// The login went through an SSL request ("TLS" from then on).
    tls: bool,
}

type Server = thread::JoinHandle<Result<Seen, String>>;

const DENIED: &[u8] = b"\xff\x15\x04#28000Access denied for user 'probe'";

fn read(f: &mut MySyncFramed<TcpStream>) -> Result<Vec<u8>, String> {
    let mut p = Vec::new();
    match f.next_packet(&mut p) {
        Ok(true) => Ok(p),
        Ok(false) => Err("client closed".into()),
        // Among them "packets out of sync": a wrong sequence id.
        Err(e) => Err(e.to_string()),
    }
}

fn send<T: Write>(f: &mut MySyncFramed<T>, p: &[u8]) -> Result<(), String> {
    f.send(&mut &*p).map_err(|e| e.to_string())
}

/// A one-connection MySQL 8 server that knows one user's password.
fn scripted_server(script: Script, offer: Offer, password: &'static str) -> (u16, Server) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || -> Result<Seen, String> {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let mut f = MySyncFramed::new(stream);
        greet(&mut f, script, offer)?;

        let (response, tls) = handshake_response(&mut f, offer)?;
        let seen = Seen { tls };
        let response: HandshakeResponse<'_> =
            ParseBuf(&response).parse(()).map_err(|e| format!("handshake response: {e}"))?;
        if response.user() != b"probe" {
            return Err(format!("user {:?}", String::from_utf8_lossy(response.user())));
        }
        let mut nonce = NONCE.to_vec();
        let scramble = if script == Script::SwitchThenFull {
            // A fresh nonce with the switch, as servers do.
            nonce = b"ZYXWVUTSRQ9876543210".to_vec();
            let mut switch = vec![0xFE];
            switch.extend_from_slice(b"caching_sha2_password\0");
            switch.extend_from_slice(&nonce);
            switch.push(0);
            send(&mut f, &switch)?;
            read(&mut f)?
        } else {
            response.scramble_buf().to_vec()
        };
        if scramble != expected_sha2_scramble(password.as_bytes(), &nonce) {
            // A wrong scramble: a real server goes to full auth, which then
            // fails on the password; the script refuses at once.
            send(&mut f, DENIED)?;
            return Ok(seen);
        }
        let ok = [0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];
        if script == Script::Fast {
            send(&mut f, &[0x01, 0x03])?;
        } else {
            send(&mut f, &[0x01, 0x04])?;
            let sent = if tls { read(&mut f)? } else { rsa_exchange(&mut f, &nonce)? };
            if sent != [password.as_bytes(), b"\0"].concat() {
                send(&mut f, DENIED)?;
                return Ok(seen);
            }
        }
        send(&mut f, &ok)?;
        answer_select_1(&mut f)?;
        Ok(seen)
    });
    (port, handle)
}

fn greet<T: Write>(f: &mut MySyncFramed<T>, script: Script, offer: Offer) -> Result<(), String> {
    let greet_plugin: &[u8] =
        if script == Script::SwitchThenFull { b"mysql_native_password" } else { b"caching_sha2_password" };
    let mut caps = CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF;
    if offer == Offer::Tls {
        caps |= CapabilityFlags::CLIENT_SSL;
    }
    let mut scramble_2 = NONCE[8..].to_vec();
    scramble_2.push(0);
    let hs = HandshakePacket::new(
        10,
        &b"8.0.36"[..],
        7,
        NONCE[..8].try_into().expect("8 bytes"),
        Some(scramble_2),
        caps,
        255,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(greet_plugin),
    );
    let mut out = Vec::new();
    hs.serialize(&mut out);
    send(f, &out)
}

/// The handshake response, after an SSL request if one came first (then
/// checked byte for byte against the response it stands for); and whether
/// one did.
fn handshake_response(f: &mut MySyncFramed<TcpStream>, offer: Offer) -> Result<(Vec<u8>, bool), String> {
    let first = read(f)?;
    // An SSL request is exactly 32 bytes; a handshake response is longer.
    if first.len() != 32 {
        return Ok((first, false));
    }
    if offer != Offer::Tls {
        return Err("an SSL request to a server that offered no TLS".into());
    }
    let response = read(f)?;
    let parsed: HandshakeResponse<'_> =
        ParseBuf(&response).parse(()).map_err(|e| format!("handshake response: {e}"))?;
    if !parsed.capabilities().contains(CapabilityFlags::CLIENT_SSL) {
        return Err("the response after the SSL request lacks CLIENT_SSL".into());
    }
    let expected = [
        &parsed.capabilities().bits().to_le_bytes()[..],
        &(16u32 << 20).to_le_bytes(),
        &[parsed.collation()],
        &[0; 23],
    ]
    .concat();
    if first != expected {
        return Err(format!("SSL request {first:?}, expected {expected:?}"));
    }
    Ok((response, true))
}

/// Full auth without TLS: the client asks for the public key and sends the
/// password encrypted with it; returns the password it decrypts to.
fn rsa_exchange(f: &mut MySyncFramed<TcpStream>, nonce: &[u8]) -> Result<Vec<u8>, String> {
    if read(f)? != [0x02] {
        return Err("no public key request".into());
    }
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(TEST_KEY).map_err(|e| e.to_string())?;
    let pem = private.to_public_key().to_public_key_pem(Default::default()).map_err(|e| e.to_string())?;
    let mut more = vec![0x01];
    more.extend_from_slice(pem.as_bytes());
    send(f, &more)?;
    let sealed = read(f)?;
    let plain =
        private.decrypt(rsa::Oaep::new::<sha1::Sha1>(), &sealed).map_err(|e| format!("decrypt: {e}"))?;
    Ok(plain.iter().enumerate().map(|(i, b)| b ^ nonce[i % nonce.len()]).collect())
}

/// COM_QUERY "SELECT 1": one column, one row (EOF-style, as the probe does
/// not ask for CLIENT_DEPRECATE_EOF).
fn answer_select_1(f: &mut MySyncFramed<TcpStream>) -> Result<(), String> {
    f.codec_mut().reset_seq_id();
    let query = read(f)?;
    if query != b"\x03SELECT 1" {
        return Err(format!("query {query:?}"));
    }
    let eof = [0xFE, 0x00, 0x00, 0x02, 0x00];
    send(f, &[0x01])?;
    send(f, b"\x03def\x00\x00\x00\x011\x00\x0c\x3f\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00")?;
    send(f, &eof)?;
    send(f, b"\x011")?;
    send(f, &eof)
}

fn run_with(
    script: Script,
    offer: Offer,
    server_password: &'static str,
    password: &str,
    tls: Value,
) -> (Result<Healthy, CheckError>, Seen) {
    let (port, server) = scripted_server(script, offer, server_password);
    let result = check_port(port, &config(password, tls));
    let seen = server.join().expect("server thread").expect("server script");
    (result, seen)
}

fn run(script: Script, server_password: &'static str, password: &str) -> Result<Healthy, CheckError> {
    run_with(script, Offer::Plaintext, server_password, password, json!({})).0
}

fn assert_auth_failed(r: Result<Healthy, CheckError>) {
    match r {
        Err(CheckError::Unhealthy(p)) => assert_eq!(p.message, messages::AUTHENTICATION_FAILED, "{p:?}"),
        other => panic!("expected authentication failed, got {other:?}"),
    }
}

#[test]
fn caching_sha2_fast_path() {
    run(Script::Fast, "s3cret", "s3cret").expect("healthy");
    assert_auth_failed(run(Script::Fast, "s3cret", "wrong"));
}

#[test]
fn caching_sha2_full_auth_with_the_servers_public_key() {
    run(Script::Full, "s3cret", "s3cret").expect("healthy");
}

#[test]
fn caching_sha2_after_an_auth_switch() {
    run(Script::SwitchThenFull, "s3cret", "s3cret").expect("healthy");
    assert_auth_failed(run(Script::SwitchThenFull, "s3cret", "wrong"));
}

/// A server that offers TLS gets an SSL request under `prefer`, and full
/// auth inside TLS gets the password itself, not the RSA exchange.
#[test]
fn caching_sha2_full_auth_inside_tls_sends_the_password_in_clear() {
    for script in [Script::Full, Script::SwitchThenFull] {
        let (r, seen) = run_with(script, Offer::Tls, "s3cret", "s3cret", json!({"mode": "prefer"}));
        r.expect("healthy");
        assert_eq!(seen, Seen { tls: true });
        let (r, seen) = run_with(script, Offer::Tls, "s3cret", "wrong", json!({"mode": "verify-full"}));
        assert_auth_failed(r);
        assert_eq!(seen, Seen { tls: true });
    }
    let (r, seen) = run_with(Script::Fast, Offer::Tls, "s3cret", "s3cret", json!({"mode": "require"}));
    r.expect("healthy");
    assert_eq!(seen, Seen { tls: true });
}

/// `disable`, the default (DESIGN §4), never asks for TLS, even when
/// offered: full auth goes the RSA way.
#[test]
fn disable_logs_in_in_plaintext_even_when_tls_is_offered() {
    for tls in [json!({"mode": "disable"}), json!({})] {
        let (r, seen) = run_with(Script::Full, Offer::Tls, "s3cret", "s3cret", tls);
        r.expect("healthy");
        assert_eq!(seen, Seen { tls: false });
    }
}

/// `require` and stricter against a server without `CLIENT_SSL`: the stable
/// ERROR, before any credentials go out; `prefer` logs in in plaintext.
#[test]
fn require_against_a_server_without_tls_sends_nothing() {
    for mode in ["require", "verify-ca", "verify-full"] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = thread::spawn(move || -> Result<Vec<u8>, String> {
            let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
            let mut f = MySyncFramed::new(stream);
            greet(&mut f, Script::Fast, Offer::Plaintext)?;
            let mut rest = Vec::new();
            f.get_mut().read_to_end(&mut rest).map_err(|e| e.to_string())?;
            Ok(rest)
        });
        let r = check_port(port, &config("s3cret", json!({"mode": mode})));
        match r {
            Err(CheckError::Unhealthy(p)) => assert_eq!(p.message, messages::NO_TLS, "{mode}: {p:?}"),
            other => panic!("{mode}: expected {:?}, got {other:?}", messages::NO_TLS),
        }
        assert_eq!(server.join().expect("server thread").expect("server script"), b"", "{mode}");
    }
    let (r, seen) = run_with(Script::Full, Offer::Plaintext, "s3cret", "s3cret", json!({"mode": "prefer"}));
    r.expect("healthy");
    assert_eq!(seen, Seen { tls: false });
}

/// Bytes that arrive after the greeting, before the handshake, are not the
/// server's to have sent (a man in the middle's): they must not be read as
/// if they came inside TLS.
#[test]
fn bytes_after_the_greeting_are_not_taken_into_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || -> Result<(), String> {
        let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let mut greeting = MySyncFramed::new(Vec::new());
        greet(&mut greeting, Script::Fast, Offer::Tls)?;
        let (_, _, _, mut bytes) = greeting.destruct();
        // What would pass for the OK of the login, sequence id 2.
        bytes.extend_from_slice(b"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00");
        stream.write_all(&bytes).map_err(|e| e.to_string())?;
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        Ok(())
    });
    let r = check_port(port, &config("s3cret", json!({"mode": "prefer"})));
    server.join().expect("server thread").expect("server script");
    match r {
        Err(CheckError::Unhealthy(p)) => {
            assert_eq!(p.message, messages::UNEXPECTED_PROTOCOL, "{p:?}");
            assert!(p.extra.as_deref().is_some_and(|e| e.contains("before TLS")), "{p:?}");
        }
        other => panic!("expected unexpected protocol, got {other:?}"),
    }
}
