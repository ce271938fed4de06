//! A SQL result's first value as JSON, for `expect.equals` and
//! `expect.max_age` (DESIGN §3): the text protocols of PostgreSQL and MySQL
//! send every value as text, and only the column's type says whether `1`
//! is the number one or the string "1".
//!
//! A probe counts its rows into an [`Answer`], sets its [`Column`] from
//! the wire's type code, and [`crate::Expect::check_query`] holds the
//! answer to `rows`, `equals` and `max_age`.
//!
//! ```
//! use sonde_sdk::sql::Column;
//! use sonde_sdk::serde_json::json;
//! assert_eq!(Column::Integer.value(Some("42")), json!(42));
//! assert_eq!(Column::Boolean.value(Some("t")), json!(true));
//! assert_eq!(Column::Text.value(None), json!(null));
//! ```

use serde_json::{Number, Value};

/// What a SQL query read: its rows counted, and the first column of its
/// first row as text with that column's [`Column`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rows: u64,
    /// None for SQL NULL, and when no row came back.
    pub first: Option<String>,
    pub column: Column,
}

impl Default for Answer {
    fn default() -> Self {
        Self { rows: 0, first: None, column: Column::Text }
    }
}

impl Answer {
    /// Counts one row; `first` (its first column's text, None for NULL) is
    /// kept if it is the first row.
    pub fn row(&mut self, first: impl FnOnce() -> Option<String>) {
        if self.rows == 0 {
            self.first = first();
        }
        self.rows += 1;
    }

    /// The first value as JSON: `null` for NULL and for no row.
    pub fn first_value(&self) -> Value {
        self.column.value(self.first.as_deref())
    }
}

/// How a column's text reads as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Integers of any width: a JSON number.
    Integer,
    /// Floating point and decimal: a JSON number when it is finite and
    /// fits a double, else the text (`NaN`, `Infinity`, a 40-digit numeric).
    Decimal,
    /// `t`/`f` (PostgreSQL), `1`/`0` (MySQL's `BOOL` is a `TINYINT(1)`),
    /// `true`/`false`.
    Boolean,
    /// Everything else, timestamps included: the text as a JSON string.
    Text,
}

impl Column {
    /// `text` (None for SQL NULL) as JSON; text that does not parse as its
    /// type stays a string, so that nothing read is lost.
    pub fn value(self, text: Option<&str>) -> Value {
        let Some(text) = text else { return Value::Null };
        let parsed = match self {
            Column::Integer => {
                text.parse::<i64>().map(Value::from).or_else(|_| text.parse::<u64>().map(Value::from)).ok()
            }
            Column::Decimal => text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && digits(text) <= 15)
                .and_then(Number::from_f64)
                .map(Value::Number),
            Column::Boolean => match text {
                "t" | "true" | "1" => Some(Value::Bool(true)),
                "f" | "false" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            Column::Text => None,
        };
        parsed.unwrap_or_else(|| Value::String(text.to_string()))
    }
}

/// Significant digits of a decimal's text: past 15 a double would round it,
/// and `equals` would then pass for a value the table does not hold.
fn digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let digits = mantissa.trim_start_matches(['-', '+']).replace('.', "");
    let trimmed = digits.trim_start_matches('0').trim_end_matches('0');
    trimmed.len()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Column;

    #[test]
    fn each_kind_reads_as_its_json() {
        let cases = [
            (Column::Integer, Some("-7"), json!(-7)),
            (Column::Integer, Some("18446744073709551615"), json!(18_446_744_073_709_551_615u64)),
            (Column::Integer, Some("99999999999999999999"), json!("99999999999999999999")),
            (Column::Decimal, Some("1.50"), json!(1.5)),
            (Column::Decimal, Some("0.000125"), json!(0.000125)),
            (Column::Decimal, Some("1e3"), json!(1000.0)),
            (Column::Decimal, Some("NaN"), json!("NaN")),
            (Column::Decimal, Some("Infinity"), json!("Infinity")),
            (Column::Decimal, Some("12345678901234567.5"), json!("12345678901234567.5")),
            (Column::Boolean, Some("t"), json!(true)),
            (Column::Boolean, Some("0"), json!(false)),
            (Column::Boolean, Some("2"), json!("2")),
            (Column::Text, Some("42"), json!("42")),
            (Column::Text, Some("2026-12-06 17:30:00+00"), json!("2026-12-06 17:30:00+00")),
            (Column::Integer, None, json!(null)),
        ];
        for (column, text, want) in cases {
            assert_eq!(column.value(text), want, "{column:?} {text:?}");
        }
    }
}
