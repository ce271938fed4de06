//! The private sshd itself, as OpenSSH's own `sftp` client sees it: the
//! pinned host key, a login with the key and with the password (given by
//! an askpass script), the file in the user's home (untouched), a wrong password
//! refused. Outside CI a missing sshd (or a test not run as root) skips
//! with a printed reason; under `CI=true` it fails.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use sonde_test_support::sshd::{FILE, FILE_TEXT, PASSWORD, Sshd};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `sftp -b -` with `commands`, the host key pinned in a known_hosts file;
/// with `password`, logging in with it (and not the key) through SSH_ASKPASS.
fn sftp(sshd: &Sshd, commands: &str, password: Option<&str>) -> Output {
    let known = sshd.dir.join("known_hosts");
    let public = std::fs::read_to_string(sshd.dir.join("host_key.pub")).expect("host key");
    std::fs::write(&known, format!("[127.0.0.1]:{} {public}", sshd.port)).expect("known_hosts");
    let mut cmd = Command::new("sftp");
    cmd.args(["-P", &sshd.port.to_string(), "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=no"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()));
    match password {
        Some(password) => {
            let askpass = sshd.dir.join(format!("askpass-{}", password.len()));
            std::fs::write(&askpass, format!("#!/bin/sh\necho '{password}'\n")).expect("askpass");
            std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            cmd.args(["-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"])
                .env("SSH_ASKPASS", &askpass)
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env("DISPLAY", ":0");
        }
        None => {
            cmd.args(["-o", "PasswordAuthentication=no", "-i"]).arg(&sshd.client_key_file);
        }
    }
    let mut child = cmd
        .args(["-b", "-"])
        .arg(format!("{}@127.0.0.1", sshd.user))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running sftp (openssh-client)");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(commands.as_bytes()).expect("commands");
    child.wait_with_output().expect("sftp")
}

#[test]
fn sshd_serves_sftp_to_its_user_with_a_key_or_the_password() {
    let Some(sshd) = Sshd::start() else { return };
    assert!(sshd.host_key_sha256.starts_with("SHA256:"), "{}", sshd.host_key_sha256);
    assert!(sshd.client_key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));

    let out = sftp(&sshd, &format!("pwd\nls {FILE}\n"), None);
    assert!(out.status.success(), "{}\n{}", text(&out), sshd.log());
    let said = text(&out);
    assert!(said.contains(&sshd.home.display().to_string()) && said.contains(FILE), "{said}");

    let out = sftp(&sshd, "ls\n", Some(PASSWORD));
    assert!(out.status.success(), "{}\n{}", text(&out), sshd.log());
    assert!(text(&out).contains(FILE), "{}", text(&out));

    let out = sftp(&sshd, "ls\n", Some("wrong-s3cret"));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(sshd.log().contains("Failed password"), "{}", sshd.log());
    assert_eq!(std::fs::read_to_string(sshd.home.join(FILE)).expect("the file"), FILE_TEXT);
}
