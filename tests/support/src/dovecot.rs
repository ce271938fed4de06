//! A private Dovecot (Debian's `dovecot-imapd`) for the imap probe: its own
//! config file, run in the foreground (`dovecot -c FILE -F`), listening on
//! free loopback ports for IMAP (STARTTLS when TLS is on) and IMAPS, with
//! a passwd-file of fixed users and Maildirs in its temp dir.
//!
//! Run as root (CI), Dovecot refuses to run its login processes or mail
//! processes as root: the login processes run as Debian's `dovenull`, the
//! internal ones as `dovecot`, and the mail processes as `nobody`, who owns
//! the Maildirs. Run as anyone else, everything runs as that user.
//!
//! Dovecot delays the next login from an address that failed before (its
//! auth penalty: 0.5 s, then seconds more with each failure, with no
//! setting to turn it off), so a test tries one wrong password per server.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::certs::Pair;
use crate::spawned::Spawned;

/// The user every scenario logs in as, and its password.
pub const USER: &str = "probe";
pub const PASSWORD: &str = "imap-probe-s3cret";
/// A user whose password needs escaping inside an IMAP quoted string.
pub const QUOTED_USER: (&str, &str) = ("quoted", r#"q"uo\te d"#);
/// A user whose password is not ASCII, so it must travel as a literal.
pub const LITERAL_USER: (&str, &str) = ("literal", "pässwörd");
/// Messages in INBOX, and a folder (non-ASCII name) with one message.
pub const INBOX_MESSAGES: u64 = 2;
pub const FOLDER: &str = "Entwürfe";
/// The address at which an [`Ssl::Required`] server disables plaintext login.
pub const REQUIRED_HOST: &str = "127.0.0.2";

/// How the server does TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ssl {
    /// No TLS at all: no STARTTLS, no IMAPS.
    Off,
    /// STARTTLS offered on the IMAP port, and IMAPS.
    On,
    /// As `On`, and login only over TLS: the plaintext port says
    /// LOGINDISABLED. Dovecot counts a connection whose two ends have the
    /// same address as secure, so this one also listens on 127.0.0.2
    /// ([`REQUIRED_HOST`]), where a client from 127.0.0.1 is not.
    Required,
    /// As `On`, and only clients with a certificate from the CA log in.
    ClientCert,
}

pub struct Dovecot {
    /// The IMAP port (STARTTLS when TLS is on).
    pub port: u16,
    /// The IMAPS port (implicit TLS), when TLS is on.
    pub imaps_port: u16,
    process: Spawned,
}

impl Dovecot {
    /// A server without TLS. None (skip) when Dovecot is not installed,
    /// outside CI.
    pub fn plain() -> Option<Self> {
        Self::start(Ssl::Off, None, None, None)
    }

    /// A server without TLS that announces `capability` (`imap_capability`:
    /// Dovecot adds its AUTH= mechanisms) instead of its own, for the
    /// client's other paths: no LITERAL+, no SASL-IR, LOGINDISABLED.
    pub fn with_capability(capability: &str) -> Option<Self> {
        Self::start(Ssl::Off, None, None, Some(capability))
    }

    /// A server with `pair` as its certificate; `ca` verifies clients'
    /// certificates with [`Ssl::ClientCert`].
    pub fn with_tls(pair: &Pair, ca: &Path, ssl: Ssl) -> Option<Self> {
        Self::start(ssl, Some(pair), Some(ca), None)
    }

    /// Its log so far, for a failing assertion.
    pub fn log(&self) -> String {
        std::fs::read_dir(&self.process.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect()
    }

    fn start(ssl: Ssl, pair: Option<&Pair>, ca: Option<&Path>, capability: Option<&str>) -> Option<Self> {
        let dir = Spawned::temp_dir("dovecot");
        let as_root = std::fs::metadata(&dir).is_ok_and(|m| m.uid() == 0);
        // The mail processes' user: never root (Dovecot refuses uid 0).
        let (uid, gid) = if as_root { (65534, 65534) } else { owner(&dir) };
        let home = dir.join("home");
        let mut passwd = String::new();
        for (user, password) in [(USER, PASSWORD), QUOTED_USER, LITERAL_USER] {
            passwd.push_str(&format!("{user}:{{PLAIN}}{password}:{uid}:{gid}::{}/{user}\n", home.display()));
            maildir(&home.join(user).join("Maildir"), INBOX_MESSAGES);
            maildir(&home.join(user).join("Maildir").join(".Entw&APw-rfe"), 1);
        }
        std::fs::write(dir.join("passwd"), passwd).expect("writing passwd");
        if as_root {
            chown_all(&home, uid, gid);
        }

        let tls = match (ssl, pair) {
            (Ssl::Off, _) | (_, None) => "ssl = no\n".to_string(),
            (_, Some(pair)) => {
                let mut text = format!(
                    "ssl = {}\nssl_cert = <{}\nssl_key = <{}\nssl_min_protocol = TLSv1.2\n",
                    if ssl == Ssl::Required { "required" } else { "yes" },
                    pair.cert_file.display(),
                    pair.key_file.display()
                );
                if let (Ssl::ClientCert, Some(ca)) = (ssl, ca) {
                    text.push_str(&format!(
                        "ssl_ca = <{}\nssl_verify_client_cert = yes\nauth_ssl_require_client_cert = yes\n\
                         ssl_require_crl = no\n",
                        ca.display()
                    ));
                }
                text
            }
        };
        let users = if as_root {
            "default_login_user = dovenull\ndefault_internal_user = dovecot\n".to_string()
        } else {
            let me = whoami(&dir);
            format!("default_login_user = {me}\ndefault_internal_user = {me}\n")
        };
        let mut extra = capability.map(|c| format!("imap_capability = {c}\n")).unwrap_or_default();
        let addresses = if ssl == Ssl::Required { "127.0.0.1, 127.0.0.2" } else { "127.0.0.1" };
        extra.push_str(&format!("listen = {addresses}\n"));
        let config = dir.join("dovecot.conf");
        let d = dir.display().to_string();
        let imaps = std::cell::Cell::new(0);
        let process = Spawned::start("dovecot", dir.clone(), |port| {
            imaps.set(crate::closed_port());
            let imaps_listener = if ssl == Ssl::Off {
                String::new()
            } else {
                format!(
                    "  inet_listener imaps {{\n    address = {addresses}\n    port = {}\n    ssl = yes\n  }}\n",
                    imaps.get()
                )
            };
            let text = format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\ninstance_name = sonde-{port}\n\
                 log_path = /dev/stderr\nprotocols = imap\n{extra}{tls}{users}\
                 disable_plaintext_auth = no\nauth_mechanisms = plain login\nauth_failure_delay = 0\n\
                 first_valid_uid = 1\nmail_location = maildir:~/Maildir\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
                 userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/passwd\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = {addresses}\n    port = {port}\n  }}\n\
                 {imaps_listener}}}\n"
            );
            std::fs::write(&config, text).expect("writing dovecot.conf");
            vec!["-c".to_string(), config.display().to_string(), "-F".to_string()]
        })?;
        let imaps_port = if ssl == Ssl::Off { 0 } else { imaps.get() };
        if imaps_port != 0 {
            crate::spawned::wait_port(imaps_port, "dovecot");
        }
        ready(process.port);
        Some(Self { port: process.port, imaps_port, process })
    }
}

/// A Maildir with `messages` small messages in `new/`.
fn maildir(path: &Path, messages: u64) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(path.join(sub)).expect("creating a Maildir");
    }
    for i in 0..messages {
        let text = format!("From: a@example.invalid\r\nSubject: message {i}\r\n\r\nbody {i}\r\n");
        std::fs::write(path.join("new").join(format!("100000000{i}.M1P1.sonde")), text).expect("a message");
    }
}

fn chown_all(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir").flatten() {
            chown_all(&entry.path(), uid, gid);
        }
    }
}

fn owner(path: &Path) -> (u32, u32) {
    let m = std::fs::metadata(path).expect("metadata");
    (m.uid(), m.gid())
}

/// The name of the user running the tests (Dovecot's settings want names).
fn whoami(dir: &Path) -> String {
    let out = std::process::Command::new("id").arg("-un").current_dir(dir).output().expect("running id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until Dovecot greets as ready: just started, it may greet "Waiting
/// for authentication process to respond" first, and a test that reads the
/// greeting would see that.
fn ready(port: u16) {
    use std::io::Read;
    let started = std::time::Instant::now();
    loop {
        let mut greeting = [0u8; 256];
        let n = std::net::TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut s| {
                s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
                s.read(&mut greeting)
            })
            .unwrap_or(0);
        if String::from_utf8_lossy(greeting.get(..n).unwrap_or_default()).contains("ready") {
            return;
        }
        assert!(started.elapsed().as_secs() < 10, "dovecot never greeted as ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
