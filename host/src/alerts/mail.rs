//! The host's own SMTP client for `email` routes, by lettre (tokio,
//! rustls): one connection per mail (alerts are rare; a pool buys nothing),
//! implicit TLS (`smtps://`) or STARTTLS that must succeed (`smtp://`: a
//! server that does not offer it gets nothing), or plain text to a loopback
//! host only (`?tls=none`, checked by the configuration). AUTH PLAIN or
//! LOGIN, whichever the server offers, when the route has a user name.
//!
//! Trust: the web PKI roots and the operator's `[tls] ca_files`, the same
//! two sources as the HTTP client's (`http.rs`). lettre takes no rustls
//! `ClientConfig` of ours (lettre#473 chose `add_root_certificate`
//! instead), so they are handed over as webpki-roots' list
//! (`CertificateStore::WebpkiRoots`) plus the operator's certificates; the
//! server's name (or IP address) is verified as rustls always does.
//!
//! Errors never carry the password: lettre's errors hold the server's
//! reply or the I/O error, never the credentials it sent.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls::pki_types::CertificateDer;

use super::payload::Mail;
use super::route::{Security, Smtp};

/// Why a mail was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot build the mail: {0}")]
    Build(String),
    #[error("TLS: {0}")]
    Tls(String),
    /// The connection, STARTTLS, AUTH or the server's answer to the mail.
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// Sends mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    operator: Vec<Certificate>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("operator_cas", &self.operator.len()).finish()
    }
}

impl Mailer {
    /// Trusting the web PKI and `operator` (the `[tls] ca_files` certificates).
    pub fn new(operator: &[CertificateDer<'static>]) -> Result<Self, MailError> {
        let operator = operator
            .iter()
            .map(|c| Certificate::from_der(c.to_vec()).map_err(|e| MailError::Tls(e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Self { operator })
    }

    /// Sends `mail` from `smtp.from` to `smtp.to`; the server's reply code
    /// (250) when it accepted it.
    pub async fn send(&self, smtp: &Smtp, mail: Mail, timeout: Duration) -> Result<u16, MailError> {
        let message = message(smtp, mail)?;
        let transport = self.transport(smtp, timeout)?;
        let sent = tokio::time::timeout(timeout, transport.send(message))
            .await
            .map_err(|_| MailError::Timeout(timeout))?
            .map_err(|e| MailError::Smtp(e.to_string()))?;
        Ok(sent.code().to_string().parse().unwrap_or(250))
    }

    fn transport(
        &self,
        smtp: &Smtp,
        timeout: Duration,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
        let tls = match smtp.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(self.tls(&smtp.host)?),
            Security::ImplicitTls => Tls::Wrapper(self.tls(&smtp.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(timeout))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    fn tls(&self, host: &str) -> Result<TlsParameters, MailError> {
        let mut params =
            TlsParameters::builder(host.to_string()).certificate_store(CertificateStore::WebpkiRoots);
        for ca in &self.operator {
            params = params.add_root_certificate(ca.clone());
        }
        params.build_rustls().map_err(|e| MailError::Tls(e.to_string()))
    }
}

/// A `multipart/alternative` mail, text then HTML, with the notification's
/// id in its `Message-ID` (stable across retries, as the webhook's `id`).
fn message(smtp: &Smtp, mail: Mail) -> Result<Message, MailError> {
    let mut builder = Message::builder()
        .from(smtp.from.clone())
        .subject(mail.subject)
        .message_id(Some(mail.message_id))
        .user_agent(concat!("sonde/", env!("CARGO_PKG_VERSION")).to_string());
    for to in &smtp.to {
        builder = builder.to(to.clone());
    }
    builder
        .header(header::MIME_VERSION_1_0)
        .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Parses `From`/`To` as the configuration checks them.
pub fn mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse::<Mailbox>().map_err(|e| e.to_string())
}
