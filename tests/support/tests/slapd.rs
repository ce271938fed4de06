//! The private slapd itself, as OpenLDAP's own client (`ldapsearch` from
//! ldap-utils) sees it: binds, the entries and their access, StartTLS and
//! LDAPS with the throwaway certificate, anonymous binds refused when told.
//! Outside CI a missing slapd skips with a printed reason; under `CI=true`
//! it fails.

use std::process::Output;

use sonde_test_support::certs::{Leaf, TestCa};
use sonde_test_support::slapd::{
    ADMIN_DN, GROUPS_CHILDREN, GROUPS_DN, PEOPLE_DN, READER_DN, SECRET_DN, SUFFIX, Slapd,
};
use sonde_test_support::spawned::Spawned;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `ldapsearch`'s exit status is the LDAP result code.
fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code")
}

#[test]
fn slapd_binds_searches_and_guards_its_entries() {
    let Some(slapd) = Slapd::start() else { return };
    let url = slapd.url();
    let base = |bind: &[&str], dn: &str, scope: &str| {
        let mut args = vec!["-H", &url, "-b", dn, "-s", scope, "-LLL"];
        args.extend_from_slice(bind);
        args.push("1.1");
        slapd.ldapsearch(&args, &[])
    };

    let anonymous = base(&[], SUFFIX, "one");
    assert_eq!(code(&anonymous), 0, "{}", text(&anonymous));
    let children = text(&anonymous);
    assert!(children.contains(PEOPLE_DN) && !children.contains(SECRET_DN), "{children}");

    let admin = ["-D", ADMIN_DN, "-w", &slapd.admin_password];
    let r = base(&admin, PEOPLE_DN, "one");
    assert_eq!((code(&r), text(&r).matches("dn: uid=").count()), (0, 3), "{}", text(&r));
    let r = base(&[], GROUPS_DN, "one");
    assert_eq!(text(&r).matches("dn: cn=group").count() as u64, GROUPS_CHILDREN, "{}", text(&r));
    let reader = ["-D", READER_DN, "-w", &slapd.reader_password];
    assert_eq!(code(&base(&reader, SUFFIX, "base")), 0);

    let wrong = ["-D", READER_DN, "-w", "wrong-password"];
    assert_eq!(code(&base(&wrong, SUFFIX, "base")), 49, "invalidCredentials");
    assert_eq!(code(&base(&reader, &format!("ou=missing,{SUFFIX}"), "base")), 32, "noSuchObject");
    assert_eq!(code(&base(&reader, SECRET_DN, "base")), 50, "insufficientAccessRights");
    // The password hashes are for binding, never for reading.
    let r = slapd.ldapsearch(&["-H", &url, "-b", READER_DN, "-s", "base", "-LLL", "userPassword"], &[]);
    assert!(!text(&r).contains("userPassword"), "{}", text(&r));
    // StartTLS without a certificate: protocolError.
    let r = slapd.ldapsearch(&["-H", &url, "-ZZ", "-b", SUFFIX, "-s", "base", "1.1"], &[]);
    assert_ne!(code(&r), 0, "{}", text(&r));
}

#[test]
fn slapd_can_refuse_anonymous_binds() {
    let Some(slapd) = Slapd::without_anonymous() else { return };
    let url = slapd.url();
    let r = slapd.ldapsearch(&["-H", &url, "-b", SUFFIX, "-s", "base", "1.1"], &[]);
    assert_eq!(code(&r), 48, "inappropriateAuthentication: {}", text(&r));
    let admin = ["-H", &url, "-D", ADMIN_DN, "-w", &slapd.admin_password, "-b", SUFFIX, "-s", "base", "1.1"];
    assert_eq!(code(&slapd.ldapsearch(&admin, &[])), 0);
}

#[test]
fn slapd_speaks_starttls_and_ldaps_with_the_test_certificate() {
    let dir = Spawned::temp_dir("slapd-certs");
    let ca = TestCa::new(&dir);
    let Some(slapd) = Slapd::with_tls(&ca.server(Leaf::Good, "slapd"), &ca.ca_file(), false) else {
        let _ = std::fs::remove_dir_all(dir);
        return;
    };
    let ca_file = ca.ca_file();
    let trust = [("LDAPTLS_CACERT", ca_file.as_path())];
    let url = slapd.url();
    let r = slapd.ldapsearch(&["-H", &url, "-ZZ", "-b", SUFFIX, "-s", "base", "1.1"], &trust);
    assert_eq!(code(&r), 0, "StartTLS: {}\n{}", text(&r), slapd.log());
    let ldaps = format!("ldaps://127.0.0.1:{}", slapd.ldaps_port.expect("an ldaps port"));
    let r = slapd.ldapsearch(&["-H", &ldaps, "-b", SUFFIX, "-s", "base", "1.1"], &trust);
    assert_eq!(code(&r), 0, "LDAPS: {}\n{}", text(&r), slapd.log());
    // Not trusted without the CA.
    let r = slapd.ldapsearch(&["-H", &ldaps, "-b", SUFFIX, "-s", "base", "1.1"], &[]);
    assert_ne!(code(&r), 0, "{}", text(&r));
    let _ = std::fs::remove_dir_all(dir);
}
