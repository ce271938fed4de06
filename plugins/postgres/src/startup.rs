//! Startup and authentication, up to the first ReadyForQuery: trust,
//! cleartext password, MD5 and SCRAM-SHA-256 (without channel binding);
//! GSSAPI, SSPI, Kerberos and SCM are refused by name.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use sonde_sdk::{CheckError, Problem, Secret, messages};

use crate::conn::Conn;
use crate::server_error::startup_error;

impl Conn {
    /// Startup and authentication, up to the first ReadyForQuery. Returns the
    /// `server_version` parameter.
    pub(crate) fn startup(
        &mut self,
        user: &str,
        database: &str,
        password: Option<&Secret>,
    ) -> Result<Option<String>, CheckError> {
        let mut out = BytesMut::new();
        let params = [("user", user), ("database", database), ("application_name", "sonde")];
        frontend::startup_message(params, &mut out).map_err(|e| self.unexpected(e.to_string()))?;
        self.send(&out)?;

        let mut first = true;
        let mut scram: Option<sasl::ScramSha256> = None;
        let mut version = None;
        loop {
            let message = self.next()?;
            if first && !matches!(message, Message::ErrorResponse(_)) && !is_authentication(&message) {
                return Err(self.unexpected("the first message is not an authentication request".into()));
            }
            first = false;
            let mut out = BytesMut::new();
            match message {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    let password = need_password(password)?;
                    frontend::password_message(password.expose().as_bytes(), &mut out)
                        .map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let password = need_password(password)?;
                    let hash = md5_hash(user.as_bytes(), password.expose().as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut out)
                        .map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = Vec::new();
                    let mut it = body.mechanisms();
                    while let Ok(Some(m)) = it.next() {
                        mechanisms.push(m.to_string());
                    }
                    if !mechanisms.iter().any(|m| m == sasl::SCRAM_SHA_256) {
                        return Err(auth_failed(format!(
                            "no supported SASL mechanism among {mechanisms:?} (the probe does SCRAM-SHA-256, without channel binding)"
                        )));
                    }
                    let password = need_password(password)?;
                    let s = sasl::ScramSha256::new(
                        password.expose().as_bytes(),
                        sasl::ChannelBinding::unsupported(),
                    );
                    frontend::sasl_initial_response(sasl::SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let Some(s) = scram.as_mut() else {
                        return Err(self.unexpected("SASL continue without SASL start".into()));
                    };
                    s.update(body.data()).map_err(|e| auth_failed(format!("SCRAM: {e}")))?;
                    frontend::sasl_response(s.message(), &mut out).map_err(|e| auth_failed(e.to_string()))?;
                    self.send(&out)?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let Some(mut s) = scram.take() else {
                        return Err(self.unexpected("SASL final without SASL start".into()));
                    };
                    s.finish(body.data()).map_err(|e| auth_failed(format!("SCRAM server proof: {e}")))?;
                }
                Message::AuthenticationGss
                | Message::AuthenticationKerberosV5
                | Message::AuthenticationScmCredential
                | Message::AuthenticationSspi
                | Message::AuthenticationGssContinue(_) => {
                    return Err(auth_failed(
                        "the server asks for an authentication method the probe does not support (GSSAPI, SSPI, Kerberos or SCM)",
                    ));
                }
                Message::ParameterStatus(body) => {
                    if let (Ok("server_version"), Ok(value)) = (body.name(), body.value()) {
                        version = Some(value.to_string());
                    }
                }
                Message::BackendKeyData(_) | Message::NoticeResponse(_) => {}
                Message::ReadyForQuery(_) => return Ok(version),
                Message::ErrorResponse(body) => return Err(startup_error(&body)),
                _ => return Err(self.unexpected("an unexpected message during startup".into())),
            }
        }
    }
}

fn is_authentication(m: &Message) -> bool {
    matches!(
        m,
        Message::AuthenticationOk
            | Message::AuthenticationCleartextPassword
            | Message::AuthenticationMd5Password(_)
            | Message::AuthenticationSasl(_)
            | Message::AuthenticationGss
            | Message::AuthenticationKerberosV5
            | Message::AuthenticationScmCredential
            | Message::AuthenticationSspi
            | Message::AuthenticationGssContinue(_)
    )
}

fn need_password(password: Option<&Secret>) -> Result<&Secret, CheckError> {
    password.ok_or_else(|| auth_failed("the server asks for a password and the config has none"))
}

fn auth_failed(extra: impl Into<String>) -> CheckError {
    Problem::new(messages::AUTHENTICATION_FAILED).with_extra(extra).into()
}
