//! `sonde plugin new NAME [--dir DIR]` (DESIGN §7): a standalone probe crate
//! from the template, with the SDK vendored beside it.
//!
//! The SDK is not published, so the binary carries its sources (packed by
//! `build_kit.rs`) and writes them to `vendor/sonde-sdk`, referenced by a
//! path dependency. The new crate then builds outside this repository,
//! offline once its registry dependencies are cached, against exactly the
//! contract version of the `sonde` that wrote it.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/kit_files.rs"));

/// Where the SDK goes, relative to the new crate.
pub const SDK_DIR: &str = "vendor/sonde-sdk";

/// Why `plugin new` could not write the crate.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "{0:?} is not a probe name: use lowercase letters, digits, '_' and '-', starting with a letter (it becomes the source type)"
    )]
    BadName(String),
    #[error("{} already exists and is not empty", .0.display())]
    NotEmpty(PathBuf),
    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("the embedded template no longer contains {0:?}; rebuild sonde")]
    Template(&'static str),
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    pub dir: PathBuf,
    pub package: String,
    pub source_type: String,
    /// The component `cargo build --release` produces, relative to `dir`.
    pub artifact: String,
}

/// The names a probe called `name` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub source_type: String,
    pub package: String,
    pub lib: String,
    pub type_name: String,
}

impl Names {
    pub fn new(name: &str) -> Result<Self, ScaffoldError> {
        let ok = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(ScaffoldError::BadName(name.to_string()));
        }
        let package = format!("{name}-probe");
        let type_name = name
            .split(['-', '_'])
            .filter(|w| !w.is_empty())
            .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
            .collect::<String>();
        Ok(Self { source_type: name.to_string(), lib: package.replace('-', "_"), package, type_name })
    }
}

/// Writes the crate for `name` into `dir` (default `./NAME-probe`), which
/// must be absent or empty.
pub fn create(name: &str, dir: Option<&Path>) -> Result<Created, ScaffoldError> {
    let names = Names::new(name)?;
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(&names.package));
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(ScaffoldError::NotEmpty(dir));
    }
    for (rel, bytes) in TEMPLATE_FILES {
        let text = String::from_utf8_lossy(bytes);
        let text = match *rel {
            "Cargo.toml" => manifest(&text, &names)?,
            "Cargo.lock" => {
                replace(&text, "name = \"echo-probe\"", &format!("name = \"{}\"", names.package))?
            }
            "src/lib.rs" => code(&text, &names)?,
            _ => text.into_owned(),
        };
        write(&dir.join(rel), text.as_bytes())?;
    }
    for (rel, bytes) in SDK_FILES {
        write(&dir.join(SDK_DIR).join(rel), bytes)?;
    }
    write(&dir.join("rust-toolchain.toml"), TOOLCHAIN.as_bytes())?;
    write(&dir.join(".gitignore"), b"/target\n")?;
    Ok(Created {
        artifact: format!("target/wasm32-wasip2/release/{}.wasm", names.lib),
        dir,
        package: names.package,
        source_type: names.source_type,
    })
}

fn manifest(text: &str, n: &Names) -> Result<String, ScaffoldError> {
    let body = text.find("[package]").map(|i| &text[i..]).ok_or(ScaffoldError::Template("[package]"))?;
    let body = replace(body, "name = \"echo-probe\"", &format!("name = \"{}\"", n.package))?;
    let body = replace(
        &body,
        "sonde-sdk = { path = \"../../plugins/sdk\" }",
        &format!("sonde-sdk = {{ path = \"{SDK_DIR}\" }}"),
    )?;
    Ok(format!(
        "# The {} probe, written by `sonde plugin new`. The Sonde SDK is not on\n\
         # crates.io: {SDK_DIR} is the copy the sonde binary carries, for the\n\
         # contract it speaks. `cargo build --release` gives the component.\n{body}",
        n.source_type
    ))
}

fn code(text: &str, n: &Names) -> Result<String, ScaffoldError> {
    let text = replace(
        text,
        "//! `echo`: a probe to start from.",
        &format!("//! `{}`: a probe, from Sonde's template.", n.source_type),
    )?;
    let text = replace(
        &text,
        "SOURCE_TYPE: &'static str = \"echo\"",
        &format!("SOURCE_TYPE: &'static str = \"{}\"", n.source_type),
    )?;
    let text = replace(&text, "echo_probe.wasm", &format!("{}.wasm", n.lib))?;
    // The probe's type: `Echo` as a whole word only (not `Echoed`).
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Echo") {
        let after = rest[i + 4..].chars().next();
        out.push_str(&rest[..i]);
        out.push_str(if after.is_some_and(char::is_alphanumeric) { "Echo" } else { &n.type_name });
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    Ok(out)
}

fn replace(text: &str, from: &'static str, to: &str) -> Result<String, ScaffoldError> {
    if text.contains(from) { Ok(text.replace(from, to)) } else { Err(ScaffoldError::Template(from)) }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ScaffoldError> {
    let err = |e: std::io::Error| ScaffoldError::Write { path: path.to_path_buf(), reason: e.to_string() };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_probe_name() {
        let n = Names::new("my-cache_2").expect("valid");
        assert_eq!((n.package.as_str(), n.lib.as_str()), ("my-cache_2-probe", "my_cache_2_probe"));
        assert_eq!(n.type_name, "MyCache2");
        for bad in ["", "2fast", "Memcached", "mem cached", "a/b"] {
            assert!(Names::new(bad).is_err(), "{bad:?}");
        }
    }
}
