//! `GET /openapi.json`: the OpenAPI 3.1 document generated from the handlers
//! (utoipa), fetched through `sonde::server::app` (axum `oneshot`).
//!
//! - Every route of `app()` is in `paths` with exactly its methods and the
//!   statuses it answers ([`ROUTES`], checked against the router itself).
//! - It is OpenAPI 3.1: `oas3` parses it and accepts its version. oas3 does
//!   not validate the whole document, so the structural rules are checked
//!   here: every `$ref` resolves (also through oas3's resolvers), every
//!   operation has responses and a unique `operationId`, path templates and
//!   path parameters agree, UUID parameters say `format: uuid`, security
//!   requirements name declared schemes, every schema compiles as JSON
//!   Schema 2020-12. Where Python's `openapi-spec-validator` is installed,
//!   it validates the document against the official 3.1 schema as well.
//! - Real answers match the schema documented for their status.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::api::{ACME, ADMIN, Api, KB};

/// Every route of `app()`: path, method, and the statuses it answers.
const ROUTES: &[(&str, &str, &[u16])] = &[
    ("/healthz/sources", "get", &[200, 401, 403, 500, 503]),
    ("/api/v1/sources/", "get", &[200, 401, 422, 500, 503]),
    ("/api/v1/sources/", "post", &[200, 401, 409, 413, 422, 500, 503]),
    ("/api/v1/sources/{source_id}", "get", &[200, 401, 404, 422, 500, 503]),
    ("/api/v1/sources/{source_id}", "put", &[200, 401, 404, 409, 413, 422, 500, 503]),
    ("/api/v1/sources/{source_id}", "delete", &[200, 401, 404, 409, 422, 500, 503]),
    ("/api/v1/sources/{source_id}/connection-check", "get", &[200, 401, 404, 422, 500, 503]),
    ("/api/v1/sources/{source_id}/connection-check", "post", &[202, 401, 404, 422, 500, 503]),
    (
        "/v1/organizations/{organization_id}/knowledge/connectors/sources/test",
        "post",
        &[200, 401, 404, 413, 422, 429, 500, 503],
    ),
    ("/v1/knowledge/connectors/health", "get", &[200, 503]),
    ("/v1/organizations/{organization_id}/knowledge/connectors/health", "get", &[200, 401, 404, 422, 503]),
    (
        "/v1/knowledge-base/knowledge-bases/{kb_id}/sources/{source_id}/sync/status",
        "get",
        &[200, 401, 404, 422, 500, 503],
    ),
    ("/v1/plugins", "get", &[200, 401]),
    ("/v1/agents", "get", &[200, 401, 403, 500, 503]),
    ("/v1/agent/poll", "post", &[200, 401, 403, 413, 422, 500, 503]),
    ("/v1/agent/plugins/{sha256}", "get", &[200, 401, 403, 404]),
    ("/v1/agent/results", "post", &[200, 401, 403, 413, 422, 500, 503]),
    ("/v1/sources/{source_id}/checks", "get", &[200, 401, 404, 422, 500, 503]),
    ("/v1/silences", "get", &[200, 401, 500, 503]),
    ("/v1/silences", "post", &[201, 401, 404, 413, 422, 500, 503]),
    ("/v1/silences/{silence_id}", "delete", &[204, 401, 404, 422, 500, 503]),
    ("/openapi.json", "get", &[200]),
    ("/metrics", "get", &[200, 401, 500, 503]),
    ("/livez", "get", &[200]),
    ("/readyz", "get", &[200, 503]),
];

/// Routes that take no key.
const PUBLIC: &[&str] =
    &["/v1/knowledge/connectors/health", "/openapi.json", "/metrics", "/livez", "/readyz"];

/// Public routes that also take a key, and answer it with more.
const KEY_OPTIONAL: &[&str] = &["/metrics"];

const SCHEMES: [(&str, &str, Option<&str>); 4] = [
    ("bearer", "http", None),
    ("x-api-key", "apiKey", Some("x-api-key")),
    ("unstructured-api-key", "apiKey", Some("unstructured-api-key")),
    ("X-Hasura-Admin-Secret", "apiKey", Some("X-Hasura-Admin-Secret")),
];

/// One request through the router: status and raw body.
async fn send(api: &Api, method: &str, uri: &str, key: Option<&str>, body: Option<String>) -> (u16, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).expect("request");
    let resp = api.app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, bytes.to_vec())
}

/// The template with its parameters filled in.
fn concrete(template: &str) -> String {
    template
        .replace("{source_id}", "0b6d3c1e-6d8a-4c1f-9a57-000000000001")
        .replace("{kb_id}", KB)
        .replace("{silence_id}", "0b6d3c1e-6d8a-4c1f-9a57-000000000002")
        .replace("{organization_id}", "org_acme")
}

/// Follows a local `$ref` (`#/a/b`) in `doc`.
fn pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// `v`, or what its `$ref` points at.
fn resolved<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => pointer(doc, r).unwrap_or_else(|| panic!("unresolved {r}")),
        None => v,
    }
}

/// Every `$ref` in `v`, with where it was found.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    out.push((at.to_string(), child.as_str().unwrap_or("<not a string>").to_string()));
                } else {
                    refs(child, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, c)| refs(c, &format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// A validator for `schema`, whose `$ref`s point into `doc`'s components.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root.as_object_mut().expect("a schema object").insert("components".into(), doc["components"].clone());
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("not JSON Schema 2020-12: {e}\n{schema}"))
}

/// The answer's status is documented for the operation, and its body
/// matches the schema documented for that status.
fn assert_documented(doc: &Value, template: &str, method: &str, (status, body): &(u16, Vec<u8>)) {
    let op = &doc["paths"][template][method];
    let response = op["responses"].get(status.to_string()).unwrap_or_else(|| {
        panic!(
            "{method} {template} answered {status}, which is not documented: {}",
            String::from_utf8_lossy(body)
        )
    });
    let response = resolved(doc, response);
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        // A documented non-JSON body (the Prometheus text of `/metrics`).
        let text = response["content"].as_object().is_some_and(|c| !c.is_empty());
        assert!(text || body.is_empty(), "{method} {template} {status}: a body where none is documented");
        return;
    };
    let body: Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("{method} {template} {status}: {e}"));
    let errors: Vec<String> = validator(doc, schema).iter_errors(&body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{method} {template} {status}: {errors:?}\n{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_31_lists_every_route_and_holds_together() {
    let api = Api::start().await;
    let (status, bytes) = send(&api, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    assert_documented(&doc, "/openapi.json", "get", &(status, bytes));

    // oas3 reads it as 3.1.
    let spec = oas3::from_json(&text).unwrap_or_else(|e| panic!("oas3: {e}"));
    let version = spec.validate_version().unwrap_or_else(|e| panic!("oas3: {e}"));
    assert_eq!((version.major, version.minor), (3, 1));

    // Exactly the routes, methods and statuses of `ROUTES`.
    let mut expected: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (path, method, statuses) in ROUTES {
        let set = statuses.iter().map(u16::to_string).collect();
        expected.entry(path).or_default().insert(method.to_string(), set);
    }
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(
        paths.keys().map(String::as_str).collect::<Vec<_>>(),
        expected.keys().copied().collect::<Vec<_>>()
    );
    for (path, methods) in &expected {
        let item = paths[*path].as_object().expect("path item");
        let documented: BTreeMap<String, BTreeSet<String>> = item
            .iter()
            .filter(|(k, _)| !["parameters", "summary", "description", "servers"].contains(&k.as_str()))
            .map(|(m, op)| {
                (m.clone(), op["responses"].as_object().expect("responses").keys().cloned().collect())
            })
            .collect();
        assert_eq!(&documented, methods, "{path}");
    }

    // `ROUTES` is what the router serves: each method is routed (no key: a
    // 401, or an answer of a public route), any other one is a 405.
    for (path, methods) in &expected {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let answer = send(&api, method, &concrete(path), None, None).await;
            if methods.contains_key(&method.to_lowercase()) {
                if !PUBLIC.contains(path) {
                    assert_eq!(answer.0, 401, "{method} {path}");
                }
                assert_documented(&doc, path, &method.to_lowercase(), &answer);
            } else {
                assert_eq!(answer.0, 405, "{method} {path}: not documented, but not a 405 either");
            }
        }
    }

    // Every `$ref` resolves.
    let mut all = Vec::new();
    refs(&doc, "#", &mut all);
    assert!(all.len() > 20, "too few $refs: {all:?}");
    for (at, r) in &all {
        assert!(pointer(&doc, r).is_some(), "{at}: $ref {r} does not resolve");
    }

    // The same, through oas3's own resolvers, for every operation.
    let mut ids = BTreeSet::new();
    for (path, method, op) in spec.operations() {
        let raw = &doc["paths"][&path][method.as_str().to_lowercase()];
        let id = op.operation_id.clone().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(ids.insert(id.clone()), "operationId {id} is used twice");
        let responses = op.responses(&spec);
        assert!(!responses.is_empty(), "{method} {path}: no responses");
        assert_eq!(responses.len(), raw["responses"].as_object().map_or(0, |r| r.len()), "{method} {path}");
        for (status, response) in &responses {
            assert!(!response.description.as_deref().unwrap_or("").is_empty(), "{method} {path} {status}");
            for media in response.content.values() {
                media.schema(&spec).unwrap_or_else(|e| panic!("{method} {path} {status}: {e}"));
            }
        }
        op.request_body(&spec).unwrap_or_else(|e| panic!("{method} {path}: {e}"));

        // Path parameters: exactly the template's, required, UUIDs as such.
        let params = op.parameters(&spec).expect("parameters");
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|p| p.location == oas3::spec::ParameterIn::Path)
            .map(|p| p.name.clone())
            .collect();
        let in_template: BTreeSet<String> =
            path.split('{').skip(1).filter_map(|s| s.split('}').next()).map(str::to_string).collect();
        assert_eq!(in_path, in_template, "{method} {path}");
        for p in raw["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "path" {
                assert_eq!(p["required"], true, "{method} {path} {}", p["name"]);
            }
            if p["name"] == "source_id" || p["name"] == "kb_id" {
                assert_eq!(p["schema"]["format"], "uuid", "{method} {path} {}", p["name"]);
            }
        }

        // Security: every key header on routes that take a key, none on the others.
        let security: BTreeSet<String> = raw["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|req| req.as_object().expect("requirement").keys().cloned())
            .collect();
        let all: BTreeSet<String> = SCHEMES.iter().map(|(n, _, _)| n.to_string()).collect();
        if KEY_OPTIONAL.contains(&path.as_str()) {
            // Any key, or none (`{}`): the key only widens what it answers.
            assert_eq!(security, all, "{method} {path}");
            assert!(raw["security"].as_array().is_some_and(|r| r.contains(&json!({}))), "{method} {path}");
        } else if PUBLIC.contains(&path.as_str()) {
            assert!(security.is_empty(), "{method} {path} is public: {security:?}");
        } else {
            assert_eq!(security, all, "{method} {path}");
            assert!(raw["responses"].get("401").is_some(), "{method} {path}: no 401");
        }
    }
    assert_eq!(ids.len(), ROUTES.len());

    // The security schemes.
    for (name, kind, header) in SCHEMES {
        let scheme = &doc["components"]["securitySchemes"][name];
        assert_eq!(scheme["type"], kind, "{name}: {scheme}");
        match header {
            Some(h) => assert_eq!((&scheme["in"], &scheme["name"]), (&json!("header"), &json!(h)), "{name}"),
            None => assert_eq!(scheme["scheme"], "bearer", "{name}"),
        }
    }

    // FastAPI's validation error, as Feather's seed spells it.
    let schemas = &doc["components"]["schemas"];
    let error = &schemas["HTTPValidationError"];
    assert_eq!(error["properties"]["detail"]["items"]["$ref"], "#/components/schemas/ValidationError");
    assert_eq!(schemas["ValidationError"]["required"], json!(["loc", "msg", "type"]));
    for (name, schema) in schemas.as_object().expect("schemas") {
        let _ = validator(&doc, schema);
        let kinds = ["type", "oneOf", "anyOf", "allOf", "$ref", "enum", "const"];
        assert!(kinds.iter().any(|k| schema.get(k).is_some()), "{name}: {schema}");
    }

    spec_validator(&text);
}

/// The document for a key, parsed.
async fn document(api: &Api, key: Option<&str>) -> Value {
    let (status, bytes) = send(api, "GET", "/openapi.json", key, None).await;
    assert_eq!(status, 200);
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The request body schema of an operation, as a validator.
fn body_validator(doc: &Value, path: &str, method: &str) -> jsonschema::Validator {
    validator(doc, &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])
}

/// Bodies carry each plugin's own config schema, and the document says
/// what the asking key may send; a plugin dropped in shows up at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_follows_the_loaded_plugins_and_the_key() {
    let api = Api::start().await;
    let doc = document(&api, None).await;
    let create =
        &doc["paths"]["/api/v1/sources/"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let mapping = create["discriminator"]["mapping"].as_object().expect("a discriminator by type");
    let plugins: BTreeSet<String> =
        api.service.registry().list().iter().map(|p| p.info.source_type.clone()).collect();
    assert_eq!(mapping.keys().cloned().collect::<BTreeSet<_>>(), plugins);
    assert_eq!(create["discriminator"]["propertyName"], "type");
    let tcp = &doc["components"]["schemas"]["Config.tcp"];
    assert_eq!(tcp["required"], json!(["host", "port"]), "{tcp}");

    // What the server takes, the document takes, and the other way round.
    let v = body_validator(&doc, "/api/v1/sources/", "post");
    let tcp_body = json!({"name": "n", "type": "tcp", "config": {"host": "127.0.0.1", "port": 1}});
    assert!(v.is_valid(&tcp_body));
    for bad in [
        json!({"name": "n", "type": "tcp", "config": {"host": "127.0.0.1", "port": "x"}}),
        json!({"name": "n", "type": "tcp", "config": {"mode": "ok"}}),
        json!({"name": "n", "type": "no-such-type", "config": {}}),
        json!({"name": "n", "type": "tcp", "config": {"host": "h", "port": 1}, "interval": "1 hour"}),
        json!({"name": "n", "type": "tcp", "config": {"host": "h", "port": 1}, "retries": 2.5}),
        json!({"name": " ", "type": "tcp", "config": {"host": "h", "port": 1}}),
    ] {
        assert!(!v.is_valid(&bad), "the document takes what the server refuses: {bad}");
        let (status, reply) = api.post("/api/v1/sources/", Some(ACME), &bad).await;
        assert_eq!(status, 422, "{bad}: {reply}");
    }
    let update = body_validator(&doc, "/api/v1/sources/{source_id}", "put");
    assert!(update.is_valid(&json!({"config": {"host": "127.0.0.1", "port": 2}})), "config alone");
    let test =
        body_validator(&doc, "/v1/organizations/{organization_id}/knowledge/connectors/sources/test", "post");
    assert!(
        test.is_valid(&json!({"source_definition_id": "tcp", "configuration": {"host": "h", "port": 1}}))
    );
    assert!(test.is_valid(&json!({"source_id": "src_abc123"})));
    assert!(!test.is_valid(&json!({"source_definition_id": "tcp", "configuration": null})), "null config");
    assert!(!test.is_valid(&json!({"source_definition_id": "tcp"})));

    // A created source links to every route that takes its id.
    let links =
        doc["paths"]["/api/v1/sources/"]["post"]["responses"]["200"]["links"].as_object().expect("links");
    let ids: BTreeSet<&str> = ROUTES
        .iter()
        .filter_map(|(path, method, _)| doc["paths"][*path][*method]["operationId"].as_str())
        .collect();
    assert!(links.len() >= 7, "{links:?}");
    for (name, link) in links {
        assert!(ids.contains(link["operationId"].as_str().unwrap_or_default()), "{name}: {link}");
    }

    // An organization key may name only its own organization.
    let org = document(&api, Some(ACME)).await;
    let v = body_validator(&org, "/api/v1/sources/", "post");
    let mut own = tcp_body.clone();
    own["organization"] = json!("org_acme");
    assert!(v.is_valid(&tcp_body) && v.is_valid(&own));
    let mut elsewhere = tcp_body.clone();
    elsewhere["organization"] = json!("org_other");
    assert!(!v.is_valid(&elsewhere), "org_other is refused to an org_acme key, so the document says so");
    let health = &org["paths"]["/v1/organizations/{organization_id}/knowledge/connectors/health"]["get"];
    let param =
        health["parameters"].as_array().expect("parameters").iter().find(|p| p["name"] == "organization_id");
    assert_eq!(param.expect("organization_id")["schema"]["enum"], json!(["org_acme"]));
    // An admin key must name one.
    let admin = document(&api, Some(ADMIN)).await;
    assert!(
        !body_validator(&admin, "/api/v1/sources/", "post").is_valid(&tcp_body),
        "admin without organization"
    );

    // A plugin dropped in is in the next document.
    let template = sonde_test_support::fixture("echo-probe");
    std::fs::copy(template, api.plugins_dir.join("echo.wasm")).expect("drop in");
    let mut found = false;
    for _ in 0..100 {
        if document(&api, None).await["components"]["schemas"].get("Config.echo").is_some() {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the dropped-in plugin never showed up in /openapi.json");
}

/// Python's openapi-spec-validator, where it is installed.
fn spec_validator(text: &str) {
    let probe = std::process::Command::new("python3").args(["-c", "import openapi_spec_validator"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "NOTE: openapi-spec-validator (Python) is not installed; checked with oas3 and the rules above"
        );
        return;
    }
    let file = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(file.path(), text).expect("write");
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Route template, method, URI, key, body, expected status.
type Case<'a> = (&'a str, &'a str, String, Option<&'a str>, Option<Value>, u16);

/// Real answers, good and bad, from every route match the documented schemas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_the_documented_schemas() {
    let api = Api::start().await;
    let (_, bytes) = send(&api, "GET", "/openapi.json", None, None).await;
    let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
    let healthy = api.source("healthy").await.id;
    for name in ["healthy", "broken", "refused"] {
        api.checked(name).await; // OK, FAILED and ERROR in Hasura's answer
    }
    let port = sonde_test_support::closed_port();
    let config = json!({"host": "127.0.0.1", "port": port});
    let body = json!({"name": "openapi-made", "type": "tcp", "config": config});
    let renamed = json!({"name": "healthy", "type": "tcp", "config": config}); // taken
    let inline = json!({"source_definition_id": "tcp", "configuration": config});
    let big = json!({"name": "big", "type": "tcp", "config": {"x": "y".repeat(300 * 1024)}});
    let test = "/v1/organizations/{organization_id}/knowledge/connectors/sources/test";
    let one = "/api/v1/sources/{source_id}";
    let check = "/api/v1/sources/{source_id}/connection-check";
    let sync = "/v1/knowledge-base/knowledge-bases/{kb_id}/sources/{source_id}/sync/status";
    let org_health = "/v1/organizations/{organization_id}/knowledge/connectors/health";

    let created = send(&api, "POST", "/api/v1/sources/", Some(ACME), Some(body.to_string())).await;
    assert_eq!(created.0, 200, "{}", String::from_utf8_lossy(&created.1));
    assert_documented(&doc, "/api/v1/sources/", "post", &created);
    let id =
        serde_json::from_slice::<Value>(&created.1).expect("JSON")["id"].as_str().expect("id").to_string();
    let at = |template: &str, source: &str| template.replace("{source_id}", source);

    let cases: Vec<Case> = vec![
        ("/healthz/sources", "GET", "/healthz/sources".into(), Some(ADMIN), None, 200),
        ("/healthz/sources", "GET", "/healthz/sources".into(), Some(ACME), None, 403),
        ("/api/v1/sources/", "GET", "/api/v1/sources/".into(), Some(ACME), None, 200),
        ("/api/v1/sources/", "GET", "/api/v1/sources?source_type=tcp".into(), Some(ACME), None, 200),
        ("/api/v1/sources/", "POST", "/api/v1/sources/".into(), Some(ACME), Some(body.clone()), 409),
        ("/api/v1/sources/", "POST", "/api/v1/sources".into(), Some(ACME), Some(json!({})), 422),
        ("/api/v1/sources/", "POST", "/api/v1/sources/".into(), Some(ACME), Some(big), 413),
        (one, "GET", at(one, &id), Some(ACME), None, 200),
        (one, "GET", at(one, "not-a-uuid"), Some(ACME), None, 422),
        (one, "GET", concrete(one), Some(ACME), None, 404),
        (one, "PUT", at(one, &id), Some(ACME), Some(body.clone()), 200),
        (one, "PUT", at(one, &id), Some(ACME), Some(renamed), 409),
        (check, "POST", at(check, &id), Some(ACME), None, 202),
        (check, "GET", at(check, &id), Some(ACME), None, 200),
        (check, "GET", concrete(check), Some(ACME), None, 404),
        (test, "POST", concrete(test), Some(ACME), Some(json!({"source_id": healthy})), 200),
        (test, "POST", concrete(test), Some(ACME), Some(inline), 200),
        (test, "POST", concrete(test), Some(ACME), Some(json!({"source_id": "src_abc123"})), 404),
        (test, "POST", concrete(test), Some(ACME), Some(json!({})), 422),
        (org_health, "GET", concrete(org_health), Some(ACME), None, 200),
        (org_health, "GET", org_health.replace("{organization_id}", "org_other"), Some(ACME), None, 404),
        (org_health, "GET", org_health.replace("{organization_id}", "acme"), Some(ACME), None, 422),
        (sync, "GET", at(&sync.replace("{kb_id}", KB), &healthy.to_string()), Some(ACME), None, 200),
        (sync, "GET", concrete(sync), Some(ACME), None, 404),
        (sync, "GET", sync.replace("{kb_id}", "kb").replace("{source_id}", "src"), Some(ACME), None, 422),
        ("/v1/plugins", "GET", "/v1/plugins".into(), Some(ACME), None, 200),
        ("/v1/plugins", "GET", "/v1/plugins".into(), Some("not-a-key"), None, 401),
        (one, "PUT", at(one, &id), Some(ACME), Some(json!({"config": config})), 200),
        (one, "DELETE", at(one, &id), Some(ACME), None, 200),
        // The configuration file's sources are the file's.
        (one, "DELETE", at(one, &healthy.to_string()), Some(ACME), None, 409),
        (one, "PUT", at(one, &healthy.to_string()), Some(ACME), Some(json!({"config": {"mode": "ok"}})), 409),
    ];
    for (template, method, uri, key, body, expected) in cases {
        let answer = send(&api, method, &uri, key, body.map(|b| b.to_string())).await;
        assert_eq!(answer.0, expected, "{method} {uri}: {}", String::from_utf8_lossy(&answer.1));
        assert_documented(&doc, template, &method.to_lowercase(), &answer);
    }
}
