//! Local `$ref`s: which node of the schema document a reference names.
//!
//! Both the load-time bounds and the secret walk follow references, and
//! they must follow exactly the ones the validator follows, or a schema
//! could hide an expansion (or a secret) from one of them. So a reference
//! is either resolved here, inside the document, or the schema is refused.

use std::collections::HashMap;

use serde_json::Value;

/// The reference keywords, in the order they are looked at.
pub(super) const REF_KEYWORDS: [&str; 3] = ["$ref", "$dynamicRef", "$recursiveRef"];

/// Resolves the references of one schema document.
#[derive(Debug)]
pub(super) struct Refs<'a> {
    root: &'a Value,
    /// The root's `$id` without fragment: references may spell themselves
    /// absolutely against it.
    base: Option<String>,
    /// `$anchor` and `$dynamicAnchor` names, to the node that declares them.
    anchors: HashMap<&'a str, &'a Value>,
}

impl<'a> Refs<'a> {
    pub(super) fn new(root: &'a Value) -> Self {
        let base =
            root.get("$id").and_then(Value::as_str).map(|id| id.split('#').next().unwrap_or("").to_string());
        let mut anchors = HashMap::new();
        collect_anchors(root, &mut anchors);
        Self { root, base, anchors }
    }

    /// The node `reference` names, or why it cannot be followed.
    pub(super) fn resolve(&self, reference: &str) -> Result<&'a Value, String> {
        let local = match &self.base {
            Some(base) if !base.is_empty() && reference.starts_with(base.as_str()) => {
                &reference[base.len()..]
            }
            _ => reference,
        };
        let Some(fragment) = local.strip_prefix('#') else {
            return Err(format!(
                "config-schema: $ref {reference:?} is not local (only \"#...\" references within the schema are followed)"
            ));
        };
        let fragment = percent_decode(fragment);
        let found = if fragment.is_empty() || fragment.starts_with('/') {
            self.root.pointer(&fragment)
        } else {
            self.anchors.get(fragment.as_str()).copied()
        };
        found.ok_or_else(|| format!("config-schema: $ref {reference:?} points at nothing in the schema"))
    }

    /// The targets of the reference keywords of `node` (none for a node that
    /// is not an object).
    pub(super) fn targets(&self, node: &'a Value) -> Result<Vec<&'a Value>, String> {
        let mut out = Vec::new();
        for k in REF_KEYWORDS {
            if let Some(r) = node.get(k) {
                let r = r.as_str().ok_or_else(|| format!("config-schema: {k} is not a string"))?;
                out.push(self.resolve(r)?);
            }
        }
        Ok(out)
    }
}

/// Refuses a `$id` below the root: it would move the base of the
/// references under it, and this resolver (like the bounds and the secret
/// walk that use it) resolves every reference against the document. Values
/// that are data, not schemas (`const`, `enum`, `default`, `examples`), are
/// not looked into.
pub(super) fn check_nested_ids(root: &Value) -> Result<(), String> {
    fn go(v: &Value, at_root: bool) -> Result<(), String> {
        match v {
            Value::Object(map) => {
                if !at_root && map.get("$id").is_some_and(Value::is_string) {
                    return Err("config-schema: $id is only allowed at the root".into());
                }
                for (k, child) in map {
                    if !matches!(k.as_str(), "const" | "enum" | "default" | "examples") {
                        go(child, false)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|c| go(c, false)),
            _ => Ok(()),
        }
    }
    go(root, true)
}

fn collect_anchors<'a>(node: &'a Value, out: &mut HashMap<&'a str, &'a Value>) {
    match node {
        Value::Object(map) => {
            for k in ["$anchor", "$dynamicAnchor"] {
                if let Some(name) = map.get(k).and_then(Value::as_str) {
                    out.entry(name).or_insert(node);
                }
            }
            map.values().for_each(|v| collect_anchors(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_anchors(v, out)),
        _ => {}
    }
}

/// A URI fragment's `%XX` escapes decoded; anything malformed is kept as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_pointers_anchors_and_the_root_id() {
        let root = json!({
            "$id": "https://example.com/config",
            "$defs": {"a b": {"type": "string"}, "named": {"$anchor": "pw", "writeOnly": true}}
        });
        let refs = Refs::new(&root);
        assert_eq!(refs.resolve("#/$defs/a%20b").expect("pointer"), &json!({"type": "string"}));
        assert_eq!(refs.resolve("#pw").expect("anchor")["writeOnly"], true);
        assert_eq!(
            refs.resolve("https://example.com/config#/$defs/a b").expect("absolute")["type"],
            "string"
        );
        assert_eq!(refs.resolve("#").expect("root"), &root);
        assert!(refs.resolve("#/$defs/missing").expect_err("missing").contains("points at nothing"));
        assert!(refs.resolve("other.json#/x").expect_err("remote").contains("not local"));
    }

    #[test]
    fn only_the_root_may_set_an_id() {
        assert!(
            check_nested_ids(&json!({"$id": "https://example.com/c", "default": {"$id": "data"}})).is_ok()
        );
        let nested = json!({"$defs": {"x": {"$id": "x.json", "properties": {"a": {"$ref": "#/y"}}}}});
        assert!(check_nested_ids(&nested).expect_err("nested").contains("only allowed at the root"));
        assert!(check_nested_ids(&json!({"properties": {"$id": {"type": "string"}}})).is_ok());
    }
}
