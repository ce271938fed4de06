//! The `sftp` probe: SSH key exchange with the server's host key checked
//! against a pinned fingerprint, a login with a password or an ed25519
//! key, the `sftp` subsystem (INIT/VERSION), then REALPATH of `path` and a
//! STAT of what it names, and OPENDIR when that is a directory.
//!
//! SSH is sunset's ([`ssh`]): sans-IO, so it runs over the SDK's blocking
//! stream in the guest; the SFTP v3 packets are written here ([`sftp`]).
//! SSH has its own cryptography: there is no TLS and no `tls` key.
//!
//! Without `user` the probe stops after the key exchange: that checks the
//! server answers SSH and, with `host_key_sha256`, that it is the one
//! expected. Credentials without a pinned host key are refused (FAILED):
//! the probe would send a password to whichever server answered.
//!
//! The client sends its version line at once, and the rest only after
//! the server's (RFC 4253 §4.2, as OpenSSH does). Before its version line
//! a server may send lines of text, so one of another protocol that
//! answers the line with text and waits (Redis's `-ERR`) looks like a slow
//! server: a TIMEOUT. One that speaks binary first (MariaDB) or closes the
//! connection before a version line (NATS) is "unexpected protocol".

mod keys;
mod sftp;
mod ssh;

use schemars::JsonSchema;
use serde::Deserialize;
use sonde_sdk::conn::Server;
use sonde_sdk::{CheckError, Endpoint, Healthy, Probe, Problem, Secret, messages, stage};

use sftp::Reader;
use ssh::{Credentials, Ssh};

/// An SSH server's SFTP subsystem (OpenSSH, or any SFTP v3 server).
#[derive(Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(transform = words)]
struct Config {
    #[serde(flatten)]
    server: Server<22>,
    /// User to log in as, with `password` or `private_key`. Without it the
    /// probe checks the handshake and the host key only.
    #[serde(default)]
    #[schemars(length(min = 1))]
    user: Option<String>,
    /// Password of `user`.
    #[serde(default)]
    password: Option<Secret>,
    /// Private key of `user`: an unencrypted ed25519 key, PEM text
    /// (`-----BEGIN OPENSSH PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----`).
    /// Tried before `password` when both are given.
    #[serde(default)]
    private_key: Option<Secret>,
    /// The server's host key fingerprint as `ssh-keygen -lf` prints it:
    /// `SHA256:` then base64. Required with `user`; another key is ERROR
    /// "host key mismatch".
    #[serde(default)]
    #[schemars(regex(pattern = r"^SHA256:[A-Za-z0-9+/]{43}=?$"))]
    host_key_sha256: Option<String>,
    /// The path resolved with REALPATH and looked at with STAT (relative
    /// paths start at the user's login directory).
    #[serde(default = "dot")]
    #[schemars(length(min = 1))]
    path: String,
}

fn dot() -> String {
    ".".to_string()
}

fn words(schema: &mut schemars::Schema) {
    sonde_sdk::conn::describe(schema, &[("port", "TCP port of the SSH server.")]);
}

struct Sftp;

impl Probe for Sftp {
    type Config = Config;
    const SOURCE_TYPE: &'static str = "sftp";
    const DESCRIPTION: &'static str = "An SSH server's pinned host key, a login, and a path through SFTP";

    fn endpoints(config: &Config) -> Result<Vec<Endpoint>, String> {
        validate(config)?;
        Ok(vec![config.server.endpoint()])
    }

    fn check(config: Config) -> Result<Healthy, CheckError> {
        let (credentials, pinned) = validate(&config).map_err(CheckError::InvalidConfig)?;
        let stream = sonde_sdk::net::connect(&config.server.host, config.server.port)?;
        let mut ssh = Ssh::new(stream, credentials, pinned);
        ssh.handshake()?;

        let mut healthy = Healthy::new();
        if let Some(version) = ssh.server_version() {
            healthy = healthy.detail("server_version", version);
        }
        if let Some(key) = ssh.host_key() {
            healthy = healthy
                .detail("host_key_sha256", key.fingerprint.as_str())
                .detail("host_key_algorithm", key.algorithm.as_str());
        }
        let Some(method) = ssh.method() else {
            // No credentials: the handshake was the check.
            ssh.close();
            return Ok(healthy.detail("authenticated", false));
        };
        healthy = healthy.detail("authenticated", true).detail("auth_method", method);
        healthy = browse(&mut ssh, &config.path, healthy)?;
        ssh.close();
        Ok(healthy)
    }
}

/// INIT, REALPATH, STAT, and OPENDIR/CLOSE for a directory.
fn browse(ssh: &mut Ssh, path: &str, healthy: Healthy) -> Result<Healthy, CheckError> {
    let version = ssh.exchange(sftp::request(sftp::FXP_INIT, None, &[]))?;
    let mut r = Reader::new(&version).map_err(protocol)?;
    if r.kind != sftp::FXP_VERSION {
        return Err(protocol(format!("SFTP packet type {} instead of VERSION", r.kind)));
    }
    let sftp_version = r.u32().map_err(protocol)?;

    let name = ssh.exchange(sftp::request(sftp::FXP_REALPATH, Some(1), &[path.as_bytes()]))?;
    let mut r = reply(&name, 1, sftp::FXP_NAME, "REALPATH")?;
    let resolved = match r.u32().map_err(protocol)? {
        0 => return Err(protocol("REALPATH returned no name".into())),
        _ => r.string().map_err(protocol)?,
    };

    let attrs = ssh.exchange(sftp::request(sftp::FXP_STAT, Some(2), &[resolved.as_bytes()]))?;
    let attrs = reply(&attrs, 2, sftp::FXP_ATTRS, "STAT")?.attrs().map_err(protocol)?;

    if attrs.kind() == Some("directory") {
        // Opening it checks that the user may list it, without listing it.
        let handle = ssh.exchange(sftp::request(sftp::FXP_OPENDIR, Some(3), &[resolved.as_bytes()]))?;
        let handle = reply(&handle, 3, sftp::FXP_HANDLE, "OPENDIR")?.bytes().map_err(protocol)?.to_vec();
        let _ = ssh.exchange(sftp::request(sftp::FXP_CLOSE, Some(4), &[&handle]));
    }

    let mut healthy = healthy
        .detail("sftp_version", sftp_version)
        .detail("path", path)
        .detail("resolved_path", resolved.as_str());
    if let Some(kind) = attrs.kind() {
        healthy = healthy.detail("type", kind);
    }
    if let Some(size) = attrs.size {
        healthy = healthy.detail("size", size);
    }
    if let Some(mtime) = attrs.mtime {
        healthy = healthy.detail("mtime", mtime);
    }
    Ok(healthy)
}

/// The reply to request `id`: of type `want`, or a STATUS in the probe's words.
fn reply<'a>(packet: &'a [u8], id: u32, want: u8, what: &str) -> Result<Reader<'a>, CheckError> {
    let mut r = Reader::new(packet).map_err(protocol)?;
    let got = r.u32().map_err(protocol)?;
    if got != id {
        return Err(protocol(format!("{what}: a reply to request {got}, not {id}")));
    }
    if r.kind == want {
        return Ok(r);
    }
    if r.kind != sftp::FXP_STATUS {
        return Err(protocol(format!("{what}: SFTP packet type {}", r.kind)));
    }
    let (code, text) = sftp::status(&mut r).map_err(protocol)?;
    let detail = format!("{what}: {text} (SSH_FX {code})");
    Err(match code {
        sftp::FX_NO_SUCH_FILE => Problem::staged(messages::does_not_exist("path"), stage::RESOURCE, detail),
        sftp::FX_PERMISSION_DENIED => Problem::staged(messages::PERMISSION_DENIED, stage::PERMISSION, detail),
        _ => Problem::staged("server error", stage::RESOURCE, detail),
    }
    .into())
}

fn protocol(detail: String) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
}

/// What the schema cannot say, checked before anything is resolved: the
/// credentials to log in with and the pinned fingerprint.
fn validate(config: &Config) -> Result<(Option<Credentials>, Option<String>), String> {
    let pinned = config.host_key_sha256.as_deref().map(keys::pinned).transpose()?;
    let key = config.private_key.as_ref().map(|k| keys::private_key(k.expose())).transpose()?;
    let Some(user) = &config.user else {
        if config.password.is_some() || key.is_some() {
            return Err("`password` and `private_key` need a `user`".into());
        }
        return Ok((None, pinned));
    };
    if config.password.is_none() && key.is_none() {
        return Err("`user` needs a `password` or a `private_key`".into());
    }
    if pinned.is_none() {
        return Err("credentials need `host_key_sha256`, the server's pinned host key \
                    (`ssh-keygen -lf` of its public key): without it any server could take them"
            .into());
    }
    let credentials = Credentials { user: user.clone(), password: config.password.clone(), key };
    Ok((Some(credentials), pinned))
}

sonde_sdk::export_probe!(Sftp);

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Result<Config, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    const FP: &str = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

    #[test]
    fn credentials_need_a_pinned_host_key() {
        let ok = |j| config(j).and_then(|c| validate(&c).map(|_| ()));
        assert!(ok(serde_json::json!({"host": "h"})).is_ok());
        assert!(ok(serde_json::json!({"host": "h", "host_key_sha256": FP})).is_ok());
        assert!(
            ok(serde_json::json!({"host": "h", "user": "u", "password": "p", "host_key_sha256": FP})).is_ok()
        );
        let err = ok(serde_json::json!({"host": "h", "user": "u", "password": "p"})).expect_err("no pin");
        assert!(err.contains("host_key_sha256"), "{err}");
        assert!(ok(serde_json::json!({"host": "h", "user": "u", "host_key_sha256": FP})).is_err());
        assert!(ok(serde_json::json!({"host": "h", "password": "p", "host_key_sha256": FP})).is_err());
        assert!(ok(serde_json::json!({"host": "h", "host_key_sha256": "SHA256:short"})).is_err());
        assert!(
            ok(serde_json::json!({"host": "h", "user": "u", "private_key": "x", "host_key_sha256": FP}))
                .is_err()
        );
    }

    #[test]
    fn status_replies() {
        let status = |code: u32| {
            let body =
                [&[sftp::FXP_STATUS][..], &1u32.to_be_bytes(), &code.to_be_bytes(), &[0, 0, 0, 2], b"no"]
                    .concat();
            let packet = [&(body.len() as u32).to_be_bytes()[..], &body].concat();
            match reply(&packet, 1, sftp::FXP_NAME, "REALPATH") {
                Err(CheckError::Unhealthy(p)) => p.message,
                _ => panic!("a status is an error"),
            }
        };
        assert_eq!(status(sftp::FX_NO_SUCH_FILE), "path does not exist");
        assert_eq!(status(sftp::FX_PERMISSION_DENIED), "permission denied");
        assert_eq!(status(4), "server error");
    }
}
