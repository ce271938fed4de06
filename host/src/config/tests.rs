use super::*;

fn err(text: &str) -> String {
    Config::parse(text, "test.toml").expect_err("must be rejected").to_string()
}

#[test]
fn the_embedded_example_is_valid() {
    let c = Config::embedded().expect("valid");
    assert!(!c.sources.is_empty());
    assert!(c.api_keys().expect("keys").iter().any(|k| k.role == Role::Admin));
}

#[test]
fn every_key_is_optional() {
    let c = Config::parse("", "empty.toml").expect("valid");
    assert_eq!(c.listen.to_string(), "127.0.0.1:7878");
    assert_eq!(c.store, "sqlite");
}

#[test]
fn an_unknown_key_is_named() {
    let e = err("listne = \"127.0.0.1:1\"");
    assert!(e.contains("listne") && e.contains("test.toml"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"tcp\"\nintervall = \"5s\"");
    assert!(e.contains("intervall"), "{e}");
}

#[test]
fn a_bad_duration_is_named() {
    let e = err("[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"tcp\"\ninterval = \"soon\"");
    assert!(e.contains("interval") && e.contains("soon"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"tcp\"\ntimeout = \"0s\"");
    assert!(e.contains("sources[0].timeout"), "{e}");
}

#[test]
fn keys_are_checked() {
    let e = err("[[keys]]\nkey = \"long-enough-key\"\nrole = \"root\"");
    assert!(e.contains("keys[0].role"), "{e}");
    let e = err("[[keys]]\nkey_env = \"SONDE_TEST_SURELY_UNSET_VAR\"\nrole = \"admin\"");
    assert!(e.contains("keys[0].key_env") && e.contains("SONDE_TEST_SURELY_UNSET_VAR"), "{e}");
    let e = err("[[keys]]\nkey = \"short\"\nrole = \"admin\"");
    assert!(e.contains("keys[0].key"), "{e}");
}

#[test]
fn duplicate_sources_and_bad_organizations_are_named() {
    let src = "[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"tcp\"\n";
    let e = err(&format!("{src}{src}"));
    assert!(e.contains("sources[1].name"), "{e}");
    let e = err("[[sources]]\nname = \"a\"\norganization = \"acme\"\ntype = \"tcp\"");
    assert!(e.contains("sources[0].organization"), "{e}");
}

#[test]
fn a_postgres_store_is_taken_from_the_file_or_the_environment() {
    let c = Config::parse("store = \"postgres://127.0.0.1/sonde\"", "t.toml").expect("valid");
    assert_eq!(c.store_choice().expect("store"), StoreChoice::Postgres("postgres://127.0.0.1/sonde".into()));
    let e = err("store = \"mysql://127.0.0.1/sonde\"");
    assert!(e.contains("`store`") && e.contains("postgres://"), "{e}");
    let e = err("store_env = \"SONDE_TEST_UNSET_STORE_URL\"");
    assert!(e.contains("`store_env`") && e.contains("not set"), "{e}");
    let e = err("store = \"postgres://127.0.0.1/a\"\nstore_env = \"PATH\"");
    assert!(e.contains("exactly one"), "{e}");
    let e = err("[postgres]\nlease = \"1s\"\npoll = \"2s\"");
    assert!(e.contains("postgres.poll"), "{e}");
}

#[test]
fn plugin_pins_must_be_sha256_digests() {
    let e = err("[plugins]\npins = [\"abc\"]");
    assert!(e.contains("plugins.pins[0]"), "{e}");
    let pin = "AB".repeat(32);
    let c = Config::parse(&format!("[plugins]\npins = [\"{pin}\"]"), "t.toml").expect("valid");
    assert_eq!(c.plugins.pin_set(), Some([pin.to_ascii_lowercase()].into()));
    assert_eq!(Config::parse("", "t.toml").expect("valid").plugins.pin_set(), None);
}

#[test]
fn the_three_replica_example_is_valid() {
    // As examples/replicas/sonde.toml, with the URL given inline instead of
    // through an environment variable (tests do not set the environment).
    let text = include_str!("../../../examples/replicas/sonde.toml")
        .replace("store_env   = \"SONDE_STORE_URL\"", "store = \"postgres://sonde@127.0.0.1/sonde\"")
        .replace("key_env = \"SONDE_ADMIN_KEY\"", "key = \"admin-key-123\"")
        .replace("key_env      = \"SONDE_ACME_KEY\"", "key = \"acme-key-123\"");
    let c = Config::parse(&text, "examples/replicas/sonde.toml").expect("valid");
    assert!(matches!(c.store_choice().expect("store"), StoreChoice::Postgres(_)));
    assert_eq!(c.postgres.lease, Duration::from_secs(15));
}
