//! The README's two commands share one build: `cargo run -- serve` after
//! `cargo nextest run --workspace` compiles nothing but `sonde` itself. That
//! holds while both builds resolve the same features for every shared
//! dependency, in both of cargo's feature domains (what runs on the target,
//! and what runs at build time: build scripts and proc macros), which
//! host/Cargo.toml's unification block arranges. This test compares the two
//! resolutions with `cargo tree`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use sonde_test_support::python::root;

/// (domain, "name version") → features, as `cargo tree` resolves them.
type Resolution = BTreeMap<(&'static str, String), BTreeSet<String>>;

fn resolve(args: &[&str]) -> Resolution {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .arg("tree")
        .args(args)
        .args(["--format", "{p}|{f}", "--offline", "--charset", "ascii"])
        .current_dir(root())
        .output()
        .expect("cargo tree");
    assert!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// Reads `cargo tree`'s indented output: a package is built for the build
/// domain when it sits under a `[build-dependencies]` header or a proc macro.
fn parse(text: &str) -> Resolution {
    let mut out = Resolution::new();
    // Ancestors: (depth, in the build domain); headers: depth → kind.
    let mut ancestors: Vec<(usize, bool)> = Vec::new();
    let mut headers: BTreeMap<usize, String> = BTreeMap::new();
    for line in text.lines() {
        let body = line.trim_start_matches(['|', '`', '-', ' ']);
        if body.is_empty() {
            ancestors.clear();
            headers.clear();
            continue;
        }
        let depth = (line.len() - body.len()) / 4;
        if body.starts_with('[') {
            headers.insert(depth + 1, body.to_string());
            continue;
        }
        headers.retain(|d, _| *d <= depth);
        ancestors.retain(|(d, _)| *d < depth);
        let under_build = ancestors.last().is_some_and(|(_, build)| *build);
        let build = under_build || headers.get(&depth).is_some_and(|h| h == "[build-dependencies]");
        let (package, features) = body.split_once('|').unwrap_or((body, ""));
        let name = package.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let features = features.trim_end_matches(" (*)").split(',').filter(|f| !f.is_empty());
        out.entry((if build { "build" } else { "target" }, name))
            .or_default()
            .extend(features.map(String::from));
        ancestors.push((depth, build || package.contains("(proc-macro)")));
    }
    out
}

#[test]
fn run_and_test_builds_resolve_the_same_features() {
    let run = resolve(&["-p", "sonde", "-e", "normal,build"]);
    let test = resolve(&["--workspace", "-e", "normal,build,dev"]);
    assert!(run.len() > 200, "too few packages: is the parse right? {run:?}");
    let drift: Vec<String> = run
        .iter()
        .filter_map(|((domain, package), features)| {
            let extra: Vec<&String> = test.get(&(*domain, package.clone()))?.difference(features).collect();
            (!extra.is_empty()).then(|| format!("{package} ({domain} domain): {extra:?}"))
        })
        .collect();
    assert!(
        drift.is_empty(),
        "the test build turns on features `cargo run` does not, so the second README command would \
         rebuild them; add them to the unification block of host/Cargo.toml:\n{}",
        drift.join("\n")
    );
}
