//! Load-time bounds on a plugin's `config-schema` (DESIGN §2).
//!
//! A schema is plugin input: a small document whose `$defs` reference each
//! other can stand for an exponentially large tree (8 levels of `anyOf`
//! with 40 references each is 40^8 paths in 10 KB), and the validator and
//! the secret walk would both explore it. So before anything compiles it,
//! the schema's text size, its nesting and the size of its tree with every
//! local `$ref` expanded are bounded. The expansion is counted once per
//! referenced node (memoized), so counting is linear in the document; a
//! reference back into the path being counted (a recursive schema, which is
//! legal) counts as a leaf, never as infinite.

use std::collections::HashMap;

use serde_json::Value;

use super::refs::Refs;

/// How large a schema may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaBounds {
    /// Bytes of `config-schema` text.
    pub max_bytes: usize,
    /// Nesting of JSON arrays and objects.
    pub max_depth: usize,
    /// Nodes of the schema tree with every `$ref` expanded.
    pub max_expanded: u64,
    /// `$ref`s followed one inside another.
    pub max_ref_depth: usize,
}

impl Default for SchemaBounds {
    fn default() -> Self {
        // The largest first-party schema is a few KB, nests under 10 and
        // expands to a few hundred nodes: these leave a wide margin while
        // keeping validation of any accepted schema cheap.
        Self { max_bytes: 256 << 10, max_depth: 64, max_expanded: 100_000, max_ref_depth: 32 }
    }
}

/// Checks the text size before it is even parsed.
pub(super) fn check_size(text: &str, bounds: &SchemaBounds) -> Result<(), String> {
    if text.len() > bounds.max_bytes {
        return Err(format!(
            "config-schema is too large: {} bytes, the limit is {} bytes",
            text.len(),
            bounds.max_bytes
        ));
    }
    Ok(())
}

/// Checks nesting and `$ref` expansion of a parsed schema; returns its
/// expanded size.
pub(super) fn check_tree(root: &Value, refs: &Refs<'_>, bounds: &SchemaBounds) -> Result<u64, String> {
    let depth = nesting(root, bounds.max_depth);
    if depth > bounds.max_depth {
        return Err(format!("config-schema nests deeper than {} levels", bounds.max_depth));
    }
    let mut counter = Counter { refs, bounds, memo: HashMap::new(), path: Vec::new() };
    counter.size(root)
}

/// Nesting depth of `v`, counted no further than `limit + 1`.
fn nesting(v: &Value, limit: usize) -> usize {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Object(map) => Box::new(map.values()),
        Value::Array(items) => Box::new(items.iter()),
        _ => return 0,
    };
    if limit == 0 {
        return 1;
    }
    1 + children.map(|c| nesting(c, limit - 1)).max().unwrap_or(0)
}

struct Counter<'r, 'a> {
    refs: &'r Refs<'a>,
    bounds: &'r SchemaBounds,
    /// Expanded size of each referenced node already counted, by address.
    memo: HashMap<*const Value, u64>,
    /// Referenced nodes being counted now, outermost first.
    path: Vec<*const Value>,
}

impl<'a> Counter<'_, 'a> {
    /// Nodes under `v` (itself included), references expanded.
    fn size(&mut self, v: &'a Value) -> Result<u64, String> {
        let mut total: u64 = 1;
        match v {
            Value::Object(map) => {
                for target in self.refs.targets(v)? {
                    total = total.saturating_add(self.referenced(target)?);
                }
                for (k, child) in map {
                    // `$defs` are counted where they are referenced, as the
                    // validator reaches them; unreferenced ones once, here.
                    if k == "$defs" || k == "definitions" {
                        for def in child.as_object().into_iter().flat_map(|m| m.values()) {
                            total = total.saturating_add(self.referenced(def)?);
                        }
                    } else {
                        total = total.saturating_add(self.size(child)?);
                    }
                    self.limit(total)?;
                }
            }
            Value::Array(items) => {
                for child in items {
                    total = total.saturating_add(self.size(child)?);
                    self.limit(total)?;
                }
            }
            _ => {}
        }
        Ok(total)
    }

    /// The expanded size of a referenced node: memoized, and a leaf when it
    /// is already being counted (a recursive schema).
    fn referenced(&mut self, target: &'a Value) -> Result<u64, String> {
        let key = target as *const Value;
        if let Some(n) = self.memo.get(&key) {
            return Ok(*n);
        }
        if self.path.contains(&key) {
            return Ok(1);
        }
        if self.path.len() >= self.bounds.max_ref_depth {
            return Err(format!("config-schema nests $ref more than {} deep", self.bounds.max_ref_depth));
        }
        self.path.push(key);
        let n = self.size(target);
        self.path.pop();
        let n = n?;
        self.memo.insert(key, n);
        Ok(n)
    }

    fn limit(&self, total: u64) -> Result<(), String> {
        if total > self.bounds.max_expanded {
            return Err(format!(
                "config-schema is too complex: with its $refs expanded it has more than {} nodes",
                self.bounds.max_expanded
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::bomb;
    use serde_json::json;

    fn check(v: &Value) -> Result<u64, String> {
        check_tree(v, &Refs::new(v), &SchemaBounds::default())
    }

    #[test]
    fn the_exponential_bomb_is_refused_naming_the_bound() {
        let b = bomb(8, 40);
        assert!(b.to_string().len() < 16 << 10, "a small document");
        let t0 = std::time::Instant::now();
        let err = check(&b).expect_err("refused");
        assert!(err.contains("too complex") && err.contains("100000 nodes"), "{err}");
        // Linear counting: far below a second even in a debug build.
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn shared_references_are_counted_as_expanded() {
        // 3 levels of 10: 1,000 leaves when expanded, far below the bound.
        assert!(check(&bomb(3, 10)).is_ok());
        let tight = SchemaBounds { max_expanded: 500, ..SchemaBounds::default() };
        let b = bomb(3, 10);
        assert!(check_tree(&b, &Refs::new(&b), &tight).is_err());
    }

    #[test]
    fn recursive_schemas_are_legal() {
        let tree = json!({
            "$ref": "#/$defs/node",
            "$defs": {"node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                "other": {"$ref": "#"}
            }}}
        });
        assert!(check(&tree).is_ok());
    }

    #[test]
    fn size_depth_and_foreign_refs_are_refused() {
        let big = "x".repeat((256 << 10) + 1);
        assert!(check_size(&big, &SchemaBounds::default()).expect_err("big").contains("too large"));
        let mut deep = json!({"type": "string"});
        for _ in 0..70 {
            deep = json!({"items": deep});
        }
        assert!(check(&deep).expect_err("deep").contains("nests deeper than 64"));
        let remote = json!({"$ref": "https://example.com/s.json"});
        assert!(check(&remote).expect_err("remote").contains("not local"));
        let mut chain = serde_json::Map::new();
        for i in 0..40 {
            chain.insert(format!("d{i}"), json!({"$ref": format!("#/$defs/d{}", i + 1)}));
        }
        chain.insert("d40".into(), json!({}));
        let chained = json!({"$ref": "#/$defs/d0", "$defs": chain});
        assert!(check(&chained).expect_err("chain").contains("$ref more than 32"));
    }
}
