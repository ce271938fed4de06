//! The client side of the SASL mechanisms a Kafka listener offers to a
//! user and password: PLAIN (RFC 4616; Confluent Cloud's API key and
//! secret) and SCRAM-SHA-256/512 (RFC 5802/7677, without channel binding,
//! as Kafka does it). The exchanges ride in SaslAuthenticate requests; this
//! file makes and checks their payloads only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Iterations a server may ask for; beyond this a check would spend its
/// deadline hashing (Kafka's own maximum is 16384).
const MAX_ITERATIONS: u32 = 1 << 20;

/// `\0user\0password`: the whole PLAIN exchange.
pub fn plain(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

#[derive(Clone, Copy)]
pub enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC takes a key of any length, so this cannot fail.
            let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Hash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Hash::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi()` of RFC 5802: PBKDF2 with HMAC, one block.
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut u = self.hmac(password, &[salt, &1u32.to_be_bytes()]);
        let mut out = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &[&u]);
            out.iter_mut().zip(&u).for_each(|(o, b)| *o ^= b);
        }
        out
    }
}

/// One SCRAM exchange, between its first and last message.
pub struct Scram {
    hash: Hash,
    password: String,
    nonce: String,
    first_bare: String,
    server_signature: Vec<u8>,
}

impl Scram {
    /// The client's first message, and the state for the next steps.
    pub fn start(hash: Hash, user: &str, password: &str) -> Result<(Self, Vec<u8>), String> {
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).map_err(|e| format!("no random nonce: {e}"))?;
        let nonce = B64.encode(raw);
        let name = user.replace('=', "=3D").replace(',', "=2C");
        let first_bare = format!("n={name},r={nonce}");
        let first = format!("n,,{first_bare}").into_bytes();
        let scram =
            Self { hash, password: password.to_string(), nonce, first_bare, server_signature: Vec::new() };
        Ok((scram, first))
    }

    /// The client's final message (with the proof), for the server's first.
    pub fn respond(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first =
            std::str::from_utf8(server_first).map_err(|_| "server-first is not UTF-8".to_string())?;
        let field = |name: &str| {
            server_first
                .split(',')
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("no `{name}` in server-first {server_first:?}"))
        };
        if let Ok(e) = field("e") {
            return Err(format!("the server refused: {e}"));
        }
        let nonce = field("r")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("the server's nonce does not extend ours".into());
        }
        let salt = B64.decode(field("s")?).map_err(|e| format!("salt: {e}"))?;
        let iterations: u32 = field("i")?.parse().map_err(|e| format!("iterations: {e}"))?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(format!("{iterations} iterations"));
        }
        let salted = self.hash.hi(self.password.as_bytes(), &salt, iterations);
        let client_key = self.hash.hmac(&salted, &[b"Client Key"]);
        let stored_key = self.hash.digest(&client_key);
        // `biws` is base64 of `n,,`: no channel binding, no authzid.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let signature = self.hash.hmac(&stored_key, &[auth_message.as_bytes()]);
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = self.hash.hmac(&salted, &[b"Server Key"]);
        self.server_signature = self.hash.hmac(&server_key, &[auth_message.as_bytes()]);
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message: it proves the server knew the
    /// password too.
    pub fn finish(&self, server_final: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let v = text.strip_prefix("v=").ok_or_else(|| format!("server-final {text:?}"))?;
        let v = v.split(',').next().unwrap_or_default();
        match B64.decode(v) {
            Ok(sig) if sig == self.server_signature => Ok(()),
            _ => Err("the server's signature does not match: it does not know the password".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3's example exchange (SCRAM-SHA-256), with its nonce.
    #[test]
    fn rfc7677_example() {
        let mut s = Scram {
            hash: Hash::Sha256,
            password: "pencil".into(),
            nonce: "rOprNGfwEbeRWgbNEkqO".into(),
            first_bare: "n=user,r=rOprNGfwEbeRWgbNEkqO".into(),
            server_signature: Vec::new(),
        };
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let last = s.respond(server_first).expect("client-final");
        assert_eq!(
            String::from_utf8(last).expect("utf-8"),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(s.finish(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_ok());
        assert!(s.finish(b"v=AAAA").is_err());
    }

    #[test]
    fn refuses_a_nonce_that_is_not_ours() {
        let (mut s, first) = Scram::start(Hash::Sha512, "a=b,c", "pw").expect("start");
        assert!(String::from_utf8(first).expect("utf-8").starts_with("n,,n=a=3Db=2Cc,r="));
        assert!(s.respond(b"r=other,s=AAAA,i=4096").is_err());
    }
}
