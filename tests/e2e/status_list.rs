//! The status page's list (`GET /`) and its fragment (`GET /rows`) with
//! more sources than a page, through the API harness's in-process router:
//! paging with the cursor visits every visible source exactly once, with
//! ERROR, TIMEOUT and FAILED first; search, the filters and the summary;
//! bad parameters answer 400; an organization's key sees its own sources
//! only (another organization's id matches nothing) and without a session
//! `/` is the sign-in form and `/rows` a 401; the page's only script is a
//! same-origin file the CSP allows, and no script is inline. The page in a
//! real browser, with script on and off, is in `status_page`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;

use crate::api::{ACME, ADMIN, Api, OTHER};
use crate::status_page::{get_root, send, sign_in};

/// Sources beyond the harness's own: 45 of org_acme and 20 of org_other,
/// `tcp` to a closed port, checked only when a test asks.
const ACME_BULK: usize = 45;
const OTHER_BULK: usize = 20;

fn bulk() -> String {
    let port = sonde_test_support::closed_port();
    let mut out = String::new();
    let defs = (0..ACME_BULK)
        .map(|i| (format!("bulk-{i:03}"), "org_acme"))
        .chain((0..OTHER_BULK).map(|i| (format!("far-{i:03}"), "org_other")));
    for (name, org) in defs {
        out.push_str(&format!(
            "[[sources]]\nname = {name:?}\norganization = {org:?}\ntype = \"tcp\"\n\
             config = {{ host = \"127.0.0.1\", port = {port} }}\ninterval = \"720h\"\nretries = 0\n"
        ));
    }
    out
}

/// A harness with the bulk sources; `bulk-000` to `bulk-004` and `far-000`
/// checked (ERROR: nothing listens), and `refused` and `broken` too, so no
/// scheduled first check moves a source between groups mid-test.
async fn start() -> Api {
    let api = Api::start_with(&bulk()).await;
    for name in ["bulk-000", "bulk-001", "bulk-002", "bulk-003", "bulk-004", "far-000", "refused", "broken"] {
        api.checked(name).await;
    }
    api
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.body(Body::empty()).expect("request")
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let at = tag.find(&marker)? + marker.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// `(organization, name, status)` of every row, in order.
fn rows(body: &str) -> Vec<(String, String, String)> {
    body.split("<tr class=\"source\"")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            let get = |n| attr(tag, n).unwrap_or_else(|| panic!("no {n} in {tag}")).to_string();
            (get("data-organization"), get("data-source"), get("data-status"))
        })
        .collect()
}

/// The pager's next link, unescaped.
fn next(body: &str) -> Option<String> {
    let marker = "rel=\"next\" href=\"";
    let at = body.find(marker)? + marker.len();
    Some(body[at..at + body[at..].find('"')?].replace("&amp;", "&"))
}

/// The summary's count of `status`.
fn count(body: &str, status: &str) -> usize {
    let marker = format!("data-count=\"{status}\"");
    let Some(at) = body.find(&marker) else { return 0 };
    let text = &body[at + body[at..].find('>').expect("tag end") + 1..];
    text.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a count")
}

async fn page(api: &Api, path: &str, cookie: &str) -> String {
    let (status, _, body) = send(api, get(path, Some(cookie))).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Follows the next links from `path`; every row seen.
async fn walk(api: &Api, path: &str, cookie: &str) -> Vec<(String, String, String)> {
    let mut seen = Vec::new();
    let mut at = Some(path.to_string());
    let mut pages = 0;
    while let Some(path) = at {
        let body = page(api, &path, cookie).await;
        let got = rows(&body);
        assert!(!got.is_empty() || pages == 0, "an empty page after a next link: {path}");
        seen.extend(got);
        at = next(&body);
        pages += 1;
        assert!(pages < 100, "the pager does not end");
    }
    seen
}

fn is_problem(status: &str) -> bool {
    matches!(status, "ERROR" | "TIMEOUT" | "FAILED")
}

#[tokio::test]
async fn paging_with_the_cursor_visits_every_visible_source_once_problems_first() {
    let api = start().await;
    let all = api.service.list_sources().await.expect("list");
    for (key, org) in [(ADMIN, None), (ACME, Some("org_acme")), (OTHER, Some("org_other"))] {
        let cookie = sign_in(&api, key).await;
        let seen = walk(&api, "/?limit=7", &cookie).await;
        let expected: BTreeSet<(String, String)> = all
            .iter()
            .filter(|s| org.is_none_or(|o| s.organization == o))
            .map(|s| (s.organization.clone(), s.name.clone()))
            .collect();
        let got: Vec<(String, String)> = seen.iter().map(|(o, n, _)| (o.clone(), n.clone())).collect();
        let unique: BTreeSet<_> = got.iter().cloned().collect();
        assert_eq!(unique.len(), got.len(), "{key}: a source shown twice: {got:?}");
        assert_eq!(unique, expected, "{key}");

        // Problems first, then the rest; each group by organization and name.
        let first_rest = seen.iter().position(|(_, _, s)| !is_problem(s)).unwrap_or(seen.len());
        assert!(first_rest > 0, "{key}: no problem first: {seen:?}");
        assert!(seen[first_rest..].iter().all(|(_, _, s)| !is_problem(s)), "{key}: {seen:?}");
        for group in [&seen[..first_rest], &seen[first_rest..]] {
            let keys: Vec<_> = group.iter().map(|(o, n, _)| (o, n)).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{key}: out of order: {keys:?}");
        }
    }
}

#[tokio::test]
async fn search_filters_and_the_summary() {
    let api = start().await;
    let silence = sonde::alerts::silences::Silence {
        id: uuid::Uuid::new_v4(),
        organization: Some("org_acme".into()),
        sources: Some(vec!["bulk-007".into()]),
        starts_at: Utc::now() - chrono::Duration::minutes(1),
        ends_at: Utc::now() + chrono::Duration::hours(1),
        comment: "list test".into(),
        created_at: Utc::now(),
    };
    api.service.create_silence(silence).await.expect("silence");
    let admin = sign_in(&api, ADMIN).await;
    let names = |body: &str| rows(body).into_iter().map(|(_, n, _)| n).collect::<Vec<_>>();

    // Case-insensitive substring of the name.
    let body = page(&api, "/?q=BULK-00", &admin).await;
    let expected: Vec<String> = (0..10).map(|i| format!("bulk-{i:03}")).collect();
    let mut got = names(&body);
    got.sort();
    assert_eq!(got, expected);

    let body = page(&api, "/?status=ERROR", &admin).await;
    let got: BTreeSet<String> = names(&body).into_iter().collect();
    for n in ["bulk-000", "bulk-004", "far-000", "refused"] {
        assert!(got.contains(n), "{n} missing from {got:?}");
    }
    assert!(rows(&body).iter().all(|(_, _, s)| s == "ERROR"), "{body}");
    // The summary counts before the status filter: the OK and pending ones too.
    assert_eq!(count(&body, "ERROR"), got.len(), "{body}");
    assert!(count(&body, "pending") >= ACME_BULK - 5 + OTHER_BULK - 1, "{body}");
    // Lowercase and "unchecked" are accepted spellings.
    assert_eq!(names(&page(&api, "/?status=error", &admin).await).len(), got.len());
    let unchecked = names(&page(&api, "/?status=unchecked&q=bulk-0", &admin).await);
    assert!(unchecked.contains(&"bulk-009".to_string()) && !unchecked.contains(&"bulk-000".to_string()));

    let body = page(&api, "/?type=tcp&org=org_other&limit=500", &admin).await;
    assert_eq!(rows(&body).len(), OTHER_BULK, "{body}");
    assert_eq!(names(&page(&api, "/?paused=yes", &admin).await), ["resting"]);
    assert_eq!(names(&page(&api, "/?silenced=yes", &admin).await), ["bulk-007"]);
    let body = page(&api, "/?silenced=no&q=bulk-00", &admin).await;
    assert!(!names(&body).contains(&"bulk-007".to_string()) && names(&body).len() == 9, "{body}");
    // An empty GET form (every field sent blank) is the whole list.
    let blank = page(&api, "/?q=&status=&type=&silenced=&paused=&org=", &admin).await;
    assert_eq!(rows(&blank).len(), rows(&page(&api, "/", &admin).await).len());

    for bad in ["/?limit=0", "/?limit=501", "/?limit=ten", "/?status=sick", "/?paused=maybe", "/?after=junk"]
    {
        let (status, _, body) = send(&api, get(bad, Some(&admin))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        let (status, _, _) = send(&api, get(&bad.replacen('/', "/rows", 1), Some(&admin))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} on /rows");
    }
}

#[tokio::test]
async fn an_organization_sees_its_own_and_the_fragment_is_scoped_the_same() {
    let api = start().await;
    let acme = sign_in(&api, ACME).await;
    let body = page(&api, "/?limit=500", &acme).await;
    let orgs: BTreeSet<String> = rows(&body).into_iter().map(|(o, _, _)| o).collect();
    assert_eq!(orgs, BTreeSet::from(["org_acme".to_string()]), "{body}");
    assert!(!body.contains("far-0") && !body.contains("elsewhere"), "{body}");
    assert!(!body.contains("name=\"org\""), "no organization filter for an organization's key");
    // Another organization's id is no hint: nothing matches, as for an
    // organization that does not exist.
    for path in ["/?org=org_other", "/?org=org_nowhere", "/rows?org=org_other"] {
        let body = page(&api, path, &acme).await;
        assert!(rows(&body).is_empty() && !body.contains("far-0"), "{path}: {body}");
    }
    let other = sign_in(&api, OTHER).await;
    let mine = page(&api, "/?q=0", &other).await;
    assert!(rows(&mine).iter().all(|(o, _, _)| o == "org_other") && !mine.contains("bulk-"), "{mine}");

    // The fragment holds the page's rows and summary, scoped alike.
    let admin = sign_in(&api, ADMIN).await;
    for (cookie, path) in [(&admin, "?limit=9"), (&acme, "?limit=9"), (&admin, "?q=far&status=ERROR")] {
        let full = page(&api, &format!("/{path}"), cookie).await;
        let (status, headers, fragment) = send(&api, get(&format!("/rows{path}"), Some(cookie))).await;
        assert_eq!(status, StatusCode::OK, "{fragment}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(rows(&fragment), rows(&full), "{path}");
        assert_eq!(next(&fragment), next(&full), "{path}");
        assert!(fragment.contains("id=\"summary\"") && !fragment.contains("<html"), "{fragment}");
        let counts: BTreeMap<&str, usize> =
            ["OK", "ERROR", "pending"].iter().map(|s| (*s, count(&fragment, s))).collect();
        assert_eq!(counts, ["OK", "ERROR", "pending"].iter().map(|s| (*s, count(&full, s))).collect());
    }
    // The next page's fragment continues where the page does.
    let first = page(&api, "/?limit=9", &admin).await;
    let after = next(&first).expect("a second page");
    let second = page(&api, &after, &admin).await;
    let (_, _, fragment) = send(&api, get(&after.replacen('/', "/rows", 1), Some(&admin))).await;
    assert_eq!(rows(&fragment), rows(&second));

    // Without a session: the form at `/`, 401 for the fragment, also with
    // a forged cookie; the script is public (it holds nothing).
    let (_, _, body) = send(&api, get_root(None)).await;
    assert!(body.contains("action=\"/login\"") && rows(&body).is_empty(), "{body}");
    for cookie in [None, Some(format!("sonde_session={}", "ab".repeat(32)))] {
        let (status, _, body) = send(&api, get("/rows", cookie.as_deref())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(rows(&body).is_empty() && !body.contains("bulk-"), "{body}");
    }
}

#[tokio::test]
async fn the_only_script_is_a_same_origin_file_the_csp_allows() {
    let api = start().await;
    let admin = sign_in(&api, ADMIN).await;
    let (status, headers, body) = send(&api, get("/?q=bulk", Some(&admin))).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "base-uri 'none'"] {
        assert!(csp.contains(directive), "{directive} missing: {csp}");
    }
    let script = csp.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
    assert!(!script.contains("unsafe"), "{csp}");
    // Every script element loads the file, none is inline; no inline handlers.
    let scripts: Vec<&str> = body.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "{body}");
    assert!(
        scripts[0].starts_with(" src=\"/static/page.js\"") && scripts[0].contains("></script>"),
        "{body}"
    );
    assert!(!body.contains(" onclick=") && !body.contains(" onload=") && !body.contains("javascript:"));
    // Without script the page still refreshes itself.
    assert!(body.contains("<noscript><meta http-equiv=\"refresh\""), "{body}");
    // The fragment's URL carries the page's query.
    assert!(body.contains("data-rows=\"/rows?q=bulk\""), "{body}");

    let (status, headers, js) = send(&api, get("/static/page.js", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/javascript"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(js.contains("/rows") || js.contains("data-rows"), "{js}");
    // The sign-in form stays without any script.
    let (_, headers, form) = send(&api, get_root(None)).await;
    assert!(!form.contains("<script"), "{form}");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(!csp.contains("script-src"), "{csp}");
}
