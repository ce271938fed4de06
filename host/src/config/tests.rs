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
    assert_eq!((r.repeat_interval, r.organization.as_ref()), (None, None));
    assert!(matches!(r.channel, crate::alerts::route::Channel::Webhook { secret: None, .. }));
}

#[test]
fn the_new_route_types_resolve_their_keys() {
    use crate::alerts::route::{Channel, Security};
    // Setting variables needs `unsafe` (denied here): PATH is one every
    // test process has, standing in for the password and the API key.
    let path = std::env::var("PATH").expect("PATH");
    let text = "[[alerts]]\nname = \"mail\"\ntype = \"email\"\nto = [\"ops@example.com\", \"Oncall <oncall@example.com>\"]\n\
                from = \"Sonde <sonde@example.com>\"\nsmtp_url = \"smtp://alerts%40example.com@mail.example.com\"\n\
                password_env = \"PATH\"\n\n\
                [[alerts]]\nname = \"genie\"\ntype = \"opsgenie\"\napi_key_env = \"PATH\"\n\n\
                [[alerts]]\nname = \"chat\"\ntype = \"teams\"\nurl = \"https://example.webhook.office.com/workflows/x\"\n";
    let routes = Config::parse(text, "t.toml").expect("valid").alert_routes().expect("routes");
    let Channel::Email(smtp) = &routes[0].channel else { panic!("{:?}", routes[0]) };
    assert_eq!((smtp.host.as_str(), smtp.port, smtp.security), ("mail.example.com", 587, Security::StartTls));
    assert_eq!(smtp.credentials, Some(("alerts@example.com".to_string(), path.clone())));
    assert_eq!(smtp.to.len(), 2);
    let Channel::Opsgenie { url, api_key } = &routes[1].channel else { panic!("{:?}", routes[1]) };
    assert_eq!((url.host(), api_key), (Some("api.opsgenie.com"), &path));
    assert!(matches!(routes[2].channel, Channel::Teams { .. }));
    let shown = format!("{routes:?}");
    assert!(!shown.contains(&path) && !shown.contains("office.com"), "{shown}");
}

const MAIL: &str = "[[alerts]]\nname = \"mail\"\ntype = \"email\"\nto = [\"ops@example.com\"]\nfrom = \"sonde@example.com\"\n";

#[test]
fn new_route_type_errors_name_the_key() {
    let cases = [
        (MAIL.to_string(), "alerts[0].smtp_url"),
        (format!("{MAIL}smtp_url = \"smtp://u:hunter2@mail.example.com\""), "alerts[0].smtp_url"),
        (format!("{MAIL}smtp_url = \"smtp://mail.example.com?tls=none\""), "alerts[0].smtp_url"),
        (format!("{MAIL}smtp_url = \"smtp://u@mail.example.com\""), "alerts[0].password_env"),
        (
            format!("{MAIL}smtp_url = \"smtp://mail.example.com\"\npassword_env = \"SONDE_TEST_SURELY_UNSET\""),
            "alerts[0].password_env",
        ),
        (format!("{MAIL}smtp_url = \"smtp://mail.example.com\"\nurl = \"https://x/\""), "alerts[0].url"),
        (
            "[[alerts]]\nname = \"m\"\ntype = \"email\"\nfrom = \"a@example.com\"\nsmtp_url = \"smtps://h\"".into(),
            "alerts[0].to",
        ),
        (
            "[[alerts]]\nname = \"m\"\ntype = \"email\"\nto = [\"not an address\"]\nfrom = \"a@example.com\"\nsmtp_url = \"smtps://h\"".into(),
            "alerts[0].to[0]",
        ),
        ("[[alerts]]\nname = \"m\"\ntype = \"email\"\nto = [\"a@example.com\"]\nsmtp_url = \"smtps://h\"".into(), "alerts[0].from"),
        ("[[alerts]]\nname = \"g\"\ntype = \"opsgenie\"".into(), "alerts[0].api_key_env"),
        ("[[alerts]]\nname = \"t\"\ntype = \"teams\"".into(), "alerts[0].url"),
        ("[[alerts]]\nname = \"t\"\ntype = \"teams\"\nurl = \"https://x/\"\napi_key_env = \"X\"".into(), "alerts[0].api_key_env"),
        (format!("{HOOK}to = [\"a@example.com\"]"), "alerts[0].to"),
    ];
    for (toml, key) in cases {
        let e = err(&toml);
        assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        assert!(!e.contains("hunter2"), "a password in the URL is not echoed: {e}");
    }
}

#[test]
fn group_wait_is_refused_where_the_receiver_groups_by_source() {
    for (kind, extra) in [("pagerduty", "routing_key_env = \"PATH\""), ("opsgenie", "api_key_env = \"PATH\"")]
    {
        let e = err(&format!("[[alerts]]\nname = \"p\"\ntype = \"{kind}\"\n{extra}\ngroup_wait = \"30s\""));
        assert!(e.contains("`alerts[0].group_wait`") && e.contains(kind), "{e}");
    }
    let ok = format!("{HOOK}group_wait = \"30s\"");
    assert!(Config::parse(&ok, "t.toml").expect("valid").alert_routes().is_ok());
}

#[test]
fn windows_and_grouping_are_bounded_and_named() {
    let cases = [
        ("failure_window = \"500ms\"", "alerts[0].failure_window"),
        ("group_wait = \"2h\"", "alerts[0].group_wait"),
        ("group_interval = \"1m\"", "alerts[0].group_interval"),
    ];
    for (line, key) in cases {
        let e = err(&format!("{HOOK}{line}"));
        assert!(e.contains(key), "{line}: {e}");
    }
    let ok = format!("{HOOK}failure_window = \"5m\"\ngroup_wait = \"30s\"");
    let routes = Config::parse(&ok, "t.toml").expect("valid").alert_routes().expect("routes");
    assert_eq!(routes[0].failure_window, Some(std::time::Duration::from_secs(300)));
    assert_eq!(routes[0].group_interval, routes[0].group_wait, "group_interval defaults to group_wait");
}

#[test]
fn alert_route_errors_name_the_key() {
    let cases = [
        ("[[alerts]]\nname = \"a\"\ntype = \"e-mail\"\nurl = \"http://x/\"", "alerts[0].type"),
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

/// `[[sources]] depends_on`, checked as at start and on a reload: against
/// the file's sources and the stored ones of the same organization.
mod depends_on {
    use super::*;
    use crate::model::Source;
    use crate::service::depends::check_file;

    fn source(name: &str, org: &str, deps: &str) -> String {
        format!(
            "[[sources]]\nname = \"{name}\"\norganization = \"{org}\"\ntype = \"tcp\"\ndepends_on = [{deps}]\n"
        )
    }

    fn file(sources: &[String]) -> Config {
        Config::parse(&sources.concat(), "t.toml").expect("parses")
    }

    fn refused(config: &Config, stored: &[Source]) -> String {
        check_file(config, stored).expect_err("must be refused").to_string()
    }

    #[test]
    fn names_in_the_file_or_the_store_of_the_organization_are_accepted() {
        let c = file(&[source("switch", "org_a", ""), source("db", "org_a", "\"switch\", \"switch\"")]);
        assert_eq!(c.sources[1].depends_on, ["switch", "switch"]);
        check_file(&c, &[]).expect("switch is in the file");
        let c = file(&[source("db", "org_a", "\"switch\"")]);
        check_file(&c, &[Source::for_test("switch", "org_a", "tcp")]).expect("switch is stored");
        assert!(file(&[source("x", "org_a", "")]).sources[0].depends_on.is_empty(), "empty by default");
    }

    #[test]
    fn another_organizations_name_fails_exactly_as_a_missing_one() {
        let elsewhere = file(&[source("switch", "org_b", ""), source("db", "org_a", "\"switch\"")]);
        let stored_elsewhere = file(&[source("db", "org_a", "\"switch\"")]);
        let nowhere = file(&[source("switch2", "org_a", ""), source("db", "org_a", "\"switch\"")]);
        let e = refused(&elsewhere, &[]);
        assert!(e.contains("sources[1].depends_on") && e.contains("no source named \"switch\""), "{e}");
        assert_eq!(e, refused(&nowhere, &[]));
        let e2 = refused(&stored_elsewhere, &[Source::for_test("switch", "org_b", "tcp")]);
        assert_eq!(e2.replace("sources[0]", "sources[1]"), e, "same text, whoever holds the name");
        assert!(!e.contains("org_b"), "{e}");
    }

    #[test]
    fn cycles_and_self_dependencies_name_the_path() {
        let c = file(&[source("a", "org_a", "\"b\""), source("b", "org_a", "\"a\"")]);
        let e = refused(&c, &[]);
        assert!(e.contains("sources[0].depends_on") && e.contains("a → b → a"), "{e}");
        let c = file(&[source("a", "org_a", "\"a\"")]);
        let e = refused(&c, &[]);
        assert!(e.contains("sources[0].depends_on") && e.contains("a → a"), "{e}");
        // Through a stored source: x (stored) → a, and the file makes a → x.
        let x = Source { depends_on: vec!["a".into()], ..Source::for_test("x", "org_a", "tcp") };
        let c = file(&[source("a", "org_a", "\"x\"")]);
        let e = refused(&c, &[x.clone(), Source::for_test("a", "org_a", "tcp")]);
        assert!(e.contains("a → x → a"), "{e}");
        // The file's definition stands for the stored one of that name.
        let c = file(&[source("x", "org_a", ""), source("a", "org_a", "\"x\"")]);
        check_file(&c, &[x]).expect("the file's x depends on nothing");
    }

    #[test]
    fn bad_names_and_too_many_are_named() {
        let e = refused(&file(&[source("a", "org_a", "\"org_b/x\"")]), &[]);
        assert!(e.contains("sources[0].depends_on") && e.contains("org_b/x"), "{e}");
        let many: Vec<String> =
            (0..=crate::service::depends::MAX_DEPENDS_ON).map(|i| format!("\"s{i}\"")).collect();
        let e = refused(&file(&[source("a", "org_a", &many.join(", "))]), &[]);
        assert!(e.contains("at most"), "{e}");
    }
}

#[test]
fn server_tls_is_both_files_or_neither() {
    let e = err("[server]\ntls_cert_file = \"cert.pem\"");
    assert!(e.contains("`server.tls_key_file`") && e.contains("server.tls_cert_file"), "{e}");
    let e = err("[server]\ntls_key_file = \"key.pem\"");
    assert!(e.contains("`server.tls_cert_file`") && e.contains("server.tls_key_file"), "{e}");
    let plain = Config::parse("", "t.toml").expect("valid");
    assert!(plain.server_tls().expect("no tls").is_none());
}

#[test]
fn server_tls_files_are_read_and_checked_naming_the_key() {
    use sonde_test_support::certs::{Leaf, TestCa};
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TestCa::new(dir.path());
    let good = ca.server(Leaf::Good, "good");
    let other = ca.server(Leaf::Good, "other");
    let toml = |cert: &std::path::Path, key: &std::path::Path| {
        format!("[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n", cert, key)
    };
    let c = Config::parse(&toml(&good.cert_file, &good.key_file), "t.toml").expect("valid");
    let tls = c.server_tls().expect("tls").expect("configured");
    assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);

    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("empty file");
    for (cert, key, named, says) in [
        (&missing, &good.key_file, "server.tls_cert_file", "cannot read"),
        (&good.cert_file, &missing, "server.tls_key_file", "cannot read"),
        (&empty, &good.key_file, "server.tls_cert_file", "no PEM certificate"),
        // A key where the chain should be: no certificate in it either.
        (&good.key_file, &good.key_file, "server.tls_cert_file", "no PEM certificate"),
        (&good.cert_file, &empty, "server.tls_key_file", "no PEM private key"),
        (&good.cert_file, &good.cert_file, "server.tls_key_file", "no PEM private key"),
        (&good.cert_file, &other.key_file, "server.tls_key_file", "is not the private key"),
    ] {
        let e = err(&toml(cert, key));
        assert!(e.contains(&format!("`{named}`")) && e.contains(says), "{cert:?} {key:?}: {e}");
        let secret = other.key_pem.lines().nth(1).expect("a line of the key");
        assert!(!e.contains(secret), "no key material in errors: {e}");
    }
}
