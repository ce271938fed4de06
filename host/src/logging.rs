//! Text logs that cannot be forged: a field formatter for
//! `tracing_subscriber`'s text output that escapes control characters in
//! every field value and message.
//!
//! Source names, guest messages, paths and error texts reach the logs from
//! outside. In the default text format a newline in any of them starts
//! what looks like a new log line (`INFO sonde: ...` written by whoever
//! named the source), and an ESC drives the operator's terminal. Here every
//! C0 and C1 control character (and the Unicode line and paragraph
//! separators and bidirectional overrides) is written as an escape such as
//! `\n` or `\u{1b}`, so one event is always one line. The JSON format
//! escapes by itself.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// The text format's field formatter (`fmt().fmt_fields(EscapedFields)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Visitor { writer, first: true, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Whether `c` must not reach a text log as it is.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character of [`needs_escape`] escaped (`\n`, `\r`,
/// `\t`, else `\u{..}`); anything else as it is.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            // `escape_default` spells the three common ones short and
            // everything else as `\u{..}`; it never yields a control char.
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

struct Visitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        // `log` crate records carry their metadata as fields, already shown.
        if name.starts_with("log.") {
            return;
        }
        let mut text = String::new();
        if let Err(e) = text.write_fmt(value) {
            self.result = Err(e);
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = match name {
            "message" => write!(self.writer, "{separator}{}", escape(&text)),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(self.writer, "{separator}{name}={}", escape(&text))
            }
        };
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        // As the default format: the message plain, other strings quoted.
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.write(field, format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape("plain · ünïcode"), "plain · ünïcode");
        assert_eq!(escape("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(escape("\u{1b}[31mred\u{7}"), "\\u{1b}[31mred\\u{7}");
        assert_eq!(escape("c1\u{85}x\u{9b}"), "c1\\u{85}x\\u{9b}");
        assert_eq!(escape("ls\u{2028}ps\u{2029}rlo\u{202e}"), "ls\\u{2028}ps\\u{2029}rlo\\u{202e}");
        assert!(!escape("\0\u{1}\u{1f}\u{7f}").chars().any(needs_escape));
    }

    /// A subscriber with [`EscapedFields`] writing into a buffer: every
    /// event is one line whatever its fields hold.
    #[test]
    fn an_event_with_newlines_in_its_fields_is_one_line() {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().map_err(|_| std::io::ErrorKind::Other)?.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(EscapedFields)
            .with_writer(move || writer.clone())
            .finish();
        let forged = "x\n2026-01-01T00:00:00Z  INFO sonde: forged";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("span", name = %forged);
            let _in = span.enter();
            tracing::info!(source = %forged, quoted = forged, dbg = ?forged, "message {forged}");
            let e = std::io::Error::other(forged);
            tracing::warn!(error = &e as &dyn std::error::Error, "failed");
        });
        let text =
            String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines.iter().all(|l| !l.starts_with("2026-01-01")), "{text}");
        assert!(lines[0].contains("source=x\\n2026"), "{text}");
        assert!(lines[0].contains("message x\\n2026"), "{text}");
        assert!(lines[0].contains("span{name=x\\n2026"), "{text}");
        assert!(lines[1].contains("error=x\\n2026"), "{text}");
    }
}
