//! Unstructured: sources CRUD at `/api/v1/sources[/{source_id}]` and
//! connection checks at `/api/v1/sources/{source_id}/connection-check`
//! (seeds/unstructured-get-source-connection-check.md).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sonde::model::Trigger;
use uuid::Uuid;

use super::{ACME, ADMIN, Api, OTHER, SECRET, assert_422, assert_refused, keys};

pub(super) const SOURCES: &str = "/api/v1/sources";
const SOURCE_FIELDS: [&str; 6] = ["config", "created_at", "id", "name", "type", "updated_at"];
const CHECK_FIELDS: [&str; 5] = ["created_at", "id", "reason", "reported_at", "status"];

pub(crate) fn one(id: &str) -> String {
    format!("{SOURCES}/{id}")
}

pub(super) fn check_uri(id: &str) -> String {
    format!("{SOURCES}/{id}/connection-check")
}

pub(super) fn time(v: &Value) -> DateTime<Utc> {
    let t = v.as_str().unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    assert!(t.ends_with('Z'), "not UTC with Z: {t}");
    DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("not RFC 3339: {t}: {e}")).with_timezone(&Utc)
}

/// A source body: `{name, type, config}` plus the policy that keeps the
/// scheduler out of the way (one check an hour, no retries).
pub(crate) fn body(name: &str, kind: &str, config: Value) -> Value {
    json!({"name": name, "type": kind, "config": config, "interval": "1h", "retries": 0})
}

async fn put(api: &Api, uri: &str, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    api.call("PUT", uri, key, Some(Body::from(body.to_string()))).await
}

/// Creates a source and checks the answer's shape; returns it.
pub(crate) async fn create(api: &Api, key: &str, body: &Value) -> Value {
    // Unstructured's SDK posts with the slash and takes only a 200.
    let (status, created) = api.post(&format!("{SOURCES}/"), Some(key), body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_source(&created);
    created
}

fn assert_source(s: &Value) {
    assert_eq!(keys(s), SOURCE_FIELDS, "{s}");
    assert!(s["id"].as_str().is_some_and(|id| Uuid::parse_str(id).is_ok()), "{s}");
    assert!(s["name"].is_string() && s["type"].is_string() && s["config"].is_object(), "{s}");
    assert!(time(&s["created_at"]) <= time(&s["updated_at"]), "{s}");
}

fn assert_check(c: &Value) {
    assert_eq!(keys(c), CHECK_FIELDS, "{c}");
    assert!(c["id"].as_str().is_some_and(|id| Uuid::parse_str(id).is_ok()), "{c}");
    time(&c["created_at"]);
}

/// `POST …/connection-check`: 202 and exactly a SCHEDULED check.
pub(crate) async fn start_check(api: &Api, key: &str, id: &str) -> Value {
    // The seed's POST has no body.
    let (status, scheduled) = api.call("POST", &check_uri(id), Some(key), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{scheduled}");
    assert_check(&scheduled);
    assert_eq!(
        (&scheduled["status"], &scheduled["reason"], &scheduled["reported_at"]),
        (&json!("SCHEDULED"), &Value::Null, &Value::Null),
        "{scheduled}"
    );
    scheduled
}

/// Polls `GET …/connection-check` until the check `check_id` has an outcome.
pub(crate) async fn wait_check(api: &Api, key: &str, id: &str, check_id: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, latest) = api.get(&check_uri(id), Some(key)).await;
        assert_eq!(status, StatusCode::OK, "{latest}");
        assert_check(&latest);
        if &latest["id"] == check_id && latest["status"] != "SCHEDULED" {
            assert!(time(&latest["created_at"]) <= time(&latest["reported_at"]), "{latest}");
            return latest;
        }
        if latest["status"] == "SCHEDULED" {
            assert_eq!(latest["reported_at"], Value::Null, "{latest}");
        }
        assert!(tokio::time::Instant::now() < deadline, "check {check_id} never finished: {latest}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection check from start to finish.
pub(crate) async fn connection_check(api: &Api, key: &str, id: &str) -> Value {
    let scheduled = start_check(api, key, id).await;
    let done = wait_check(api, key, id, &scheduled["id"]).await;
    assert_eq!(done["created_at"], scheduled["created_at"], "{done}");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_are_created_read_replaced_and_deleted() {
    let api = Api::start().await;
    let created = create(&api, ACME, &body("crud", "hostile", json!({"mode": "ok"}))).await;
    assert_eq!((&created["name"], &created["type"]), (&json!("crud"), &json!("hostile")));
    assert_eq!(created["config"], json!({"mode": "ok"}));
    assert_eq!(created["created_at"], created["updated_at"], "{created}");
    let id = created["id"].as_str().expect("id").to_string();

    let (status, got) = api.get(&one(&id), Some(ACME)).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));

    // The list holds the organization's sources, and no one else's.
    let (status, list) = api.get(SOURCES, Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap_or_else(|| panic!("not a list: {list}"));
    list.iter().for_each(assert_source);
    assert!(list.contains(&created), "{list:?}");
    let names: Vec<&str> = list.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(names.contains(&"healthy") && !names.contains(&"elsewhere"), "{names:?}");
    let (_, all) = api.get(SOURCES, Some(ADMIN)).await;
    let all: Vec<&str> = all.as_array().expect("list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(all.contains(&"crud") && all.contains(&"elsewhere"), "{all:?}");

    // PUT replaces the whole source under the same id.
    let replacement = body("crud-renamed", "tcp", json!({"host": "127.0.0.1", "port": 5432}));
    let (status, replaced) = put(&api, &one(&id), Some(ACME), &replacement).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_source(&replaced);
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!((&replaced["name"], &replaced["type"]), (&json!("crud-renamed"), &json!("tcp")));
    assert_eq!(replaced["config"], json!({"host": "127.0.0.1", "port": 5432}));
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert!(time(&replaced["updated_at"]) > time(&created["updated_at"]), "{created} then {replaced}");
    let (status, got) = api.get(&one(&id), Some(ACME)).await;
    assert_eq!((status, &got), (StatusCode::OK, &replaced));

    // DELETE answers 200 with a JSON `detail` (the SDK takes nothing else);
    // then the source is gone everywhere.
    let (status, deleted) = api.call("DELETE", &one(&id), Some(ACME), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted, json!({"detail": format!("Source with id {id} successfully deleted.")}));
    let (status, got) = api.get(&one(&id), Some(ACME)).await;
    assert_refused(status, &got, StatusCode::NOT_FOUND);
    let (status, got) = put(&api, &one(&id), Some(ACME), &replacement).await;
    assert_refused(status, &got, StatusCode::NOT_FOUND);
    let (status, got) = api.call("DELETE", &one(&id), Some(ACME), None).await;
    assert_refused(status, &got, StatusCode::NOT_FOUND);
    let (status, got) = api.get(&check_uri(&id), Some(ACME)).await;
    assert_refused(status, &got, StatusCode::NOT_FOUND);
    let (_, list) = api.get(SOURCES, Some(ACME)).await;
    assert!(!list.as_array().expect("list").iter().any(|s| s["id"] == id.as_str()), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_never_answered_and_survive_a_replace() {
    let api = Api::start().await;
    let leak = body("leak", "hostile", json!({"mode": "leak", "password": SECRET}));
    let created = create(&api, ACME, &leak).await;
    assert!(!created.to_string().contains(SECRET), "the secret leaked: {created}");
    assert_eq!(created["config"], json!({"mode": "leak"}), "writeOnly properties are left out");
    let id = created["id"].as_str().expect("id").to_string();

    for (uri, key) in [(one(&id), ACME), (one(&id), ADMIN), (SOURCES.to_string(), ACME)] {
        let (status, got) = api.get(&uri, Some(key)).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert!(!got.to_string().contains(SECRET), "the secret leaked from {uri}: {got}");
    }

    // The probe sends the password back in its message; the host masks it,
    // which shows that the stored secret reached the check.
    let done = connection_check(&api, ACME, &id).await;
    assert_eq!((&done["status"], &done["reason"]), (&json!("FAILURE"), &json!("bad password ***")), "{done}");

    // A replace without the password (clients never see it) keeps it.
    let without = body("leak-renamed", "hostile", json!({"mode": "leak"}));
    let (status, replaced) = put(&api, &one(&id), Some(ACME), &without).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!((&replaced["name"], &replaced["config"]), (&json!("leak-renamed"), &json!({"mode": "leak"})));
    let done = connection_check(&api, ACME, &id).await;
    assert_eq!((&done["status"], &done["reason"]), (&json!("FAILURE"), &json!("bad password ***")), "{done}");

    // A replace with the password answers without it, too.
    let (status, replaced) = put(&api, &one(&id), Some(ACME), &leak).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert!(!replaced.to_string().contains(SECRET), "the secret leaked: {replaced}");
    assert_eq!(replaced["config"], json!({"mode": "leak"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_within_an_organization() {
    let api = Api::start().await;
    let first = create(&api, ACME, &body("twin", "hostile", json!({"mode": "ok"}))).await;

    let (status, dup) =
        api.post(SOURCES, Some(ACME), &body("twin", "hostile", json!({"mode": "invalid"}))).await;
    assert_refused(status, &dup, StatusCode::CONFLICT);
    let mut as_admin = body("twin", "hostile", json!({"mode": "ok"}));
    as_admin["organization"] = json!("org_acme");
    let (status, dup) = api.post(SOURCES, Some(ADMIN), &as_admin).await;
    assert_refused(status, &dup, StatusCode::CONFLICT);
    // A fixture's name, too.
    let (status, dup) =
        api.post(SOURCES, Some(ACME), &body("healthy", "hostile", json!({"mode": "ok"}))).await;
    assert_refused(status, &dup, StatusCode::CONFLICT);

    // The same name in another organization is another source.
    let other = create(&api, OTHER, &body("twin", "hostile", json!({"mode": "ok"}))).await;
    assert_ne!(other["id"], first["id"]);
    as_admin["organization"] = json!("org_third");
    create(&api, ADMIN, &as_admin).await;

    // Renaming onto a taken name conflicts as well; the source is unchanged.
    let second = create(&api, ACME, &body("second", "hostile", json!({"mode": "ok"}))).await;
    let second_id = second["id"].as_str().expect("id");
    let (status, dup) =
        put(&api, &one(second_id), Some(ACME), &body("twin", "hostile", json!({"mode": "ok"}))).await;
    assert_refused(status, &dup, StatusCode::CONFLICT);
    let (status, got) = api.get(&one(second_id), Some(ACME)).await;
    assert_eq!((status, got), (StatusCode::OK, second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_the_config_alone_keeps_everything_else() {
    let api = Api::start().await;
    let mut made = body("partial", "hostile", json!({"mode": "ok"}));
    made["retries"] = json!(2.0); // a whole number, as JSON Schema counts them
    made["interval"] = json!("1h 30m");
    let created = create(&api, ACME, &made).await;
    let id = created["id"].as_str().expect("id").to_string();
    let (status, updated) = put(&api, &one(&id), Some(ACME), &json!({"config": {"mode": "invalid"}})).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((&updated["name"], &updated["type"]), (&json!("partial"), &json!("hostile")), "{updated}");
    assert_eq!(updated["config"], json!({"mode": "invalid"}));
    let source = api.service.get_source(id.parse().expect("uuid")).await.expect("store").expect("source");
    assert_eq!((source.policy.retries, source.policy.interval), (2, Duration::from_secs(5400)));
    // The config is checked against the type the source has.
    let (status, reply) = put(&api, &one(&id), Some(ACME), &json!({"config": {"host": "x"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");

    // The list takes the SDK's `source_type` filter.
    let (status, list) = api.get(&format!("{SOURCES}/?source_type=hostile"), Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let types: Vec<&Value> = list.as_array().expect("list").iter().map(|s| &s["type"]).collect();
    assert!(!types.is_empty() && types.iter().all(|t| *t == "hostile"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_and_paths_are_422s_at_the_field() {
    let api = Api::start().await;
    // An API source: the file's own answer 409 to any write (binding.rs).
    let made = create(&api, ACME, &body("made", "hostile", json!({"mode": "ok"}))).await;
    let made = made["id"].as_str().expect("id").to_string();
    let ok = body("valid", "hostile", json!({"mode": "ok"}));
    let with = |field: &str, value: Value| {
        let mut b = ok.clone();
        b[field] = value;
        b
    };
    let mut missing_name = ok.clone();
    missing_name.as_object_mut().expect("object").remove("name");
    // A create needs a name; an update without one keeps the source's.
    let (status, reply) = api.post(SOURCES, Some(ACME), &missing_name).await;
    assert_422(status, &reply, json!(["body", "name"]), "missing");
    let cases = [
        (with("colour", json!("red")), json!(["body", "colour"]), "extra_forbidden"),
        (with("interval", json!("1 hour")), json!(["body", "interval"]), "value_error"),
        (with("timeout", json!("0s")), json!(["body", "timeout"]), "value_error"),
        (with("retries", json!(2.5)), json!(["body", "retries"]), "value_error"),
        (with("retries", json!(229839.0)), json!(["body", "retries"]), "value_error"),
        (with("name", json!(" ")), json!(["body", "name"]), "value_error"),
        (with("config", json!([1, 2])), json!(["body", "config"]), "dict_type"),
        (with("config", json!("mode=ok")), json!(["body", "config"]), "dict_type"),
        (
            body("tcp-bad-port", "tcp", json!({"host": "127.0.0.1", "port": "x"})),
            json!(["body", "config", "port"]),
            "value_error",
        ),
        (with("type", json!("no-such-type")), json!(["body", "type"]), "value_error"),
    ];
    for (b, loc, kind) in cases {
        let (status, reply) = api.post(SOURCES, Some(ACME), &b).await;
        assert_422(status, &reply, loc.clone(), kind);
        let (status, reply) = put(&api, &one(&made), Some(ACME), &b).await;
        assert_422(status, &reply, loc, kind);
    }
    // Nothing was created or changed by any of them.
    let (_, list) = api.get(SOURCES, Some(ACME)).await;
    let names: Vec<&str> = list.as_array().expect("list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(!names.iter().any(|n| ["valid", "tcp-bad-port"].contains(n)), "{names:?}");
    let (_, got) = api.get(&one(&made), Some(ACME)).await;
    assert_eq!((&got["name"], &got["config"]), (&json!("made"), &json!({"mode": "ok"})), "{got}");

    // Not JSON at all.
    let (status, reply) = api.call("POST", SOURCES, Some(ACME), Some(Body::from("{name"))).await;
    assert_422(status, &reply, json!(["body"]), "json_invalid");

    // A path id that is not a UUID, on every route that takes one.
    for bad in ["not-a-uuid", "src_abc123", "1234"] {
        for (method, uri) in [
            ("GET", one(bad)),
            ("PUT", one(bad)),
            ("DELETE", one(bad)),
            ("GET", check_uri(bad)),
            ("POST", check_uri(bad)),
        ] {
            let b = (method == "PUT").then(|| Body::from(ok.to_string()));
            let (status, reply) = api.call(method, &uri, Some(ACME), b).await;
            assert_422(status, &reply, json!(["path", "source_id"]), "uuid_parsing");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_see_only_their_organization() {
    let api = Api::start().await;
    let elsewhere = api.source("elsewhere").await.id.to_string();
    let ok = body("mine", "hostile", json!({"mode": "ok"}));

    // No key, or a wrong one, on every route.
    let routes = [
        ("GET", SOURCES.to_string()),
        ("POST", SOURCES.to_string()),
        ("GET", one(&elsewhere)),
        ("PUT", one(&elsewhere)),
        ("DELETE", one(&elsewhere)),
        ("GET", check_uri(&elsewhere)),
        ("POST", check_uri(&elsewhere)),
    ];
    for (method, uri) in &routes {
        for key in [None, Some("not-a-key")] {
            let b = ["PUT", "POST"].contains(method).then(|| Body::from(ok.to_string()));
            let (status, reply) = api.call(method, uri, key, b).await;
            assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
        }
    }
    let req = Request::get(SOURCES).header("unstructured-api-key", "not-a-key").body(Body::empty());
    let (status, reply) = api.send(req.expect("request")).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    // The seed's header works for a right key.
    let req = Request::get(SOURCES).header("unstructured-api-key", ACME).body(Body::empty());
    let (status, reply) = api.send(req.expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{reply}");

    // Another organization's source is missing, exactly like one that
    // does not exist.
    for (method, uri) in routes.iter().skip(2) {
        let b = (*method == "PUT").then(|| Body::from(ok.to_string()));
        let (status, reply) = api.call(method, uri, Some(ACME), b).await;
        assert_refused(status, &reply, StatusCode::NOT_FOUND);
        let unknown = uri.replace(&elsewhere, &Uuid::new_v4().to_string());
        let b = (*method == "PUT").then(|| Body::from(ok.to_string()));
        let (status, missing) = api.call(method, &unknown, Some(ACME), b).await;
        assert_eq!((status, &missing), (StatusCode::NOT_FOUND, &reply), "{method} {uri}");
    }
    // ... and untouched by those attempts.
    let (status, got) = api.get(&one(&elsewhere), Some(OTHER)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!((&got["name"], &got["config"]), (&json!("elsewhere"), &json!({"mode": "ok"})), "{got}");
    let history = api.service.history(api.source("elsewhere").await.id, 10, None).await.expect("history");
    assert!(!history.iter().any(|c| c.trigger == Trigger::Manual), "a check was requested: {history:?}");

    // An admin key must say which organization a new source belongs to.
    let (status, reply) = api.post(SOURCES, Some(ADMIN), &ok).await;
    assert_422(status, &reply, json!(["body", "organization"]), "missing");
    let mut given = ok.clone();
    given["organization"] = json!("org_acme");
    let created = create(&api, ADMIN, &given).await;
    let (status, got) = api.get(&one(created["id"].as_str().expect("id")), Some(ACME)).await;
    assert_eq!((status, got), (StatusCode::OK, created));
    // An organization key cannot create in another organization.
    given["organization"] = json!("org_other");
    given["name"] = json!("smuggled");
    let (status, reply) = api.post(SOURCES, Some(ACME), &given).await;
    assert_422(status, &reply, json!(["body", "organization"]), "value_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_checks_are_scheduled_then_reported() {
    let api = Api::start().await;
    let healthy = create(&api, ACME, &body("cc-ok", "hostile", json!({"mode": "ok"}))).await;
    let id = healthy["id"].as_str().expect("id");

    // No check yet.
    let (status, reply) = api.get(&check_uri(id), Some(ACME)).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);

    let scheduled = start_check(&api, ACME, id).await;
    let done = wait_check(&api, ACME, id, &scheduled["id"]).await;
    assert_eq!(
        (&done["id"], &done["status"], &done["reason"], &done["created_at"]),
        (&scheduled["id"], &json!("SUCCESS"), &Value::Null, &scheduled["created_at"]),
        "{done}"
    );
    time(&done["reported_at"]);
    // The newest check stays the answer.
    let (status, again) = api.get(&check_uri(id), Some(ACME)).await;
    assert_eq!((status, &again), (StatusCode::OK, &done));

    // Failures carry the reason: a config the probe refuses, and a peer
    // that refuses the connection.
    let invalid = create(&api, ACME, &body("cc-invalid", "hostile", json!({"mode": "invalid"}))).await;
    let done = connection_check(&api, ACME, invalid["id"].as_str().expect("id")).await;
    assert_eq!((&done["status"], &done["reason"]), (&json!("FAILURE"), &json!("port 0 can never work")));
    time(&done["reported_at"]);
    let port = sonde_test_support::closed_port();
    let refused =
        create(&api, ACME, &body("cc-refused", "tcp", json!({"host": "127.0.0.1", "port": port}))).await;
    let done = connection_check(&api, ADMIN, refused["id"].as_str().expect("id")).await;
    assert_eq!((&done["status"], &done["reason"]), (&json!("FAILURE"), &json!("connection refused")));

    // A new check of the healthy source is a new id.
    let next = connection_check(&api, ACME, id).await;
    assert_ne!(next["id"], scheduled["id"]);
    assert_eq!(next["status"], "SUCCESS", "{next}");
}
