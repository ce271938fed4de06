//! The test query (`COM_QUERY`): its first result's rows are counted, any
//! further results (a `CALL`'s) drained.

use sonde_sdk::CheckError;

use crate::conn::{Conn, Transport};
use crate::packet::{
    ERR, OK, Phase, eof_has_more_results, is_eof, lenenc_int, ok_has_more_results, packet_status,
    server_error, unexpected,
};

const COM_QUERY: u8 = 0x03;
const LOCAL_INFILE: u8 = 0xFB;

impl<S: Transport> Conn<S> {
    /// Runs the query; returns the number of rows of its first result.
    pub(crate) fn query(&mut self, sql: &str) -> Result<u64, CheckError> {
        self.command();
        let mut out = Vec::with_capacity(sql.len() + 1);
        out.push(COM_QUERY);
        out.extend_from_slice(sql.as_bytes());
        self.send(&out)?;

        let first = self.next()?;
        match first.first() {
            Some(&OK) => return Ok(0),
            Some(&ERR) => return Err(server_error(&first, Phase::Query)),
            Some(&LOCAL_INFILE) => {
                return Err(CheckError::invalid_config("the query must not be LOAD DATA LOCAL INFILE"));
            }
            _ => {}
        }
        let columns = lenenc_int(&first).ok_or_else(|| unexpected("a bad column count".into()))?;
        // Column definitions, then an EOF (no CLIENT_DEPRECATE_EOF asked for).
        for _ in 0..columns {
            let def = self.next()?;
            if def.first() == Some(&ERR) {
                return Err(server_error(&def, Phase::Query));
            }
        }
        let eof = self.next()?;
        if !is_eof(&eof) {
            return Err(unexpected("no EOF after the column definitions".into()));
        }
        let mut rows = 0u64;
        let status = loop {
            let packet = self.next()?;
            if is_eof(&packet) {
                break packet_status(&packet);
            }
            if packet.first() == Some(&ERR) {
                return Err(server_error(&packet, Phase::Query));
            }
            rows += 1;
        };
        // More results (a CALL, for one): drain them.
        let mut more = eof_has_more_results(status);
        while more {
            more = self.drain_result()?;
        }
        Ok(rows)
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
