//! What the host saw of a TLS peer: protocol, cipher and the chain it
//! presented, reported as the check's `details.tls`.

use chrono::{DateTime, Utc};
use rustls::ClientConnection;
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};

/// One certificate of the peer's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerCert {
    pub subject: String,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// One completed handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub version: String,
    pub cipher: String,
    /// Leaf first, as the peer sent them.
    pub peer: Vec<PeerCert>,
}

impl Facts {
    pub fn of(conn: &ClientConnection) -> Self {
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        };
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|s| s.suite().as_str().map_or_else(|| format!("{:?}", s.suite()), str::to_string))
            .unwrap_or_default();
        let peer = conn.peer_certificates().unwrap_or_default().iter().filter_map(parse).collect();
        Self { version, cipher, peer }
    }

    /// The soonest `not_after` of the chain: when the connection stops working.
    pub fn earliest_expiry(&self) -> Option<&PeerCert> {
        self.peer.iter().min_by_key(|c| c.not_after)
    }

    /// `details.tls`: `{version, cipher, peer: [...], expires_in_days}`.
    pub fn to_json(&self, now: DateTime<Utc>) -> Value {
        let peer: Vec<Value> = self
            .peer
            .iter()
            .map(|c| {
                json!({
                    "subject": c.subject,
                    "issuer": c.issuer,
                    "not_before": rfc3339(c.not_before),
                    "not_after": rfc3339(c.not_after),
                })
            })
            .collect();
        let days = self.earliest_expiry().map(|c| (c.not_after - now).num_days());
        json!({"version": self.version, "cipher": self.cipher, "peer": peer, "expires_in_days": days})
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Subject, issuer and validity of one DER certificate; `None` if it does
/// not parse (rustls accepted it, so that only happens in `require` mode).
fn parse(der: &CertificateDer<'_>) -> Option<PeerCert> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let time = |t: x509_parser::time::ASN1Time| DateTime::from_timestamp(t.timestamp(), 0);
    Some(PeerCert {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
    })
}
