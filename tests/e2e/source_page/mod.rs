//! A page per source, `GET /sources/{id}`, and the silences page,
//! `GET /silences` (DESIGN §11), on the in-process router with the API
//! harness's keys (admin, org_acme, org_other) and sessions signed in
//! through the form.
//!
//! - here: the charts hold one point per check made (checks written hours
//!   apart, so each has its own bucket), failures as red markers; the
//!   history with its messages, paged 50 at a time; incidents from a real
//!   down and up, with the notifications the alert route wrote; another
//!   organization's source is the very page of an unknown id; a config's
//!   secret is never on it; the admin buttons check, pause and resume,
//!   and an organization key has none and is refused.
//! - [`silences`]: created and ended from the page, seen by the API.
//! - [`chromium`]: a source page in real Chromium, with a screenshot.

mod chromium;
mod silences;

use std::net::TcpListener;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use sonde::model::{CheckRecord, CheckStatus, SourceState, Trigger};

use crate::api::{ACME, ADMIN, Api, OTHER, SECRET};
use crate::status_page::{hidden_csrf, send, sign_in};

/// `GET path` with the session `cookie`: status, `Location`, body.
pub async fn get(api: &Api, path: &str, cookie: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let (status, headers, body) = send(api, req.body(Body::empty()).expect("request")).await;
    let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, location, body)
}

/// A form POST of `fields` to `path` with the session `cookie`.
pub async fn post(
    api: &Api,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .expect("request");
    let (status, headers, body) = send(api, req).await;
    let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, location, body)
}

/// A finished check of `source` written straight to the store, `age` ago.
fn written(source: uuid::Uuid, age: chrono::Duration, status: CheckStatus, message: &str) -> CheckRecord {
    let mut c = CheckRecord::new(source, Trigger::Schedule, status);
    c.created_at = Utc::now() - age;
    c.started_at = Some(c.created_at);
    c.reported_at = Some(c.created_at);
    c.duration_ms = Some(40 + age.num_minutes().unsigned_abs() % 500);
    c.attempts = 1;
    c.message = Some(message.to_string());
    c
}

/// The chart over `window` in `body`, from `<svg` to its end.
fn chart<'b>(body: &'b str, window: &str) -> &'b str {
    let marker = format!(r#"data-window="{window}""#);
    let at = body.find(&marker).unwrap_or_else(|| panic!("no {window} chart: {body}"));
    let start = body[..at].rfind("<svg").expect("svg start");
    let end = at + body[at..].find("</svg>").expect("svg end");
    &body[start..end]
}

fn attr<'b>(tag: &'b str, name: &str) -> &'b str {
    let key = format!(r#"{name}=""#);
    let at = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
    &tag[at..at + tag[at..].find('"').unwrap_or(0)]
}

#[tokio::test]
async fn a_source_page_shows_its_charts_history_and_incidents_to_its_organization_only() {
    // `flappy` answers while the test's listener is up; an alert route
    // with thresholds of one writes a notification per transition.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let extra = format!(
        "[[sources]]\nname = \"flappy\"\norganization = \"org_acme\"\ntype = \"tcp\"\n\
         config = {{ host = \"127.0.0.1\", port = {port} }}\ninterval = \"1h\"\nretries = 0\n\
         [[alerts]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{}/hook\"\n\
         failure_threshold = 1\nsuccess_threshold = 1\n\
         [history]\nmax_age = \"30d\"\n",
        sonde_test_support::closed_port()
    );
    let api = Api::start_with(&extra).await;
    let admin = sign_in(&api, ADMIN).await;
    let acme = sign_in(&api, ACME).await;
    let other = sign_in(&api, OTHER).await;

    // `resting` is paused: the scheduler adds nothing to what is written.
    // Within 24 h: 7 checks an hour apart, 3 failed; 2 more within 7 d;
    // 60 older than a week (history only) to page through: kept, since
    // the history's `max_age` is 30 d here (the default 7 d would let the
    // pruner, which runs at start, take some of them under load).
    let resting = api.source("resting").await;
    let store = api.service.store();
    let day = [
        CheckStatus::Ok,
        CheckStatus::Error,
        CheckStatus::Error,
        CheckStatus::Ok,
        CheckStatus::Timeout,
        CheckStatus::Ok,
        CheckStatus::Ok,
    ];
    for (i, status) in day.iter().enumerate() {
        let age = chrono::Duration::hours(7 - i as i64);
        store
            .insert_check(&written(resting.id, age, *status, &format!("day check {i}")))
            .await
            .expect("write");
    }
    for d in [2, 3] {
        let c = written(resting.id, chrono::Duration::days(d), CheckStatus::Ok, &format!("week check {d}"));
        store.insert_check(&c).await.expect("write");
    }
    for m in 0..60 {
        let age = chrono::Duration::days(9) + chrono::Duration::minutes(m);
        store
            .insert_check(&written(resting.id, age, CheckStatus::Ok, &format!("old check {m}")))
            .await
            .expect("write");
    }

    let path = format!("/sources/{}", resting.id);
    let (status, _, page) = get(&api, &path, Some(&acme)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let day_chart = chart(&page, "24 h");
    assert_eq!(attr(day_chart, "data-points"), "7", "{day_chart}");
    assert_eq!(attr(day_chart, "data-failures"), "3", "{day_chart}");
    assert_eq!(day_chart.matches(r#"class="failure""#).count(), 3, "{day_chart}");
    let line = attr(day_chart, " points");
    assert_eq!(line.split(' ').count(), 7, "one vertex per check: {line}");
    let week_chart = chart(&page, "7 d");
    assert_eq!(attr(week_chart, "data-points"), "9", "{week_chart}");
    for i in 0..7 {
        assert!(page.contains(&format!("day check {i}")), "history message {i}: {page}");
    }
    // Two runs of failures: ERROR ×2 then OK, TIMEOUT then OK; no route
    // notified them (they were written, not judged).
    assert_eq!(page.matches(r#"class="incident""#).count(), 2, "{page}");
    assert!(page.contains("no notification"), "{page}");

    // History pages as the API does: 50 newest, then older from the cursor.
    assert_eq!(page.matches(r#"class="check""#).count(), 50, "{page}");
    let older =
        attr(&page[page.find(r#"id="older""#).expect("an older link")..], "href").replace("&amp;", "&");
    let (status, _, second) = get(&api, &older, Some(&acme)).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second.matches(r#"class="check""#).count(), 19, "{second}");
    assert!(!second.contains(r#"id="older""#) && second.contains("old check 0"), "{second}");
    let (status, _, _) = get(&api, &format!("{path}?before=yesterday"), Some(&acme)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A real down and up of `flappy`, notified to the route "ops".
    let flappy = api.source("flappy").await;
    assert_eq!(api.checked("flappy").await.status, CheckStatus::Ok);
    drop(listener);
    assert_eq!(api.checked("flappy").await.status, CheckStatus::Error);
    let _back = TcpListener::bind(("127.0.0.1", port)).expect("rebind the port");
    assert_eq!(api.checked("flappy").await.status, CheckStatus::Ok);
    let (_, _, page) = get(&api, &format!("/sources/{}", flappy.id), Some(&admin)).await;
    assert_eq!(page.matches(r#"class="incident""#).count(), 1, "{page}");
    let incident = &page[page.find(r#"class="incident""#).expect("incident")..];
    assert!(incident.contains(r#"data-kind="down""#) && incident.contains(r#"data-kind="up""#), "{incident}");
    assert!(incident.contains("<code>ops</code>"), "{incident}");
    assert!(page.contains("Alert routes: ops"), "{page}");

    // Another organization's source is the unknown id's page, byte for byte.
    let elsewhere = api.source("elsewhere").await;
    let (hidden, _, hidden_body) = get(&api, &format!("/sources/{}", elsewhere.id), Some(&acme)).await;
    let (unknown, _, unknown_body) =
        get(&api, &format!("/sources/{}", uuid::Uuid::new_v4()), Some(&acme)).await;
    let (garbled, _, garbled_body) = get(&api, "/sources/not-a-uuid", Some(&acme)).await;
    assert_eq!(
        (hidden, unknown, garbled),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(hidden_body, unknown_body);
    assert_eq!(hidden_body, garbled_body);
    assert!(!hidden_body.contains("elsewhere") && !hidden_body.contains("org_other"), "{hidden_body}");
    let (status, _, theirs) = get(&api, &format!("/sources/{}", elsewhere.id), Some(&other)).await;
    assert!(status == StatusCode::OK && theirs.contains("elsewhere"), "{theirs}");
    // No session: back to `/` and its sign-in form.
    let (status, location, _) = get(&api, &path, None).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));

    // The config's secret is on no page, checked or not.
    let leaky = api.source("leaky").await;
    api.checked("leaky").await;
    let (status, _, page) = get(&api, &format!("/sources/{}", leaky.id), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="config""#) && page.contains("leak"), "{page}");
    assert!(!page.contains(SECRET), "the secret is on the page: {page}");
}

#[tokio::test]
async fn admin_buttons_check_pause_and_resume_and_an_organization_key_has_none() {
    let api = Api::start().await;
    let admin = sign_in(&api, ADMIN).await;
    let acme = sign_in(&api, ACME).await;
    let healthy = api.source("healthy").await;
    let path = format!("/sources/{}", healthy.id);

    let (_, _, page) = get(&api, &path, Some(&admin)).await;
    assert!(page.contains(r#"id="actions""#), "{page}");
    assert!(
        page.contains(&format!(r#"action="{path}/check""#))
            && page.contains(&format!(r#"action="{path}/pause""#))
    );
    let csrf = hidden_csrf(&page);

    // Check now: one more check in its history.
    let before = api.service.history(healthy.id, 1000, None).await.expect("history").len();
    let (status, location, _) = post(&api, &format!("{path}/check"), &admin, &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, path.as_str()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while api.service.history(healthy.id, 1000, None).await.expect("history").len() <= before {
        assert!(tokio::time::Instant::now() < deadline, "check now added no check");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Pause, then resume; the page offers the other button each time.
    let (status, _, _) = post(&api, &format!("{path}/pause"), &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(api.source("healthy").await.state, SourceState::Paused);
    let (_, _, page) = get(&api, &path, Some(&admin)).await;
    assert!(page.contains(&format!(r#"action="{path}/resume""#)) && page.contains(">paused<"), "{page}");
    let (status, _, _) = post(&api, &format!("{path}/resume"), &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(api.source("healthy").await.state, SourceState::Active);

    // Without the token, or with a wrong one: 403, nothing done.
    for fields in [vec![], vec![("csrf", "wrong")]] {
        let (status, _, _) = post(&api, &format!("{path}/pause"), &admin, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    assert_eq!(api.source("healthy").await.state, SourceState::Active);
    let (status, _, _) = post(&api, &format!("{path}/explode"), &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An organization key: no buttons, its POSTs refused, another
    // organization's source the same 404 as an unknown one.
    let (_, _, page) = get(&api, &path, Some(&acme)).await;
    assert!(page.contains("healthy") && !page.contains(r#"id="actions""#), "{page}");
    let acme_csrf = hidden_csrf(&page);
    for action in ["check", "pause", "resume"] {
        let (status, _, _) = post(&api, &format!("{path}/{action}"), &acme, &[("csrf", &acme_csrf)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(api.source("healthy").await.state, SourceState::Active);
    let elsewhere = api.source("elsewhere").await;
    let (hidden, _, hidden_body) =
        post(&api, &format!("/sources/{}/pause", elsewhere.id), &acme, &[("csrf", &acme_csrf)]).await;
    let (unknown, _, unknown_body) =
        post(&api, &format!("/sources/{}/pause", uuid::Uuid::new_v4()), &acme, &[("csrf", &acme_csrf)]).await;
    assert_eq!((hidden, unknown), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(hidden_body, unknown_body);
    assert_eq!(api.source("elsewhere").await.state, SourceState::Active);
}
