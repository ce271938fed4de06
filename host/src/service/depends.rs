//! `depends_on` (DESIGN §8): the rules a source's dependencies keep, in one
//! place for the API ([`super::sources`]) and the file ([`check_file`]).
//!
//! A dependency is another source of the same organization, named by its
//! name. Only that organization's sources are ever looked at, so a name
//! that exists elsewhere fails exactly as one that exists nowhere, and no
//! message names another organization's source. The graph stays acyclic:
//! a source that depends on itself, directly or through others, is refused
//! with the cycle named.

use std::collections::{HashMap, HashSet};

use crate::config::{Config, ConfigError};
use crate::model::{Source, is_source_name};

/// Most dependencies one source may name.
pub const MAX_DEPENDS_ON: usize = 100;

/// Why a source's `depends_on` cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependsError {
    /// The same message whether the name exists in another organization or
    /// nowhere.
    #[error("no source named {0:?} in this organization")]
    Unknown(String),
    #[error("a source cannot depend on itself: {0} → {0}")]
    OnItself(String),
    /// The names along the cycle, starting and ending with the source.
    #[error("would make a cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("names {0} sources; at most {MAX_DEPENDS_ON} are allowed")]
    TooMany(usize),
    #[error("{0:?} is not a source name (1 to 200 characters, not all spaces, without \"/\")")]
    BadName(String),
}

/// `names` in their order, without repeats, after checking each is a name
/// a source could have and that there are at most [`MAX_DEPENDS_ON`].
pub fn normalize(names: Vec<String>) -> Result<Vec<String>, DependsError> {
    // Counted as given, repeats included, as the API document's `maxItems`.
    if names.len() > MAX_DEPENDS_ON {
        return Err(DependsError::TooMany(names.len()));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if !is_source_name(&name) {
            return Err(DependsError::BadName(name));
        }
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    Ok(out)
}

/// One organization's sources: name → what it depends on.
pub type Graph<'a> = HashMap<&'a str, &'a [String]>;

/// The graph of `organization` from `sources`, leaving out the source
/// `except` (the one being replaced, whose new definition the caller adds).
pub fn graph<'a>(sources: &'a [Source], organization: &str, except: Option<uuid::Uuid>) -> Graph<'a> {
    sources
        .iter()
        .filter(|s| s.organization == organization && Some(s.id) != except)
        .map(|s| (s.name.as_str(), s.depends_on.as_slice()))
        .collect()
}

/// Checks the dependencies of `name` in `graph`, which holds `name`'s own
/// (new) definition: each names another source of the graph, and no path
/// leads back to `name`.
pub fn check(name: &str, graph: &Graph<'_>) -> Result<(), DependsError> {
    let own = graph.get(name).copied().unwrap_or_default();
    for dep in own {
        if dep == name {
            return Err(DependsError::OnItself(name.to_string()));
        }
        if !graph.contains_key(dep.as_str()) {
            return Err(DependsError::Unknown(dep.clone()));
        }
    }
    match cycle_through(name, graph) {
        Some(cycle) => Err(DependsError::Cycle(cycle)),
        None => Ok(()),
    }
}

/// A path from `start` back to itself, if there is one: depth first, with
/// an explicit stack (a long chain must not exhaust the thread's).
fn cycle_through(start: &str, graph: &Graph<'_>) -> Option<Vec<String>> {
    let mut path: Vec<(&str, usize)> = vec![(start, 0)];
    let mut seen: HashSet<&str> = HashSet::from([start]);
    while let Some(&(node, next)) = path.last() {
        let Some(dep) = graph.get(node).and_then(|deps| deps.get(next)) else {
            path.pop();
            continue;
        };
        if let Some(top) = path.last_mut() {
            top.1 += 1;
        }
        if dep == start {
            let mut names: Vec<String> = path.iter().map(|(n, _)| n.to_string()).collect();
            names.push(start.to_string());
            return Some(names);
        }
        if let Some((&known, _)) = graph.get_key_value(dep.as_str())
            && seen.insert(known)
        {
            path.push((known, 0));
        }
    }
    None
}

/// The sources of `organization` other than `id` that name `name` in their
/// `depends_on`, by name.
pub fn dependents(sources: &[Source], organization: &str, name: &str, id: uuid::Uuid) -> Vec<String> {
    sources
        .iter()
        .filter(|s| s.organization == organization && s.id != id && s.depends_on.iter().any(|d| d == name))
        .map(|s| s.name.clone())
        .collect()
}

/// Whether any source of the file names a dependency (else [`check_file`]
/// has nothing to do, and the store need not be read for it).
pub fn file_has_dependencies(config: &Config) -> bool {
    config.sources.iter().any(|s| !s.depends_on.is_empty())
}

/// Checks the `depends_on` of every source of the file against the file's
/// sources and those `stored` (a file definition stands for the stored one
/// of the same organization and name). Errors name `sources[i].depends_on`.
pub fn check_file(config: &Config, stored: &[Source]) -> Result<(), ConfigError> {
    let invalid = |i: usize, e: DependsError| ConfigError::Invalid {
        path: config.origin.clone(),
        key: format!("sources[{i}].depends_on"),
        reason: e.to_string(),
    };
    let mut normalized = Vec::with_capacity(config.sources.len());
    for (i, s) in config.sources.iter().enumerate() {
        normalized.push(normalize(s.depends_on.clone()).map_err(|e| invalid(i, e))?);
    }
    let mut graphs: HashMap<&str, Graph<'_>> = HashMap::new();
    for s in stored {
        graphs.entry(&s.organization).or_default().insert(&s.name, &s.depends_on);
    }
    for (s, deps) in config.sources.iter().zip(&normalized) {
        graphs.entry(&s.organization).or_default().insert(&s.name, deps);
    }
    for (i, s) in config.sources.iter().enumerate() {
        if let Some(graph) = graphs.get(s.organization.as_str()) {
            check(&s.name, graph).map_err(|e| invalid(i, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, org: &str, deps: &[&str]) -> Source {
        Source {
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            ..Source::for_test(name, org, "tcp")
        }
    }

    #[test]
    fn unknown_names_and_cycles_are_refused_within_the_organization() {
        let sources = vec![
            source("switch", "org_a", &[]),
            source("db", "org_a", &["switch"]),
            source("app", "org_a", &["db"]),
            source("secret", "org_b", &[]),
        ];
        let g = graph(&sources, "org_a", None);
        assert_eq!(check("app", &g), Ok(()));

        let deps = vec!["secret".to_string()];
        let mut g = graph(&sources, "org_a", None);
        g.insert("new", &deps);
        assert_eq!(check("new", &g), Err(DependsError::Unknown("secret".into())), "another org's name");
        let deps = vec!["nowhere".to_string()];
        g.insert("new", &deps);
        let missing = check("new", &g).expect_err("missing");
        assert_eq!(missing.to_string(), "no source named \"nowhere\" in this organization");

        // switch → app → db → switch, through the stored edges.
        let sw = sources[0].id;
        let deps = vec!["app".to_string()];
        let mut g = graph(&sources, "org_a", Some(sw));
        g.insert("switch", &deps);
        let e = check("switch", &g).expect_err("cycle");
        assert_eq!(e.to_string(), "would make a cycle: switch → app → db → switch");
        let deps = vec!["switch".to_string()];
        g.insert("switch", &deps);
        assert_eq!(
            check("switch", &g).expect_err("self").to_string(),
            "a source cannot depend on itself: switch → switch"
        );
    }

    #[test]
    fn names_are_deduplicated_and_bounded() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(normalize(names(&["b", "a", "b"])), Ok(names(&["b", "a"])));
        assert!(matches!(normalize(names(&[" "])), Err(DependsError::BadName(_))));
        assert!(matches!(normalize(names(&["org_b/x"])), Err(DependsError::BadName(_))));
        let many: Vec<String> = (0..=MAX_DEPENDS_ON).map(|i| format!("s{i}")).collect();
        assert_eq!(normalize(many), Err(DependsError::TooMany(MAX_DEPENDS_ON + 1)));
    }

    #[test]
    fn a_long_chain_is_walked_without_recursion() {
        let names: Vec<String> = (0..20_000).map(|i| format!("s{i}")).collect();
        let edges: Vec<Vec<String>> =
            (0..names.len()).map(|i| vec![names[(i + 1) % names.len()].clone()]).collect();
        let g: Graph<'_> = names.iter().map(String::as_str).zip(edges.iter().map(Vec::as_slice)).collect();
        match check("s0", &g) {
            Err(DependsError::Cycle(c)) => assert_eq!(c.len(), names.len() + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dependents_are_of_the_same_organization() {
        let sources = vec![
            source("switch", "org_a", &[]),
            source("db", "org_a", &["switch"]),
            source("x", "org_b", &["switch"]),
        ];
        assert_eq!(dependents(&sources, "org_a", "switch", sources[0].id), ["db"]);
    }
}
