//! Keys: the OpenSSH fingerprint of a host key (`SHA256:` and unpadded
//! base64 of the key blob's SHA-256, as `ssh-keygen -lf` prints it), the
//! check of a pinned one, and the client's private key from PEM text.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use sunset::{PubKey, SignKey};

const PREFIX: &str = "SHA256:";

/// The OpenSSH fingerprint of `key`, e.g. `SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s`.
pub fn fingerprint(key: &PubKey) -> Result<String, String> {
    // The largest key sunset takes here (RSA 8192 bits) encodes in ~1.1 KiB.
    let mut blob = vec![0u8; 4096];
    let n = sunset::sshwire::write_ssh(&mut blob, key).map_err(|e| format!("encoding the host key: {e}"))?;
    Ok(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(Sha256::digest(&blob[..n]))))
}

/// The key type's SSH name (`ssh-ed25519`).
pub fn algorithm(key: &PubKey) -> String {
    key.algorithm_name().map(str::to_string).unwrap_or_else(|_| "unknown".into())
}

/// A pinned fingerprint in the form the comparison uses, or why it is not
/// one: `SHA256:` then 43 base64 characters (padding `=` allowed).
pub fn pinned(text: &str) -> Result<String, String> {
    let Some(b64) = text.trim().strip_prefix(PREFIX) else {
        return Err("`host_key_sha256` must be an OpenSSH SHA256 fingerprint, `SHA256:` then base64 \
                    (as `ssh-keygen -lf` prints it)"
            .into());
    };
    let b64 = b64.trim_end_matches('=');
    match STANDARD_NO_PAD.decode(b64) {
        Ok(bytes) if bytes.len() == 32 => Ok(format!("{PREFIX}{b64}")),
        _ => Err("`host_key_sha256` is not a SHA-256 digest in base64 after `SHA256:`".into()),
    }
}

/// The ed25519 private key of `pem`: OpenSSH's own format (`BEGIN OPENSSH
/// PRIVATE KEY`, unencrypted) or PKCS#8 (`BEGIN PRIVATE KEY`).
pub fn private_key(pem: &str) -> Result<SignKey, String> {
    let pem = pem.trim();
    if pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        let key = SignKey::from_openssh(pem).map_err(|e| {
            format!(
                "`private_key` is not an unencrypted OpenSSH ed25519 key (a passphrase is not supported): {e}"
            )
        })?;
        return match key {
            SignKey::Ed25519(_) => Ok(key),
            _ => Err("`private_key` must be an ed25519 key".into()),
        };
    }
    if let Some(body) = pem.strip_prefix("-----BEGIN PRIVATE KEY-----") {
        let body = body.split("-----END PRIVATE KEY-----").next().unwrap_or_default();
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der =
            STANDARD.decode(b64).map_err(|_| "`private_key`: the PEM body is not base64".to_string())?;
        return pkcs8_ed25519(&der)
            .map(|seed| SignKey::Ed25519(sunset::ed25519_dalek::SigningKey::from_bytes(&seed)));
    }
    Err("`private_key` must be PEM text: `-----BEGIN OPENSSH PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----`"
        .into())
}

/// The seed of a PKCS#8 v1 ed25519 key (RFC 8410 §7): a fixed 16-byte
/// prefix (version 0, OID 1.3.101.112, an OCTET STRING of 32 bytes) and the seed.
fn pkcs8_ed25519(der: &[u8]) -> Result<[u8; 32], String> {
    const PREFIX: [u8; 16] =
        [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    match der.strip_prefix(&PREFIX[..]) {
        Some(seed) if seed.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(seed);
            Ok(out)
        }
        _ => Err("`private_key` must be an ed25519 key (PKCS#8 of another algorithm, or with a public key, \
                  is not supported)"
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_fingerprints() {
        let fp = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        assert_eq!(pinned(fp).as_deref(), Ok(fp));
        assert_eq!(pinned(&format!("{fp}=")).as_deref(), Ok(fp));
        assert!(pinned("uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s").is_err());
        assert!(pinned("MD5:aa:bb").is_err());
        assert!(pinned("SHA256:abc").is_err());
    }

    #[test]
    fn pkcs8_keys() {
        // A PKCS#8 ed25519 key built around a known seed.
        let seed = [7u8; 32];
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ];
        der.extend_from_slice(&seed);
        let pem =
            format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(&der));
        let key = private_key(&pem).expect("pkcs8");
        assert!(matches!(key, SignKey::Ed25519(_)));
        assert!(private_key("ssh-ed25519 AAAA").is_err());
        assert!(pkcs8_ed25519(&der[..40]).is_err());
    }
}
