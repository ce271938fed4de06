//! A private Exim (Debian's `exim4-daemon-light`) for the smtp probe: its
//! own config file (`exim4 -C FILE -bdf`, a daemon in the foreground) with
//! its spool, logs and pid file in its temp dir, listening on free loopback
//! ports for SMTP (STARTTLS when TLS is on) and SMTPS. It accepts no mail
//! (every RCPT is denied); AUTH PLAIN and LOGIN accept one fixed user.
//!
//! Run as root (CI), Exim keeps root for the daemon but serves each
//! connection as `Debian-exim`, which must own the spool and log
//! directory and read the TLS key: the fixture copies the certificate and
//! key into its own directory and gives them to that user. Exim refuses
//! `-bd` to users outside its admin group, so anyone else skips (outside CI).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::certs::Pair;
use crate::spawned::Spawned;

pub const USER: &str = "probe";
pub const PASSWORD: &str = "smtp-probe-s3cret";

/// When the server advertises AUTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Over plaintext too.
    Always,
    /// Only after STARTTLS (or over SMTPS), as a submission server does.
    TlsOnly,
    /// Over plaintext too, and only the LOGIN mechanism.
    LoginOnly,
}

pub struct Exim {
    /// The SMTP port (STARTTLS when TLS is on).
    pub port: u16,
    /// The SMTPS port (implicit TLS), when TLS is on.
    pub smtps_port: u16,
    process: Spawned,
}

struct Options<'a> {
    tls: Option<(&'a Pair, &'a Path, bool)>,
    auth: Auth,
    refuse: bool,
}

impl Exim {
    /// A server without TLS, AUTH in the clear. None (skip) when Exim is
    /// not installed, outside CI.
    pub fn plain() -> Option<Self> {
        Self::start(Options { tls: None, auth: Auth::Always, refuse: false })
    }

    /// A server without TLS that offers only AUTH LOGIN.
    pub fn login_only() -> Option<Self> {
        Self::start(Options { tls: None, auth: Auth::LoginOnly, refuse: false })
    }

    /// A server that refuses every session at its greeting (554).
    pub fn refusing() -> Option<Self> {
        Self::start(Options { tls: None, auth: Auth::Always, refuse: true })
    }

    /// A server with `pair` as its certificate; with `demand_client_cert`,
    /// only clients whose certificate chains to `ca` get through TLS.
    pub fn with_tls(pair: &Pair, ca: &Path, auth: Auth, demand_client_cert: bool) -> Option<Self> {
        Self::start(Options { tls: Some((pair, ca, demand_client_cert)), auth, refuse: false })
    }

    /// Its main log so far, for a failing assertion.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.process.dir.join("mainlog")).unwrap_or_default()
    }

    fn start(options: Options) -> Option<Self> {
        let dir = Spawned::temp_dir("exim");
        let as_root = std::fs::metadata(&dir).is_ok_and(|m| m.uid() == 0);
        if !as_root && !crate::in_ci() {
            // Exim starts a daemon (-bd) only for root and its admin group.
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!("SKIPPED: exim4 -bd needs root (or the Debian-exim group)");
            return None;
        }
        let d = dir.display().to_string();
        let mut tls = String::from("tls_advertise_hosts =\n");
        if let Some((pair, ca, demand)) = options.tls {
            std::fs::copy(&pair.cert_file, dir.join("cert.pem")).expect("copying the certificate");
            std::fs::copy(&pair.key_file, dir.join("key.pem")).expect("copying the key");
            std::fs::copy(ca, dir.join("ca.pem")).expect("copying the CA");
            tls = format!(
                "tls_advertise_hosts = *\ntls_certificate = {d}/cert.pem\ntls_privatekey = {d}/key.pem\n"
            );
            if demand {
                tls.push_str(&format!("tls_verify_hosts = *\ntls_verify_certificates = {d}/ca.pem\n"));
            }
        }
        let advertise = match options.auth {
            Auth::Always | Auth::LoginOnly => "*",
            Auth::TlsOnly => "${if eq{$tls_in_cipher}{}{}{*}}",
        };
        let connect = if options.refuse { "acl_smtp_connect = acl_connect\n" } else { "" };
        if as_root {
            chown_all(&dir, "Debian-exim");
        }
        let config = dir.join("exim.conf");
        let smtps = std::cell::Cell::new(0);
        let with_tls = options.tls.is_some();
        let plain = format!(
            "PLAIN:\n  driver = plaintext\n  public_name = PLAIN\n  server_prompts = :\n  \
             server_condition = ${{if and {{{{eq{{$auth2}}{{{USER}}}}}{{eq{{$auth3}}{{{PASSWORD}}}}}}}}}\n  \
             server_set_id = $auth2\n"
        );
        let plain = if options.auth == Auth::LoginOnly { String::new() } else { plain };
        let process = Spawned::start("exim4", dir.clone(), |port| {
            smtps.set(crate::closed_port());
            let listen = if with_tls {
                format!(
                    "local_interfaces = <; 127.0.0.1.{port} ; 127.0.0.1.{0}\ntls_on_connect_ports = {0}\n",
                    smtps.get()
                )
            } else {
                format!("local_interfaces = <; 127.0.0.1.{port}\n")
            };
            let text = format!(
                "primary_hostname = sonde-test.example\nspool_directory = {d}/spool\n\
                 log_file_path = {d}/%slog\npid_file_path = {d}/exim-{port}.pid\nkeep_environment =\n\
                 {listen}{tls}auth_advertise_hosts = {advertise}\n{connect}acl_smtp_rcpt = acl_rcpt\n\
                 begin acl\nacl_connect:\n  deny message = 554 5.7.1 sonde test server refuses every session\n\
                 acl_rcpt:\n  deny\n\
                 begin authenticators\n\
                 {plain}\
                 LOGIN:\n  driver = plaintext\n  public_name = LOGIN\n  server_prompts = <| Username: | Password:\n\
                 \x20 server_condition = ${{if and {{{{eq{{$auth1}}{{{USER}}}}}{{eq{{$auth2}}{{{PASSWORD}}}}}}}}}\n\
                 \x20 server_set_id = $auth1\n"
            );
            std::fs::write(&config, text).expect("writing exim.conf");
            vec!["-C".to_string(), config.display().to_string(), "-bdf".to_string()]
        })?;
        let smtps_port = if with_tls { smtps.get() } else { 0 };
        if smtps_port != 0 {
            crate::spawned::wait_port(smtps_port, "exim4");
        }
        Some(Self { port: process.port, smtps_port, process })
    }
}

/// Gives `path` and everything in it to `user` (with `chown`, which takes a name).
fn chown_all(path: &Path, user: &str) {
    let out = std::process::Command::new("chown")
        .args(["-R", &format!("{user}:{user}")])
        .arg(path)
        .output()
        .expect("running chown");
    assert!(out.status.success(), "chown: {}", String::from_utf8_lossy(&out.stderr));
}

impl Drop for Exim {
    /// Before the daemon is killed and its directory removed (by
    /// [`Spawned`]): the processes serving the last connections log its end
    /// a moment after the client's QUIT, and Exim would make the removed
    /// directory again for that line. They run in its spool, so wait
    /// (briefly) until only the daemon does.
    fn drop(&mut self) {
        for _ in 0..200 {
            if in_dir(&self.process.dir) <= 1 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// How many processes work in `dir` or below (Exim works in its spool).
fn in_dir(dir: &Path) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir)))
        .count()
}
