//! Secret paths applied to a concrete config: which values they name, the
//! config without them, and the two halves put back together.
//!
//! A path that ends at an array element makes the whole array the secret
//! when it is split off (removing one element would shift the others); its
//! string leaves are still listed one by one for redaction.

use serde_json::{Map, Value};

use super::secrets::{SecretPath, Segment};

/// One step into a concrete value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// Every value of `config` that one of `paths` names, with where it is.
pub(super) fn find<'v>(config: &'v Value, paths: &[SecretPath]) -> Vec<(Vec<Step>, &'v Value)> {
    let mut out = Vec::new();
    for path in paths {
        walk(config, &path.0, &mut Vec::new(), &mut out);
    }
    out
}

fn walk<'v>(v: &'v Value, segs: &[Segment], at: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, &'v Value)>) {
    let Some((seg, rest)) = segs.split_first() else {
        if !out.iter().any(|(p, _)| p == at) {
            out.push((at.clone(), v));
        }
        return;
    };
    if let Segment::Descend = seg {
        // Here, and at every depth below (each value once per `Descend`).
        walk(v, rest, at, out);
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    at.push(Step::Key(k.clone()));
                    walk(child, segs, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    walk(child, segs, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter().filter(|(k, _)| seg.matches_key(k)) {
                at.push(Step::Key(k.clone()));
                walk(child, rest, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().filter(|(i, _)| seg.matches_index(*i)) {
                at.push(Step::Index(i));
                walk(child, rest, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// What is split off for one found value: the member holding it, or the
/// array that holds it.
fn member(steps: &[Step]) -> &[Step] {
    let keep = steps.iter().rposition(|s| matches!(s, Step::Key(_))).map_or(0, |i| i + 1);
    &steps[..keep]
}

/// The members of `config` that hold secrets, outermost first, no duplicates.
pub(super) fn secret_members(config: &Value, paths: &[SecretPath]) -> Vec<Vec<Step>> {
    let mut members: Vec<Vec<Step>> = Vec::new();
    for (steps, _) in find(config, paths) {
        let m = member(&steps).to_vec();
        if !m.is_empty() && !members.contains(&m) {
            members.push(m);
        }
    }
    // A member inside another one goes with it.
    members.sort_by_key(Vec::len);
    let mut out: Vec<Vec<Step>> = Vec::new();
    for m in members {
        if !out.iter().any(|o| m.starts_with(o)) {
            out.push(m);
        }
    }
    out
}

pub(super) fn get<'v>(v: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(v, |v, s| match (v, s) {
        (Value::Object(m), Step::Key(k)) => m.get(k),
        (Value::Array(a), Step::Index(i)) => a.get(*i),
        _ => None,
    })
}

fn get_mut<'v>(v: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    steps.iter().try_fold(v, |v, s| match (v, s) {
        (Value::Object(m), Step::Key(k)) => m.get_mut(k),
        (Value::Array(a), Step::Index(i)) => a.get_mut(*i),
        _ => None,
    })
}

/// Removes the member at `steps` (which ends with a key).
pub(super) fn remove(v: &mut Value, steps: &[Step]) {
    if let Some((Step::Key(last), parents)) = steps.split_last()
        && let Some(Value::Object(map)) = get_mut(v, parents)
    {
        map.remove(last);
    }
}

/// Sets `value` at `steps`, creating objects and arrays on the way; array
/// positions before it are `null`, which merging skips.
pub(super) fn set(root: &mut Value, steps: &[Step], value: Value) {
    let Some((last, parents)) = steps.split_last() else { return };
    let mut node = root;
    for (i, step) in parents.iter().enumerate() {
        let next_is_index = matches!(steps[i + 1], Step::Index(_));
        let fresh = || if next_is_index { Value::Array(Vec::new()) } else { Value::Object(Map::new()) };
        node = match step {
            Step::Key(k) => {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                let Value::Object(map) = node else { return };
                map.entry(k.clone()).or_insert_with(fresh)
            }
            Step::Index(idx) => {
                let Some(slot) = slot(node, *idx) else { return };
                if slot.is_null() {
                    *slot = fresh();
                }
                slot
            }
        };
    }
    match last {
        Step::Key(k) => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            if let Value::Object(map) = node {
                map.insert(k.clone(), value);
            }
        }
        Step::Index(idx) => {
            if let Some(slot) = slot(node, *idx) {
                *slot = value;
            }
        }
    }
}

fn slot(node: &mut Value, idx: usize) -> Option<&mut Value> {
    if !node.is_array() {
        *node = Value::Array(Vec::new());
    }
    let Value::Array(items) = node else { return None };
    if items.len() <= idx {
        items.resize(idx + 1, Value::Null);
    }
    items.get_mut(idx)
}

/// Merges `from` into `target`: objects member by member, arrays element
/// by element (a `null` element of `from` is a gap, kept from `target`).
/// With `extend`, elements past the end of a `target` array are appended;
/// without, `target`'s shape wins and they are dropped.
pub(super) fn merge_into(target: &mut Value, from: &Value, extend: bool) {
    match (target, from) {
        (Value::Object(t), Value::Object(f)) => {
            for (k, v) in f {
                match t.get_mut(k) {
                    Some(existing) if same_container(existing, v) => merge_into(existing, v, extend),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(f)) => {
            for (i, v) in f.iter().enumerate() {
                if v.is_null() {
                    continue;
                }
                match t.get_mut(i) {
                    Some(existing) if same_container(existing, v) => merge_into(existing, v, extend),
                    Some(existing) => *existing = v.clone(),
                    None if extend => {
                        t.resize(i, Value::Null);
                        t.push(v.clone());
                    }
                    None => {}
                }
            }
        }
        (t, f) => *t = f.clone(),
    }
}

fn same_container(a: &Value, b: &Value) -> bool {
    (a.is_object() && b.is_object()) || (a.is_array() && b.is_array())
}

/// The texts a value stands for in guest output: a string as itself, a
/// number or boolean as JSON, containers by their leaves.
pub(super) fn texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| texts(i, out)),
        Value::Object(map) => map.values().for_each(|i| texts(i, out)),
        other => out.push(other.to_string()),
    }
}
