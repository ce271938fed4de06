//! A plugin's config schema: validation of source configs, and its secrets.
//!
//! Properties marked `"writeOnly": true` are secrets. This module finds them,
//! so the rest of the host can strip them from anything it returns and scrub
//! their values from anything a guest prints or answers.

use serde_json::{Map, Value};

/// One reason a config does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where in the config, as object keys and array indices.
    pub path: Vec<String>,
    /// What is wrong, without echoing the offending value.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "/{}: {}", self.path.join("/"), self.message)
        }
    }
}

/// A compiled config schema.
#[derive(Debug)]
pub struct ConfigSchema {
    raw: Value,
    validator: jsonschema::Validator,
    secret_paths: Vec<Vec<String>>,
}

impl ConfigSchema {
    /// Compiles a JSON Schema (2020-12) given as text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: Value = serde_json::from_str(text).map_err(|e| format!("config-schema is not JSON: {e}"))?;
        if !raw.is_object() {
            return Err("config-schema is not a JSON Schema object".into());
        }
        let validator = jsonschema::draft202012::options().build(&raw).map_err(|e| invalid_schema(&e))?;
        let mut secret_paths = Vec::new();
        collect_secrets(&raw, &raw, &mut Vec::new(), &mut secret_paths, 0);
        Ok(Self { raw, validator, secret_paths })
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Paths of the `writeOnly` properties.
    pub fn secret_paths(&self) -> &[Vec<String>] {
        &self.secret_paths
    }

    /// Every violation of the schema, with values masked.
    pub fn validate(&self, config: &Value) -> Result<(), Vec<Violation>> {
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(config)
            .map(|e| Violation {
                path: e.instance_path().iter().map(|s| s.to_string()).collect(),
                message: e.masked().to_string(),
            })
            .collect();
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }

    /// The secret values present in `config`, for scrubbing guest output.
    pub fn secrets_in(&self, config: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for path in &self.secret_paths {
            if let Some(v) = lookup(config, path) {
                match v {
                    Value::Null => {}
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => out.push(s.clone()),
                    other => out.push(other.to_string()),
                }
            }
        }
        out
    }

    /// Splits `config` into what may be shown and the secret values, which
    /// are stored apart, as an object of the same shape.
    pub fn split_secrets(&self, config: &Value) -> (Value, Value) {
        let mut secrets = Value::Object(Map::new());
        for path in &self.secret_paths {
            if let Some(v) = lookup(config, path) {
                set_path(&mut secrets, path, v.clone());
            }
        }
        (self.strip_secrets(config), secrets)
    }

    /// `config` without its secrets: what any API may return.
    pub fn strip_secrets(&self, config: &Value) -> Value {
        let mut out = config.clone();
        for path in &self.secret_paths {
            if let Some((last, parents)) = path.split_last()
                && let Some(Value::Object(map)) = lookup_mut(&mut out, parents)
            {
                map.remove(last);
            }
        }
        out
    }
}

/// `config` as JSON text for a guest. JSON Schema counts `5432.0` as an
/// integer, so the host accepts it where the schema says `integer`; a
/// guest's deserializer (serde's `u16`, say) would not. Whole floats are
/// written as integers, so what passed the schema reaches the plugin as the
/// schema meant it.
pub fn guest_json(config: &Value) -> String {
    fn has_whole_float(v: &Value) -> bool {
        match v {
            Value::Number(n) => whole(n).is_some(),
            Value::Array(items) => items.iter().any(has_whole_float),
            Value::Object(map) => map.values().any(has_whole_float),
            _ => false,
        }
    }
    fn whole(n: &serde_json::Number) -> Option<Value> {
        let f = n.as_f64().filter(|_| n.is_f64())?;
        // Past 2^53 a float is not one integer but a range of them.
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then(|| Value::from(f as i64))
    }
    fn normalize(v: &mut Value) {
        match v {
            Value::Number(n) => {
                if let Some(w) = whole(n) {
                    *v = w;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(normalize),
            Value::Object(map) => map.values_mut().for_each(normalize),
            _ => {}
        }
    }
    if !has_whole_float(config) {
        return config.to_string();
    }
    let mut copy = config.clone();
    normalize(&mut copy);
    copy.to_string()
}

/// Puts the secret values of `secrets` back into `public`.
pub fn merge_secrets(public: &Value, secrets: &Value) -> Value {
    let mut out = public.clone();
    merge_into(&mut out, secrets);
    out
}

fn merge_into(target: &mut Value, from: &Value) {
    match (target, from) {
        (Value::Object(t), Value::Object(f)) => {
            for (k, v) in f {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge_into(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, f) => *t = f.clone(),
    }
}

fn set_path(root: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = root;
    for k in parents {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(map) = node {
        map.insert(last.clone(), value);
    }
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.as_object()?.get(k))
}

fn lookup_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| v.as_object_mut()?.get_mut(k))
}

/// Follows a local `$ref` (`#/$defs/...`) once; other refs are left alone.
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let Some(r) = node.get("$ref").and_then(Value::as_str) else { return node };
    let Some(pointer) = r.strip_prefix('#') else { return node };
    root.pointer(pointer).unwrap_or(node)
}

fn is_write_only(root: &Value, node: &Value, depth: usize) -> bool {
    let node = resolve(root, node);
    if node.get("writeOnly").and_then(Value::as_bool) == Some(true) {
        return true;
    }
    depth < 8
        && ["anyOf", "oneOf", "allOf"].iter().any(|k| {
            node.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|branches| branches.iter().any(|b| is_write_only(root, b, depth + 1)))
        })
}

fn collect_secrets(
    root: &Value,
    node: &Value,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let node = resolve(root, node);
    let props: Option<&Map<String, Value>> = node.get("properties").and_then(Value::as_object);
    for (key, sub) in props.into_iter().flatten() {
        prefix.push(key.clone());
        if is_write_only(root, sub, 0) {
            out.push(prefix.clone());
        } else {
            collect_secrets(root, sub, prefix, out, depth + 1);
        }
        prefix.pop();
    }
    for k in ["anyOf", "oneOf", "allOf"] {
        for branch in node.get(k).and_then(Value::as_array).into_iter().flatten() {
            collect_secrets(root, branch, prefix, out, depth + 1);
        }
    }
}

/// Replaces every occurrence of a secret value in guest-produced text.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub const MASK: &'static str = "***";

    pub fn new(mut secrets: Vec<String>) -> Self {
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), Self::MASK))
    }

    pub fn redact_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.redact(&t))
    }
}

/// A schema that fails the 2020-12 meta-schema, located for its author: the
/// JSON Pointer into `config-schema` to fix, and what is wrong there. The
/// value is the plugin's own schema, not a secret, so it is shown.
fn invalid_schema(e: &jsonschema::ValidationError<'_>) -> String {
    let path = e.instance_path().to_string();
    let at = if path.is_empty() { "the root".to_string() } else { path };
    format!("config-schema is not a valid JSON Schema (2020-12): at {at}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn guests_get_whole_floats_as_integers() {
        let config = json!({"port": 5432.0, "ratio": 0.5, "list": [1.0, 2], "big": 1e300, "s": "3.0"});
        let text = guest_json(&config);
        let back: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(back, json!({"port": 5432, "ratio": 0.5, "list": [1, 2], "big": 1e300, "s": "3.0"}));
        assert!(text.contains("\"port\":5432,"), "{text}");
    }

    fn schema() -> ConfigSchema {
        let raw = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["host"],
            "properties": {
                "host": { "type": "string" },
                "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
                "password": { "type": ["string", "null"], "writeOnly": true },
                "auth": { "type": "object", "properties": {
                    "token": { "anyOf": [{ "$ref": "#/$defs/Secret" }, { "type": "null" }] }
                }}
            },
            "$defs": { "Secret": { "type": "string", "writeOnly": true } }
        });
        ConfigSchema::parse(&raw.to_string()).expect("valid schema")
    }

    #[test]
    fn finds_secrets_through_refs_and_nesting() {
        let s = schema();
        assert_eq!(
            s.secret_paths(),
            &[vec!["auth".to_string(), "token".to_string()], vec!["password".to_string()]]
        );
    }

    #[test]
    fn strips_and_lists_secret_values() {
        let s = schema();
        let config = json!({"host": "h", "password": "hunter2", "auth": {"token": "t0k"}});
        assert_eq!(s.strip_secrets(&config), json!({"host": "h", "auth": {}}));
        let mut secrets = s.secrets_in(&config);
        secrets.sort();
        assert_eq!(secrets, vec!["hunter2", "t0k"]);
    }

    #[test]
    fn violations_point_at_the_field_and_never_echo_values() {
        let s = schema();
        let err =
            s.validate(&json!({"host": "h", "port": 70000, "password": 12345678})).expect_err("invalid");
        let port = err.iter().find(|v| v.path == ["port"]).expect("port violation");
        assert!(!port.message.contains("70000"), "{}", port.message);
        assert!(err.iter().all(|v| !v.message.contains("12345678")));
        assert!(s.validate(&json!({"port": 1})).expect_err("missing host")[0].message.contains("host"));
    }

    #[test]
    fn rejects_invalid_schemas() {
        assert!(ConfigSchema::parse("not json").is_err());
        assert!(ConfigSchema::parse(r#"{"type": 12}"#).is_err());
        assert!(ConfigSchema::parse(r#"{"type": "object"}"#).is_ok());
    }

    #[test]
    fn secrets_split_and_merge_back() {
        let s = schema();
        let config = json!({"host": "h", "password": "pw", "auth": {"token": "t"}});
        let (public, secrets) = s.split_secrets(&config);
        assert_eq!(public, json!({"host": "h", "auth": {}}));
        assert_eq!(secrets, json!({"password": "pw", "auth": {"token": "t"}}));
        assert_eq!(merge_secrets(&public, &secrets), config);
    }

    #[test]
    fn redactor_masks_every_occurrence() {
        let r = Redactor::new(vec!["pw".into(), "pw-long".into()]);
        assert_eq!(r.redact("a pw-long b pw"), "a *** b ***");
    }
}
