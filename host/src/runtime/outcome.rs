//! The outcome of one check, and how a failed call is classified.
//!
//! | cause | status | message |
//! | --- | --- | --- |
//! | `check` returned `healthy` | OK | |
//! | the deadline passed | TIMEOUT | "timed out after 10s" |
//! | `unhealthy(problem)` | ERROR | the problem's message |
//! | memory cap hit | ERROR | "memory limit exceeded" |
//! | stack exhausted | ERROR | "stack overflow" |
//! | host handle cap hit (`RuntimeConfig::max_handles`) | ERROR | "too many handles" |
//! | panic, any other trap | ERROR | "probe crashed", stderr tail in `extra` |
//! | a declared endpoint denied by the egress policy | ERROR | "permission denied by sandbox" |
//! | `invalid-config`, schema violation, `endpoints` refused | FAILED | the reason |
//! | more than 64 distinct endpoints declared | FAILED | "too many endpoints" |

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use wasmtime::Trap;
use wasmtime::component::ResourceTableError;

use super::limits::MemoryLimitExceeded;
use super::sandbox::output::Captured;

/// One internal outcome, spelled four ways by the HTTP surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Timeout,
    Error,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Timeout => "TIMEOUT",
            Status::Error => "ERROR",
            Status::Failed => "FAILED",
        }
    }

    /// Whether another attempt may help (DESIGN §3: timeout and error only).
    pub fn is_retryable(self) -> bool {
        matches!(self, Status::Timeout | Status::Error)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a non-OK outcome happened, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Healthy,
    Unhealthy,
    Deadline,
    MemoryLimit,
    StackOverflow,
    /// The call's host resource table was full.
    TooManyHandles,
    Trap,
    InvalidConfig,
    Unresolvable,
    /// A declared endpoint the egress policy denies.
    Denied,
    /// The host could not run the check (its store was unavailable).
    Host,
}

/// The result of one attempt.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub status: Status,
    pub cause: Cause,
    /// ERROR: the short message; FAILED: the reason; TIMEOUT: what timed out.
    pub message: Option<String>,
    /// ERROR: more detail, free text or JSON.
    pub extra: Option<String>,
    /// OK: the facts the probe found.
    pub details: Option<serde_json::Value>,
    /// OK: items the source exposes, if known.
    pub items: Option<u64>,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub stdout: Captured,
    pub stderr: Captured,
    /// Connects the sandbox refused.
    pub denied_connects: u64,
    /// The soonest `not_after` of the TLS peer's chain, when there was one.
    pub tls_not_after: Option<DateTime<Utc>>,
}

impl CheckReport {
    pub(crate) fn new(status: Status, cause: Cause, message: Option<String>) -> Self {
        Self {
            status,
            cause,
            message,
            extra: None,
            details: None,
            items: None,
            started_at: Utc::now(),
            duration: Duration::ZERO,
            stdout: Captured::default(),
            stderr: Captured::default(),
            denied_connects: 0,
            tls_not_after: None,
        }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        Self::new(Status::Failed, Cause::InvalidConfig, Some(reason.into()))
    }

    pub fn error(cause: Cause, message: impl Into<String>, extra: Option<String>) -> Self {
        Self { extra, ..Self::new(Status::Error, cause, Some(message.into())) }
    }

    pub fn timeout(after: Duration) -> Self {
        let message = format!("timed out after {}", humantime::format_duration(after));
        Self::new(Status::Timeout, Cause::Deadline, Some(message))
    }

    /// When the result was known.
    pub fn reported_at(&self) -> DateTime<Utc> {
        self.started_at + self.duration
    }
}

/// How many bytes of stderr go into a crash report's `extra`.
const STDERR_TAIL: usize = 2048;

/// Classifies an error raised by wasmtime while instantiating or calling.
pub fn classify_trap(err: &wasmtime::Error, stderr: &Captured) -> CheckReport {
    if err.chain().any(|e| e.downcast_ref::<MemoryLimitExceeded>().is_some()) {
        return CheckReport::error(Cause::MemoryLimit, "memory limit exceeded", Some(err.to_string()));
    }
    if let Some(Trap::StackOverflow) = err.downcast_ref::<Trap>() {
        return CheckReport::error(Cause::StackOverflow, "stack overflow", None);
    }
    // wasmtime-wasi turns a failed push into a trap, keeping the table's
    // error in the chain (under context such as "pushing fields").
    let table_full = |e: &(dyn std::error::Error + 'static)| {
        matches!(e.downcast_ref::<ResourceTableError>(), Some(ResourceTableError::Full))
    };
    if err.chain().any(table_full) {
        // `{:#}` keeps the whole chain: the import that failed (in the wasm
        // backtrace) and the table's own reason.
        return CheckReport::error(Cause::TooManyHandles, "too many handles", Some(format!("{err:#}")));
    }
    let tail = tail(&stderr.text, STDERR_TAIL).trim_end();
    let extra = if tail.is_empty() { err.to_string() } else { tail.to_string() };
    CheckReport::error(Cause::Trap, "probe crashed", Some(extra))
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_respects_char_boundaries() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
    }

    #[test]
    fn memory_limit_is_recognised_through_context() {
        let err = wasmtime::Error::new(MemoryLimitExceeded { desired: 2, cap: 1 }).context("in guest");
        let r = classify_trap(&err, &Captured::default());
        assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("memory limit exceeded")));
    }

    #[test]
    fn a_full_handle_table_is_recognised_through_context() {
        let err = wasmtime::Error::new(ResourceTableError::Full).context("[new_fields] pushing fields");
        let r = classify_trap(&err, &Captured::default());
        assert_eq!((r.status, r.message.as_deref()), (Status::Error, Some("too many handles")));
        assert_eq!(r.cause, Cause::TooManyHandles);
        let other = wasmtime::Error::new(ResourceTableError::NotPresent);
        assert_eq!(classify_trap(&other, &Captured::default()).cause, Cause::Trap);
    }

    #[test]
    fn a_crash_carries_the_stderr_tail() {
        let stderr = Captured { text: "thread panicked at src/lib.rs: boom\n".into(), dropped: 0 };
        let r = classify_trap(&wasmtime::Error::new(Trap::UnreachableCodeReached), &stderr);
        assert_eq!(r.message.as_deref(), Some("probe crashed"));
        assert_eq!(r.extra.as_deref(), Some("thread panicked at src/lib.rs: boom"));
    }
}
