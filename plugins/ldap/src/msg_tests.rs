//! The framing and reading of answers on bytes captured from a real
//! OpenLDAP (Debian's slapd 2.5.13, the fixture of
//! `tests/support/src/slapd.rs`), and the requests' encoding.

use ldap3_proto::proto::LdapSearchScope;

use super::*;

fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16).expect("hex"))
        .collect()
}

fn one(text: &str) -> Response {
    let bytes = hex(text);
    assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())), "{text}");
    parse(&bytes).expect("an LDAPMessage")
}

fn outcome(code: i64, matched_dn: &str, diagnostic: &str) -> Option<Outcome> {
    Some(Outcome { code, matched_dn: matched_dn.into(), diagnostic: diagnostic.into() })
}

#[test]
fn bind_responses_from_slapd() {
    let ok = one("300c02010a61070a010004000400");
    assert_eq!(ok, Response { id: 10, op: op::BIND_RESPONSE, result: outcome(0, "", ""), name: None });
    // invalidCredentials (49): slapd says nothing more.
    let wrong = one("300c02010a61070a013104000400");
    assert_eq!(wrong.result, outcome(49, "", ""));
}

#[test]
fn a_base_search_from_slapd_is_an_entry_then_done() {
    let bytes = hex("301902010b6414041064633d736f6e64652c64633d746573743000 300c02010b65070a010004000400");
    let first = frame_len(&bytes).expect("a frame").expect("complete");
    assert_eq!(first, 27);
    let entry = parse(bytes.get(..first).expect("entry")).expect("entry");
    assert_eq!((entry.id, entry.op, entry.result), (11, op::SEARCH_RESULT_ENTRY, None));
    let done = parse(bytes.get(first..).expect("done")).expect("done");
    assert_eq!((done.op, done.result), (op::SEARCH_RESULT_DONE, outcome(0, "", "")));
}

#[test]
fn failures_from_slapd_keep_their_code_and_matched_dn() {
    // noSuchObject (32) for ou=nope,dc=sonde,dc=test: the deepest entry that exists.
    let missing = one("301c02010b65170a0120041064633d736f6e64652c64633d746573740400");
    assert_eq!(missing.result, outcome(32, "dc=sonde,dc=test", ""));
    // insufficientAccessRights (50): `disclose` but no `search` on the base.
    let denied = one("300c02010b65070a013204000400");
    assert_eq!(denied.result, outcome(50, "", ""));
    // StartTLS to a slapd without certificates: protocolError (2).
    let no_tls =
        one("302a02010a78250a01020400041e756e737570706f7274656420657874656e646564206f7065726174696f6e");
    assert_eq!(no_tls.op, op::EXTENDED_RESPONSE);
    assert_eq!(no_tls.result, outcome(2, "", "unsupported extended operation"));
}

#[test]
fn starttls_accepted_by_slapd() {
    // A slapd with a certificate: success, and no responseName.
    let r = one("300c02010a78070a010004000400");
    assert_eq!(r, Response { id: 10, op: op::EXTENDED_RESPONSE, result: outcome(0, "", ""), name: None });
}

#[test]
fn a_result_code_without_a_name_is_still_read() {
    // The bind response above with resultCode 4242 (two bytes).
    let r = one("300d02010a61080a02109204000400");
    assert_eq!(r.result, outcome(4242, "", ""));
}

#[test]
fn an_extended_response_name_is_read() {
    // A Notice of Disconnection: messageID 0, unavailable (52), its OID in [10].
    let mut body = hex("0a0134 0400 0400");
    body.push(0x8a);
    body.push(NOTICE_OF_DISCONNECTION.len() as u8);
    body.extend_from_slice(NOTICE_OF_DISCONNECTION.as_bytes());
    let mut op = vec![0x78, body.len() as u8];
    op.extend(body);
    let mut msg = vec![0x30, (op.len() + 3) as u8, 0x02, 0x01, 0x00];
    msg.extend(op);
    let r = parse(&msg).expect("a notice");
    assert_eq!((r.id, r.name.as_deref()), (0, Some(NOTICE_OF_DISCONNECTION)));
    assert_eq!(r.result.map(|o| o.code), Some(52));
}

#[test]
fn framing_waits_for_a_header_and_refuses_what_is_not_ldap() {
    assert_eq!(frame_len(b""), Ok(None));
    assert_eq!(frame_len(&[0x30]), Ok(None));
    assert_eq!(frame_len(&[0x30, 0x82, 0x01]), Ok(None));
    assert_eq!(frame_len(&[0x30, 0x82, 0x01, 0x00]), Ok(Some(260)));
    // Redis's answer to a line it cannot run, and TLS's alert record.
    assert!(frame_len(b"-ERR unknown command").is_err());
    assert!(frame_len(&[0x15, 0x03, 0x03]).is_err());
    // Indefinite and absurd lengths.
    assert!(frame_len(&[0x30, 0x80]).is_err());
    assert!(frame_len(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]).is_err());
}

#[test]
fn garbage_inside_a_frame_is_an_error_not_a_panic() {
    for bytes in
        [&b"\x30\x03\x02\x01\x01"[..], b"\x30\x05\x04\x01a\x61\x00", b"\x30\x00", b"\x30\x03\x63\x01\x00"]
    {
        assert!(parse(bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn requests_encode_as_slapd_reads_them() {
    // Byte for byte the requests slapd answered above (written by hand from
    // RFC 4511); messageID 10 puts a line feed in the first request (see
    // `conn::FIRST_ID`).
    assert_eq!(bind(10, "", ""), hex("300c02010a600702010304008000"));
    assert!(bind(10, "cn=admin,dc=sonde,dc=test", "pw").contains(&b'\n'));
    let base = "dc=sonde,dc=test";
    assert_eq!(
        search(11, base, LdapSearchScope::Base, 0, 0),
        hex("303a02010b6335041064633d736f6e64652c64633d746573740a01000a0100020100020100010100\
             870b6f626a656374436c61737330050403312e31")
    );
    // One level, size limit 100, time limit 1.
    assert_eq!(
        search(12, base, LdapSearchScope::OneLevel, 100, 1),
        hex("303a02010c6335041064633d736f6e64652c64633d746573740a01010a0100020164020101010100\
             870b6f626a656374436c61737330050403312e31")
    );
    assert_eq!(start_tls(10), hex("301d02010a77188016312e332e362e312e342e312e313436362e3230303337"));
    assert_eq!(unbind(13), hex("300502010d4200"));
}
