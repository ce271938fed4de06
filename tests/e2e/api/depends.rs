//! `depends_on` on sources (DESIGN §8) through Unstructured's create and
//! update routes, DELETE, and the configuration file at start and on a
//! reload: names are looked up in the caller's organization only, so
//! another organization's source fails exactly as a missing one and no
//! answer names it; a cycle or a self-dependency is a 422 naming the path;
//! a source others depend on is not deleted or renamed from under them.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sonde::config::Config;
use sonde::service::Service;

use super::unstructured::{SOURCES, body, one};
use super::{ACME, ADMIN, Api, OTHER, assert_422, assert_refused};

fn with_deps(name: &str, deps: &[&str]) -> Value {
    let mut b = body(name, "hostile", json!({"mode": "ok"}));
    b["depends_on"] = json!(deps);
    b
}

async fn put(api: &Api, id: &str, key: &str, body: &Value) -> (StatusCode, Value) {
    api.call("PUT", &one(id), Some(key), Some(Body::from(body.to_string()))).await
}

async fn delete(api: &Api, id: &str, key: &str) -> (StatusCode, Value) {
    api.call("DELETE", &one(id), Some(key), None).await
}

/// The 422's message, after checking it is at `body.depends_on`.
fn refused_at_depends_on(status: StatusCode, reply: &Value) -> String {
    assert_422(status, reply, json!(["body", "depends_on"]), "value_error");
    reply["detail"][0]["msg"].as_str().expect("msg").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_source_is_refused_exactly_as_a_missing_one() {
    let api = Api::start().await;
    // `elsewhere` is org_other's; `healthy` is org_acme's.
    let (status, theirs) = api.post(SOURCES, Some(ACME), &with_deps("app", &["elsewhere"])).await;
    let theirs = refused_at_depends_on(status, &theirs);
    assert_eq!(theirs, "no source named \"elsewhere\" in this organization");
    // The same name where it exists nowhere (an admin key, an organization
    // with no sources): the identical text.
    let mut nowhere = with_deps("app", &["elsewhere"]);
    nowhere["organization"] = json!("org_empty");
    let (status, reply) = api.post(SOURCES, Some(ADMIN), &nowhere).await;
    assert_eq!(refused_at_depends_on(status, &reply), theirs);
    // An admin writing into org_acme is held to org_acme's names too.
    let mut admin = with_deps("app", &["elsewhere"]);
    admin["organization"] = json!("org_acme");
    let (status, reply) = api.post(SOURCES, Some(ADMIN), &admin).await;
    assert_eq!(refused_at_depends_on(status, &reply), theirs);
    // A missing name, for comparison: the same words.
    let (status, reply) = api.post(SOURCES, Some(ACME), &with_deps("app", &["ghost"])).await;
    assert_eq!(refused_at_depends_on(status, &reply).replace("ghost", "elsewhere"), theirs);
    assert!(!theirs.contains("org_other"), "{theirs}");
    // Without a key nothing is looked up at all.
    let (status, reply) = api.post(SOURCES, None, &with_deps("app", &["elsewhere"])).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    assert!(api.service.list_sources().await.expect("list").iter().all(|s| s.name != "app"));

    // The other way round: org_other may not name org_acme's `healthy`,
    // and may name its own `elsewhere`.
    let (status, reply) = api.post(SOURCES, Some(OTHER), &with_deps("x", &["healthy"])).await;
    assert_eq!(refused_at_depends_on(status, &reply), "no source named \"healthy\" in this organization");
    let (status, reply) = api.post(SOURCES, Some(OTHER), &with_deps("x", &["elsewhere"])).await;
    assert_eq!(status, StatusCode::OK, "{reply}");

    // An update is held to the same rule, with the same text.
    let (status, mine) = api.post(SOURCES, Some(ACME), &with_deps("mine", &["healthy", "healthy"])).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let id = mine["id"].as_str().expect("id");
    assert_eq!(api.source("mine").await.depends_on, ["healthy"], "repeats count once");
    let (status, reply) =
        put(&api, id, ACME, &json!({"config": {"mode": "ok"}, "depends_on": ["elsewhere"]})).await;
    assert_eq!(refused_at_depends_on(status, &reply), theirs);
    assert_eq!(api.source("mine").await.depends_on, ["healthy"], "unchanged by the refused update");

    // The status page shows it to the source's own organization only.
    assert!(status_page(&api, ACME).await.contains("depends on healthy"));
    assert!(!status_page(&api, OTHER).await.contains("depends on healthy"));
}

/// The status page as `key` sees it.
async fn status_page(api: &Api, key: &str) -> String {
    let cookie = crate::status_page::sign_in(api, key).await;
    crate::status_page::send(api, crate::status_page::get_root(Some(&cookie))).await.2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_are_refused_and_dependencies_are_kept_or_cleared_by_updates() {
    let api = Api::start().await;
    let (status, reply) = api.post(SOURCES, Some(ACME), &with_deps("loop", &["loop"])).await;
    assert_eq!(refused_at_depends_on(status, &reply), "a source cannot depend on itself: loop → loop");

    let mut ids = Vec::new();
    for (name, deps) in [("a", &[][..]), ("b", &["a"][..]), ("c", &["b", "healthy"][..])] {
        let (status, created) = api.post(SOURCES, Some(ACME), &with_deps(name, deps)).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        ids.push(created["id"].as_str().expect("id").to_string());
    }
    let (a, c) = (ids[0].as_str(), ids[2].as_str());
    let (status, reply) = put(&api, a, ACME, &json!({"config": {"mode": "ok"}, "depends_on": ["c"]})).await;
    assert_eq!(refused_at_depends_on(status, &reply), "would make a cycle: a → c → b → a");
    let (status, reply) = put(&api, a, ACME, &json!({"config": {"mode": "ok"}, "depends_on": ["a"]})).await;
    assert_eq!(refused_at_depends_on(status, &reply), "a source cannot depend on itself: a → a");
    let (status, reply) = put(&api, a, ACME, &json!({"config": {"mode": "ok"}, "depends_on": ["x/y"]})).await;
    assert!(refused_at_depends_on(status, &reply).contains("x/y"), "{reply}");

    // Left out (as Unstructured's SDK sends `{config}`) or null: kept.
    for update in [json!({"config": {"mode": "ok"}}), json!({"config": {"mode": "ok"}, "depends_on": null})] {
        let (status, reply) = put(&api, c, ACME, &update).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(api.source("c").await.depends_on, ["b", "healthy"]);
    }
    // The answer keeps Unstructured's shape: no extension field in it.
    assert!(reply_has_no_depends_on(&api, c).await);
    let (status, reply) = put(&api, c, ACME, &json!({"config": {"mode": "ok"}, "depends_on": []})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(api.source("c").await.depends_on.is_empty(), "[] clears");
    // With c no longer depending on b, a may depend on c.
    let (status, reply) = put(&api, a, ACME, &json!({"config": {"mode": "ok"}, "depends_on": ["c"]})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

async fn reply_has_no_depends_on(api: &Api, id: &str) -> bool {
    let (status, got) = api.get(&one(id), Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    got.get("depends_on").is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_others_depend_on_is_not_deleted_or_renamed_from_under_them() {
    let api = Api::start().await;
    let (_, switch) = api.post(SOURCES, Some(ACME), &with_deps("switch", &[])).await;
    let (_, db) = api.post(SOURCES, Some(ACME), &with_deps("db", &["switch"])).await;
    let (_, app) = api.post(SOURCES, Some(ACME), &with_deps("app", &["switch", "db"])).await;
    let (switch, db, app) =
        (switch["id"].as_str().expect("s"), db["id"].as_str().expect("d"), app["id"].as_str().expect("a"));
    // org_other has a source of the same name, which its own sources name.
    let (_, theirs) = api.post(SOURCES, Some(OTHER), &with_deps("switch", &[])).await;
    let (_, their_dep) = api.post(SOURCES, Some(OTHER), &with_deps("their-app", &["switch"])).await;
    assert!(theirs["id"].is_string() && their_dep["id"].is_string(), "{theirs} {their_dep}");

    let (status, reply) = delete(&api, switch, ACME).await;
    assert_refused(status, &reply, StatusCode::CONFLICT);
    let text = reply["detail"].as_str().expect("detail");
    assert!(text.contains("db") && text.contains("app") && text.contains("depends_on"), "{text}");
    assert!(!text.contains("their-app"), "names only the caller's organization's sources: {text}");
    let mut renamed = with_deps("switch-2", &[]);
    renamed["config"] = json!({"mode": "ok"});
    let (status, reply) = put(&api, switch, ACME, &renamed).await;
    assert_refused(status, &reply, StatusCode::CONFLICT);
    assert!(api.service.get_source(switch.parse().expect("uuid")).await.expect("get").is_some());

    // Once nothing names it, it goes.
    for id in [app, db] {
        let (status, reply) = delete(&api, id, ACME).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    let (status, reply) = delete(&api, switch, ACME).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    // org_other's dependents never held org_acme's switch.
    let their_id = theirs["id"].as_str().expect("id");
    let (status, reply) = delete(&api, their_id, OTHER).await;
    assert_refused(status, &reply, StatusCode::CONFLICT);
    assert!(reply["detail"].as_str().is_some_and(|t| t.contains("their-app")), "{reply}");
}

fn file(dir: &std::path::Path, sources: &str) -> std::path::PathBuf {
    let text = format!(
        "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\n\
         [[keys]]\nkey = {ACME:?}\norganization = \"org_acme\"\n{sources}",
        dir.join("data"),
        dir.join("plugins"),
        crate::common::cache_dir(),
    );
    let path = dir.join("sonde.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn tcp(name: &str, org: &str, deps: &str) -> String {
    format!(
        "[[sources]]\nname = {name:?}\norganization = {org:?}\ntype = \"tcp\"\nstate = \"paused\"\n\
         config = {{ host = \"127.0.0.1\", port = 1 }}\ndepends_on = [{deps}]\n"
    )
}

/// The file's `depends_on` at start and on a reload: names of the file or
/// the store, of the same organization; a reload that breaks the rule
/// changes nothing and names the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_dependencies_are_checked_at_start_and_on_reload() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins");
    let bad =
        file(dir.path(), &[tcp("switch", "org_other", ""), tcp("app", "org_acme", "\"switch\"")].concat());
    let e = Service::start(&Config::load(&bad).expect("parses")).await.expect_err("refused").to_string();
    assert!(e.contains("sources[1].depends_on") && e.contains("no source named \"switch\""), "{e}");
    assert!(!e.contains("org_other"), "{e}");

    let good = [tcp("switch", "org_acme", ""), tcp("app", "org_acme", "\"switch\"")].concat();
    let path = file(dir.path(), &good);
    let service =
        Service::start(&Config::load(&path).expect("parses")).await.unwrap_or_else(|e| panic!("{e}"));
    let by_name = |name: &'static str| {
        let service = std::sync::Arc::clone(&service);
        async move {
            let all = service.list_sources().await.expect("list");
            all.into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name}"))
        }
    };
    assert_eq!(by_name("app").await.depends_on, ["switch"]);
    // A source of the API may be named by the file, and may name the file's.
    let spec = |name: &str, deps: &[&str]| sonde::model::SourceSpec {
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..by_name_spec(name)
    };
    service.create_source(spec("edge", &["switch"])).await.expect("edge");
    let path = file(dir.path(), &[good.clone(), tcp("core", "org_acme", "\"edge\"")].concat());
    service.reload(&path).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_name("core").await.depends_on, ["edge"]);

    // A cycle through the stored edge → switch: refused, nothing changes.
    let cycle = [
        tcp("switch", "org_acme", "\"core\""),
        tcp("app", "org_acme", "\"switch\""),
        tcp("core", "org_acme", "\"edge\""),
    ];
    let path = file(dir.path(), &cycle.concat());
    let e = service.reload(&path).await.expect_err("cycle").to_string();
    assert!(e.contains("sources[0].depends_on") && e.contains("switch → core → edge → switch"), "{e}");
    assert!(by_name("switch").await.depends_on.is_empty(), "the old configuration stays");
    assert_eq!(service.last_reload_ok(), Some(false));
    // A name gone from the file but still stored still counts (a reload
    // never deletes a stored source).
    let path = file(dir.path(), &[tcp("app", "org_acme", "\"switch\"")].concat());
    service.reload(&path).await.unwrap_or_else(|e| panic!("{e}"));
    // Now API-owned, switch is still named by app and edge: DELETE is a 409.
    let switch = by_name("switch").await;
    let refused = service.delete_source(switch.id).await.expect_err("depended on").to_string();
    assert!(refused.contains("app") && refused.contains("edge"), "{refused}");
}

fn by_name_spec(name: &str) -> sonde::model::SourceSpec {
    sonde::model::SourceSpec {
        name: name.into(),
        organization: "org_acme".into(),
        workspace: None,
        source_type: "tcp".into(),
        config: json!({"host": "127.0.0.1", "port": 1}),
        state: sonde::model::SourceState::Paused,
        policy: sonde::model::Policy::default(),
        depends_on: Vec::new(),
        placement: Default::default(),
    }
}

/// What the document allows in `depends_on` (a list of names, at most 100)
/// the server reads; what it forbids, the server refuses at the field. The
/// names that exist are the server's to know: a valid list of unknown
/// names is a 422 the document announces in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_server_agree_on_depends_on() {
    let api = Api::start().await;
    let (status, doc) = api.get("/openapi.json", Some(ACME)).await;
    assert_eq!(status, StatusCode::OK);
    for component in ["SourceCreate.hostile", "SourceUpdate.hostile", "SourceUpdate.config"] {
        let schema = &doc["components"]["schemas"][component]["properties"]["depends_on"];
        let v = jsonschema::draft202012::new(schema).unwrap_or_else(|e| panic!("{component}: {e}"));
        assert!(v.is_valid(&json!(["healthy"])) && v.is_valid(&json!(null)) && v.is_valid(&json!([])));
        let description = schema["description"].as_str().unwrap_or_default();
        assert!(description.contains("same organization") && description.contains("422"), "{schema}");
        let too_many: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
        for bad in [json!([1]), json!(["a/b"]), json!([""]), json!(["  "]), json!("healthy"), json!(too_many)]
        {
            assert!(!v.is_valid(&bad), "{component} allows {bad}");
            if component == "SourceCreate.hostile" {
                let mut body = with_deps("n", &[]);
                body["depends_on"] = bad.clone();
                let (status, reply) = api.post(SOURCES, Some(ACME), &body).await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {reply}");
                let at = reply["detail"][0]["loc"][1].as_str().unwrap_or_default();
                assert!(at.starts_with("depends_on"), "{bad}: {reply}");
            }
        }
    }
}
