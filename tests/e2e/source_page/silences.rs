//! Silences from the page: created with the form (CSRF and all) and ended
//! with its button, seen by `GET /v1/silences`; a refused form comes back
//! with its values and the field's error; an organization sees, and may
//! end, only its own.

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::Value;

use super::{get, post};
use crate::api::{ACME, ADMIN, Api, OTHER};
use crate::status_page::{hidden_csrf, sign_in};

/// The comments of the silences the API lists for `key`.
async fn listed(api: &Api, key: &str) -> Vec<Value> {
    let (status, body) = api.get("/v1/silences", Some(key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["silences"].as_array().cloned().unwrap_or_default()
}

fn comments(silences: &[Value]) -> Vec<&str> {
    silences.iter().filter_map(|s| s["comment"].as_str()).collect()
}

#[tokio::test]
async fn silences_are_created_and_ended_on_the_page_and_the_api_sees_them() {
    let api = Api::start().await;
    let acme = sign_in(&api, ACME).await;
    let other = sign_in(&api, OTHER).await;
    let admin = sign_in(&api, ADMIN).await;

    let (status, _, page) = get(&api, "/silences", Some(&acme)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"id="new-silence""#) && page.contains("No silences."), "{page}");
    assert!(!page.contains(r#"name="organization""#), "an organization key silences its own: {page}");
    let csrf = hidden_csrf(&page);
    let (_, _, root) = get(&api, "/", Some(&acme)).await;
    assert!(root.contains(r#"href="/sources/"#), "the list links each source's page");

    // A datetime-local value (read as UTC), as a browser sends it.
    let ends = (Utc::now() + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M").to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("sources", "healthy, broken"),
        ("ends_at", &ends),
        ("comment", "db upgrade"),
    ];
    let (status, location, _) = post(&api, "/silences", &acme, &form).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/silences"));
    let mine = listed(&api, ACME).await;
    assert_eq!(comments(&mine), ["db upgrade"], "{mine:?}");
    assert_eq!(mine[0]["organization"], "org_acme");
    assert_eq!(mine[0]["sources"], serde_json::json!(["healthy", "broken"]));
    assert_eq!(mine[0]["active"], true);
    let id = mine[0]["id"].as_str().expect("id").to_string();
    assert!(comments(&listed(&api, OTHER).await).is_empty(), "another organization's silence");
    assert_eq!(comments(&listed(&api, ADMIN).await), ["db upgrade"]);

    // Pages: org_acme's and the admin's show it, org_other's does not.
    let (_, _, page) = get(&api, "/silences", Some(&acme)).await;
    assert!(page.contains(&format!(r#"data-silence="{id}""#)) && page.contains("db upgrade"), "{page}");
    let (_, _, page) = get(&api, "/silences", Some(&admin)).await;
    assert!(page.contains("db upgrade") && page.contains(r#"name="organization""#), "{page}");
    let (_, _, theirs) = get(&api, "/silences", Some(&other)).await;
    assert!(!theirs.contains("db upgrade") && !theirs.contains(&id), "{theirs}");

    // A refused form: 422, every value kept, the field's error beside it.
    let past = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let bad = [("csrf", csrf.as_str()), ("sources", "healthy"), ("ends_at", &past), ("comment", "keep me")];
    let (status, _, page) = post(&api, "/silences", &acme, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(r#"data-field="ends_at""#) && page.contains("must not be before"), "{page}");
    assert!(page.contains(">keep me</textarea>") && page.contains(r#"value="healthy""#), "{page}");
    let blank = [("csrf", csrf.as_str()), ("ends_at", &ends), ("comment", "   ")];
    let (status, _, page) = post(&api, "/silences", &acme, &blank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"data-field="comment""#), "{page}");
    let (status, _, page) =
        post(&api, "/silences", &acme, &[("csrf", csrf.as_str()), ("comment", "x")]).await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && page.contains(r#"data-field="ends_at""#), "{page}");
    // Another organization's, by a key of org_acme: as one that is not there.
    let foreign =
        [("csrf", csrf.as_str()), ("organization", "org_other"), ("ends_at", &ends), ("comment", "x")];
    assert_eq!(post(&api, "/silences", &acme, &foreign).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = post(&api, "/silences", &acme, &[("ends_at", &ends), ("comment", "no token")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(comments(&listed(&api, ADMIN).await), ["db upgrade"], "nothing refused was stored");

    // Ending: not by another organization (404), then by its own.
    let end = format!("/silences/{id}/end");
    let other_csrf = hidden_csrf(&theirs);
    let (status, _, refused) = post(&api, &end, &other, &[("csrf", &other_csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, unknown) =
        post(&api, &format!("/silences/{}/end", uuid::Uuid::new_v4()), &other, &[("csrf", &other_csrf)])
            .await;
    assert_eq!((status, refused), (StatusCode::NOT_FOUND, unknown));
    assert_eq!(post(&api, &end, &acme, &[]).await.0, StatusCode::FORBIDDEN, "no token");
    let (status, location, _) = post(&api, &end, &acme, &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/silences"));
    assert!(listed(&api, ACME).await.is_empty(), "ended");
    assert!(listed(&api, ADMIN).await.is_empty(), "ended for every key");
}
