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

#[test]
fn tls_ca_files_must_hold_certificates() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here").expect("write");
    let text = format!("[tls]\nca_files = [{:?}]\n", empty.display().to_string());
    let err = Config::parse(&text, "t.toml").expect_err("no certificate");
    assert!(err.to_string().contains("tls.ca_files[0]"), "{err}");
    let missing = "[tls]\nca_files = [\"/nonexistent/ca.pem\"]\n";
    assert!(Config::parse(missing, "t.toml").is_err());
}

const HOOK: &str = "[[alerts]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9000/hook\"\n";

#[test]
fn an_alert_route_takes_its_defaults() {
    let c = Config::parse(HOOK, "t.toml").expect("valid");
    let routes = c.alert_routes().expect("routes");
    let r = &routes[0];
    assert_eq!((r.failure_threshold, r.success_threshold, r.send_on_resolved), (3, 2, true));
    assert_eq!((r.repeat_interval, r.secret.as_ref(), r.organization.as_ref()), (None, None, None));
    assert_eq!(r.kind, crate::alerts::route::Kind::Webhook);
}

#[test]
fn alert_route_errors_name_the_key() {
    let cases = [
        ("[[alerts]]\nname = \"a\"\ntype = \"email\"\nurl = \"http://x/\"", "alerts[0].type"),
        ("[[alerts]]\nname = \"a\"\ntype = \"webhook\"", "alerts[0].url"),
        ("[[alerts]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"ftp://x/\"", "alerts[0].url"),
        (
            "[[alerts]]\nname = \"a\"\ntype = \"webhook\"\nurl_env = \"SONDE_TEST_SURELY_UNSET_URL\"",
            "alerts[0].url_env",
        ),
        (&format!("{HOOK}secret_env = \"SONDE_TEST_SURELY_UNSET_SECRET\""), "alerts[0].secret_env"),
        (&format!("{HOOK}failure_threshold = 0"), "alerts[0].failure_threshold"),
        (&format!("{HOOK}organization = \"acme\""), "alerts[0].organization"),
        (&format!("{HOOK}repeat_interval = \"0s\""), "alerts[0].repeat_interval"),
        (&format!("{HOOK}{HOOK}"), "alerts[1].name"),
        ("[[alerts]]\nname = \"pd\"\ntype = \"pagerduty\"", "alerts[0].routing_key_env"),
        (
            "[[alerts]]\nname = \"s\"\ntype = \"slack\"\nurl = \"https://hooks.slack.com/x\"\nsecret_env = \"X\"",
            "alerts[0].secret_env",
        ),
    ];
    for (toml, key) in cases {
        let e = err(toml);
        assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
    }
    let e = err(&format!("{HOOK}treshold = 3"));
    assert!(e.contains("treshold"), "{e}");
}

#[test]
fn maintenance_errors_name_the_key() {
    let ok = "[[maintenance]]\norganization = \"org_acme\"\nevery = [\"saturday\", \"sun\"]\nstart = \"02:00\"\nduration = \"1h\"";
    let c = Config::parse(ok, "t.toml").expect("valid");
    assert_eq!(c.maintenance_windows().expect("windows")[0].days.as_ref().map(Vec::len), Some(2));
    let cases = [
        (
            "[[maintenance]]\nevery = \"someday\"\nstart = \"02:00\"\nduration = \"1h\"",
            "maintenance[0].every",
        ),
        ("[[maintenance]]\nstart = \"2am\"\nduration = \"1h\"", "maintenance[0].start"),
        ("[[maintenance]]\nstart = \"02:00\"\nduration = \"0s\"", "maintenance[0].duration"),
        ("[[maintenance]]\nstart = \"02:00\"\nduration = \"8d\"", "maintenance[0].duration"),
        ("[[maintenance]]\nsources = []\nstart = \"02:00\"\nduration = \"1h\"", "maintenance[0].sources"),
    ];
    for (toml, key) in cases {
        let e = err(toml);
        assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
    }
}
