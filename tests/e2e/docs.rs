//! The documentation cannot drift: the table in docs/probes.md lists exactly
//! the built-in probe types (as the embedded components report them when
//! loaded), every relative link in README.md and docs/*.md reaches a file
//! and, with an `#anchor` into Markdown, a heading in it (GitHub's slugs),
//! and the README stays a front door, under 20,000 bytes. No network: only
//! the repository's files and the probes embedded in the binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, ensure};
use sonde::runtime::builtin;

use crate::common::runtime;

/// The README's ceiling: what a newcomer reads in five minutes.
const README_MAX_BYTES: u64 = 20_000;

/// The repository's root (the `sonde` package is `host/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("root").to_path_buf()
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// README.md, then docs/*.md in name order.
fn markdown_files() -> Result<Vec<PathBuf>> {
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(root().join("docs")).context("reading docs/")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    docs.sort();
    Ok([vec![root().join("README.md")], docs].concat())
}

/// The lines of a Markdown text outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        match fence {
            Some(marker) if trimmed.starts_with(marker) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => lines.push(line),
        }
    }
    lines
}

/// GitHub's anchor for a heading: lower case, punctuation dropped except
/// `-` and `_`, each space a `-`.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every heading's anchor; a repeated one gets `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in prose(text) {
        let level = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) {
            continue;
        }
        let Some(title) = line[level..].strip_prefix(' ') else { continue };
        let anchor = slug(title.trim());
        let n = seen.entry(anchor.clone()).or_insert(0);
        out.insert(if *n == 0 { anchor } else { format!("{anchor}-{n}") });
        *n += 1;
    }
    out
}

/// The targets of the inline links `[text](target)` on one line (a target
/// ends at `)` or white space, so a title after it is left out).
fn link_targets(line: &str) -> Vec<String> {
    line.split("](")
        .skip(1)
        .map(|rest| rest.chars().take_while(|&c| c != ')' && !c.is_whitespace()).collect())
        .collect()
}

/// Why the link `target` in `file` (whose text is `text`) does not resolve;
/// None when it does, or when it leaves the repository (a URL, an address).
fn broken(file: &Path, text: &str, target: &str) -> Result<Option<String>> {
    if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
        return Ok(None);
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let dest = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().context("a file without a directory")?.join(path)
    };
    if !dest.exists() {
        return Ok(Some(format!("no file {}", dest.display())));
    }
    let Some(anchor) = anchor else { return Ok(None) };
    if dest.extension().is_none_or(|e| e != "md") {
        return Ok(None);
    }
    let dest_text = if path.is_empty() { text.to_string() } else { read(&dest)? };
    Ok((!anchors(&dest_text).contains(anchor)).then(|| format!("no heading with the anchor #{anchor}")))
}

/// The backticked names in the first column of docs/probes.md's first table.
fn table_types(text: &str) -> Result<BTreeSet<String>> {
    let rows: Vec<&str> = prose(text)
        .into_iter()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    ensure!(rows.len() > 2, "docs/probes.md has no table of probes");
    let mut types = BTreeSet::new();
    // Past the header and its `| --- |` line.
    for row in &rows[2..] {
        let first = row[1..].split('|').next().unwrap_or_default().trim();
        let name = first.strip_prefix('`').and_then(|f| f.strip_suffix('`')).with_context(|| {
            format!("a row of docs/probes.md's table does not start with a `type`: {row}")
        })?;
        ensure!(types.insert(name.to_string()), "`{name}` has two rows in docs/probes.md's table");
    }
    Ok(types)
}

#[test]
fn headings_get_the_anchors_github_gives_them() {
    assert_eq!(slug("6. Credentials by the host"), "6-credentials-by-the-host");
    assert_eq!(slug("The `ldap` probe"), "the-ldap-probe");
    assert_eq!(
        slug("Where Unstructured's credentials cannot be used as they are"),
        "where-unstructureds-credentials-cannot-be-used-as-they-are"
    );
    assert_eq!(
        slug("On-demand checks against blackbox_exporter (`peers`)"),
        "on-demand-checks-against-blackbox_exporter-peers"
    );
    let twice = anchors("## Measured\n\n```sh\n# not a heading\n```\n\n## Measured\n");
    assert_eq!(twice, BTreeSet::from(["measured".to_string(), "measured-1".to_string()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_table_lists_every_built_in_probe() -> Result<()> {
    // A built-in probe's name is its crate's suffix (`kafka_cloud`); its
    // type is what its component reports (`kafka-cloud`), so load each.
    let rt = runtime();
    let mut built_in = BTreeSet::new();
    for (name, _) in builtin::all() {
        let plugin = rt
            .load_builtin(name)
            .await
            .with_context(|| format!("no built-in probe {name}"))?
            .map_err(|e| anyhow!("loading the built-in probe {name}: {e}"))?;
        built_in.insert(plugin.info.source_type.clone());
    }
    ensure!(!built_in.is_empty(), "no built-in probes: the build embedded none");

    let table = table_types(&read(&root().join("docs/probes.md"))?)?;
    let missing: Vec<&String> = built_in.difference(&table).collect();
    let extra: Vec<&String> = table.difference(&built_in).collect();
    ensure!(
        missing.is_empty() && extra.is_empty(),
        "docs/probes.md's table is not the built-in probes: no row for {missing:?}; rows for no built-in probe {extra:?}"
    );
    Ok(())
}

#[test]
fn every_relative_link_reaches_a_file_and_a_heading() -> Result<()> {
    let root = root();
    let mut bad = Vec::new();
    let files = markdown_files()?;
    ensure!(files.len() > 1, "no docs/*.md found under {}", root.display());
    for file in files {
        let text = read(&file)?;
        let shown = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        for target in prose(&text).into_iter().flat_map(link_targets) {
            if let Some(why) = broken(&file, &text, &target)? {
                bad.push(format!("{shown}: ({target}): {why}"));
            }
        }
    }
    ensure!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
    Ok(())
}

#[test]
fn the_readme_stays_a_front_door() -> Result<()> {
    let bytes = std::fs::metadata(root().join("README.md")).context("README.md")?.len();
    ensure!(
        bytes < README_MAX_BYTES,
        "README.md is {bytes} bytes, {README_MAX_BYTES} at most: move reference material to a page in docs/"
    );
    Ok(())
}
