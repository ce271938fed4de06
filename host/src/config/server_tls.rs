//! `[server] tls_cert_file` and `tls_key_file` (DESIGN §10): the PEM
//! certificate chain and private key `sonde serve` answers HTTPS with, read
//! and checked into a rustls server configuration (ring, the provider of
//! every other TLS in the tree; HTTP/1.1 by ALPN). Both keys or neither.
//!
//! Checked with the rest of the file, at start and on a reload, so a
//! missing file, a file without a certificate or key, or a key that is not
//! the certificate's fails before anything listens, naming the key. The
//! files are read at start: a renewed certificate needs a restart.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::{Config, ConfigError};

/// The key of the certificate chain.
const CERT: &str = "tls_cert_file";
/// The key of the private key.
const KEY: &str = "tls_key_file";

/// What is wrong with the pair; [`ServerTlsError::key`] says whose fault.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    /// One of the two keys without the other.
    #[error("must be given with `server.{other}` (both or neither)")]
    Half { key: &'static str, other: &'static str },
    #[error("cannot read {path}: {reason}")]
    Read { key: &'static str, path: String, reason: String },
    #[error("{path}: {reason}")]
    Pem { key: &'static str, path: String, reason: String },
    #[error("{path}: no PEM certificate in it")]
    NoCertificate { path: String },
    #[error("{path}: no PEM private key in it (unencrypted PKCS#8, PKCS#1 RSA or SEC1)")]
    NoKey { path: String },
    #[error("{path}: not a usable private key: {reason}")]
    BadKey { path: String, reason: String },
    #[error("{path}: not a usable certificate: {reason}")]
    BadCertificate { path: String, reason: String },
    #[error("{key_path} is not the private key of the certificate in `server.tls_cert_file` ({cert_path})")]
    Mismatch { key_path: String, cert_path: String },
}

impl ServerTlsError {
    /// The `[server]` key at fault, without the table's name.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Half { key, .. } | Self::Read { key, .. } | Self::Pem { key, .. } => key,
            Self::NoCertificate { .. } | Self::BadCertificate { .. } => CERT,
            Self::NoKey { .. } | Self::BadKey { .. } | Self::Mismatch { .. } => KEY,
        }
    }
}

/// A rustls server configuration serving the chain in `cert_file` (leaf
/// first) with the key in `key_file`, HTTP/1.1 by ALPN.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<rustls::ServerConfig, ServerTlsError> {
    let (cert_path, key_path) = (cert_file.display().to_string(), key_file.display().to_string());
    let read = |key: &'static str, file: &Path, path: &str| {
        read_bounded(file).map_err(|reason| ServerTlsError::Read { key, path: path.to_string(), reason })
    };
    let cert_pem = read(CERT, cert_file, &cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerTlsError::Pem { key: CERT, path: cert_path.clone(), reason: e.to_string() })?;
    if chain.is_empty() {
        return Err(ServerTlsError::NoCertificate { path: cert_path });
    }
    let key_pem = read(KEY, key_file, &key_path)?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(ServerTlsError::NoKey { path: key_path }),
        // The error names the section at most, never the key's bytes.
        Err(e) => return Err(ServerTlsError::Pem { key: KEY, path: key_path, reason: e.to_string() }),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The key and the pair are checked apart from the builder, whose one
    // error would not say which file is at fault.
    let signer = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| ServerTlsError::BadKey { path: key_path.clone(), reason: e.to_string() })?;
    match CertifiedKey::new(chain.clone(), signer).keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(ServerTlsError::Mismatch { key_path, cert_path });
        }
        // ring's keys always know their public half; anything else is the
        // leaf's encoding.
        Err(e) => return Err(ServerTlsError::BadCertificate { path: cert_path, reason: e.to_string() }),
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| ServerTlsError::BadCertificate { path: cert_path, reason: e.to_string() })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Most bytes read of either file: a chain is a few KiB, and a path to
/// something endless (a device, a pipe) must fail rather than fill memory.
const MAX_FILE: u64 = 1024 * 1024;

fn read_bounded(file: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("larger than {} KiB", MAX_FILE / 1024));
    }
    Ok(bytes)
}

impl Config {
    /// `[server]`'s HTTPS configuration, or `None` to serve plain HTTP; an
    /// error names `server.tls_cert_file` or `server.tls_key_file`.
    pub fn server_tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, ConfigError> {
        let s = &self.server;
        let built = match (&s.tls_cert_file, &s.tls_key_file) {
            (None, None) => return Ok(None),
            (Some(cert), Some(key)) => server_config(cert, key),
            (Some(_), None) => Err(ServerTlsError::Half { key: KEY, other: CERT }),
            (None, Some(_)) => Err(ServerTlsError::Half { key: CERT, other: KEY }),
        };
        built
            .map(|c| Some(Arc::new(c)))
            .map_err(|e| self.invalid(format!("server.{}", e.key()), e.to_string()))
    }
}
