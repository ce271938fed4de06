//! Secrets declared through `$ref` over the API, a plugin whose schema is
//! too large to load, and the start-up migration of secrets that older
//! versions stored in the clear. Each route with two organizations and
//! with no key.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sonde::model::{CheckRecord, CheckStatus, Policy, SourceSpec, SourceState, Trigger};
use sonde::store::Store;
use sonde::store::sqlite::SqliteStore;

use super::unstructured::{body, connection_check, create, one};
use super::{ACME, ADMIN, Api, OTHER, assert_refused};
use crate::config_schema::{PASSWORD, leaks};

fn checks_uri(id: &str) -> String {
    format!("/v1/sources/{id}/checks")
}

/// `uri` answers ACME without the password, the other organization 404
/// and no key 401.
async fn only_acme_sees_it_without_the_password(api: &Api, uri: &str) -> Value {
    let (status, got) = api.get(uri, Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {got}");
    assert!(!leaks(&got.to_string()), "{uri} leaked: {got}");
    let (status, theirs) = api.get(uri, Some(OTHER)).await;
    assert_refused(status, &theirs, StatusCode::NOT_FOUND);
    let (status, body) = api.get(uri, None).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    got
}

async fn history_text(api: &Api, id: &str) -> String {
    let id = uuid::Uuid::parse_str(id).expect("uuid");
    format!("{:?}", api.service.history(id, 100, None).await.expect("history"))
}

/// The stored history once it holds `expected` (results are written after
/// they are published to readers).
async fn history_with(api: &Api, id: &str, expected: &str) -> String {
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = history_text(api, id).await;
        if text.contains(expected) || tokio::time::Instant::now() > end {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ref_password_is_never_answered_shown_in_checks_or_kept_in_history() {
    let api = Api::start_in(tempfile::tempdir().expect("tmp"), "", &["ref-secret"]).await;
    let config = json!({"mode": "unhealthy", "user": "u", "password": PASSWORD});
    let created = create(&api, ACME, &body("by-ref", "ref-secret", config)).await;
    assert_eq!(created["config"], json!({"mode": "unhealthy", "user": "u"}), "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let got = only_acme_sees_it_without_the_password(&api, &one(&id)).await;
    assert_eq!(got["config"], created["config"]);

    // The guest echoes the password in message and extra: masked, which
    // also shows that the stored secret reached the check.
    let done = connection_check(&api, ACME, &id).await;
    assert_eq!(done["reason"], "bad password ***", "{done}");
    history_with(&api, &id, "bad password ***").await;
    let checks = only_acme_sees_it_without_the_password(&api, &checks_uri(&id)).await;
    assert!(checks.to_string().contains("bad password ***"), "{checks}");

    // And in details, once healthy (a replace that leaves the password out
    // keeps it).
    let healthy = body("by-ref", "ref-secret", json!({"mode": "healthy", "user": "u"}));
    let (status, replaced) =
        api.call("PUT", &one(&id), Some(ACME), Some(axum::body::Body::from(healthy.to_string()))).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let done = connection_check(&api, ACME, &id).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    let text = history_with(&api, &id, "pw ***").await;
    assert!(text.contains("pw ***"), "details are kept, masked: {text}");
    assert!(!leaks(&text), "history leaked: {text}");
    only_acme_sees_it_without_the_password(&api, &checks_uri(&id)).await;
    let (_, all) = api.get("/api/v1/sources", Some(ADMIN)).await;
    assert!(!leaks(&all.to_string()), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_whose_schema_is_a_bomb_is_a_load_error_and_the_service_works() {
    let api = Api::start_in(tempfile::tempdir().expect("tmp"), "", &["schema-bomb"]).await;
    let (status, list) = api.get("/v1/plugins", Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let errors = list["errors"].as_array().unwrap_or_else(|| panic!("{list}"));
    let bomb = errors
        .iter()
        .find(|e| e["origin"].as_str().is_some_and(|o| o.ends_with("schema-bomb.wasm")))
        .unwrap_or_else(|| panic!("no schema-bomb error: {list}"));
    assert!(bomb["error"].as_str().is_some_and(|e| e.contains("too complex")), "{bomb}");
    let types = list["plugins"].as_array().expect("plugins");
    assert!(!types.iter().any(|p| p["source_type"] == "schema-bomb"), "{list}");
    let (status, body) = api.get("/v1/plugins", None).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);

    let created = create(&api, ACME, &body_ok()).await;
    let done = connection_check(&api, ACME, created["id"].as_str().expect("id")).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
}

fn body_ok() -> Value {
    body("still-works", "hostile", json!({"mode": "ok"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stored_in_the_clear_are_moved_and_scrubbed_at_start() {
    // A source stored the old way: the `$ref` password in its public
    // config, and a check that echoed it.
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let id = {
        let store = SqliteStore::open(&data).await.expect("store");
        let spec = SourceSpec {
            name: "old-way".into(),
            organization: "org_acme".into(),
            workspace: None,
            source_type: "ref-secret".into(),
            config: json!({"mode": "unhealthy", "user": "u", "password": PASSWORD}),
            state: SourceState::Active,
            policy: Policy {
                interval: std::time::Duration::from_secs(3600),
                retries: 0,
                ..Policy::default()
            },
            depends_on: Vec::new(),
            placement: Default::default(),
        };
        let source = store.create_source(&spec, &json!({})).await.expect("create");
        let mut check = CheckRecord::new(source.id, Trigger::Schedule, CheckStatus::Error);
        check.message = Some(format!("bad password {PASSWORD}"));
        check.extra = Some(json!({"password": PASSWORD}).to_string());
        check.details = Some(json!({"echo": PASSWORD}));
        check.reported_at = Some(chrono::Utc::now());
        store.insert_check(&check).await.expect("check");
        assert!(leaks(&format!("{:?}", store.history(source.id, 10, None).await.expect("history"))));
        source.id
    };

    let api = Api::start_in(dir, "", &["ref-secret"]).await;
    let got = only_acme_sees_it_without_the_password(&api, &one(&id.to_string())).await;
    assert_eq!(got["config"], json!({"mode": "unhealthy", "user": "u"}), "{got}");
    let store = api.service.store();
    assert_eq!(store.source_secrets(id).await.expect("secrets"), json!({"password": PASSWORD}));
    let text = history_text(&api, &id.to_string()).await;
    assert!(!leaks(&text) && text.contains("bad password ***"), "{text}");
    only_acme_sees_it_without_the_password(&api, &checks_uri(&id.to_string())).await;
    // The moved secret still reaches the check.
    let done = connection_check(&api, ACME, &id.to_string()).await;
    assert_eq!(done["reason"], "bad password ***", "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_too_slow_to_validate_is_a_422_and_the_service_answers_meanwhile() {
    let api = Api::start_in(tempfile::tempdir().expect("tmp"), "", &["ref-secret"]).await;
    // Each tag fails all 1,600 branches of the schema's `anyOf` graph:
    // seconds of validation past the 2 s deadline, in any build.
    let slow = json!({"mode": "healthy", "password": "pw", "tags": vec!["ab"; 6_000]});
    let t0 = std::time::Instant::now();
    let (status, refused) =
        api.post("/api/v1/sources/", Some(ACME), &body("slow", "ref-secret", slow.clone())).await;
    assert!(t0.elapsed() < std::time::Duration::from_secs(30), "took {:?}", t0.elapsed());
    super::assert_422(status, &refused, json!(["body", "config"]), "value_error");
    assert_eq!(refused["detail"][0]["msg"], "config schema too complex", "{refused}");

    // The inline test route says the same; no key is still a 401 first.
    let test = "/v1/organizations/org_acme/knowledge/connectors/sources/test";
    let inline = json!({"source_definition_id": "ref-secret", "configuration": slow});
    let (status, answer) = api.post(test, Some(ACME), &inline).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.to_string().contains("config schema too complex"), "{answer}");
    let (status, answer) = api.post(test, None, &inline).await;
    assert_refused(status, &answer, StatusCode::UNAUTHORIZED);
    let (status, created) = api.post("/api/v1/sources/", Some(OTHER), &body_ok()).await;
    assert_eq!(status, StatusCode::OK, "another organization is served meanwhile: {created}");
    let fine = json!({"mode": "healthy", "password": "pw", "tags": ["abc"]});
    create(&api, ACME, &body("fine", "ref-secret", fine)).await;
}
