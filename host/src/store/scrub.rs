//! Masking secrets in stored history: the text both backends rewrite when
//! a migration finds secrets that older versions stored in the clear.

use serde_json::Value;

use crate::schema::Redactor;

/// One check's guest text, masked; `None` when nothing changed.
pub(crate) fn check_text(
    r: &Redactor,
    message: &Option<String>,
    extra: &Option<String>,
    details: &Option<Value>,
) -> Option<(Option<String>, Option<String>, Option<Value>)> {
    let m = message.as_deref().map(|t| r.redact(t));
    let e = extra.as_deref().map(|t| r.redact(t));
    let d = details.as_ref().map(|v| r.redact_json(v));
    (m.as_ref() != message.as_ref() || e.as_ref() != extra.as_ref() || d.as_ref() != details.as_ref())
        .then_some((m, e, d))
}

/// A stored alert payload (JSON text), masked; `None` when unchanged.
pub(crate) fn payload(r: &Redactor, text: &str) -> Option<String> {
    let masked = match serde_json::from_str::<Value>(text) {
        Ok(v) => r.redact_json(&v).to_string(),
        Err(_) => r.redact(text),
    };
    (masked != text).then_some(masked)
}
