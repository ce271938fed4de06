//! A private OpenLDAP `slapd` for the ldap probe's tests: its own cn=config
//! (`slapd.d`, converted by `slaptest` from a `slapd.conf` written here),
//! an mdb database in its temporary directory loaded by `slapadd`, a
//! generated admin password hashed by `slappasswd`, and listeners on free
//! loopback ports only: `ldap://` always (with StartTLS when it has a
//! certificate) and `ldaps://` with a certificate. Debian's own slapd
//! (port 389, if its postinst started one) is never used.
//!
//! The directory (suffix [`SUFFIX`]):
//!
//! | entry | who sees it |
//! | --- | --- |
//! | `dc=sonde,dc=test` | everyone (read) |
//! | `ou=people` with `uid=reader` ([`READER_DN`]), `uid=alice`, `uid=bob` | everyone; passwords only for binding |
//! | `ou=groups` ([`GROUPS_DN`]) with [`GROUPS_CHILDREN`] `cn=groupNNN` roles: more than the probe counts | everyone |
//! | `ou=secret` ([`SECRET_DN`]) | `disclose` only: a base search of it is insufficientAccessRights (50) |
//!
//! The rootdn ([`ADMIN_DN`]) is above access control and sees all of it.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::certs::Pair;
use crate::in_ci;
use crate::spawned::Spawned;

pub const SUFFIX: &str = "dc=sonde,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=sonde,dc=test";
pub const PEOPLE_DN: &str = "ou=people,dc=sonde,dc=test";
pub const READER_DN: &str = "uid=reader,ou=people,dc=sonde,dc=test";
pub const SECRET_DN: &str = "ou=secret,dc=sonde,dc=test";
/// Entries directly under [`SUFFIX`], as the rootdn ([`ADMIN_DN`]) sees
/// them: access control does not apply to it.
pub const SUFFIX_CHILDREN: u64 = 3;
/// Entries directly under [`SUFFIX`] that everyone else sees (`ou=secret`
/// is hidden from their searches).
pub const SUFFIX_VISIBLE_CHILDREN: u64 = 2;
/// Entries directly under [`PEOPLE_DN`].
pub const PEOPLE_CHILDREN: u64 = 3;
pub const GROUPS_DN: &str = "ou=groups,dc=sonde,dc=test";
/// Entries directly under [`GROUPS_DN`]: one more than the ldap probe's
/// one-level count stops at.
pub const GROUPS_CHILDREN: u64 = 101;

/// What the server offers beyond plaintext binds.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Whether an anonymous bind is accepted (else inappropriateAuthentication, 48).
    pub anonymous: bool,
    /// The certificate for StartTLS and an `ldaps://` listener, the CA
    /// file, and whether a client certificate chaining to it is demanded.
    pub tls: Option<(&'a Pair, &'a Path, bool)>,
}

/// A running private slapd; dropping it stops it and removes its files.
pub struct Slapd {
    /// The `ldap://` port (StartTLS too, with a certificate).
    pub port: u16,
    /// The `ldaps://` port, with a certificate.
    pub ldaps_port: Option<u16>,
    /// The rootdn's ([`ADMIN_DN`]) password, made for this server.
    pub admin_password: String,
    /// [`READER_DN`]'s password, made for this server.
    pub reader_password: String,
    process: Spawned,
}

impl Slapd {
    /// Plaintext only, anonymous binds accepted. None (skip) when slapd is
    /// not installed, outside CI.
    pub fn start() -> Option<Self> {
        Self::with(Options { anonymous: true, tls: None })
    }

    /// Plaintext only, anonymous binds refused.
    pub fn without_anonymous() -> Option<Self> {
        Self::with(Options { anonymous: false, tls: None })
    }

    /// StartTLS and LDAPS with `pair`; with `demand_client_cert`, only for
    /// clients whose certificate chains to `ca`.
    pub fn with_tls(pair: &Pair, ca: &Path, demand_client_cert: bool) -> Option<Self> {
        Self::with(Options { anonymous: true, tls: Some((pair, ca, demand_client_cert)) })
    }

    pub fn with(options: Options<'_>) -> Option<Self> {
        let dir = Spawned::temp_dir("slapd");
        let (admin_password, reader_password) = (generated(), generated());
        let Some(admin_hash) = slappasswd(&admin_password) else {
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        };
        let reader_hash = slappasswd(&reader_password)?;

        std::fs::create_dir_all(dir.join("db")).expect("db dir");
        std::fs::create_dir_all(dir.join("slapd.d")).expect("slapd.d");
        std::fs::write(dir.join("slapd.conf"), slapd_conf(&dir, &options, &admin_hash)).expect("slapd.conf");
        std::fs::write(dir.join("data.ldif"), data_ldif(&reader_hash)).expect("data.ldif");
        // The entries first, read with the file's config; then cn=config
        // from the same file. (`slaptest` converts only a config whose
        // database opens, and `-u`, which skips that, writes nothing.)
        let conf = dir.join("slapd.conf");
        run(Command::new("slapadd").arg("-f").arg(&conf).arg("-l").arg(dir.join("data.ldif")));
        run(Command::new("slaptest").arg("-f").arg(&conf).arg("-F").arg(dir.join("slapd.d")));

        let config = dir.join("slapd.d");
        let ldaps = Cell::new(None);
        let with_ldaps = options.tls.is_some();
        let process = Spawned::start("slapd", dir, |port| {
            let mut urls = format!("ldap://127.0.0.1:{port}/");
            ldaps.set(None);
            if with_ldaps {
                let second = crate::closed_port();
                urls.push_str(&format!(" ldaps://127.0.0.1:{second}/"));
                ldaps.set(Some(second));
            }
            // `-d`: stay in the foreground (and log connections to our log
            // file), so the test owns the process.
            ["-d", "stats", "-F", &config.display().to_string(), "-h", &urls].map(String::from).to_vec()
        })?;
        let ldaps_port = ldaps.get();
        if let Some(p) = ldaps_port {
            wait_listening(p);
        }
        Some(Self { port: process.port, ldaps_port, admin_password, reader_password, process })
    }

    /// The server's own log (slapd's `stats` lines), for a failure message.
    pub fn log(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(&self.process.dir).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        text
    }

    /// Runs `ldapsearch -x ARGS…` (ldap-utils) with `env`, e.g.
    /// `LDAPTLS_CACERT`.
    pub fn ldapsearch(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new("ldapsearch");
        cmd.arg("-x").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("ldapsearch (ldap-utils) is installed")
    }

    /// `ldap://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }
}

/// A password for one server: 24 hex digits from the process's random
/// hasher keys (std's own randomness, no crate needed).
fn generated() -> String {
    let word = || {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        h.finish()
    };
    format!("{:016x}{:08x}", word(), word() as u32)
}

/// `{SSHA}` of `password`, or None (skip) when slapd is not installed.
fn slappasswd(password: &str) -> Option<String> {
    match Command::new("slappasswd").args(["-h", "{SSHA}", "-s", password]).output() {
        Ok(out) => {
            assert!(out.status.success(), "slappasswd: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !in_ci() => {
            eprintln!("SKIPPED: slappasswd (slapd) is not installed");
            None
        }
        Err(e) => panic!("running slappasswd: {e}"),
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn slapd_conf(dir: &Path, options: &Options<'_>, admin_hash: &str) -> String {
    let path = |p: PathBuf| p.display().to_string();
    let mut conf = String::new();
    for schema in ["core", "cosine", "inetorgperson"] {
        conf.push_str(&format!("include /etc/ldap/schema/{schema}.schema\n"));
    }
    conf.push_str(&format!(
        "pidfile {}\nargsfile {}\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n",
        path(dir.join("slapd.pid")),
        path(dir.join("slapd.args"))
    ));
    if !options.anonymous {
        conf.push_str("disallow bind_anon\n");
    }
    if let Some((pair, ca, demand)) = options.tls {
        conf.push_str(&format!(
            "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\nTLSVerifyClient {}\n",
            ca.display(),
            pair.cert_file.display(),
            pair.key_file.display(),
            if demand { "demand" } else { "never" }
        ));
    }
    conf.push_str(&format!(
        "database mdb\nmaxsize 16777216\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\nrootpw {admin_hash}\n\
         directory {}\n\
         access to attrs=userPassword by anonymous auth by self read by * none\n\
         access to dn.subtree=\"{SECRET_DN}\" by * disclose\n\
         access to * by * read\n",
        path(dir.join("db"))
    ));
    conf
}

fn data_ldif(reader_hash: &str) -> String {
    let mut ldif = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: sonde\no: Sonde test\n\n\
         dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: {SECRET_DN}\nobjectClass: organizationalUnit\nou: secret\n\n\
         dn: {READER_DN}\nobjectClass: inetOrgPerson\nuid: reader\ncn: Reader\nsn: Reader\n\
         userPassword: {reader_hash}\n\n"
    );
    for name in ["alice", "bob"] {
        ldif.push_str(&format!(
            "dn: uid={name},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: {name}\nsn: {name}\n\n"
        ));
    }
    for n in 0..GROUPS_CHILDREN {
        ldif.push_str(&format!(
            "dn: cn=group{n:03},{GROUPS_DN}\nobjectClass: organizationalRole\ncn: group{n:03}\n\n"
        ));
    }
    ldif
}

fn wait_listening(port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "slapd's ldaps:// listener on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
