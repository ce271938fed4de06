//! Masking secret values in text a guest produced.
//!
//! A guest may print a secret as it is, or inside JSON text, where a quote,
//! a backslash or a control character is escaped (`a"b` is `a\"b`), or
//! inside JSON text that is itself a JSON string (escaped twice: a
//! `details` member holding a serialized body), each also as an encoder
//! that keeps to ASCII writes it (`é` as `\u00e9`, Python's default). All
//! of them are masked, in one pass, the longest match first so that a
//! secret containing another is masked whole.

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

/// How many times a secret is JSON-escaped in the spellings masked.
const ESCAPE_LEVELS: usize = 2;

/// Replaces every occurrence of a secret value in guest-produced text.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Every spelling, longest first.
    spellings: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    pub const MASK: &'static str = "***";

    pub fn new(secrets: Vec<String>) -> Self {
        let mut spellings: Vec<String> = Vec::new();
        for s in secrets.into_iter().filter(|s| !s.is_empty()) {
            let mut spelling = s;
            for _ in 0..=ESCAPE_LEVELS {
                let next = escape(&spelling);
                let done = next == spelling;
                if !spelling.is_ascii() {
                    spellings.push(ascii_only(&spelling));
                }
                spellings.push(spelling);
                if done {
                    break;
                }
                spelling = next;
            }
        }
        spellings.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        spellings.dedup();
        // Building fails only past the automaton's size limits; then each
        // spelling is replaced in turn instead, longest first.
        let matcher = (!spellings.is_empty())
            .then(|| AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&spellings).ok())
            .flatten();
        Self { spellings, matcher }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.spellings.is_empty()
    }

    pub fn redact(&self, text: &str) -> String {
        if self.spellings.is_empty() {
            return text.to_string();
        }
        match &self.matcher {
            Some(m) => m.replace_all(text, &vec![Self::MASK; self.spellings.len()]),
            None => self.spellings.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), Self::MASK)),
        }
    }

    pub fn redact_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.redact(&t))
    }

    /// A JSON value with secrets masked in every string and member name,
    /// and a number or boolean that spells a secret replaced by the mask;
    /// the result is still the same JSON shape.
    pub fn redact_json(&self, value: &Value) -> Value {
        if self.spellings.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Number(_) | Value::Bool(_) => {
                let text = value.to_string();
                if self.spellings.contains(&text) { Value::String(Self::MASK.into()) } else { value.clone() }
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact_json(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (self.redact(k), self.redact_json(v))).collect())
            }
            Value::Null => Value::Null,
        }
    }
}

/// `text` as it appears inside a JSON string literal.
fn escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_string()
}

/// `text` with every non-ASCII character written `\uXXXX` (UTF-16), as
/// JSON encoders that keep to ASCII write it (Python's by default).
fn ascii_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let r = Redactor::new(vec!["pw".into(), "pw-long".into()]);
        assert_eq!(r.redact("a pw-long b pw"), "a *** b ***");
    }

    #[test]
    fn masks_json_escaped_spellings() {
        let secret = "p\"a\\ss\nword";
        let r = Redactor::new(vec![secret.into()]);
        let once = json!({"password": secret}).to_string();
        assert!(once.contains(r#"p\"a\\ss\nword"#), "{once}");
        assert_eq!(r.redact(&once), r#"{"password":"***"}"#);
        let twice = json!({"body": once}).to_string();
        assert_eq!(r.redact(&twice), r#"{"body":"{\"password\":\"***\"}"}"#);
        assert_eq!(r.redact(&format!("raw {secret} end")), "raw *** end");
    }

    #[test]
    fn masks_ascii_only_json_spellings() {
        let r = Redactor::new(vec!["pässwörd🔑".into()]);
        // What Python's json.dumps writes by default.
        assert_eq!(r.redact(r#"{"pw": "p\u00e4ssw\u00f6rd\ud83d\udd11"}"#), r#"{"pw": "***"}"#);
        assert_eq!(r.redact("pässwörd🔑"), "***");
    }

    #[test]
    fn short_and_empty_secrets_are_safe() {
        let r = Redactor::new(vec!["x".into(), String::new(), "é".into()]);
        assert_eq!(r.redact("xyz café"), "***yz caf***");
        assert!(Redactor::new(vec![String::new()]).is_empty());
        assert_eq!(Redactor::new(vec![]).redact("same"), "same");
    }

    #[test]
    fn json_values_keep_their_shape() {
        let r = Redactor::new(vec!["s3cr\"t".into(), "12345678".into()]);
        let details = json!({"echo": "got s3cr\"t", "s3cr\"t": 1, "n": 12345678, "list": ["s3cr\"t"]});
        let out = r.redact_json(&details);
        assert_eq!(out, json!({"echo": "got ***", "***": 1, "n": "***", "list": ["***"]}));
    }
}
