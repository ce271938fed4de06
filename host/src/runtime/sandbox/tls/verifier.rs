//! The rustls client configuration of one handshake, under the policy's
//! mode, and the stable messages its failures map to.
//!
//! | mode | chain | name |
//! | --- | --- | --- |
//! | unset, `prefer`, `require` | not verified (handshake signatures are) | not verified |
//! | `verify-ca` | to a trusted root | not verified |
//! | `verify-full` | to a trusted root | `server_name`, else `host` |
//!
//! Trusted roots: the web PKI (webpki-roots), the operator's `[tls] ca_files`
//! and the source's `tls.ca`.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use super::policy::{Mode, TlsPolicy};

/// The stable messages of TLS failures (DESIGN §4); operators alert on them.
pub mod messages {
    pub const NOT_TRUSTED: &str = "certificate not trusted";
    pub const EXPIRED: &str = "certificate expired";
    pub const NOT_YET_VALID: &str = "certificate not yet valid";
    pub const NAME_MISMATCH: &str = "certificate name mismatch";
    pub const NO_TLS: &str = "server does not support TLS";
    pub const EXPIRES_SOON: &str = "certificate expires soon";
    pub const HANDSHAKE_FAILED: &str = "tls handshake failed";
    pub const DISABLED: &str = "tls disabled by the source's policy";
}

/// Why a client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("`tls.ca`: {0}")]
    Ca(String),
    #[error("`tls.client_cert`/`tls.client_key`: {0}")]
    ClientIdentity(String),
    #[error("{0}")]
    Rustls(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the client configuration for `policy`, trusting `operator_roots`
/// beside the web PKI and the source's own CAs.
pub fn client_config(
    policy: &TlsPolicy,
    operator_roots: &[TrustAnchor<'static>],
) -> Result<ClientConfig, ConfigError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Rustls(e.to_string()))?;
    let mode = policy.mode.unwrap_or(Mode::Prefer);
    let verifier: Arc<dyn ServerCertVerifier> = if mode.verifies_chain() {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        roots.roots.extend(operator_roots.iter().cloned());
        for ca in &policy.ca {
            roots.add(ca.clone()).map_err(|e| ConfigError::Ca(e.to_string()))?;
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| ConfigError::Rustls(e.to_string()))?;
        Arc::new(Verifier {
            webpki: Some(webpki),
            algorithms: provider.signature_verification_algorithms,
            check_name: mode == Mode::VerifyFull,
        })
    } else {
        Arc::new(Verifier {
            webpki: None,
            algorithms: provider.signature_verification_algorithms,
            check_name: false,
        })
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    match &policy.client {
        None => Ok(builder.with_no_client_auth()),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs.clone(), key.clone_key())
            .map_err(|e| ConfigError::ClientIdentity(e.to_string())),
    }
}

/// Parses the operator's CA certificates into trust anchors, once at start.
pub fn anchors(certs: Vec<CertificateDer<'static>>) -> Result<Vec<TrustAnchor<'static>>, ConfigError> {
    let mut store = RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|e| ConfigError::Ca(e.to_string()))?;
    }
    Ok(store.roots)
}

#[derive(Debug)]
struct Verifier {
    /// `None` for `prefer`/`require`: any certificate, but the handshake
    /// must still be signed by its key, so the facts reported are the peer's.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    check_name: bool,
}

impl Verifier {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.algorithms
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            // webpki checks the name only after the chain: a name error
            // means the chain was good, which is all `verify-ca` asks.
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

/// The stable message for a failed handshake, from what tokio-rustls gave.
pub fn classify(err: &std::io::Error) -> &'static str {
    use CertificateError as C;
    let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        // The peer hung up or went silent before a TLS answer: what a
        // plaintext-only server does with a ClientHello.
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => messages::NO_TLS,
            _ => messages::HANDSHAKE_FAILED,
        };
    };
    match tls {
        Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => messages::EXPIRED,
        Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => messages::NOT_YET_VALID,
        Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            messages::NAME_MISMATCH
        }
        Error::InvalidCertificate(_) => messages::NOT_TRUSTED,
        // Bytes that are not TLS records: a plaintext protocol answering.
        Error::InvalidMessage(_)
        | Error::InappropriateHandshakeMessage { .. }
        | Error::InappropriateMessage { .. } => messages::NO_TLS,
        _ => messages::HANDSHAKE_FAILED,
    }
}
