//! The test query and the table count, with the simple query protocol:
//! the first column of each row, or the server's error.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use sonde_sdk::CheckError;

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

impl Conn {
    /// Runs one simple query; returns the first column of each row.
    pub(crate) fn query(&mut self, sql: &str) -> Result<Vec<Option<String>>, QueryError> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(|e| CheckError::invalid_config(format!("query: {e}")))?;
        self.send(&out)?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.next()? {
                Message::DataRow(row) => {
                    let mut ranges = row.ranges();
                    let first = match ranges.next() {
                        Ok(Some(Some(r))) => {
                            row.buffer().get(r).map(|v| String::from_utf8_lossy(v).into_owned())
                        }
                        _ => None,
                    };
                    rows.push(first);
                }
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
            None => Ok(rows),
        }
    }
}
