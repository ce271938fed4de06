//! Secret discovery: where in a config a schema's `writeOnly` values live.
//!
//! The walk runs once, when the plugin loads (after the bounds, so it is
//! bounded too), through every keyword that applies a subschema to the same
//! value or to its members: `$ref` chains (cycle-safe), `allOf`/`anyOf`/
//! `oneOf`, `then`/`else`, `dependentSchemas`, `properties`,
//! `patternProperties`, `additionalProperties`, `unevaluatedProperties`,
//! `prefixItems` and `items`.
//! A `writeOnly: true` anywhere on a node, beside a `$ref` included, makes
//! that whole value a secret. Members not known by name are matched by
//! [`Segment`]s: any other key, a key pattern, an array index. A recursive
//! schema (a tree of nodes that each hold a password) gives paths through
//! [`Segment::Descend`], any depth: the walk stays linear, and a secret at
//! any level of the recursion is found (with over-matching below the first
//! level, never under-matching).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;

use super::refs::Refs;

/// One step of a [`SecretPath`].
#[derive(Debug, Clone)]
pub enum Segment {
    /// The member of this name (`properties`).
    Key(String),
    /// Any member of an object not named by `named` nor matched by
    /// `patterns` (`additionalProperties`, beside its own object's keywords).
    AnyKey { named: Arc<Vec<String>>, patterns: Arc<Vec<Pattern>> },
    /// Any member whose name matches (`patternProperties`).
    Pattern(Pattern),
    /// Array elements from `from` on (`items` after `prefixItems`).
    AnyIndex { from: usize },
    /// One array element (`prefixItems`).
    Index(usize),
    /// Any value at any depth below, this one included: what a recursive
    /// schema (a reference back to a definition it is inside) can reach.
    /// It over-matches rather than miss a secret nested deeper.
    Descend,
}

/// A `patternProperties` key, compiled on the linear-time engine.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    /// `None` when the pattern does not compile here: then it matches
    /// every key, so that a secret is over-masked rather than shown.
    regex: Option<Arc<regex::Regex>>,
}

impl Pattern {
    fn new(source: &str) -> Self {
        let regex = regex::RegexBuilder::new(source).size_limit(1 << 20).build().ok().map(Arc::new);
        Self { source: source.to_string(), regex }
    }

    pub fn is_match(&self, key: &str) -> bool {
        self.regex.as_ref().is_none_or(|r| r.is_match(key))
    }
}

impl Segment {
    /// Whether this step takes an object member named `key`.
    pub fn matches_key(&self, key: &str) -> bool {
        match self {
            Segment::Key(k) => k == key,
            Segment::AnyKey { named, patterns } => {
                !named.iter().any(|n| n == key) && !patterns.iter().any(|p| p.is_match(key))
            }
            Segment::Pattern(p) => p.is_match(key),
            Segment::AnyIndex { .. } | Segment::Index(_) | Segment::Descend => false,
        }
    }

    /// Whether this step takes the array element at `index`.
    pub fn matches_index(&self, index: usize) -> bool {
        match self {
            Segment::AnyIndex { from } => index >= *from,
            Segment::Index(i) => *i == index,
            _ => false,
        }
    }
}

impl PartialEq for Segment {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Key(k) => write!(f, "{}", k.replace('~', "~0").replace('/', "~1")),
            Segment::AnyKey { named, patterns } => {
                let srcs: Vec<&str> = patterns.iter().map(|p| p.source.as_str()).collect();
                write!(f, "*{named:?}{srcs:?}")
            }
            Segment::Pattern(p) => write!(f, "~({})", p.source),
            Segment::AnyIndex { from } => write!(f, "[{from}..]"),
            Segment::Index(i) => write!(f, "[{i}]"),
            Segment::Descend => write!(f, "**"),
        }
    }
}

/// Where one secret lives, from the config's root.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretPath(pub Vec<Segment>);

impl SecretPath {
    /// A path of fixed keys.
    pub fn keys(keys: &[&str]) -> Self {
        Self(keys.iter().map(|k| Segment::Key((*k).to_string())).collect())
    }
}

impl fmt::Display for SecretPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.0 {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// The secret paths of a schema that passed its bounds.
pub(super) fn discover(root: &Value, refs: &Refs<'_>) -> Result<Vec<SecretPath>, String> {
    let mut walk = Walk { refs, memo: HashMap::new(), path: Vec::new() };
    // The root is a definition like any other: `{"$ref": "#"}` loops to it.
    let found = walk.referenced(root)?;
    // A loop left open (a memoized definition reused after the one it
    // looped to was finished) is dropped: the first level is still found.
    Ok(found
        .iter()
        .filter(|r| r.loop_to.is_none() && !r.segs.is_empty())
        .map(|r| SecretPath(r.segs.clone()))
        .collect())
}

/// `a ** b ** c` matches no more than `a ** c`: one `Descend` per path
/// keeps matching a config linear in its size.
fn one_descend(segs: Vec<Segment>) -> Vec<Segment> {
    let is = |s: &Segment| matches!(s, Segment::Descend);
    match (segs.iter().position(is), segs.iter().rposition(is)) {
        (Some(first), Some(last)) if first != last => {
            segs[..=first].iter().chain(&segs[last + 1..]).cloned().collect()
        }
        _ => segs,
    }
}

/// The paths of definition `key` with its loops back to itself closed: a
/// secret `s` and a loop `p` back to the start give `s` and `p ** s` (any
/// number of trips round the loop, over-approximated by "any depth").
fn close_loops(key: *const Value, found: &[Rel]) -> Found {
    let loops: Vec<&Rel> = found.iter().filter(|r| r.loop_to == Some(key) && !r.segs.is_empty()).collect();
    let mut out = Collected::default();
    for rel in found.iter().filter(|r| r.loop_to != Some(key)) {
        out.push(rel.clone());
        for l in &loops {
            let segs = l.segs.iter().cloned().chain([Segment::Descend]).chain(rel.segs.iter().cloned());
            out.push(Rel { segs: one_descend(segs.collect()), loop_to: rel.loop_to });
        }
    }
    Rc::new(out.paths)
}

/// The client key of the host's TLS (DESIGN §4) is a secret whatever the
/// schema says; it is added wherever a config may carry a `tls` object.
pub(super) fn tls_client_key() -> SecretPath {
    SecretPath::keys(&["tls", "client_key"])
}

/// Whether a config of this schema may carry a root `tls` member: the
/// schema names it, or does not close its root to other members.
pub(super) fn may_carry_tls(root: &Value, secrets_walk_found_tls: bool) -> bool {
    let closed = |k: &str| root.get(k) == Some(&Value::Bool(false));
    secrets_walk_found_tls || !(closed("additionalProperties") || closed("unevaluatedProperties"))
}

/// Whether the schema declares a root `tls` property (directly or through
/// a reference or a composition keyword). Each node is looked at once.
pub(super) fn declares_tls(root: &Value, refs: &Refs<'_>) -> bool {
    let mut seen: HashSet<*const Value> = HashSet::new();
    let mut todo = vec![root];
    while let Some(node) = todo.pop() {
        if !seen.insert(node as *const Value) {
            continue;
        }
        if node.get("properties").and_then(|p| p.get("tls")).is_some() {
            return true;
        }
        todo.extend(refs.targets(node).unwrap_or_default());
        for k in ["allOf", "anyOf", "oneOf"] {
            todo.extend(node.get(k).and_then(Value::as_array).into_iter().flatten());
        }
    }
    false
}

/// References followed one inside another. The bounds count each
/// definition once, in their own order, so a chain they accepted may be
/// longer on this walk's way; this only keeps the recursion finite.
const MAX_REF_HOPS: usize = 128;

/// A secret path relative to one node (empty: the node itself), or, with
/// `loop_to`, a path to a reference back to a definition being walked: its
/// secrets again, from there on.
#[derive(Clone)]
struct Rel {
    segs: Vec<Segment>,
    loop_to: Option<*const Value>,
}

/// What was found under one node.
type Found = Rc<Vec<Rel>>;

struct Walk<'r, 'a> {
    refs: &'r Refs<'a>,
    /// What each referenced node holds, found once: the walk is linear in
    /// the schema, however often a definition is referenced.
    memo: HashMap<*const Value, Found>,
    /// Referenced nodes on the way here: a reference back to one of them
    /// (a recursive schema) is not followed again.
    path: Vec<*const Value>,
}

/// Paths found under one node, without duplicates.
#[derive(Default)]
struct Collected {
    paths: Vec<Rel>,
    seen: HashSet<(String, Option<*const Value>)>,
}

impl Collected {
    fn add(&mut self, prefix: Option<&Segment>, found: &[Rel]) {
        for rel in found {
            let segs: Vec<Segment> = prefix.cloned().into_iter().chain(rel.segs.iter().cloned()).collect();
            self.push(Rel { segs, loop_to: rel.loop_to });
        }
    }

    fn push(&mut self, rel: Rel) {
        if self.seen.insert((SecretPath(rel.segs.clone()).to_string(), rel.loop_to)) {
            self.paths.push(rel);
        }
    }
}

impl<'a> Walk<'_, 'a> {
    fn node(&mut self, node: &'a Value) -> Result<Found, String> {
        let Value::Object(map) = node else { return Ok(Rc::default()) };
        if map.get("writeOnly") == Some(&Value::Bool(true)) {
            // The whole value is secret: nothing under it needs a path.
            return Ok(Rc::new(vec![Rel { segs: Vec::new(), loop_to: None }]));
        }
        let mut out = Collected::default();
        for target in self.refs.targets(node)? {
            let found = self.referenced(target)?;
            out.add(None, &found);
        }
        for k in ["allOf", "anyOf", "oneOf"] {
            for branch in map.get(k).and_then(Value::as_array).into_iter().flatten() {
                out.add(None, &self.node(branch)?);
            }
        }
        for k in ["then", "else"] {
            if let Some(branch) = map.get(k) {
                out.add(None, &self.node(branch)?);
            }
        }
        for branch in
            map.get("dependentSchemas").and_then(Value::as_object).into_iter().flat_map(|m| m.values())
        {
            out.add(None, &self.node(branch)?);
        }
        self.members(map, &mut out)?;
        self.elements(map, &mut out)?;
        Ok(Rc::new(out.paths))
    }

    fn referenced(&mut self, target: &'a Value) -> Result<Found, String> {
        let key = target as *const Value;
        if let Some(found) = self.memo.get(&key) {
            return Ok(Rc::clone(found));
        }
        if self.path.contains(&key) {
            return Ok(Rc::new(vec![Rel { segs: Vec::new(), loop_to: Some(key) }]));
        }
        if self.path.len() >= MAX_REF_HOPS {
            return Err(format!("config-schema nests $ref more than {MAX_REF_HOPS} deep"));
        }
        self.path.push(key);
        let found = self.node(target);
        self.path.pop();
        let found = close_loops(key, &found?);
        self.memo.insert(key, Rc::clone(&found));
        Ok(found)
    }

    /// `properties`, `patternProperties`, `additionalProperties`.
    fn members(
        &mut self,
        map: &'a serde_json::Map<String, Value>,
        out: &mut Collected,
    ) -> Result<(), String> {
        let props = map.get("properties").and_then(Value::as_object);
        for (key, sub) in props.into_iter().flatten() {
            out.add(Some(&Segment::Key(key.clone())), &self.node(sub)?);
        }
        let pattern_props = map.get("patternProperties").and_then(Value::as_object);
        let mut patterns = Vec::new();
        for (source, sub) in pattern_props.into_iter().flatten() {
            let p = Pattern::new(source);
            patterns.push(p.clone());
            out.add(Some(&Segment::Pattern(p)), &self.node(sub)?);
        }
        if let Some(sub) = map.get("additionalProperties") {
            let named = props.map(|p| p.keys().cloned().collect()).unwrap_or_default();
            let seg = Segment::AnyKey { named: Arc::new(named), patterns: Arc::new(patterns.clone()) };
            out.add(Some(&seg), &self.node(sub)?);
        }
        if let Some(sub) = map.get("unevaluatedProperties") {
            // Members no adjacent keyword evaluated: approximated by those
            // named here or in a direct `allOf`/`anyOf`/`oneOf` branch
            // (over-matching rather than missing a secret).
            let mut named: Vec<String> = props.map(|p| p.keys().cloned().collect()).unwrap_or_default();
            for k in ["allOf", "anyOf", "oneOf"] {
                let branches = map.get(k).and_then(Value::as_array).into_iter().flatten();
                for p in branches.filter_map(|b| b.get("properties").and_then(Value::as_object)) {
                    named.extend(p.keys().cloned());
                }
            }
            let seg = Segment::AnyKey { named: Arc::new(named), patterns: Arc::new(patterns) };
            out.add(Some(&seg), &self.node(sub)?);
        }
        Ok(())
    }

    /// `prefixItems` and `items`.
    fn elements(
        &mut self,
        map: &'a serde_json::Map<String, Value>,
        out: &mut Collected,
    ) -> Result<(), String> {
        let prefix = map.get("prefixItems").and_then(Value::as_array);
        for (i, sub) in prefix.into_iter().flatten().enumerate() {
            out.add(Some(&Segment::Index(i)), &self.node(sub)?);
        }
        match map.get("items") {
            // Draft 2019-09's array form, still met in the wild.
            Some(Value::Array(subs)) => {
                for (i, sub) in subs.iter().enumerate() {
                    out.add(Some(&Segment::Index(i)), &self.node(sub)?);
                }
            }
            Some(sub) => {
                let from = prefix.map_or(0, Vec::len);
                out.add(Some(&Segment::AnyIndex { from }), &self.node(sub)?);
            }
            None => {}
        }
        Ok(())
    }
}
