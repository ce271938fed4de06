//! `GET /metrics`, `/livez`, `/readyz` and the structured check logs: the
//! metrics parse as Prometheus text (`prometheus-parse`) and count an OK
//! source, a refused one, a timeout, a crash and a denied connection; the
//! real binary's `--log-json` lines are JSON carrying each check's fields.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use prometheus_parse::{Sample, Scrape, Value as Metric};
use serde_json::Value;
use sonde_test_support::{SilentListener, closed_port};
use tower::ServiceExt;

use crate::api::Api;
use crate::serve::Serve;

pub(crate) async fn get_text(api: &Api, uri: &str) -> (StatusCode, String, String) {
    get_text_as(api, uri, None).await
}

/// [`get_text`] with `key` in `x-api-key`.
pub(crate) async fn get_text_as(api: &Api, uri: &str, key: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::builder().uri(uri);
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    let req = req.body(Body::empty()).expect("request");
    let resp = api.app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

/// The value of the one sample of `name` whose labels include `labels`.
pub(crate) fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    match matching.as_slice() {
        [] => None,
        [s] => match &s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => Some(*v),
            other => panic!("{name} is not a scalar: {other:?}"),
        },
        many => panic!("{} samples of {name} {labels:?}", many.len()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_checks_by_source_type_and_outcome() {
    let declared = SilentListener::start();
    let undeclared = SilentListener::start();
    let extra = format!(
        "[[sources]]\nname = \"spinner\"\norganization = \"org_acme\"\ntype = \"hostile\"\n\
         config = {{ mode = \"spin\" }}\ninterval = \"1h\"\ntimeout = \"300ms\"\nretries = 0\n\
         [[sources]]\nname = \"crasher\"\norganization = \"org_acme\"\ntype = \"hostile\"\n\
         config = {{ mode = \"panic\" }}\ninterval = \"1h\"\nretries = 0\n\
         [[sources]]\nname = \"sneaky\"\norganization = \"org_other\"\ntype = \"hostile\"\n\
         config = {{ mode = \"sneak\", host = \"127.0.0.1\", port = {}, target_port = {} }}\n\
         interval = \"1h\"\nretries = 0\n",
        declared.port, undeclared.port
    );
    let api = Api::start_with(&extra).await;
    for name in ["healthy", "refused", "spinner", "crasher", "sneaky"] {
        api.checked(name).await;
    }

    // Per-source series need a key; the admin's sees every organization.
    let (status, ctype, text) = get_text_as(&api, "/metrics", Some(crate::api::ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(!text.contains(crate::api::SECRET), "a secret in /metrics");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");

    let src =
        |name: &'static str, ty: &'static str| [("source", name), ("organization", "org_acme"), ("type", ty)];
    assert_eq!(value(&scrape, "sonde_source_status", &src("healthy", "hostile")), Some(0.0), "{text}");
    assert_eq!(value(&scrape, "sonde_source_up", &src("healthy", "hostile")), Some(1.0));
    assert_eq!(value(&scrape, "sonde_source_status", &src("refused", "tcp")), Some(2.0));
    assert_eq!(value(&scrape, "sonde_source_up", &src("refused", "tcp")), Some(0.0));
    assert_eq!(value(&scrape, "sonde_source_status", &src("spinner", "hostile")), Some(1.0));
    assert_eq!(value(&scrape, "sonde_source_status", &src("crasher", "hostile")), Some(2.0));
    // Never checked: -1.
    assert_eq!(value(&scrape, "sonde_source_status", &src("no-kb", "hostile")), Some(-1.0));
    let spun = value(&scrape, "sonde_source_last_check_duration_seconds", &src("spinner", "hostile"));
    assert!(spun.is_some_and(|d| (0.25..5.0).contains(&d)), "{spun:?}");

    let ty = |t: &'static str| [("type", t)];
    assert_eq!(value(&scrape, "sonde_check_timeouts_total", &ty("hostile")), Some(1.0), "{text}");
    assert_eq!(
        value(&scrape, "sonde_check_traps_total", &[("type", "hostile"), ("cause", "crash")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&scrape, "sonde_denied_connections_total", &ty("hostile")), Some(1.0), "{text}");
    assert_eq!(undeclared.accepted(), 0);
    for (t, outcome, n) in [
        ("hostile", "ok", 1.0),
        ("hostile", "timeout", 1.0),
        ("hostile", "error", 2.0),
        ("tcp", "error", 1.0),
    ] {
        let count =
            value(&scrape, "sonde_check_duration_seconds_count", &[("type", t), ("outcome", outcome)]);
        assert_eq!(count, Some(n), "{t} {outcome}: {text}");
    }
    let buckets = scrape.samples.iter().find(|s| {
        s.metric == "sonde_check_duration_seconds"
            && s.labels.get("type") == Some("hostile")
            && s.labels.get("outcome") == Some("timeout")
    });
    assert!(matches!(buckets.map(|s| &s.value), Some(Metric::Histogram(b)) if b.len() > 5), "{text}");

    assert_eq!(value(&scrape, "sonde_checks_queued", &[]), Some(0.0));
    assert_eq!(value(&scrape, "sonde_checks_running", &[]), Some(0.0));
    assert!(value(&scrape, "sonde_checks_max_concurrent", &[]).is_some_and(|n| n >= 1.0));
    assert!(value(&scrape, "sonde_plugins_loaded", &[]).is_some_and(|n| n >= 2.0));
    // broken.wasm
    assert!(value(&scrape, "sonde_plugin_load_failures", &[]).is_some_and(|n| n >= 1.0), "{text}");
    // No reload yet: the start-up load succeeded; a failed reload reads 0.
    assert_eq!(value(&scrape, "sonde_config_reload_success", &[]), Some(1.0), "{text}");
    let missing = api.plugins_dir.join("no-such-config.toml");
    assert!(api.service.reload(&missing).await.is_err());
    let (_, _, text) = get_text(&api, "/metrics").await;
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    assert_eq!(value(&scrape, "sonde_config_reload_success", &[]), Some(0.0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_checks_report_how_late_they_started() {
    let extra = "[[sources]]\nname = \"ticker\"\norganization = \"org_acme\"\ntype = \"hostile\"\n\
                 config = { mode = \"ok\" }\ninterval = \"200ms\"\n";
    let api = Api::start_with(extra).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, text) = get_text(&api, "/metrics").await;
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
        let count = value(&scrape, "sonde_check_start_delay_seconds_count", &[]).unwrap_or(0.0);
        if count >= 3.0 {
            let histogram = scrape.samples.iter().find(|s| s.metric == "sonde_check_start_delay_seconds");
            let Some(Metric::Histogram(buckets)) = histogram.map(|s| &s.value) else {
                panic!("no start-delay buckets: {text}");
            };
            // The line an operator watches is a bucket of its own.
            assert!(buckets.iter().any(|b| b.less_than == 1.0), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "fewer than 3 scheduled starts in 10 s: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn livez_and_readyz_answer_without_a_key() {
    let api = Api::start().await;
    let (status, _, body) = get_text(&api, "/livez").await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).ok()),
        (StatusCode::OK, Some(serde_json::json!({"status": "ok"})))
    );
    let (status, _, body) = get_text(&api, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).ok(), Some(serde_json::json!({"status": "ok"})));
}

#[test]
fn log_json_lines_carry_each_checks_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let dir = dir.path();
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("mkdir");
    std::fs::copy(sonde_test_support::fixture("hostile"), plugins.join("hostile.wasm")).expect("copy");
    let toml = "[[sources]]\nname = \"steady\"\norganization = \"org_a\"\ntype = \"hostile\"\n\
                config = { mode = \"ok\" }\ninterval = \"200ms\"\n";
    let serve = Serve::start_in(dir, closed_port(), toml, |c| {
        c.arg("--log-json").env("SONDE_LOG", "debug");
    });
    let checks = |text: &str| {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["check"].is_string() && v["fields"]["outcome"].is_string())
            .count()
    };
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && checks(&serve.logs()) < 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Public routes: no key.
    let status = |path: &str| serve.call("GET", path, "", None).0;
    let (livez, readyz, metrics) = (status("/livez"), status("/readyz"), status("/metrics"));
    // Killed first, so no line is read half-written.
    let text = serve.kill9();
    assert_eq!((livez, readyz, metrics), (200, 200, 200), "{text}");

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let checks: Vec<&Value> = lines.iter().filter(|v| v["fields"]["check"].is_string()).collect();
    assert!(checks.len() >= 2, "fewer than two check lines: {text}");
    // The first is a change (UNKNOWN -> OK) at info, the next steady at debug.
    assert_eq!(checks[0]["level"], "INFO", "{text}");
    assert_eq!(checks[1]["level"], "DEBUG", "{text}");
    for line in checks {
        let f = &line["fields"];
        assert_eq!(
            (&f["source"], &f["source_type"], &f["outcome"]),
            (&"steady".into(), &"hostile".into(), &"OK".into())
        );
        assert!(f["duration_ms"].is_u64(), "{line}");
        assert!(f["check"].as_str().is_some_and(|c| uuid::Uuid::parse_str(c).is_ok()), "{line}");
    }
}

/// Samples of the per-source families, as `(metric, organization)`.
fn per_source(text: &str) -> Vec<(String, String)> {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric.starts_with("sonde_source_"))
        .map(|s| (s.metric.clone(), s.labels.get("organization").unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_per_source_series_only_to_a_key_that_sees_them() {
    let api = Api::start().await;
    api.checked("healthy").await;
    api.checked("elsewhere").await;
    let orgs = async |key: Option<&'static str>| {
        let (status, _, text) = get_text_as(&api, "/metrics", key).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        // Process-wide series are there for everyone.
        assert!(text.contains("sonde_checks_running"), "{text}");
        per_source(&text).into_iter().map(|(_, org)| org).collect::<std::collections::BTreeSet<_>>()
    };
    // No key: no source's name, status or expiry at all.
    assert_eq!(orgs(None).await, Default::default());
    assert_eq!(orgs(Some(crate::api::ACME)).await, ["org_acme".to_string()].into());
    assert_eq!(orgs(Some(crate::api::OTHER)).await, ["org_other".to_string()].into());
    assert_eq!(orgs(Some(crate::api::ADMIN)).await, ["org_acme".to_string(), "org_other".to_string()].into());
    let (status, _, text) = get_text_as(&api, "/metrics", Some("not-a-configured-key")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(!text.contains("sonde_source"), "{text}");

    // `[metrics] public = true` shows every organization without a key.
    let public = Api::start_with("[metrics]\npublic = true\n").await;
    let (_, _, text) = get_text_as(&public, "/metrics", None).await;
    let seen: std::collections::BTreeSet<String> = per_source(&text).into_iter().map(|(_, o)| o).collect();
    assert!(seen.contains("org_acme") && seen.contains("org_other"), "{text}");
}
