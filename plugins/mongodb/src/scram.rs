//! SCRAM (RFC 5802) as MongoDB runs it over `saslStart`/`saslContinue`:
//! SCRAM-SHA-256 (RFC 7677, the password SASLprep'd) and SCRAM-SHA-1
//! (whose password is MongoDB's legacy digest, hex MD5 of
//! `user:mongo:password`). The exchange itself is pure: messages in,
//! messages out, so the RFCs' test vectors pin it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use md5::Digest;
use sha1::Sha1;
use sha2::Sha256;

/// The two SCRAM mechanisms MongoDB speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Sha1,
    Sha256,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha1 => "SCRAM-SHA-1",
            Mechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-1" => Some(Mechanism::Sha1),
            "SCRAM-SHA-256" => Some(Mechanism::Sha256),
            _ => None,
        }
    }

    /// The password SCRAM hashes, as MongoDB prepares it.
    pub fn prepare(self, user: &str, password: &str) -> Result<String, String> {
        match self {
            Mechanism::Sha256 => stringprep::saslprep(password)
                .map(|p| p.into_owned())
                .map_err(|_| "the password has characters SASLprep prohibits".to_string()),
            Mechanism::Sha1 => {
                let digest = md5::Md5::digest(format!("{user}:mongo:{password}").as_bytes());
                Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
            }
        }
    }
}

/// One client's exchange, between its first and final messages.
pub struct Scram {
    mechanism: Mechanism,
    password: String,
    nonce: String,
    first_bare: String,
    server_signature: Vec<u8>,
}

impl Scram {
    /// Starts an exchange for `user` with a prepared `password` (see
    /// [`Mechanism::prepare`]) and a fresh client `nonce`.
    pub fn new(mechanism: Mechanism, user: &str, password: String, nonce: String) -> Self {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        let first_bare = format!("n={user},r={nonce}");
        Self { mechanism, password, nonce, first_bare, server_signature: Vec::new() }
    }

    /// `client-first-message`: no channel binding.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// `client-final-message` for the server's first message.
    pub fn client_final(&mut self, server_first: &str) -> Result<String, String> {
        let attr = |name: char| {
            server_first.split(',').find_map(|a| a.strip_prefix(name).and_then(|a| a.strip_prefix('=')))
        };
        let nonce = attr('r').ok_or("the server's SCRAM message has no nonce")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("the server's SCRAM nonce does not extend ours".into());
        }
        let salt = B64
            .decode(attr('s').ok_or("the server's SCRAM message has no salt")?)
            .map_err(|_| "the server's SCRAM salt is not base64")?;
        let iterations: u32 = attr('i')
            .and_then(|i| i.parse().ok())
            .filter(|&i| i >= 1)
            .ok_or("the server's SCRAM iteration count is missing or bad")?;
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let (proof, server_signature) = match self.mechanism {
            Mechanism::Sha1 => proofs::<Hmac<Sha1>, Sha1>(&self.password, &salt, iterations, &auth_message),
            Mechanism::Sha256 => {
                proofs::<Hmac<Sha256>, Sha256>(&self.password, &salt, iterations, &auth_message)
            }
        };
        self.server_signature = server_signature;
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server's final message: it must prove it knows the
    /// password too (`v=`), or name an error (`e=`).
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), String> {
        if let Some(e) = server_final.strip_prefix("e=") {
            return Err(format!("the server refused the proof: {e}"));
        }
        let v = server_final
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or("the server's final SCRAM message has no signature")?;
        match B64.decode(v) {
            Ok(v) if !self.server_signature.is_empty() && v == self.server_signature => Ok(()),
            _ => Err("the server's SCRAM signature is wrong: it does not know the password".into()),
        }
    }
}

/// The client proof and the expected server signature (RFC 5802 §3).
fn proofs<M, H>(password: &str, salt: &[u8], iterations: u32, auth_message: &str) -> (Vec<u8>, Vec<u8>)
where
    M: Mac + hmac::digest::KeyInit + hmac::digest::FixedOutput + hmac::digest::Update + Clone + Sync,
    H: Digest,
{
    let mut salted = vec![0u8; <H as Digest>::output_size()];
    // HMAC takes keys of any length, so this cannot fail.
    let _ = pbkdf2::pbkdf2::<M>(password.as_bytes(), salt, iterations, &mut salted);
    let hmac = |key: &[u8], data: &[u8]| -> Vec<u8> {
        match <M as hmac::digest::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                Mac::update(&mut mac, data);
                Mac::finalize(mac).into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = H::digest(&client_key);
    let client_signature = hmac(&stored_key, auth_message.as_bytes());
    let proof = client_key.iter().zip(&client_signature).map(|(a, b)| a ^ b).collect();
    let server_key = hmac(&salted, b"Server Key");
    (proof, hmac(&server_key, auth_message.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3.
    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut s = Scram::new(Mechanism::Sha256, "user", "pencil".into(), "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(s.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            s.client_final(server_first).expect("final"),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(s.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_ok());
        assert!(s.verify_server_final("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_err());
        assert!(s.verify_server_final("e=invalid-proof").is_err());
    }

    /// RFC 5802 §5 (the raw password: MongoDB's digest is tested apart).
    #[test]
    fn scram_sha_1_matches_rfc_5802() {
        let mut s = Scram::new(Mechanism::Sha1, "user", "pencil".into(), "fyko+d2lbbFgONRv9qkxdawL".into());
        let server_first = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
        assert_eq!(
            s.client_final(server_first).expect("final"),
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert!(s.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").is_ok());
    }

    #[test]
    fn passwords_are_prepared_as_mongodb_does() {
        // MD5("user:mongo:pencil"), as every driver's SCRAM-SHA-1 sends it.
        assert_eq!(
            Mechanism::Sha1.prepare("user", "pencil").expect("digest"),
            "1c33006ec1ffd90f9cadcbcc0e118200"
        );
        // SASLprep maps a non-ASCII space to a space and refuses controls.
        assert_eq!(Mechanism::Sha256.prepare("u", "a\u{00A0}b").expect("prep"), "a b");
        assert!(Mechanism::Sha256.prepare("u", "a\u{0007}b").is_err());
    }

    #[test]
    fn a_server_nonce_that_does_not_extend_ours_is_refused() {
        let mut s = Scram::new(Mechanism::Sha256, "a=b,c", "p".into(), "abc".into());
        assert_eq!(s.client_first(), "n,,n=a=3Db=2Cc,r=abc");
        assert!(s.client_final("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096").is_err());
        assert!(s.client_final("r=abc,s=QSXCR+Q6sek8bf92,i=4096").is_err());
        assert!(s.client_final("r=abcd,s=QSXCR+Q6sek8bf92,i=0").is_err());
    }
}
