//! The test query (`COM_QUERY`): its first result's rows are counted and
//! its first value typed by its column, any further results (a `CALL`'s)
//! drained.

use mysql_common::constants::ColumnType;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column as Definition;
use sonde_sdk::CheckError;
use sonde_sdk::sql::{Answer, Column};

use crate::conn::{Conn, Transport};
use crate::packet::{
    ERR, OK, Phase, eof_has_more_results, is_eof, lenenc_int, lenenc_len, ok_has_more_results, packet_status,
    server_error, unexpected,
};

const COM_QUERY: u8 = 0x03;
const LOCAL_INFILE: u8 = 0xFB;

impl<S: Transport> Conn<S> {
    /// Runs the query; counts the rows of its first result and keeps its
    /// first value.
    pub(crate) fn query(&mut self, sql: &str) -> Result<Answer, CheckError> {
        self.command();
        let mut out = Vec::with_capacity(sql.len() + 1);
        out.push(COM_QUERY);
        out.extend_from_slice(sql.as_bytes());
        self.send(&out)?;

        let first = self.next()?;
        match first.first() {
            Some(&OK) => return Ok(Answer::default()),
            Some(&ERR) => return Err(server_error(&first, Phase::Query)),
            Some(&LOCAL_INFILE) => {
                return Err(CheckError::invalid_config("the query must not be LOAD DATA LOCAL INFILE"));
            }
            _ => {}
        }
        let columns = lenenc_int(&first).ok_or_else(|| unexpected("a bad column count".into()))?;
        // Column definitions, then an EOF (no CLIENT_DEPRECATE_EOF asked for).
        let mut answer = Answer::default();
        for n in 0..columns {
            let def = self.next()?;
            if def.first() == Some(&ERR) {
                return Err(server_error(&def, Phase::Query));
            }
            if n == 0 {
                let def: Definition = ParseBuf(&def)
                    .parse(())
                    .map_err(|e| unexpected(format!("a bad column definition: {e}")))?;
                answer.column = column(def.column_type());
            }
        }
        let eof = self.next()?;
        if !is_eof(&eof) {
            return Err(unexpected("no EOF after the column definitions".into()));
        }
        let status = loop {
            let packet = self.next()?;
            if is_eof(&packet) {
                break packet_status(&packet);
            }
            if packet.first() == Some(&ERR) {
                return Err(server_error(&packet, Phase::Query));
            }
            answer.row(|| first_value(&packet));
        };
        // More results (a CALL, for one): drain them.
        let mut more = eof_has_more_results(status);
        while more {
            more = self.drain_result()?;
        }
        Ok(answer)
    }

    /// Reads one further result of a multi-result answer; returns whether
    /// another follows.
    fn drain_result(&mut self) -> Result<bool, CheckError> {
        let first = self.next()?;
        match first.first() {
            Some(&OK) => return Ok(ok_has_more_results(&first)),
            Some(&ERR) => return Err(server_error(&first, Phase::Query)),
            _ => {}
        }
        let mut eofs = 0;
        loop {
            let packet = self.next()?;
            if packet.first() == Some(&ERR) {
                return Err(server_error(&packet, Phase::Query));
            }
            if is_eof(&packet) {
                eofs += 1;
                if eofs == 2 {
                    return Ok(eof_has_more_results(packet_status(&packet)));
                }
            }
        }
    }
}

/// The JSON reading of a column by its type. MySQL has no boolean type
/// (`BOOL` is `TINYINT(1)`, `TRUE` is `1`): booleans read as integers.
fn column(t: ColumnType) -> Column {
    use ColumnType::*;
    match t {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_YEAR => Column::Integer,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Column::Decimal,
        _ => Column::Text,
    }
}

/// The first value of a text-protocol row: NULL (`0xFB`) or a
/// length-encoded string.
fn first_value(row: &[u8]) -> Option<String> {
    if row.first() == Some(&0xFB) {
        return None;
    }
    let len = usize::try_from(lenenc_int(row)?).ok()?;
    let start = lenenc_len(row)?;
    row.get(start..start.checked_add(len)?).map(|v| String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::first_value;

    #[test]
    fn a_rows_first_value_is_null_or_its_length_encoded_text() {
        assert_eq!(first_value(b"\xfb\x011"), None);
        assert_eq!(first_value(b"\x0242\x01x").as_deref(), Some("42"));
        assert_eq!(first_value(b"\x00").as_deref(), Some(""));
        let long = [&[0xFC, 0x2C, 0x01][..], &[b'a'; 300]].concat();
        assert_eq!(first_value(&long).map(|v| v.len()), Some(300));
        assert_eq!(first_value(b"\x05ab"), None, "a row cut short");
    }
}
