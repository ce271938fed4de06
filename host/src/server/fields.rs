//! Request fields whose JSON says more than their Rust type: durations and
//! whole numbers. Each has a deserializer and the OpenAPI schema of exactly
//! what that deserializer accepts, so a client (or a fuzzer) that follows
//! the document is never refused, and one that does not is always refused.

use std::sync::LazyLock;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

pub mod duration {
    //! `30s`, `5m`, `1h 30m`: one to four `<number><unit>` parts with the
    //! units `ms`, `s`, `m`, `h` and `d`, the first part not zero.

    use super::*;

    /// The grammar, as an ECMA-262 pattern the schema publishes and the
    /// server enforces.
    pub const PATTERN: &str = r"^[1-9][0-9]{0,5}(ms|s|m|h|d)( ?[0-9]{1,6}(ms|s|m|h|d)){0,3}$";

    static GRAMMAR: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(PATTERN).expect("the duration pattern compiles"));

    const EXPECTED: &str = "a duration such as 30s, 5m or 1h 30m (units ms, s, m, h, d)";

    /// Parses one duration of the grammar.
    pub fn parse(text: &str) -> Result<Duration, &'static str> {
        if !GRAMMAR.is_match(text) {
            return Err(EXPECTED);
        }
        humantime::parse_duration(text).map_err(|_| EXPECTED)
    }

    /// A `serde(deserialize_with)` for `Option<Duration>`: `null` is `None`.
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).map_err(serde::de::Error::custom),
        }
    }

    /// A duration or `null`.
    pub fn schema() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .pattern(Some(PATTERN))
            .description(Some("A duration such as `30s`, `5m` or `1h 30m` (units `ms`, `s`, `m`, `h`, `d`)"))
            .examples(["30s"])
            .build()
    }
}

pub mod whole {
    //! A whole number from 0 to [`MAX_RETRIES`], written `3` or `3.0`: JSON
    //! Schema counts both as integers, so both are accepted.

    use super::*;

    /// The most retries a source may ask for.
    pub const MAX_RETRIES: u32 = 100;

    /// A `serde(deserialize_with)` for `Option<u32>` within `0..=MAX_RETRIES`.
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
        let whole = match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Some(u),
            (None, Some(f)) if f.fract() == 0.0 && (0.0..=f64::from(MAX_RETRIES)).contains(&f) => {
                Some(f as u64)
            }
            _ => None,
        };
        match whole.and_then(|u| u32::try_from(u).ok()).filter(|u| *u <= MAX_RETRIES) {
            Some(u) => Ok(Some(u)),
            None => Err(serde::de::Error::custom(format!("expected a whole number from 0 to {MAX_RETRIES}"))),
        }
    }

    /// An integer from 0 to [`MAX_RETRIES`], or `null`.
    pub fn schema() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .minimum(Some(0))
            .maximum(Some(MAX_RETRIES))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "duration::optional")]
        d: Option<Duration>,
        #[serde(default, deserialize_with = "whole::optional")]
        n: Option<u32>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn durations_follow_the_published_grammar() {
        for (text, secs) in [("30s", 30), ("5m", 300), ("1h 30m", 5400), ("1h30m", 5400), ("2d", 172_800)] {
            assert_eq!(duration::parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        assert_eq!(duration::parse("250ms"), Ok(Duration::from_millis(250)));
        for text in
            ["", "0s", "30", "s", "1 hour", "1h  30m", " 1h", "-1s", "1.5s", "9999999s", "1s 1s 1s 1s 1s"]
        {
            assert!(duration::parse(text).is_err(), "{text:?} is outside the grammar");
        }
        assert!(parse(r#"{"d": null}"#).is_ok_and(|b| b.d.is_none()));
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(parse(r#"{"n": 3}"#).map(|b| b.n), Ok(Some(3)));
        assert_eq!(parse(r#"{"n": 3.0}"#).map(|b| b.n), Ok(Some(3)));
        assert_eq!(parse(r#"{"n": 100}"#).map(|b| b.n), Ok(Some(100)));
        for bad in ["3.5", "-1", "101", "229839.0", "1e300", "\"3\""] {
            assert!(parse(&format!(r#"{{"n": {bad}}}"#)).is_err(), "{bad}");
        }
    }
}
