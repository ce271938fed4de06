//! A private OpenSSH server (Debian's `openssh-server`) for the sftp probe:
//! `sshd -D -e -f CONFIG -p PORT` on loopback with a host key made for it
//! (`ssh-keygen`; ed25519 unless told), `Subsystem sftp internal-sftp`, and a system user
//! of its own that logs in with a password or an ed25519 key.
//!
//! sshd authenticates only real accounts, so each server creates one
//! (`useradd`, its home in the server's directory, its password set with
//! `chpasswd`) and removes it when dropped (`userdel`). `UsePAM no` makes
//! sshd check the password against /etc/shadow itself, so no PAM config is
//! needed; `StrictModes no` lets it read the authorized keys from the temp
//! directory. All of that needs root: anyone else skips (outside CI).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::spawned::Spawned;

/// The password of every server's user.
pub const PASSWORD: &str = "sftp-probe-s3cret";
/// A file in the user's home directory, and its contents.
pub const FILE: &str = "hello.txt";
pub const FILE_TEXT: &str = "hello from sonde\n";

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub port: u16,
    /// The account made for this server.
    pub user: String,
    /// Its home directory (the SFTP session starts there).
    pub home: PathBuf,
    /// The host key's fingerprint, as `ssh-keygen -lf` prints it (`SHA256:…`).
    pub host_key_sha256: String,
    /// The user's private key, OpenSSH PEM text (its public half is authorized).
    pub client_key: String,
    /// Its path, for OpenSSH's own clients.
    pub client_key_file: PathBuf,
    /// The server's directory, for files a test makes.
    pub dir: PathBuf,
    process: Option<Spawned>,
}

impl Sshd {
    /// A server with an ed25519 host key and a fresh user. None (skip)
    /// when sshd is not installed or the test does not run as root, outside CI.
    pub fn start() -> Option<Self> {
        Self::with_host_key("ed25519")
    }

    /// A server whose only host key is of `kind` (`ssh-keygen -t`: ed25519,
    /// ecdsa, rsa), at `dir`/host_key.
    pub fn with_host_key(kind: &str) -> Option<Self> {
        if !Path::new(SSHD).exists() && !crate::in_ci() {
            eprintln!("SKIPPED: {SSHD} is not installed (Debian's openssh-server)");
            return None;
        }
        let dir = Spawned::temp_dir("sshd");
        if !std::fs::metadata(&dir).is_ok_and(|m| m.uid() == 0) {
            let _ = std::fs::remove_dir_all(&dir);
            assert!(!crate::in_ci(), "the sshd fixture needs root");
            eprintln!("SKIPPED: a private sshd with its own user needs root");
            return None;
        }
        // sshd's privilege separation needs this directory (its package
        // makes it only when a system daemon starts).
        std::fs::create_dir_all("/run/sshd").expect("creating /run/sshd");

        let d = dir.display().to_string();
        keygen(kind, &dir.join("host_key"));
        keygen("ed25519", &dir.join("client_ed25519"));
        let host_key_sha256 = fingerprint(&dir.join("host_key.pub"));
        let client_key = std::fs::read_to_string(dir.join("client_ed25519")).expect("reading the client key");

        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let user = format!("sonde-sftp-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let home = dir.join("home");
        add_user(&user, &home);
        std::fs::write(home.join(FILE), FILE_TEXT).expect("writing a file");
        std::fs::create_dir_all(dir.join("authorized")).expect("creating a directory");
        std::fs::copy(dir.join("client_ed25519.pub"), dir.join("authorized").join(&user))
            .expect("authorizing the client key");

        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized/%u\nUsePAM no\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin no\n\
                 StrictModes no\nAllowUsers {user}\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n"
            ),
        )
        .expect("writing sshd_config");
        let process = Spawned::start(SSHD, dir.clone(), |port| {
            ["-D", "-e", "-f", &config.display().to_string(), "-p", &port.to_string()]
                .map(String::from)
                .to_vec()
        });
        let Some(process) = process else {
            del_user(&user);
            return None;
        };
        Some(Self {
            port: process.port,
            user,
            home,
            host_key_sha256,
            client_key,
            client_key_file: dir.join("client_ed25519"),
            dir,
            process: Some(process),
        })
    }

    /// Its log so far (sshd -e logs to stderr), for a failing assertion.
    pub fn log(&self) -> String {
        let port = self.port;
        std::fs::read_to_string(self.dir.join(format!("{port}.log"))).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // The server (and its sessions) first: userdel refuses a user with
        // processes, and the directory goes with the server.
        drop(self.process.take());
        del_user(&self.user);
    }
}

/// A key pair of `kind` without a passphrase at `path` and `path`.pub.
fn keygen(kind: &str, path: &Path) {
    run(Command::new("ssh-keygen").args(["-q", "-t", kind, "-N", "", "-f"]).arg(path));
}

/// `SHA256:…` of a public key file, from `ssh-keygen -lf` ("256 SHA256:… comment (ED25519)").
fn fingerprint(public: &Path) -> String {
    let out = run(Command::new("ssh-keygen").arg("-lf").arg(public));
    out.split_whitespace().nth(1).expect("a fingerprint").to_string()
}

fn add_user(user: &str, home: &Path) {
    // useradd and userdel lock /etc/passwd; servers started at once retry.
    retry(|| Command::new("useradd").args(["-M", "-s", "/bin/sh", "-d"]).arg(home).arg(user).output());
    std::fs::create_dir_all(home).expect("creating the home directory");
    run(Command::new("chown").arg(format!("{user}:")).arg(home));
    let mut chpasswd = Command::new("chpasswd").stdin(Stdio::piped()).spawn().expect("running chpasswd");
    use std::io::Write;
    chpasswd
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{user}:{PASSWORD}\n").as_bytes())
        .expect("writing to chpasswd");
    assert!(chpasswd.wait().expect("chpasswd").success(), "chpasswd failed");
}

fn del_user(user: &str) {
    retry(|| Command::new("userdel").arg(user).output());
}

/// Runs a passwd-database command until it is not locked out by another.
fn retry(command: impl Fn() -> std::io::Result<std::process::Output>) {
    let mut last = String::new();
    for _ in 0..50 {
        let out = command().expect("running a user command");
        if out.status.success() {
            return;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("user command failed: {last}");
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("running a command");
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
