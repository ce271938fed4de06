//! The SDK stands alone: its own copy of the contract's WIT, a manifest that
//! inherits nothing, and `cargo package` accepts it.

use super::{cargo, files_under, root};

#[test]
fn the_sdk_carries_the_contract_wit_byte_for_byte() {
    let contract = root().join("wit/0.2.0");
    let copy = root().join("plugins/sdk/wit");
    let files = files_under(&contract);
    assert_eq!(files, files_under(&copy), "plugins/sdk/wit must hold exactly wit/0.2.0's files");
    assert!(files.iter().any(|f| f.ends_with("deps/tls/types.wit")), "{files:?}");
    for file in files {
        let a = std::fs::read(contract.join(&file)).expect("read");
        let b = std::fs::read(copy.join(&file)).expect("read");
        assert!(a == b, "plugins/sdk/wit/{} differs from wit/0.2.0/{0}: copy it over", file.display());
    }
}

/// `--no-verify`: verifying would compile the packaged crate and its
/// dependencies natively from scratch (minutes on a shared machine) and
/// proves less than `new::plugin_new_*`, which builds these same files
/// outside the repository for wasm32-wasip2 and runs the result.
/// `--allow-dirty`: the test runs on uncommitted work too.
#[test]
fn the_sdk_packages_without_the_workspace() {
    let sdk = root().join("plugins/sdk");
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).expect("manifest");
    let inherits = manifest.contains("workspace = true") || manifest.contains(".workspace");
    assert!(!inherits, "plugins/sdk/Cargo.toml must not inherit from a workspace");
    assert!(!manifest.contains(".."), "plugins/sdk/Cargo.toml must not point outside the crate");
    let lib = std::fs::read_to_string(sdk.join("src/lib.rs")).expect("lib.rs");
    assert!(
        lib.contains(r#"path: "wit","#) && !lib.contains("../"),
        "the bindings must read the crate's own wit/"
    );

    let list = cargo(&sdk, &["package", "--list", "--allow-dirty", "--offline"]);
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "src/net_native.rs",
        "wit/probe.wit",
        "wit/deps/tls/types.wit",
        "wit/deps/io/io.wit",
    ] {
        assert!(list.lines().any(|l| l == file), "{file} is not packaged:\n{list}");
    }
    cargo(&sdk, &["package", "--no-verify", "--allow-dirty", "--offline"]);
    let crate_file = root().join("target/kit/package/sonde-sdk-0.1.0.crate");
    assert!(crate_file.exists(), "{} missing", crate_file.display());
}
