//! What a check returns, and the mapping of I/O failures to short, stable
//! problem messages that operators can alert on.

use std::io;

use crate::bindings::sonde::probe::types as wit;

/// The source answered as it should.
#[derive(Debug, Default, Clone)]
pub struct Healthy {
    details: serde_json::Map<String, serde_json::Value>,
    items: Option<u64>,
}

impl Healthy {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one fact found, e.g. `("server_version", "16.2")`.
    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// How many items the source exposes (tables, keys, objects).
    pub fn items(mut self, items: u64) -> Self {
        self.items = Some(items);
        self
    }

    pub(crate) fn into_wit(self) -> wit::Healthy {
        wit::Healthy {
            details: (!self.details.is_empty()).then(|| serde_json::Value::Object(self.details).to_string()),
            items: self.items,
        }
    }
}

/// Why a source is unhealthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Very short and stable: "connection refused", "authentication failed".
    pub message: String,
    /// More detail, free text or JSON.
    pub extra: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), extra: None }
    }

    pub fn with_extra(mut self, extra: impl Into<String>) -> Self {
        self.extra = Some(extra.into());
        self
    }

    /// A failure with DESIGN §3's details: `extra` is the JSON object
    /// `{"stage": stage, "detail": detail}` (a [`stage`] name), to which
    /// [`Problem::with_member`] adds more.
    ///
    /// ```
    /// use sonde_sdk::{Problem, messages, stage};
    /// let p = Problem::staged(messages::RATE_LIMITED, stage::PERMISSION, "HTTP 429")
    ///     .with_member("retry_after", 30);
    /// let extra: serde_json::Value = serde_json::from_str(p.extra.as_deref().unwrap_or("")).unwrap();
    /// assert_eq!(extra, serde_json::json!({"stage": "permission", "detail": "HTTP 429", "retry_after": 30}));
    /// ```
    pub fn staged(message: impl Into<String>, stage: &str, detail: impl Into<String>) -> Self {
        let mut extra = serde_json::Map::new();
        extra.insert("stage".into(), stage.into());
        extra.insert("detail".into(), detail.into().into());
        Self { message: message.into(), extra: Some(serde_json::Value::Object(extra).to_string()) }
    }

    /// Adds (or replaces) one member of the `extra` object: `expected`,
    /// `observed`, `retry_after`, `not_after`... An `extra` that is free
    /// text (from [`Problem::with_extra`]) becomes the object's `detail`.
    pub fn with_member(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        let mut extra = self.members().unwrap_or_default();
        if extra.is_empty()
            && let Some(text) = self.extra.take()
        {
            extra.insert("detail".into(), text.into());
        }
        extra.insert(key.into(), value.into());
        self.extra = Some(serde_json::Value::Object(extra).to_string());
        self
    }

    /// `extra` as a JSON object, when it is one.
    pub fn members(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_str(self.extra.as_deref()?) {
            Ok(serde_json::Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// The `stage` member of `extra`, when it has one.
    pub fn stage(&self) -> Option<String> {
        self.members()?.get("stage")?.as_str().map(str::to_string)
    }
}

/// The `stage` names of DESIGN §3's failure details: where a check failed.
pub mod stage {
    pub const RESOLVE: &str = "resolve";
    pub const CONNECT: &str = "connect";
    pub const TLS: &str = "tls";
    /// A token endpoint (the host's own requests).
    pub const TOKEN: &str = "token";
    /// The source refused the credentials (401).
    pub const AUTH: &str = "auth";
    /// The credentials may not do this (403).
    pub const PERMISSION: &str = "permission";
    /// The named thing is missing ("bucket does not exist").
    pub const RESOURCE: &str = "resource";
    /// An `expect` did not hold.
    pub const ASSERTION: &str = "assertion";
    /// The source answered, but not as its protocol says.
    pub const PROTOCOL: &str = "protocol";
}

/// Why a check did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The config cannot work: FAILED, never retried.
    InvalidConfig(String),
    /// The source is unreachable or misbehaving: ERROR, retried.
    Unhealthy(Problem),
}

impl CheckError {
    /// Shorthand for `CheckError::Unhealthy(Problem::new(message))`.
    pub fn unhealthy(message: impl Into<String>) -> Self {
        Self::Unhealthy(Problem::new(message))
    }

    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::InvalidConfig(message.into())
    }
}

impl From<Problem> for CheckError {
    fn from(p: Problem) -> Self {
        Self::Unhealthy(p)
    }
}

impl From<io::Error> for CheckError {
    fn from(e: io::Error) -> Self {
        Self::Unhealthy(io_problem(&e))
    }
}

/// The stable messages first-party probes use; operators alert on them.
pub mod messages {
    pub const CONNECTION_REFUSED: &str = "connection refused";
    pub const CONNECTION_RESET: &str = "connection reset";
    pub const TIMED_OUT: &str = "timed out";
    pub const DENIED_BY_SANDBOX: &str = "permission denied by sandbox";
    pub const TOO_MANY_SOCKETS: &str = "too many sockets";
    pub const HOST_UNREACHABLE: &str = "host unreachable";
    pub const IO_ERROR: &str = "i/o error";
    pub const AUTHENTICATION_FAILED: &str = "authentication failed";
    pub const DATABASE_DOES_NOT_EXIST: &str = "database does not exist";
    pub const UNEXPECTED_PROTOCOL: &str = "unexpected protocol";
    pub const PERMISSION_DENIED: &str = "permission denied";
    pub const RATE_LIMITED: &str = "rate limited";
    /// An HTTP answer this probe has no meaning for.
    pub const UNEXPECTED_STATUS: &str = "unexpected status";
    /// An `expect` did not hold.
    pub const ASSERTION_FAILED: &str = "assertion failed";
    /// A TLS failure seen through `wasi:http` (handshake, certificate, a
    /// peer that does not speak TLS).
    pub const TLS_FAILED: &str = "tls handshake failed";

    /// "`<noun>` does not exist", with the noun of the config key:
    /// `does_not_exist("bucket")`.
    pub fn does_not_exist(noun: &str) -> String {
        format!("{noun} does not exist")
    }
    /// The server refused a STARTTLS-style upgrade that `tls.mode` requires
    /// (the host's own message for the same case, DESIGN §4).
    pub const NO_TLS: &str = "server does not support TLS";
}

/// `EMFILE` ("no file descriptors available") as std reports it.
#[cfg(target_os = "wasi")]
pub(crate) const EMFILE: i32 = 33;
#[cfg(not(target_os = "wasi"))]
pub(crate) const EMFILE: i32 = 24;

/// The first bytes a peer sent, printable (at most 64, lossily decoded and
/// quoted), for an `extra` that shows what a wrong kind of server said.
pub fn preview(bytes: &[u8]) -> String {
    let head = bytes.get(..bytes.len().min(64)).unwrap_or_default();
    format!("{:?}", String::from_utf8_lossy(head))
}

/// `what` ("the server closed the connection without a reply"), then the
/// [`preview`] of what the peer had sent before it closed, if anything.
pub fn closed_after(what: &str, received: &[u8]) -> String {
    match received.is_empty() {
        true => what.to_string(),
        false => format!("{what} after {}", preview(received)),
    }
}

/// Maps an I/O failure to a stable message, keeping the original in `extra`.
///
/// | kind | message |
/// | --- | --- |
/// | refused | "connection refused" |
/// | reset, aborted, broken pipe, early EOF | "connection reset" |
/// | timed out, would block | "timed out" |
/// | denied by the sandbox | "permission denied by sandbox" |
/// | over the sandbox's socket budget (`EMFILE`) | "too many sockets" |
/// | host or network unreachable | "host unreachable" |
pub fn io_problem(e: &io::Error) -> Problem {
    use io::ErrorKind as K;
    use messages as m;
    let message = match e.kind() {
        // The host refuses a socket past the check's budget with WASI's
        // `new-socket-limit`, which std reports as EMFILE (no `ErrorKind`).
        _ if e.raw_os_error() == Some(EMFILE) => m::TOO_MANY_SOCKETS,
        K::ConnectionRefused => m::CONNECTION_REFUSED,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => m::CONNECTION_RESET,
        K::TimedOut | K::WouldBlock => m::TIMED_OUT,
        K::PermissionDenied => m::DENIED_BY_SANDBOX,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => m::HOST_UNREACHABLE,
        _ => m::IO_ERROR,
    };
    Problem::new(message).with_extra(e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn staged_extra_is_an_object_that_members_extend() {
        let p = Problem::staged(messages::ASSERTION_FAILED, stage::ASSERTION, "rows")
            .with_member("expected", json!({"min": 1}))
            .with_member("observed", 0);
        let m = p.members().expect("an object");
        assert_eq!(
            serde_json::Value::Object(m),
            json!({"stage": "assertion", "detail": "rows", "expected": {"min": 1}, "observed": 0})
        );
        assert_eq!(p.stage().as_deref(), Some("assertion"));
    }

    #[test]
    fn free_text_extra_keeps_working_and_becomes_the_detail() {
        let p = Problem::new("timed out").with_extra("after 3s");
        assert_eq!((p.extra.as_deref(), p.stage()), (Some("after 3s"), None));
        let p = p.with_member("stage", stage::CONNECT);
        assert_eq!(
            p.members().map(serde_json::Value::Object),
            Some(json!({"detail": "after 3s", "stage": "connect"}))
        );
        assert_eq!(Problem::new("x").with_member("a", 1).extra.as_deref(), Some(r#"{"a":1}"#));
    }
}
