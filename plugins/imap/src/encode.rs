//! Writing IMAP command arguments (RFC 3501 §4.3, §5.1.3): strings as
//! quoted strings when they can be, literals otherwise, and mailbox names
//! in modified UTF-7. A password with `"` or `\` is escaped inside quotes;
//! one with CR, LF or non-ASCII bytes goes as a literal, never as text
//! that a server could split into another command.

use base64::Engine;

/// One piece of a command: text sent as is, or a literal the connection
/// sends as `{n}` + CRLF + the bytes (waiting for `+` unless the server
/// has LITERAL+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Literal(Vec<u8>),
}

/// `s` as an IMAP `astring`: a quoted string, or a literal when quoting
/// cannot carry it (CR, LF, NUL or 8-bit bytes).
pub fn astring(s: &str) -> Part {
    let quotable = s.bytes().all(|b| (0x01..=0x7f).contains(&b) && b != b'\r' && b != b'\n');
    if !quotable {
        return Part::Literal(s.as_bytes().to_vec());
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Part::Text(quoted)
}

/// A mailbox name in modified UTF-7 (RFC 3501 §5.1.3): printable ASCII
/// as is (`&` as `&-`), every other run as `&` + base64 of its UTF-16BE
/// (with `,` for `/`, no padding) + `-`. `INBOX` is case-insensitive on
/// every server, so it is sent as the server expects it, upper case.
pub fn mailbox(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        return "INBOX".to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes).replace('/', ",");
        out.push('&');
        out.push_str(&b64);
        out.push('-');
        run.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The SASL PLAIN initial response (RFC 4616): base64 of
/// `authzid NUL authcid NUL password`, with an empty authzid.
pub fn sasl_plain(user: &str, password: &str) -> String {
    let mut raw = Vec::with_capacity(user.len() + password.len() + 2);
    raw.push(0);
    raw.extend_from_slice(user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings() {
        assert_eq!(astring("alice"), Part::Text("\"alice\"".into()));
        assert_eq!(astring(""), Part::Text("\"\"".into()));
        assert_eq!(astring(r#"pa"ss\word"#), Part::Text(r#""pa\"ss\\word""#.into()));
        assert_eq!(astring("with space {5}"), Part::Text("\"with space {5}\"".into()));
    }

    #[test]
    fn literals_for_what_quotes_cannot_hold() {
        assert_eq!(astring("line\r\na2 LOGOUT"), Part::Literal(b"line\r\na2 LOGOUT".to_vec()));
        assert_eq!(astring("pässword"), Part::Literal("pässword".as_bytes().to_vec()));
        assert_eq!(astring("nul\0"), Part::Literal(b"nul\0".to_vec()));
    }

    #[test]
    fn modified_utf7() {
        // RFC 3501 §5.1.3's own example.
        assert_eq!(mailbox("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(mailbox("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(mailbox("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(mailbox("inbox"), "INBOX");
        assert_eq!(mailbox("Archive/2024"), "Archive/2024");
        // Outside the BMP: a surrogate pair in one run.
        assert_eq!(mailbox("😀"), "&2D3eAA-");
    }

    #[test]
    fn plain() {
        assert_eq!(sasl_plain("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    }
}
