//! Parsing the IMAP4rev1 server responses the probe needs (RFC 3501 §7,
//! RFC 9051 §7): the greeting, tagged status responses with their response
//! codes, `* CAPABILITY` and `* n EXISTS`. One response arrives as one
//! "line" in which any literals the server sent (`{n}\r\n` + n bytes) are
//! already inlined by the reader ([`crate::conn`]), so everything here is a
//! pure function of text, unit-tested below.

/// A status condition: `OK`, `NO`, `BAD`, `PREAUTH` or `BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

impl Status {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "NO" => Status::No,
            "BAD" => Status::Bad,
            "PREAUTH" => Status::PreAuth,
            "BYE" => Status::Bye,
            _ => return None,
        })
    }
}

/// A status response's condition, its response code (`[NONEXISTENT]`,
/// `[CAPABILITY IMAP4rev1 …]`) split into atom and rest, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponse {
    pub status: Status,
    pub code: Option<(String, String)>,
    pub text: String,
}

impl StatusResponse {
    /// The response code's atom, upper-cased (`NONEXISTENT`), or "".
    pub fn code_atom(&self) -> String {
        self.code.as_ref().map(|(atom, _)| atom.to_ascii_uppercase()).unwrap_or_default()
    }

    /// The capabilities of a `[CAPABILITY …]` code, if it is one.
    pub fn capabilities(&self) -> Option<Vec<String>> {
        match &self.code {
            Some((atom, rest)) if atom.eq_ignore_ascii_case("CAPABILITY") => Some(words(rest)),
            _ => None,
        }
    }

    /// The response as the server wrote it, for `extra`.
    pub fn shown(&self) -> String {
        let status = format!("{:?}", self.status).to_ascii_uppercase();
        match &self.code {
            Some((atom, rest)) if rest.is_empty() => format!("{status} [{atom}] {}", self.text),
            Some((atom, rest)) => format!("{status} [{atom} {rest}] {}", self.text),
            None => format!("{status} {}", self.text),
        }
    }
}

/// One server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `<tag> OK|NO|BAD …`: the end of a command.
    Tagged(String, StatusResponse),
    /// `* OK|NO|BAD|PREAUTH|BYE …`.
    UntaggedStatus(StatusResponse),
    /// `* CAPABILITY …`.
    Capability(Vec<String>),
    /// `* n EXISTS`.
    Exists(u64),
    /// Any other untagged data (`* FLAGS`, `* n RECENT`, …), unused.
    Data(String),
    /// `+ …`: the server waits for more from the client.
    Continue(String),
}

/// Parses one response line (without its CRLF). None when it is not IMAP.
pub fn parse(line: &str) -> Option<Response> {
    if let Some(rest) = line.strip_prefix("+") {
        return Some(Response::Continue(rest.trim_start().to_string()));
    }
    let (tag, rest) = split_word(line);
    if tag.is_empty() {
        return None;
    }
    if tag == "*" {
        let (first, after) = split_word(rest);
        if let Some(status) = Status::parse(first) {
            return Some(Response::UntaggedStatus(status_response(status, after)));
        }
        if first.eq_ignore_ascii_case("CAPABILITY") {
            return Some(Response::Capability(words(after)));
        }
        if let Ok(n) = first.parse::<u64>() {
            let (kind, _) = split_word(after);
            if kind.eq_ignore_ascii_case("EXISTS") {
                return Some(Response::Exists(n));
            }
        }
        if first.is_empty() {
            return None;
        }
        return Some(Response::Data(rest.to_string()));
    }
    if !tag.bytes().all(is_tag_char) {
        return None;
    }
    let (first, after) = split_word(rest);
    match Status::parse(first) {
        Some(status @ (Status::Ok | Status::No | Status::Bad)) => {
            Some(Response::Tagged(tag.to_string(), status_response(status, after)))
        }
        _ => None,
    }
}

/// The greeting: `* OK`, `* PREAUTH` or `* BYE`, else None (not IMAP).
pub fn greeting(line: &str) -> Option<StatusResponse> {
    match parse(line)? {
        Response::UntaggedStatus(s) if matches!(s.status, Status::Ok | Status::PreAuth | Status::Bye) => {
            Some(s)
        }
        _ => None,
    }
}

/// Whether `head`, the first bytes a server sent, can still begin a greeting;
/// a peer that sends anything else is not IMAP, and is told apart at once.
pub fn may_be_greeting(head: &[u8]) -> bool {
    const START: &[u8] = b"* ";
    let n = head.len().min(START.len());
    head.get(..n) == START.get(..n)
}

fn status_response(status: Status, rest: &str) -> StatusResponse {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('[')
        && let Some(end) = inner.find(']')
    {
        let code = inner.get(..end).unwrap_or_default();
        let (atom, args) = split_word(code);
        let text = inner.get(end + 1..).unwrap_or_default().trim().to_string();
        return StatusResponse { status, code: Some((atom.to_string(), args.to_string())), text };
    }
    StatusResponse { status, code: None, text: rest.trim().to_string() }
}

/// The first space-separated word and the rest (leading spaces trimmed).
fn split_word(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(at) => (s.get(..at).unwrap_or_default(), s.get(at + 1..).unwrap_or_default().trim_start()),
        None => (s, ""),
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_string).collect()
}

/// ASTRING-CHAR minus `+` as a tag allows (RFC 3501 §9 `tag`).
fn is_tag_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// Whether `caps` holds `name`, case-insensitively.
pub fn has(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        let g = greeting("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN LOGINDISABLED] Dovecot ready.")
            .expect("a greeting");
        assert_eq!(g.status, Status::Ok);
        assert_eq!(g.text, "Dovecot ready.");
        assert_eq!(g.capabilities().expect("caps"), ["IMAP4rev1", "STARTTLS", "AUTH=PLAIN", "LOGINDISABLED"]);
        assert_eq!(
            greeting("* PREAUTH IMAP4rev1 server logged in as Smith").map(|g| g.status),
            Some(Status::PreAuth)
        );
        let bye = greeting("* BYE Autologout; idle for too long").expect("bye");
        assert_eq!((bye.status, bye.text.as_str()), (Status::Bye, "Autologout; idle for too long"));
        assert_eq!(
            greeting("* ok lower case"),
            Some(StatusResponse { status: Status::Ok, code: None, text: "lower case".into() })
        );
        // Not IMAP: an SMTP banner, a RESP error, a tagged line, untagged data.
        for other in ["220 mail ESMTP Exim", "-ERR unknown command", "a1 OK done", "* 3 EXISTS", "", "*"] {
            assert_eq!(greeting(other), None, "{other:?}");
        }
    }

    #[test]
    fn greeting_prefix() {
        assert!(may_be_greeting(b""));
        assert!(may_be_greeting(b"*"));
        assert!(may_be_greeting(b"* OK"));
        assert!(!may_be_greeting(b"INFO {"));
        assert!(!may_be_greeting(b"220 "));
        assert!(!may_be_greeting(b"*\t"));
    }

    #[test]
    fn tagged_and_codes() {
        let r = parse("a3 NO [NONEXISTENT] Mailbox doesn't exist: Nope").expect("parsed");
        let Response::Tagged(tag, s) = r else { panic!("{r:?}") };
        assert_eq!(tag, "a3");
        assert_eq!(
            (s.status, s.code_atom(), s.text.as_str()),
            (Status::No, "NONEXISTENT".into(), "Mailbox doesn't exist: Nope")
        );
        assert_eq!(s.shown(), "NO [NONEXISTENT] Mailbox doesn't exist: Nope");

        let r = parse("a2 OK [CAPABILITY IMAP4rev1 SASL-IR] Logged in").expect("parsed");
        let Response::Tagged(_, s) = r else { panic!("{r:?}") };
        assert_eq!(s.capabilities().expect("caps"), ["IMAP4rev1", "SASL-IR"]);

        let r = parse("a4 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).").expect("parsed");
        let Response::Tagged(_, s) = r else { panic!("{r:?}") };
        assert_eq!((s.code_atom(), s.code.as_ref().map(|c| c.1.as_str())), ("READ-ONLY".into(), Some("")));

        assert_eq!(
            parse("A0001 bad Error in IMAP command"),
            Some(Response::Tagged(
                "A0001".into(),
                StatusResponse { status: Status::Bad, code: None, text: "Error in IMAP command".into() }
            ))
        );
        // An unclosed code is text.
        let Some(Response::Tagged(_, s)) = parse("a1 NO [oops") else { panic!() };
        assert_eq!((s.code, s.text.as_str()), (None, "[oops"));
        // A tag cannot hold `*`, `+`, quotes or parentheses, nor be a word that is no status.
        assert_eq!(parse("a(1 OK x"), None);
        assert_eq!(parse("a1 MAYBE x"), None);
        assert_eq!(parse("a1 PREAUTH x"), None);
    }

    #[test]
    fn untagged_data() {
        assert_eq!(parse("* 172 EXISTS"), Some(Response::Exists(172)));
        assert_eq!(parse("* 0 exists"), Some(Response::Exists(0)));
        assert_eq!(parse("* 1 RECENT"), Some(Response::Data("1 RECENT".into())));
        assert_eq!(
            parse("* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN"),
            Some(Response::Capability(vec!["IMAP4rev1".into(), "LITERAL+".into(), "AUTH=PLAIN".into()]))
        );
        assert_eq!(
            parse("* FLAGS (\\Answered \\Seen)"),
            Some(Response::Data("FLAGS (\\Answered \\Seen)".into()))
        );
        assert_eq!(parse("+ "), Some(Response::Continue(String::new())));
        assert_eq!(
            parse("+ Ready for literal data"),
            Some(Response::Continue("Ready for literal data".into()))
        );
        assert_eq!(parse("+"), Some(Response::Continue(String::new())));
        let Some(Response::UntaggedStatus(s)) = parse("* OK [UIDVALIDITY 3857529045] UIDs valid") else {
            panic!()
        };
        assert_eq!(s.code, Some(("UIDVALIDITY".into(), "3857529045".into())));
        assert_eq!(
            parse("* 18446744073709551616 EXISTS"),
            Some(Response::Data("18446744073709551616 EXISTS".into()))
        );
    }

    #[test]
    fn capability_lookup() {
        let caps = words("IMAP4rev1 starttls AUTH=PLAIN");
        assert!(has(&caps, "STARTTLS"));
        assert!(has(&caps, "auth=plain"));
        assert!(!has(&caps, "LOGINDISABLED"));
    }
}
