//! Size limits on what clients send.
//!
//! A request body over [`super::MAX_BODY`] is refused with a 413 by the
//! [`super::extract::Body`] extractor (axum's `DefaultBodyLimit` sets the cap).
//! A source configuration is capped on its own, in nesting depth and in
//! encoded size, because it is stored, validated against a plugin's schema and
//! handed to a guest on every check: a deep or bulky config costs every one of
//! those, long after the request that carried it. Both caps answer a 422 at the
//! field, and never echo the value (it may hold secrets).

use serde_json::Value;

use super::error::{ApiError, FieldError};

/// Most containers (objects, arrays) nested in one config, the config included.
pub const MAX_CONFIG_DEPTH: usize = 32;

/// Largest config, as compact JSON.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// A 422 at `loc` unless `config` is within [`MAX_CONFIG_DEPTH`] and
/// [`MAX_CONFIG_BYTES`].
pub fn check_config(loc: &[&str], config: &Value) -> Result<(), ApiError> {
    if depth_exceeds(config, MAX_CONFIG_DEPTH) {
        return Err(ApiError::Validation(vec![FieldError::new(
            loc,
            format!("nested deeper than {MAX_CONFIG_DEPTH} levels"),
            "value_error",
        )]));
    }
    if encoded_len(config) > MAX_CONFIG_BYTES {
        return Err(ApiError::Validation(vec![FieldError::new(
            loc,
            format!("larger than {MAX_CONFIG_BYTES} bytes"),
            "value_error",
        )]));
    }
    Ok(())
}

/// Whether containers in `value` nest more than `max` deep. Stops descending
/// once over, so the walk is bounded by `max`, not by the input.
fn depth_exceeds(value: &Value, max: usize) -> bool {
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Object(map) => Box::new(map.values()),
        Value::Array(items) => Box::new(items.iter()),
        _ => return false,
    };
    if max == 0 {
        return true;
    }
    children.into_iter().any(|child| depth_exceeds(child, max - 1))
}

/// Length of `value` as compact JSON, without building the string.
fn encoded_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` to an infallible writer cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> Value {
        (1..levels).fold(json!({}), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn depth_counts_containers() {
        assert!(!depth_exceeds(&json!(1), 0));
        assert!(depth_exceeds(&json!({}), 0));
        assert!(!depth_exceeds(&nested(MAX_CONFIG_DEPTH), MAX_CONFIG_DEPTH));
        assert!(depth_exceeds(&nested(MAX_CONFIG_DEPTH + 1), MAX_CONFIG_DEPTH));
        assert!(depth_exceeds(&json!([[[1]]]), 2));
    }

    #[test]
    fn caps_answer_at_the_field() {
        assert!(check_config(&["body", "config"], &json!({"host": "x"})).is_ok());
        let big = json!({ "x": "y".repeat(MAX_CONFIG_BYTES) });
        let Err(ApiError::Validation(errors)) = check_config(&["body", "config"], &big) else {
            panic!("not refused")
        };
        assert_eq!(errors[0].loc, [json!("body"), json!("config")]);
        assert!(!errors[0].msg.contains("yyy"));
        assert!(check_config(&["body", "config"], &nested(MAX_CONFIG_DEPTH + 1)).is_err());
    }

    #[test]
    fn encoded_len_is_compact_json() {
        assert_eq!(encoded_len(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#.len());
    }
}
