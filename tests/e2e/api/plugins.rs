//! `GET /v1/plugins`: the loaded probes and the files that failed to load.

use axum::http::StatusCode;
use serde_json::Value;

use super::{ACME, ADMIN, Api, assert_refused, keys};

fn by_type<'a>(list: &'a Value, source_type: &str) -> &'a Value {
    let plugins = list["plugins"].as_array().unwrap_or_else(|| panic!("no plugins: {list}"));
    plugins
        .iter()
        .find(|p| p["source_type"] == source_type)
        .unwrap_or_else(|| panic!("no {source_type}: {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_and_load_errors_are_listed() {
    let api = Api::start().await;
    let (status, list) = api.get("/v1/plugins", Some(ACME)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(keys(&list), ["errors", "plugins"]);
    let fields =
        ["config_schema", "description", "origin", "sha256", "source_type", "version", "wit_version"];
    let tcp = by_type(&list, "tcp");
    assert_eq!(keys(tcp), fields);
    assert_eq!(tcp["origin"], "built-in");
    assert!(tcp["config_schema"]["properties"]["port"].is_object(), "{tcp}");
    let hostile = by_type(&list, "hostile");
    assert_eq!(keys(hostile), fields);
    let path = api.plugins_dir.join("hostile.wasm").display().to_string();
    assert_eq!(hostile["origin"], path.as_str());
    assert_eq!(hostile["config_schema"]["properties"]["password"]["writeOnly"], true, "{hostile}");
    for p in [tcp, hostile] {
        let sha = p["sha256"].as_str().unwrap_or("");
        assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "{p}");
        let series = ["sonde:probe@0.1.0", "sonde:probe@0.2.0"];
        assert!(p["wit_version"].as_str().is_some_and(|v| series.contains(&v)), "{p}");
        assert!(["version", "description"].iter().all(|k| p[*k].is_string()), "{p}");
    }

    let errors = list["errors"].as_array().unwrap_or_else(|| panic!("no errors: {list}"));
    assert_eq!(errors.len(), 1, "{list}");
    assert_eq!(keys(&errors[0]), ["error", "origin"]);
    let broken = api.plugins_dir.join("broken.wasm").display().to_string();
    assert_eq!(errors[0]["origin"], broken.as_str());
    assert!(errors[0]["error"].as_str().is_some_and(|e| e.contains("not a WebAssembly component")), "{list}");

    let (status, _) = api.get("/v1/plugins", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.get("/v1/plugins", None).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
    let (status, body) = api.get("/v1/plugins", Some("not-a-key")).await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED);
}
