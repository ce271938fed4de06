//! Throwaway certificates for the TLS tests, made with rcgen: one private
//! CA and leaves signed by it, each good or wrong in one way, written as
//! PEM files a server can be pointed at.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    SanType,
};
use time::{Duration, OffsetDateTime};

/// What is wrong with a server certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// For 127.0.0.1 and localhost, valid for a year.
    Good,
    /// For `other.example` only.
    OtherName,
    /// Expired yesterday.
    Expired,
    /// Expires in two days.
    TwoDays,
}

/// A CA and, on disk in `dir`, its PEM (`ca.pem`).
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub dir: PathBuf,
}

/// A certificate and its key, as PEM text and as files.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The certificate's `not_after`, RFC 3339 (seconds, `Z`).
    pub not_after: String,
}

impl TestCa {
    pub fn new(dir: &Path) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "Sonde test CA");
        params.not_before = OffsetDateTime::now_utc() - Duration::days(30);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        std::fs::create_dir_all(dir).expect("cert dir");
        std::fs::write(dir.join("ca.pem"), issuer.pem()).expect("ca.pem");
        Self { issuer, dir: dir.to_path_buf() }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A server certificate of kind `leaf`, written as `<name>.pem`/`<name>.key`.
    pub fn server(&self, leaf: Leaf, name: &str) -> Pair {
        let now = OffsetDateTime::now_utc();
        let (sans, not_before, not_after) = match leaf {
            Leaf::Good => (true, now - Duration::days(1), now + Duration::days(365)),
            Leaf::OtherName => (false, now - Duration::days(1), now + Duration::days(365)),
            Leaf::Expired => (true, now - Duration::days(30), now - Duration::days(1)),
            Leaf::TwoDays => (true, now - Duration::days(1), now + Duration::days(2)),
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        if sans {
            params.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
            params.subject_alt_names.push(SanType::DnsName("localhost".try_into().expect("dns name")));
        } else {
            params.subject_alt_names.push(SanType::DnsName("other.example".try_into().expect("dns name")));
        }
        params.distinguished_name.push(DnType::CommonName, format!("sonde test {name}"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params, not_before, not_after, name)
    }

    /// A good server certificate for the DNS names `dns` (and 127.0.0.1),
    /// written as `<name>.pem`/`<name>.key`: a vendor's public host names,
    /// served on loopback to a runtime that resolves them there.
    pub fn server_for(&self, name: &str, dns: &[&str]) -> Pair {
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        for d in dns {
            params.subject_alt_names.push(SanType::DnsName((*d).try_into().expect("dns name")));
        }
        params.distinguished_name.push(DnType::CommonName, format!("sonde test {name}"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params, now - Duration::days(1), now + Duration::days(365), name)
    }

    /// A good server certificate for `ip` alone (a test's own host in a
    /// network namespace), written as `<name>.pem`/`<name>.key`.
    pub fn server_at(&self, name: &str, ip: std::net::IpAddr) -> Pair {
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names.push(SanType::IpAddress(ip));
        params.distinguished_name.push(DnType::CommonName, format!("sonde test {name}"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params, now - Duration::days(1), now + Duration::days(365), name)
    }

    /// A client certificate (for mutual TLS), written as `<name>.pem`/`<name>.key`.
    pub fn client(&self, name: &str) -> Pair {
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params, now - Duration::days(1), now + Duration::days(30), name)
    }

    fn sign(
        &self,
        mut params: CertificateParams,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        name: &str,
    ) -> Pair {
        // Whole seconds: certificates carry no more, and tests compare.
        let not_after = not_after.replace_nanosecond(0).expect("whole second");
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        let cert_file = self.dir.join(format!("{name}.pem"));
        let key_file = self.dir.join(format!("{name}.key"));
        std::fs::write(&cert_file, &cert_pem).expect("cert file");
        std::fs::write(&key_file, &key_pem).expect("key file");
        let t = not_after;
        let not_after = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        Pair { cert_pem, key_pem, cert_file, key_file, not_after }
    }
}
