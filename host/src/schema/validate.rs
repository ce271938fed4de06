//! Validating a config, bounded in time and off the async workers.
//!
//! The load-time bounds keep a schema's expanded size small, but the work
//! of one validation still grows with the value (an `items` schema applies
//! to each element), and a value comes from a client. So every validation
//! the service makes runs on a thread of its own under a deadline: one that
//! would take longer answers "config schema too complex" (FAILED in a
//! check, 422 over the API) and the caller moves on. The validator cannot
//! be interrupted, so the thread finishes on its own; its work is bounded
//! by the schema's expanded size times the value's size, and at most two
//! such threads per core run at once (the others wait, within their own
//! deadline). That same product lets a validation known to be tiny (a
//! `tcp` config) skip the thread.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{ConfigSchema, Violation};

/// How long one validation may take by default.
pub const DEFAULT_VALIDATION_DEADLINE: Duration = Duration::from_secs(2);

/// The message of a validation that ran past its deadline.
pub const TOO_COMPLEX: &str = "config schema too complex";

impl Violation {
    /// A validation that ran past its deadline, as the one violation.
    pub fn too_complex() -> Self {
        Self { path: Vec::new(), message: TOO_COMPLEX.into() }
    }

    pub fn is_too_complex(&self) -> bool {
        self.path.is_empty() && self.message == TOO_COMPLEX
    }
}

/// Work (schema nodes expanded × value weight) below which a validation is
/// known to take well under a millisecond: it runs where it is asked for,
/// since handing it to a blocking thread would cost more than it does
/// (100,000 configured sources are validated at every start).
const INLINE_WORK: u64 = 50_000;

/// The violations of `config`, computed on a blocking thread within the
/// schema's deadline; past it, the one violation [`Violation::too_complex`].
/// A validation too small to take long runs inline.
pub async fn validate_bounded(schema: &Arc<ConfigSchema>, config: &Value) -> Result<(), Vec<Violation>> {
    let budget = INLINE_WORK / schema.expanded.max(1);
    if weight(config, budget + 1) <= budget {
        return schema.validate(config);
    }
    let deadline = tokio::time::Instant::now() + schema.validation_deadline;
    // A slot first: a bounded number of validations burn CPU at once, however
    // many run past their deadline; waiting for one counts against it.
    let slot = match tokio::time::timeout_at(deadline, slots().acquire_owned()).await {
        Ok(Ok(slot)) => slot,
        _ => return Err(vec![Violation::too_complex()]),
    };
    let (schema, config) = (Arc::clone(schema), config.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A thread of its own, not the runtime's blocking pool: one that runs
    // past its deadline is left to finish without holding up the runtime's
    // shutdown (a `sonde check` exits with its answer).
    let spawned = std::thread::Builder::new().name("sonde-validate".into()).stack_size(VALIDATE_STACK).spawn(
        move || {
            let _ = tx.send(schema.validate(&config));
            drop(slot);
        },
    );
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start a validation thread");
        return Err(vec![Violation { path: Vec::new(), message: "config validation failed".into() }]);
    }
    match tokio::time::timeout_at(deadline, rx).await {
        Ok(Ok(result)) => result,
        // The thread ended without an answer (it panicked).
        Ok(Err(_)) => Err(vec![Violation { path: Vec::new(), message: "config validation failed".into() }]),
        Err(_) => Err(vec![Violation::too_complex()]),
    }
}

/// Native stack of a validation thread: the validator recurses along the
/// value's nesting and the schema's references.
const VALIDATE_STACK: usize = 8 << 20;

/// Validations running off the caller's thread at once: two per core (at
/// least 4), so that a few abandoned ones do not turn every other heavy
/// validation away while they finish.
fn slots() -> Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    let n = std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_mul(2).max(4);
    Arc::clone(SLOTS.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(n))))
}

/// How much validating `v` weighs: its nodes, and its strings by length
/// (patterns run over them), counted no further than `cap`.
fn weight(v: &Value, cap: u64) -> u64 {
    let mut total = 0u64;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        total += match v {
            Value::String(s) => 1 + s.len() as u64 / 16,
            Value::Array(items) => {
                todo.extend(items);
                1
            }
            Value::Object(map) => {
                todo.extend(map.values());
                1 + map.len() as u64
            }
            _ => 1,
        };
        if total > cap {
            break;
        }
    }
    total
}

/// Whether `violations` is the deadline's answer.
pub fn too_complex(violations: &[Violation]) -> bool {
    matches!(violations, [v] if v.is_too_complex())
}
