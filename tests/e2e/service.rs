//! The service with real plugins and local peers: schedule, retries,
//! fairness, pause and delete, and configuration errors.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sonde::config::Config;
use sonde::model::{CheckRecord, CheckStatus, Source, SourceState};
use sonde::service::Service;

/// A config with the hostile fixture available as type `hostile`.
fn config(dir: &Path, body: &str) -> Config {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugins dir");
    std::fs::copy(sonde_test_support::fixture("hostile"), plugins.join("hostile.wasm"))
        .expect("copy fixture");
    let text = format!(
        // Intervals down to 100 ms: tests check often.
        "data_dir = {:?}\nplugins_dir = {:?}\ncache_dir = {:?}\nlimits.min_interval = \"100ms\"\n{body}",
        dir.join("data"),
        plugins,
        crate::common::cache_dir()
    );
    Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn source(name: &str, org: &str, mode: &str, policy: &str) -> String {
    format!(
        "[[sources]]\nname = {name:?}\norganization = {org:?}\ntype = \"hostile\"\n\
         config = {{ mode = {mode:?} }}\n{policy}\n"
    )
}

async fn start(dir: &Path, body: &str) -> Arc<Service> {
    Service::start(&config(dir, body)).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn by_name(service: &Service, name: &str) -> Source {
    let all = service.list_sources().await.expect("list");
    all.into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no source {name}"))
}

async fn finished(service: &Service, source: &Source) -> Vec<CheckRecord> {
    let mut h = service.history(source.id, 1000, None).await.expect("history");
    h.retain(|c| c.status.is_finished());
    h.reverse(); // oldest first
    h
}

/// Polls until `check` holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < end {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    check().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_source_is_checked_about_every_interval() {
    let dir = tempfile::tempdir().expect("tmp");
    let body: String =
        (0..3).map(|i| source(&format!("s{i}"), "org_a", "ok", "interval = \"300ms\"")).collect();
    let service = start(dir.path(), &body).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for i in 0..3 {
        let s = by_name(&service, &format!("s{i}")).await;
        let h = finished(&service, &s).await;
        assert!((5..=8).contains(&h.len()), "s{i}: {} checks in 2.1 s at 300 ms", h.len());
        let gaps: Vec<i64> =
            h.windows(2).map(|w| (w[1].created_at - w[0].created_at).num_milliseconds()).collect();
        let mut sorted = gaps.clone();
        sorted.sort();
        let median = sorted[sorted.len() / 2];
        assert!((250..=400).contains(&median), "s{i}: gaps {gaps:?}");
        assert!(h.iter().all(|c| c.status == CheckStatus::Ok && c.attempts == 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_policy_for_error_and_timeout_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let policy = "interval = \"1h\"\nretries = 2\nretry_interval = \"200ms\"\ntimeout = \"300ms\"";
    let body = [
        source("crashes", "org_a", "panic", policy),
        source("hangs", "org_a", "spin", policy),
        source("misconfigured", "org_a", "invalid", policy),
        source("fine", "org_a", "ok", policy),
    ]
    .concat();
    let service = start(dir.path(), &body).await;
    let mut checks = Vec::new();
    for name in ["crashes", "hangs", "misconfigured", "fine"] {
        let s = by_name(&service, name).await;
        checks.push((name, s.clone(), service.request_check(&s).await.expect("request")));
    }
    for (name, s, requested) in checks {
        let done =
            eventually(Duration::from_secs(10), || {
                let service = service.clone();
                let s = s.clone();
                async move {
                    service.health(s.id).await.expect("health").last.is_some_and(|c| c.id == requested.id)
                }
            })
            .await;
        assert!(done, "{name} never finished");
        let c = service.health(s.id).await.expect("health").last.expect("finished");
        let (status, attempts) = match name {
            "crashes" => (CheckStatus::Error, 3),
            "hangs" => (CheckStatus::Timeout, 3),
            "misconfigured" => (CheckStatus::Failed, 1),
            _ => (CheckStatus::Ok, 1),
        };
        assert_eq!((c.status, c.attempts), (status, attempts), "{name}: {c:?}");
        let took = c.duration_ms.expect("duration");
        if attempts == 3 {
            // Two pauses of 200 ms between three attempts.
            assert!(took >= 400, "{name}: retries were not spaced: {took} ms");
        } else {
            assert!(took < 400, "{name}: took {took} ms without retries");
        }
        // The stored record matches what readers see (it is written just
        // after readers are told, so it may take a moment under load).
        let want = Some((c.id, c.status, c.attempts));
        let stored = eventually(Duration::from_secs(5), || {
            let service = service.clone();
            async move {
                let h = service.history(s.id, 10, None).await.expect("history");
                h.first().map(|r| (r.id, r.status, r.attempts)) == want
            }
        })
        .await;
        assert!(stored, "{name}: the stored record never matched {want:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_organization_cannot_starve_another() {
    let dir = tempfile::tempdir().expect("tmp");
    let slow = "interval = \"300ms\"\ntimeout = \"1s\"\nretries = 0";
    let mut body = String::from("[checks]\nmax_concurrent = 2\n");
    for i in 0..6 {
        body.push_str(&source(&format!("slow{i}"), "org_slow", "spin", slow));
    }
    body.push_str(&source("fast", "org_fast", "ok", "interval = \"200ms\""));
    let service = start(dir.path(), &body).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let fast = finished(&service, &by_name(&service, "fast").await).await;
    // With a fair share of one slot, org_fast runs every ~200 ms; first come,
    // first served would leave it behind 6 one-second checks on 2 slots.
    assert!(fast.len() >= 8, "org_fast ran only {} checks in 3 s", fast.len());
    let (_, running) = service.load();
    assert!(running <= 2, "{running} checks running with max_concurrent = 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_stops_checks_and_resuming_restarts_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let service = start(dir.path(), &source("p", "org_a", "ok", "interval = \"150ms\"")).await;
    let s = by_name(&service, "p").await;
    assert!(
        eventually(Duration::from_secs(3), || {
            let (service, s) = (service.clone(), s.clone());
            async move { finished(&service, &s).await.len() >= 2 }
        })
        .await
    );
    let paused = service.set_state(&s, SourceState::Paused).await.expect("pause");
    assert_eq!(paused.state, SourceState::Paused);
    tokio::time::sleep(Duration::from_millis(200)).await; // let an in-flight check land
    let before = finished(&service, &s).await.len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(finished(&service, &s).await.len(), before, "checks continued while paused");
    service.set_state(&paused, SourceState::Active).await.expect("resume");
    assert!(
        eventually(Duration::from_secs(3), || {
            let (service, s) = (service.clone(), s.clone());
            async move { finished(&service, &s).await.len() > before }
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_source_cancels_its_running_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let service = start(dir.path(), "").await;
    // Made as the API makes it: the configuration file's sources are the file's.
    let policy = sonde::model::Policy {
        interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(60),
        ..service.default_policy()
    };
    let spec = sonde::model::SourceSpec {
        name: "d".into(),
        organization: "org_a".into(),
        workspace: None,
        source_type: "hostile".into(),
        config: serde_json::json!({"mode": "spin"}),
        state: SourceState::Active,
        policy,
        depends_on: Vec::new(),
        placement: Default::default(),
    };
    let s = service.create_source(spec).await.expect("create");
    service.request_check(&s).await.expect("request");
    assert!(
        eventually(Duration::from_secs(3), || {
            let service = service.clone();
            async move { service.load().1 == 1 }
        })
        .await,
        "check never started"
    );
    assert!(service.delete_source(s.id).await.expect("delete"));
    assert!(
        eventually(Duration::from_secs(2), || {
            let service = service.clone();
            async move { service.load().1 == 0 }
        })
        .await,
        "the spinning check was not cancelled"
    );
    assert!(service.get_source(s.id).await.expect("get").is_none());
    assert!(service.history(s.id, 10, None).await.expect("history").is_empty());
    assert!(service.health(s.id).await.expect("health").newest().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_name_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        ("[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"nope\"\n", "sources[0].type"),
        (
            "[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"tcp\"\nconfig = { host = \"h\", port = \"x\" }\n",
            "sources[0].config.port",
        ),
        (
            "[[sources]]\nname = \"a\"\norganization = \"org_a\"\ntype = \"hostile\"\nconfig = {}\n",
            "sources[0].config",
        ),
    ];
    for (body, key) in cases {
        let err = Service::start(&config(dir.path(), body)).await.expect_err("must fail").to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_check_runs_synchronously_without_a_stored_source() {
    let dir = tempfile::tempdir().expect("tmp");
    let service = start(dir.path(), "").await;
    let timeout = Duration::from_secs(5);
    let r = service
        .check_inline("org_a", "hostile", &serde_json::json!({"mode": "ok"}), timeout)
        .await
        .expect("runs");
    assert_eq!((r.status, r.items), (sonde::runtime::Status::Ok, Some(42)));
    assert!(service.list_sources().await.expect("list").is_empty());
    let e = service
        .check_inline("org_a", "nope", &serde_json::json!({}), timeout)
        .await
        .expect_err("unknown type");
    assert!(e.to_string().contains("nope"));
    let e = service
        .check_inline("org_a", "tcp", &serde_json::json!({"host": 1}), timeout)
        .await
        .expect_err("schema");
    assert!(matches!(e, sonde::service::InlineError::Spec(sonde::service::SpecError::Schema { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_example_configuration_starts() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = Config::embedded().expect("valid TOML");
    config.data_dir = dir.path().join("data");
    config.cache_dir = Some(crate::common::cache_dir());
    // Every example source has a built-in plugin and fits its schema.
    let service = Service::start(&config).await.unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> =
        service.list_sources().await.expect("list").into_iter().map(|s| s.source_type).collect();
    for t in ["postgres", "mysql", "redis", "amqp", "mqtt", "nats"] {
        assert!(names.iter().any(|n| n == t), "no {t} source in the example");
    }
}
