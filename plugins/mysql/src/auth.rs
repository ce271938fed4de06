//! The client side of MySQL authentication: `mysql_native_password` and
//! `caching_sha2_password` (fast path, and the full path with the server's
//! RSA key when there is no TLS).

use mysql_common::packets::AuthPlugin;
use sonde_sdk::CheckError;

use crate::packet::{auth_failed, unexpected};

/// The auth response for `plugin`. An empty password answers with no data.
pub(crate) fn auth_data(
    plugin: &AuthPlugin<'_>,
    password: &str,
    nonce: &[u8],
) -> Result<Vec<u8>, CheckError> {
    match plugin {
        AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => {
            // The nonce is 20 bytes; some servers add a NUL.
            let nonce = nonce.get(..20).unwrap_or(nonce);
            Ok(plugin.gen_data(Some(password), nonce).map(|d| d.to_vec()).unwrap_or_default())
        }
        AuthPlugin::MysqlClearPassword => Err(auth_failed(
            "the server asks for mysql_clear_password, and the probe does not send passwords in clear text",
        )),
        other => Err(auth_failed(format!(
            "the server asks for the {} authentication plugin, which the probe does not support",
            String::from_utf8_lossy(other.as_bytes())
        ))),
    }
}

/// caching_sha2_password's full authentication without TLS: the password,
/// NUL-terminated and XORed with the nonce, encrypted with the server's RSA
/// public key (PEM) under OAEP padding with SHA-1.
pub(crate) fn encrypt_password(password: &str, nonce: &[u8], pem: &[u8]) -> Result<Vec<u8>, CheckError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;

    let pem =
        std::str::from_utf8(pem).map_err(|_| unexpected("the server's public key is not PEM".into()))?;
    let pem = pem.trim_end_matches('\0').trim();
    let key = rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| unexpected(format!("the server's public key does not parse: {e}")))?;
    let nonce = nonce.get(..20).unwrap_or(nonce);
    if nonce.is_empty() {
        return Err(unexpected("an empty nonce".into()));
    }
    let mut plain: Vec<u8> = password.bytes().chain([0]).collect();
    for (i, b) in plain.iter_mut().enumerate() {
        *b ^= nonce[i % nonce.len()];
    }
    key.encrypt(&mut rand_core::OsRng, rsa::Oaep::new::<sha1::Sha1>(), &plain)
        .map_err(|e| auth_failed(format!("encrypting the password with the server's key: {e}")))
}
