//! `/openapi.json` tells the truth on what the fuzzer found (DESIGN §5): a
//! silence ending as it starts is accepted, as the document allows; a `PUT`
//! with `"type": null` is what the document says (the source keeps its
//! type); a `PUT` without `type` is documented as checked against the
//! stored type; the policy bounds and names without `/` are in it.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::unstructured::{body, create, one};
use super::{ACME, ADMIN, Api, OTHER, assert_422, assert_refused};

/// The document for `key`.
async fn document(api: &Api, key: &str) -> Value {
    let (status, doc) = api.get("/openapi.json", Some(key)).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// Whether `value` fits the request body of `PUT /api/v1/sources/{source_id}`.
fn update_allows(doc: &Value, value: &Value) -> bool {
    let schema = &doc["paths"]["/api/v1/sources/{source_id}"]["put"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&root).expect("JSON Schema").is_valid(value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_may_end_as_it_starts_but_not_before() {
    let api = Api::start().await;
    let at = "2031-05-01T10:00:00Z";
    for key in [ACME, ADMIN] {
        let silence =
            json!({"starts_at": at, "ends_at": at, "comment": "empty window", "organization": "org_acme"});
        let (status, reply) = api.post("/v1/silences", Some(key), &silence).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        assert_eq!(reply["active"], false, "{reply}");
    }
    let before = json!({"starts_at": at, "ends_at": "2031-05-01T09:59:59Z", "comment": "backwards"});
    let (status, reply) = api.post("/v1/silences", Some(ACME), &before).await;
    assert_422(status, &reply, json!(["body", "ends_at"]), "value_error");
    let (status, reply) = api.post("/v1/silences", None, &before).await;
    assert_refused(status, &reply, StatusCode::UNAUTHORIZED);
    let doc = document(&api, ACME).await;
    let said = doc["components"]["schemas"]["SilenceBody"]["properties"]["ends_at"]["description"]
        .as_str()
        .unwrap_or("");
    assert!(said.contains("not before `starts_at`"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_without_a_type_is_what_the_document_says() {
    let api = Api::start().await;
    let created = create(&api, ACME, &body("typed", "hostile", json!({"mode": "ok"}))).await;
    let uri = one(created["id"].as_str().expect("id"));
    let doc = document(&api, ACME).await;

    // `"type": null` keeps the type, and the document allows it.
    let null_type = json!({"type": null, "config": {"mode": "ok"}});
    assert!(update_allows(&doc, &null_type));
    let (status, reply) = api.call("PUT", &uri, Some(ACME), Some(Body::from(null_type.to_string()))).await;
    assert_eq!((status, reply["type"].as_str()), (StatusCode::OK, Some("hostile")), "{reply}");
    // Another organization's key: a 404, as a source that does not exist.
    let (status, reply) = api.call("PUT", &uri, Some(OTHER), Some(Body::from(null_type.to_string()))).await;
    assert_refused(status, &reply, StatusCode::NOT_FOUND);

    // A type that is not a string is refused, and the document forbids it.
    let number = json!({"type": 5, "config": {"mode": "ok"}});
    assert!(!update_allows(&doc, &number));
    let (status, reply) = api.call("PUT", &uri, Some(ACME), Some(Body::from(number.to_string()))).await;
    assert_422(status, &reply, json!(["body", "type"]), "value_error");

    // Without a type, the config is checked against the stored type: the
    // document says so where it allows any object.
    let untyped = &doc["components"]["schemas"]["SourceUpdate.config"]["properties"]["config"]["description"];
    assert!(untyped.as_str().is_some_and(|d| d.contains("stored type")), "{untyped}");
    let (status, reply) =
        api.call("PUT", &uri, Some(ACME), Some(Body::from(json!({"config": {"host": 5}}).to_string()))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["detail"][0]["loc"][1], "config", "{reply}");

    // The bounds and the name rule are in it too.
    let props = &doc["components"]["schemas"]["SourceUpdate.hostile"]["properties"];
    assert_eq!(props["retries"]["maximum"], 10, "{props}");
    assert!(props["interval"]["description"].as_str().is_some_and(|d| d.contains("to 30days")), "{props}");
    assert!(!update_allows(&doc, &json!({"type": "hostile", "name": "a/b", "config": {"mode": "ok"}})));
    assert!(update_allows(&doc, &json!({"type": "hostile", "name": "a b", "config": {"mode": "ok"}})));
}

/// White space outside ASCII (U+0085, U+00A0, U+2028) is a character like
/// any other in a name or a comment; regex dialects disagree on it, and a
/// fuzzer sending what the document allows found the server refusing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_may_hold_any_white_space_but_ascii_alone() {
    let api = Api::start().await;
    let doc = document(&api, ACME).await;
    let names = &doc["components"]["schemas"]["SilenceBody"]["properties"]["sources"];
    let fits = |name: &str| jsonschema::draft202012::new(names).expect("schema").is_valid(&json!([name]));
    let at = "2031-05-01T10:00:00Z";
    for name in ["\u{85}", "\u{a0}", "\u{2028}"] {
        assert!(fits(name), "{name:?}");
        let silence = json!({"ends_at": at, "comment": name, "sources": [name]});
        let (status, reply) = api.post("/v1/silences", Some(ACME), &silence).await;
        assert_eq!(status, StatusCode::CREATED, "{name:?}: {reply}");
        assert_eq!((reply["sources"][0].as_str(), reply["comment"].as_str()), (Some(name), Some(name)));
        create(&api, ACME, &body(name, "hostile", json!({"mode": "ok"}))).await;
    }
    for blank in [" ", "\t\r\n", "\u{b}\u{c}"] {
        assert!(!fits(blank), "{blank:?}");
        let silence = json!({"ends_at": at, "comment": "blank", "sources": [blank]});
        let (status, reply) = api.post("/v1/silences", Some(ACME), &silence).await;
        assert_422(status, &reply, json!(["body", "sources"]), "value_error");
        let (status, reply) =
            api.post("/api/v1/sources/", Some(ACME), &body(blank, "hostile", json!({}))).await;
        assert_422(status, &reply, json!(["body", "name"]), "value_error");
    }
}
