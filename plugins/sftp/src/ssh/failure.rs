//! How the connection's failures read: a sunset error, an early close,
//! or a host key other than the pinned one, in DESIGN §3's messages.

use sonde_sdk::{CheckError, Problem, messages, stage};

use super::State;

impl State {
    /// The connection ended: what that means depends on how far it got.
    pub(super) fn closed(&self) -> CheckError {
        if self.server_version().is_none() {
            if self.seen.is_empty() {
                return Problem::staged(
                    messages::CONNECTION_RESET,
                    stage::CONNECT,
                    "the server closed the connection before its SSH version line",
                )
                .into();
            }
            return not_ssh(&self.seen, "the server closed the connection");
        }
        if self.mismatch {
            return self.mismatch_problem();
        }
        Problem::staged(messages::CONNECTION_RESET, stage::PROTOCOL, "the server closed the SSH connection")
            .into()
    }

    /// A sunset error, in the probe's words.
    pub(super) fn failure(&self, e: sunset::Error) -> CheckError {
        if self.mismatch {
            return self.mismatch_problem();
        }
        match e {
            sunset::Error::NotSSH => not_ssh(&self.seen, "not an SSH version line"),
            sunset::Error::NoAuthMethods => {
                let tried = match (self.key_offered, self.password_offered) {
                    (true, true) => "the server refused the key and the password",
                    (true, false) => "the server refused the key",
                    (false, true) => "the server refused the password",
                    (false, false) => "the server offers no method the config has credentials for",
                };
                Problem::staged(messages::AUTHENTICATION_FAILED, stage::AUTH, tried).into()
            }
            sunset::Error::IoError { source } => source.into(),
            sunset::Error::AlgoNoMatch { algo } => protocol(format!(
                "no {algo} algorithm in common with the server; the probe has ed25519 host keys, \
                 curve25519 or mlkem768x25519 key exchange, chacha20-poly1305 or aes256-ctr, hmac-sha256"
            )),
            e if self.server_version().is_none() => not_ssh(&self.seen, &format!("ssh: {e}")),
            e => protocol(format!("ssh: {e}")),
        }
    }

    fn mismatch_problem(&self) -> CheckError {
        let observed = self.host_key.as_ref().map(|k| k.fingerprint.clone()).unwrap_or_default();
        let algorithm = self.host_key.as_ref().map(|k| k.algorithm.clone()).unwrap_or_default();
        Problem::staged(
            HOST_KEY_MISMATCH,
            stage::CONNECT,
            format!("the server's {algorithm} host key is not the one `host_key_sha256` pins"),
        )
        .with_member("expected", self.pinned.clone().unwrap_or_default())
        .with_member("observed", observed)
        .into()
    }
}

/// The message of a host key other than the pinned one: the probe's own,
/// since no stable message of DESIGN §3/§4 says it.
pub const HOST_KEY_MISMATCH: &str = "host key mismatch";

pub(super) fn protocol(detail: String) -> CheckError {
    Problem::staged(messages::UNEXPECTED_PROTOCOL, stage::PROTOCOL, detail).into()
}

/// Whether what came before the server's version line can be the text
/// lines RFC 4253 §4.2 allows there: no control bytes but CR, LF and tab.
/// A binary greeting (MariaDB's) is another protocol at once.
pub(super) fn is_text(seen: &[u8]) -> bool {
    seen.iter().all(|&b| b >= 0x20 && b != 0x7f || matches!(b, b'\r' | b'\n' | b'\t'))
}

/// A peer that answered with something other than an SSH version line.
pub(super) fn not_ssh(seen: &[u8], why: &str) -> CheckError {
    let shown: String = String::from_utf8_lossy(&seen[..seen.len().min(64)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    Problem::staged(
        messages::UNEXPECTED_PROTOCOL,
        stage::PROTOCOL,
        format!("{why}; the server sent {shown:?}"),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_before_the_version_line_is_allowed_binary_is_not() {
        assert!(is_text(b"-ERR unknown command\r\nSSH-2.0-x\r\n"));
        assert!(is_text("banner: bienvenue, café\r\n".as_bytes()));
        // MariaDB's greeting: a 3-byte length, a sequence number, protocol 10.
        assert!(!is_text(b"\x5b\x00\x00\x00\x0a5.5.5-10.11.6-MariaDB"));
        let CheckError::Unhealthy(p) = not_ssh(b"\x00\x01INFO", "not an SSH version line") else {
            panic!("unhealthy")
        };
        assert_eq!(p.message, messages::UNEXPECTED_PROTOCOL);
        assert!(p.extra.as_deref().is_some_and(|e| e.contains("..INFO")), "{p:?}");
    }
}
