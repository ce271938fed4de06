//! LDAP messages (RFC 4511 §4): the four requests the probe sends, encoded
//! by `ldap3_proto`, and the answers it reads, framed here and taken apart
//! from `ldap3_lber`'s BER tree.
//!
//! Answers are not handed to `ldap3_proto`'s own decoder because it refuses
//! a whole message over a result code it has no name for (or a response
//! control it does not know), and a health check must report what the
//! server said, by number, whatever it was. Framing is done here so that a
//! peer that is not LDAP is told apart from its first bytes, and a declared
//! length no LDAP answer needs is refused rather than waited for.

use bytes::BytesMut;
use ldap3_lber::common::TagClass;
use ldap3_lber::structure::{PL, StructureTag};
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapExtendedRequest, LdapFilter, LdapMsg, LdapOp,
    LdapSearchRequest, LdapSearchScope,
};

/// Larger answers are not what a server sends to these requests (an entry
/// with no attributes, a result).
pub(crate) const MAX_MESSAGE: usize = 256 * 1024;

/// The StartTLS extended operation (RFC 4511 §4.14.1).
pub(crate) const START_TLS: &str = "1.3.6.1.4.1.1466.20037";
/// The unsolicited Notice of Disconnection (RFC 4511 §4.4.1).
pub(crate) const NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";

/// The protocolOp tags of the answers (`[APPLICATION n]`).
pub(crate) mod op {
    pub const BIND_RESPONSE: u64 = 1;
    pub const SEARCH_RESULT_ENTRY: u64 = 4;
    pub const SEARCH_RESULT_DONE: u64 = 5;
    pub const SEARCH_RESULT_REFERENCE: u64 = 19;
    pub const EXTENDED_RESPONSE: u64 = 24;
    pub const INTERMEDIATE_RESPONSE: u64 = 25;

    /// Operations whose answer begins with an LDAPResult.
    pub(crate) fn has_result(op: u64) -> bool {
        matches!(op, 1 | 5 | 7 | 9 | 11 | 13 | 15 | 24)
    }
}

/// A simple bind (RFC 4511 §4.2): `dn` and `password` both empty is the
/// anonymous bind.
pub(crate) fn bind(id: i32, dn: &str, password: &str) -> Vec<u8> {
    let cred = LdapBindCred::Simple(password.to_string());
    encode(id, LdapOp::BindRequest(LdapBindRequest { version: 3, dn: dn.to_string(), cred }))
}

/// A search of `base` for `(objectClass=*)` that asks for no attributes
/// (`1.1`, RFC 4511 §4.5.1.8): only the entries' names come back.
pub(crate) fn search(
    id: i32,
    base: &str,
    scope: LdapSearchScope,
    size_limit: i32,
    time_limit: i32,
) -> Vec<u8> {
    encode(
        id,
        LdapOp::SearchRequest(LdapSearchRequest {
            base: base.to_string(),
            scope,
            aliases: LdapDerefAliases::Never,
            sizelimit: size_limit,
            timelimit: time_limit,
            typesonly: false,
            filter: LdapFilter::Present("objectClass".to_string()),
            attrs: vec!["1.1".to_string()],
        }),
    )
}

/// The StartTLS extended request.
pub(crate) fn start_tls(id: i32) -> Vec<u8> {
    encode(id, LdapOp::ExtendedRequest(LdapExtendedRequest { name: START_TLS.to_string(), value: None }))
}

pub(crate) fn unbind(id: i32) -> Vec<u8> {
    encode(id, LdapOp::UnbindRequest)
}

fn encode(id: i32, op: LdapOp) -> Vec<u8> {
    let mut out = BytesMut::new();
    let tag: StructureTag = LdapMsg::new(id, op).into();
    // Writing into a growable buffer cannot fail.
    let _ = ldap3_lber::write::encode_into(&mut out, tag);
    out.to_vec()
}

/// The size of the LDAPMessage that `buf` begins with: `Ok(None)` until
/// its header is complete, `Err` when these bytes cannot begin one (an
/// LDAPMessage is a SEQUENCE, `0x30`, with a definite length).
pub(crate) fn frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(&tag) = buf.first() else { return Ok(None) };
    if tag != 0x30 {
        return Err(format!("the first byte is {tag:#04x}, not an LDAPMessage's SEQUENCE (0x30)"));
    }
    let Some(&first) = buf.get(1) else { return Ok(None) };
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(format!("length octet {first:#04x}: not a definite length of 1 to 4 bytes"));
        }
        let Some(bytes) = buf.get(2..2 + n) else { return Ok(None) };
        (2 + n, bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b)))
    };
    if header + len > MAX_MESSAGE {
        return Err(format!("a message of {len} bytes, more than an answer here can need"));
    }
    Ok(Some(header + len))
}

/// One answer from the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub id: i64,
    /// The protocolOp's `[APPLICATION n]` number ([`op`]).
    pub op: u64,
    /// The LDAPResult, for the operations that carry one.
    pub result: Option<Outcome>,
    /// An ExtendedResponse's `responseName`.
    pub name: Option<String>,
}

/// An LDAPResult (RFC 4511 §4.1.9).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub code: i64,
    pub matched_dn: String,
    pub diagnostic: String,
}

/// Takes apart one complete LDAPMessage, as [`frame_len`] delimited it.
pub(crate) fn parse(frame: &[u8]) -> Result<Response, String> {
    let (rest, tag) = ldap3_lber::Parser::default()
        .parse(frame)
        .map_err(|e| format!("not BER: {}", short(&format!("{e:?}"))))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the message", rest.len()));
    }
    let parts = constructed(tag, TagClass::Universal, 16).ok_or("an LDAPMessage is not a SEQUENCE")?;
    // Controls (`[0]`, optional) may follow the op; this probe asks for none.
    let mut parts = parts.into_iter();
    let (Some(id), Some(op)) = (parts.next(), parts.next()) else {
        return Err("an LDAPMessage without a protocolOp".into());
    };
    let id = primitive(id, TagClass::Universal, 2).and_then(|b| integer(&b)).ok_or("no messageID")?;
    if op.class != TagClass::Application {
        return Err(format!("the protocolOp is not an [APPLICATION n] tag but {:?} {}", op.class, op.id));
    }
    let number = op.id;
    if !op::has_result(number) {
        return Ok(Response { id, op: number, result: None, name: None });
    }
    let mut fields = match op.payload {
        PL::C(fields) => fields.into_iter(),
        PL::P(_) => return Err(format!("protocolOp {number} is not constructed")),
    };
    let code = fields
        .next()
        .and_then(|t| primitive(t, TagClass::Universal, 10))
        .and_then(|b| integer(&b))
        .ok_or("an LDAPResult without its resultCode")?;
    let mut text = || fields.next().and_then(|t| primitive(t, TagClass::Universal, 4)).map(utf8);
    let (matched_dn, diagnostic) = (text().unwrap_or_default(), text().unwrap_or_default());
    // An ExtendedResponse's responseName is `[10]`, after an optional referral `[3]`.
    let name = fields
        .find(|t| t.class == TagClass::Context && t.id == 10)
        .and_then(|t| primitive(t, TagClass::Context, 10))
        .map(utf8);
    Ok(Response { id, op: number, result: Some(Outcome { code, matched_dn, diagnostic }), name })
}

fn constructed(tag: StructureTag, class: TagClass, id: u64) -> Option<Vec<StructureTag>> {
    tag.match_class(class)?.match_id(id)?.expect_constructed()
}

fn primitive(tag: StructureTag, class: TagClass, id: u64) -> Option<Vec<u8>> {
    tag.match_class(class)?.match_id(id)?.expect_primitive()
}

/// A BER INTEGER or ENUMERATED of up to 8 bytes, two's complement.
fn integer(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let start = if negative { -1i64 } else { 0 };
    Some(bytes.iter().fold(start, |acc, &b| (acc << 8) | i64::from(b)))
}

fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// At most 200 characters of `text`.
pub(crate) fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
#[path = "msg_tests.rs"]
mod tests;
