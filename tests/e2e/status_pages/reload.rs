//! `[[status_pages]]` with the real `sonde serve`: `SIGHUP` replaces the
//! pages, and a wrong table is refused naming its key, on a reload (the
//! old pages keep serving) and at start (no start).

use std::time::Duration;

use sonde_test_support::closed_port;

use crate::serve::{Serve, config_text, wait_for};

/// The status of `GET base + path`.
fn status_of(base: &str, path: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent.get(format!("{base}{path}")).call().map_or(0, |r| r.status().as_u16())
}

/// `SIGHUP` replaces the pages; a wrong table is refused naming its key,
/// on a reload (the old pages keep serving) and at start (no start).
#[test]
fn a_reload_replaces_the_pages_and_a_wrong_table_is_refused_naming_its_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = closed_port();
    let page = |slug: &str| format!("[[status_pages]]\nslug = {slug:?}\norganization = \"org_acme\"\n");
    let serve = Serve::start_in(dir.path(), port, &page("before"), |_| {});
    assert_eq!(
        (status_of(&serve.base, "/status/before"), status_of(&serve.base, "/status/after")),
        (200, 404)
    );

    let write = |toml: &str| {
        let text = config_text(dir.path(), port, toml);
        std::fs::write(dir.path().join("sonde.toml"), text).expect("config");
    };
    write(&page("after"));
    serve.hangup();
    wait_for("the reloaded page", Duration::from_secs(10), || status_of(&serve.base, "/status/after") == 200);
    assert_eq!(status_of(&serve.base, "/status/before"), 404);

    write(&page("Not-A-Slug"));
    serve.hangup();
    wait_for("the refused reload", Duration::from_secs(10), || serve.logs().contains("status_pages[0].slug"));
    assert_eq!(status_of(&serve.base, "/status/after"), 200, "the old pages keep serving");
    drop(serve);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["serve", "--config"])
        .arg(dir.path().join("sonde.toml"))
        .output()
        .expect("run sonde serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("`status_pages[0].slug`") && stderr.contains("lowercase letters"), "{stderr}");
}
