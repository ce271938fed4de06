//! The test query and the table count, with the simple query protocol:
//! the rows counted and the first value typed by its column, or the
//! server's error.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use sonde_sdk::CheckError;
use sonde_sdk::sql::{Answer, Column};

use crate::conn::Conn;
use crate::server_error::describe;

/// A failed query: the server's error (with its SQLSTATE), or the check's.
pub(crate) enum QueryError {
    Server(String),
    Check(CheckError),
}

impl From<CheckError> for QueryError {
    fn from(e: CheckError) -> Self {
        Self::Check(e)
    }
}

/// The JSON reading of a column by its type's OID (`pg_type.oid`).
fn column(oid: u32) -> Column {
    match oid {
        20 | 21 | 23 | 26 => Column::Integer,
        700 | 701 | 1700 => Column::Decimal,
        16 => Column::Boolean,
        _ => Column::Text,
    }
}

impl Conn {
    /// Runs one simple query; counts its rows and keeps the first value.
    pub(crate) fn query(&mut self, sql: &str) -> Result<Answer, QueryError> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(|e| CheckError::invalid_config(format!("query: {e}")))?;
        self.send(&out)?;
        let mut answer = Answer::default();
        let mut error = None;
        loop {
            match self.next()? {
                // A multi-statement query describes each result: the first
                // one's type goes with the first row.
                Message::RowDescription(body) if answer.rows == 0 => {
                    if let Ok(Some(field)) = body.fields().next() {
                        answer.column = column(field.type_oid());
                    }
                }
                Message::DataRow(row) => answer.row(|| match row.ranges().next() {
                    Ok(Some(Some(r))) => row.buffer().get(r).map(|v| String::from_utf8_lossy(v).into_owned()),
                    _ => None,
                }),
                Message::ErrorResponse(body) => error = Some(describe(&body).text()),
                Message::ReadyForQuery(_) => break,
                Message::CopyInResponse(_) | Message::CopyOutResponse(_) => {
                    return Err(CheckError::invalid_config("the query must not be a COPY").into());
                }
                _ => {}
            }
        }
        match error {
            Some(e) => Err(QueryError::Server(e)),
            None => Ok(answer),
        }
    }
}
