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
}

/// `EMFILE` ("no file descriptors available") as std reports it.
#[cfg(target_os = "wasi")]
pub(crate) const EMFILE: i32 = 33;
#[cfg(not(target_os = "wasi"))]
pub(crate) const EMFILE: i32 = 24;

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
