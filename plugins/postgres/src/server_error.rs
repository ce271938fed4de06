//! A backend ErrorResponse: the fields worth reporting, and the stable
//! message its SQLSTATE maps to during startup.

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend;
use sonde_sdk::{CheckError, Problem, messages};

/// The fields of an ErrorResponse that matter here.
#[derive(Default)]
pub(crate) struct ServerError {
    severity: String,
    code: String,
    message: String,
}

impl ServerError {
    pub(crate) fn text(&self) -> String {
        format!("{} {}: {}", self.severity, self.code, self.message)
    }
}

pub(crate) fn describe(body: &backend::ErrorResponseBody) -> ServerError {
    let mut e = ServerError::default();
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        let value = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'V' => e.severity = value,
            b'S' if e.severity.is_empty() => e.severity = value,
            b'C' => e.code = value,
            b'M' => e.message = value,
            _ => {}
        }
    }
    e
}

/// An ErrorResponse before ReadyForQuery, by SQLSTATE.
pub(crate) fn startup_error(body: &backend::ErrorResponseBody) -> CheckError {
    let e = describe(body);
    let message = match e.code.as_str() {
        "28P01" | "28000" => messages::AUTHENTICATION_FAILED,
        "3D000" => messages::DATABASE_DOES_NOT_EXIST,
        _ => "server error",
    };
    Problem::new(message).with_extra(e.text()).into()
}
