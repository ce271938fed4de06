//! How a rendered notification leaves the host: [`Outgoing::Http`] by the
//! HTTP client ([`super::http`]), [`Outgoing::Mail`] by the SMTP client
//! ([`super::mail`]) to the route's server. Both trust the web PKI roots
//! and the operator's `[tls] ca_files`, read once at start.
//!
//! The delivery worker sees one answer either way: accepted (an HTTP 2xx,
//! or the SMTP server's 250) or not, and why; its retries and settling do
//! not depend on the channel.

use std::time::Duration;

use rustls::pki_types::CertificateDer;

use super::http::{self, Client};
use super::mail::{MailError, Mailer};
use super::payload::Outgoing;
use super::route::{Channel, Route};

/// Why a notification was not accepted (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the receiver answered {0}")]
    Status(u16),
    #[error(transparent)]
    Http(#[from] http::SendError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("a mail for a route that is not an email route")]
    NotMail,
}

/// Why the transport cannot be built (at start).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("TLS configuration of the alert clients: {0}")]
    Tls(String),
}

/// Both clients; cheap to clone.
#[derive(Debug, Clone)]
pub struct Transport {
    http: Client,
    mail: Mailer,
}

impl Transport {
    /// Trusting the web PKI and `operator` (the `[tls] ca_files` certificates).
    pub fn new(operator: &[CertificateDer<'static>]) -> Result<Self, TransportError> {
        let anchors = crate::runtime::sandbox::tls::verifier::anchors(operator.to_vec())
            .map_err(|e| TransportError::Tls(e.to_string()))?;
        let http = Client::new(&anchors).map_err(|e| TransportError::Tls(e.to_string()))?;
        let mail = Mailer::new(operator).map_err(|e| TransportError::Tls(e.to_string()))?;
        Ok(Self { http, mail })
    }

    /// Sends `out` for `route`; the receiver's answer code when it
    /// accepted it (HTTP 2xx, SMTP 250).
    pub async fn send(&self, route: &Route, out: Outgoing, timeout: Duration) -> Result<u16, SendError> {
        match out {
            Outgoing::Http(r) => match self.http.post(&r.url, &r.headers, r.body, timeout).await? {
                status @ 200..=299 => Ok(status),
                status => Err(SendError::Status(status)),
            },
            Outgoing::Mail(mail) => match &route.channel {
                Channel::Email(smtp) => Ok(self.mail.send(smtp, mail, timeout).await?),
                _ => Err(SendError::NotMail),
            },
        }
    }
}
