//! SMTP replies (RFC 5321 §4.2): one or more lines `ddd-text`, the last one
//! `ddd text` (or bare `ddd`), all with the same code; and the EHLO reply's
//! extensions (§4.1.1.1). Pure functions of bytes, unit-tested below.

use sonde_sdk::preview;

/// A whole reply: its code and each line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The reply as the server wrote it, on one line, for `extra`.
    pub fn shown(&self) -> String {
        let text = self.lines.iter().map(String::as_str).filter(|l| !l.is_empty()).collect::<Vec<_>>();
        let mut shown = format!("{} {}", self.code, text.join(" / "));
        shown.truncate(shown.trim_end().len().min(500));
        shown
    }
}

/// What the bytes received so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// A whole reply, and the bytes it used.
    Done(Reply, usize),
    /// Lines so far fit a reply; more must come.
    Incomplete,
    /// Not an SMTP reply, and why.
    Invalid(String),
}

/// Parses one reply from the start of `buf`. A line (even one not ended
/// yet) that cannot be part of a reply is [`Parse::Invalid`] at once, so a
/// server of another kind is told apart without waiting for a line end.
pub fn parse(buf: &[u8]) -> Parse {
    let mut lines = Vec::new();
    let mut code = None;
    let mut at = 0;
    loop {
        let rest = buf.get(at..).unwrap_or_default();
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return match prefix_fits(rest) {
                true => Parse::Incomplete,
                false => Parse::Invalid(format!("not an SMTP reply line: {}", preview(rest))),
            };
        };
        let raw = rest.get(..end).unwrap_or_default();
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some((this, last, text)) = split_line(line) else {
            return Parse::Invalid(format!("not an SMTP reply line: {}", preview(line)));
        };
        if code.is_some_and(|c| c != this) {
            return Parse::Invalid(format!("reply codes differ within one reply: {}", preview(line)));
        }
        code = Some(this);
        lines.push(text);
        at += end + 1;
        if last {
            return Parse::Done(Reply { code: this, lines }, at);
        }
    }
}

/// `ddd`, then `-` (more lines follow), ` ` or nothing (the last line).
fn split_line(line: &[u8]) -> Option<(u16, bool, String)> {
    let digits = line.get(..3)?;
    if !valid_code(digits) {
        return None;
    }
    let code = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let text = |from: usize| String::from_utf8_lossy(line.get(from..).unwrap_or_default()).into_owned();
    match line.get(3) {
        None => Some((code, true, String::new())),
        Some(b' ') => Some((code, true, text(4))),
        Some(b'-') => Some((code, false, text(4))),
        Some(_) => None,
    }
}

/// Reply codes are 2yz to 5yz, y 0 to 5 (RFC 5321 §4.2.1).
fn valid_code(d: &[u8]) -> bool {
    matches!(d, [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9'])
}

/// Whether a line not yet ended can still become a reply line.
fn prefix_fits(head: &[u8]) -> bool {
    let fits_digits = head.iter().take(3).enumerate().all(|(i, &b)| match i {
        0 => (b'2'..=b'5').contains(&b),
        1 => (b'0'..=b'5').contains(&b),
        _ => b.is_ascii_digit(),
    });
    fits_digits && head.get(3).is_none_or(|&b| b == b' ' || b == b'-' || b == b'\r')
}

/// The EHLO reply: the server's name and its extensions, keywords upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ehlo {
    pub domain: String,
    pub extensions: Vec<(String, String)>,
}

impl Ehlo {
    pub fn parse(reply: &Reply) -> Self {
        let mut lines = reply.lines.iter();
        let domain = lines.next().and_then(|l| l.split_whitespace().next()).unwrap_or_default().to_string();
        let extensions = lines
            .filter_map(|l| {
                let l = l.trim();
                let (keyword, params) = l.split_once([' ', '=']).unwrap_or((l, ""));
                (!keyword.is_empty()).then(|| (keyword.to_ascii_uppercase(), params.trim().to_string()))
            })
            .collect();
        Self { domain, extensions }
    }

    pub fn has(&self, keyword: &str) -> bool {
        self.extensions.iter().any(|(k, _)| k == keyword)
    }

    /// The AUTH mechanisms, upper-cased, from `AUTH` lines and the old
    /// `AUTH=` form some servers still send.
    pub fn auth(&self) -> Vec<String> {
        let mut mechanisms: Vec<String> = Vec::new();
        for (_, params) in self.extensions.iter().filter(|(k, _)| k == "AUTH") {
            for m in params.split_whitespace().map(str::to_ascii_uppercase) {
                if !mechanisms.contains(&m) {
                    mechanisms.push(m);
                }
            }
        }
        mechanisms
    }

    /// The `SIZE` limit in bytes, when the server states one (0: none).
    pub fn size(&self) -> Option<u64> {
        self.extensions.iter().find(|(k, _)| k == "SIZE").and_then(|(_, p)| p.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(bytes: &[u8]) -> (Reply, usize) {
        match parse(bytes) {
            Parse::Done(reply, used) => (reply, used),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn single_and_multi_line() {
        let (r, used) = done(b"220 mail.example ESMTP Exim 4.96 ready\r\nrest");
        assert_eq!(
            (r.code, r.lines.as_slice(), used),
            (220, ["mail.example ESMTP Exim 4.96 ready".to_string()].as_slice(), 40)
        );
        let multi = b"250-mail.example Hello\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 HELP\r\n";
        let (r, used) = done(multi);
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, ["mail.example Hello", "SIZE 52428800", "8BITMIME", "HELP"]);
        assert_eq!(used, multi.len());
        // A bare code ends a reply; a bare LF ends a line as well as CRLF.
        assert_eq!(done(b"250\r\n").0, Reply { code: 250, lines: vec![String::new()] });
        assert_eq!(done(b"221 bye\n").0.lines, ["bye"]);
        assert!(done(b"554 5.7.1 No SMTP service here\r\n").0.shown().starts_with("554 5.7.1"));
    }

    #[test]
    fn incomplete() {
        for partial in [&b""[..], b"2", b"22", b"220", b"220 ", b"220 mail", b"250-a\r\n250", b"250-a\r\n"] {
            assert_eq!(parse(partial), Parse::Incomplete, "{partial:?}");
        }
    }

    #[test]
    fn not_smtp() {
        for other in [
            &b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"[..],
            b"INFO {\"server_id\"",
            b"-ERR unknown command",
            b"+OK POP3 ready",
            b"SSH-2.0-OpenSSH",
            b"\x16\x03\x03",
            b"600 no such code\r\n",
            b"260 second digit\r\n",
            b"220x\r\n",
            b"22\r\n",
        ] {
            assert!(matches!(parse(other), Parse::Invalid(_)), "{other:?}");
        }
        assert!(matches!(parse(b"250-a\r\n251 b\r\n"), Parse::Invalid(e) if e.contains("differ")));
    }

    #[test]
    fn ehlo_extensions() {
        let (r, _) = done(
            b"250-mail.example Hello probe [127.0.0.1]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n\
              250-PIPELINING\r\n250-auth PLAIN login\r\n250-AUTH=LOGIN CRAM-MD5\r\n250-STARTTLS\r\n250 HELP\r\n",
        );
        let ehlo = Ehlo::parse(&r);
        assert_eq!(ehlo.domain, "mail.example");
        assert!(ehlo.has("STARTTLS") && ehlo.has("PIPELINING") && !ehlo.has("SMTPUTF8"));
        assert_eq!(ehlo.auth(), ["PLAIN", "LOGIN", "CRAM-MD5"]);
        assert_eq!(ehlo.size(), Some(52_428_800));
        let bare = Ehlo::parse(&done(b"250 only.me\r\n").0);
        assert_eq!((bare.domain.as_str(), bare.extensions.len(), bare.size()), ("only.me", 0, None));
    }
}
