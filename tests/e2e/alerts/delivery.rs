//! Notifications from down to up, through everything a receiver can do.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use sonde::alerts::sign::signature;

use super::receiver::Receiver;
use super::{SECRET, Target, env, metric, serve, sources, statuses, wait_for_streak, wait_metric, webhook};

const HOOK: &str = "/hook";

#[test]
fn flapping_below_the_failure_threshold_sends_nothing() {
    let target = Target::start();
    let receiver = Receiver::start();
    let sonde = serve(&format!(
        "{}{}",
        sources(&[("flaky", "org_acme", &target)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 3")
    ));
    // Down for 250 ms (at most two checks 200 ms apart), up for 350 ms (at
    // least one): never three failures in a row.
    for _ in 0..8 {
        target.down();
        std::thread::sleep(Duration::from_millis(250));
        target.up();
        std::thread::sleep(Duration::from_millis(350));
    }
    std::thread::sleep(Duration::from_millis(500));
    let seen = statuses(&sonde, "flaky");
    assert!(seen.contains(&"ERROR".to_string()) && seen.contains(&"OK".to_string()), "it did flap: {seen:?}");
    let longest = seen.split(|s| s == "OK").map(<[String]>::len).max().unwrap_or(0);
    assert!(longest < 3, "the test itself made 3 failures in a row: {seen:?}");
    assert!(receiver.all().is_empty(), "flapping sent {:#?}", receiver.all());
}

#[test]
fn down_then_up_sends_one_down_then_one_up_signed_with_the_secret() {
    let target = Target::start();
    let receiver = Receiver::start();
    let sonde = serve(&format!(
        "{}{}",
        sources(&[("orders-db", "org_acme", &target)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 3\nsuccess_threshold = 2")
    ));
    wait_for_streak(&sonde, "orders-db", "OK", 2);
    target.down();
    receiver.wait("a down", Duration::from_secs(10), |r| !r.is_empty());
    wait_for_streak(&sonde, "orders-db", "ERROR", 6);
    target.up();
    receiver.wait("an up", Duration::from_secs(10), |r| r.len() >= 2);
    wait_for_streak(&sonde, "orders-db", "OK", 4);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.events(HOOK), ["down", "up"], "exactly one of each: {:#?}", receiver.all());

    let got = receiver.delivered();
    let (down, up) = (got[0].json(), got[1].json());
    assert_ne!(down["id"], up["id"]);
    assert_eq!(down["route"], "ops");
    assert_eq!(down["source"]["name"], "orders-db");
    assert_eq!(down["source"]["organization"], "org_acme");
    assert_eq!(down["source"]["type"], "http");
    assert_eq!((down["status"].as_str(), up["status"].as_str()), (Some("ERROR"), Some("OK")));
    assert!(down["error"].as_str().is_some_and(|e| !e.is_empty()), "{down}");
    assert_eq!(up["error"], Value::Null);
    assert!(down["since"].as_str() <= down["timestamp"].as_str(), "{down}");
    for r in &got {
        let header = r.header("x-sonde-signature").expect("signed");
        assert_eq!(header, signature(SECRET_BYTES, &r.body), "verifies with the secret");
        assert_ne!(header, signature(b"not-the-secret", &r.body), "and with nothing else");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert_eq!(metric(&sonde, "sonde_notifications_total", "outcome=\"sent\""), Some(2.0));
    assert_eq!(metric(&sonde, "sonde_source_down", "source=\"orders-db\""), Some(0.0));
    let logs = sonde.logs();
    assert_eq!(logs.matches("notification sent").count(), 2, "{logs}");
    assert!(!logs.contains(SECRET) && !logs.contains(HOOK), "no secret, no URL path in the logs:\n{logs}");
}

const SECRET_BYTES: &[u8] = super::SECRET.as_bytes();

#[test]
fn reminders_come_once_per_repeat_interval_while_down() {
    let target = Target::start();
    let receiver = Receiver::start();
    let sonde = serve(&format!(
        "{}{}",
        sources(&[("orders-db", "org_acme", &target)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 2\nrepeat_interval = \"1s\"")
    ));
    target.down();
    receiver.wait("a down and three reminders", Duration::from_secs(15), |r| r.len() >= 4);
    target.up();
    receiver.wait("an up", Duration::from_secs(10), |r| {
        r.len() >= 5 && r.last().is_some_and(|r| r.json()["event"] == "up")
    });
    let got = receiver.delivered();
    let events: Vec<String> =
        got.iter().map(|r| r.json()["event"].as_str().unwrap_or_default().into()).collect();
    assert_eq!(events[0], "down");
    assert_eq!(events.last().map(String::as_str), Some("up"));
    assert!(events[1..events.len() - 1].iter().all(|e| e == "reminder"), "{events:?}");
    // Reminders are one repeat_interval apart by their checks' report times
    // (checks every 200 ms: 1.0 to ~1.3 s); `timestamp` is when the store
    // made each one, a few ms after its check reported, so it may be a
    // little under.
    let times: Vec<chrono::DateTime<chrono::Utc>> = got[..got.len() - 1]
        .iter()
        .map(|r| r.json()["timestamp"].as_str().and_then(|t| t.parse().ok()).expect("timestamp"))
        .collect();
    for pair in times.windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        assert!((950..1600).contains(&gap), "reminders {gap} ms apart: {events:?}");
    }
    drop(sonde);
}

#[test]
fn a_dead_receiver_gets_everything_in_order_each_once_when_it_is_back() {
    let (a, b) = (Target::start(), Target::start());
    let mut receiver = Receiver::refusing();
    let sonde = serve(&format!(
        "{}{}",
        sources(&[("alpha", "org_acme", &a), ("beta", "org_acme", &b)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 2\nsuccess_threshold = 1")
    ));
    // Both go down and come back while nothing listens: four notifications queue.
    a.down();
    b.down();
    wait_for_streak(&sonde, "alpha", "ERROR", 3);
    wait_for_streak(&sonde, "beta", "ERROR", 3);
    a.up();
    b.up();
    wait_for_streak(&sonde, "alpha", "OK", 2);
    wait_for_streak(&sonde, "beta", "OK", 2);
    std::thread::sleep(Duration::from_millis(500));
    wait_metric(&sonde, "sonde_notifications_pending", "route=\"ops\"", 4.0, Duration::from_secs(5));
    assert!(metric(&sonde, "sonde_notifications_total", "outcome=\"failed\"").is_some_and(|n| n >= 2.0));
    // Then it listens but fails with 500s for a while, then recovers.
    receiver.answer(500);
    receiver.listen();
    receiver.wait_any(Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    receiver.answer(200);
    receiver.wait("all four", Duration::from_secs(30), |r| r.len() >= 4);
    std::thread::sleep(Duration::from_secs(1));

    let got = receiver.delivered();
    let ids: HashSet<String> =
        got.iter().map(|r| r.json()["id"].as_str().unwrap_or_default().into()).collect();
    assert_eq!((got.len(), ids.len()), (4, 4), "each delivered once: {:#?}", receiver.all());
    for name in ["alpha", "beta"] {
        let order: Vec<String> = got
            .iter()
            .map(|r| r.json())
            .filter(|v| v["source"]["name"] == name)
            .map(|v| v["event"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(order, ["down", "up"], "{name} in order");
    }
    assert!(receiver.all().iter().any(|r| r.status == 500), "the 500s were seen and retried");
    wait_metric(&sonde, "sonde_notifications_pending", "route=\"ops\"", 0.0, Duration::from_secs(5));
}

#[test]
fn a_notification_pending_at_kill_9_is_delivered_after_the_restart() {
    let target = Target::start();
    let mut receiver = Receiver::refusing();
    let mut sonde = serve(&format!(
        "{}{}",
        sources(&[("orders-db", "org_acme", &target)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 2")
    ));
    target.down();
    wait_for_streak(&sonde, "orders-db", "ERROR", 3);
    wait_metric(&sonde, "sonde_notifications_pending", "route=\"ops\"", 1.0, Duration::from_secs(5));
    sonde.kill9_and_restart(env);
    receiver.listen();
    receiver.wait("the down", Duration::from_secs(90), |r| !r.is_empty());
    // The source is still down after the restart: its stored view says the
    // down was announced, so there is no second one.
    wait_for_streak(&sonde, "orders-db", "ERROR", 5);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.events(HOOK), ["down"], "{:#?}", receiver.all());
}

#[test]
fn slack_and_pagerduty_receive_their_own_shapes() {
    let target = Target::start();
    let receiver = Receiver::start();
    let routes = format!(
        "[[alerts]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\nfailure_threshold = 1\nsuccess_threshold = 1\n\n\
         [[alerts]]\nname = \"pager\"\ntype = \"pagerduty\"\nurl = \"{}\"\nrouting_key_env = \"SONDE_TEST_PD_KEY\"\n\
         failure_threshold = 1\nsuccess_threshold = 1\n",
        receiver.url("/services/T000/B000/XXXX"),
        receiver.url("/v2/enqueue"),
    );
    let sonde = crate::serve::Serve::start_with(
        &format!("{}{routes}", sources(&[("orders-db", "org_acme", &target)])),
        |c| {
            env(c);
            c.env("SONDE_TEST_PD_KEY", "pd-routing-key-0123456789abcdef");
        },
    );
    target.down();
    receiver.wait("both downs", Duration::from_secs(10), |r| r.len() >= 2);
    target.up();
    receiver.wait("both ups", Duration::from_secs(10), |r| r.len() >= 4);
    let got = receiver.delivered();
    let slack: Vec<Value> =
        got.iter().filter(|r| r.path.starts_with("/services/")).map(|r| r.json()).collect();
    let pd: Vec<Value> = got.iter().filter(|r| r.path == "/v2/enqueue").map(|r| r.json()).collect();
    assert_eq!((slack.len(), pd.len()), (2, 2), "{got:#?}");
    for m in &slack {
        assert!(m["text"].as_str().is_some_and(|t| t.contains("orders-db")), "{m}");
        assert!(m["blocks"].as_array().is_some_and(|b| !b.is_empty()));
        assert!(m.get("event").is_none(), "a Slack message, not a webhook body");
    }
    assert!(slack[0]["text"].as_str().is_some_and(|t| t.contains("is down")));
    assert!(slack[1]["text"].as_str().is_some_and(|t| t.contains("is up")));
    let actions: Vec<&str> = pd.iter().filter_map(|e| e["event_action"].as_str()).collect();
    assert_eq!(actions, ["trigger", "resolve"]);
    assert_eq!(pd[0]["dedup_key"], pd[1]["dedup_key"]);
    assert_eq!(pd[0]["routing_key"], "pd-routing-key-0123456789abcdef");
    assert!(pd[0]["payload"]["summary"].is_string() && pd[0]["payload"]["severity"] == "error");
    let logs = sonde.logs();
    assert!(!logs.contains("XXXX") && !logs.contains("pd-routing-key"), "no credential in logs:\n{logs}");
}

#[test]
fn a_route_scoped_to_one_organization_never_carries_another() {
    let (mine, theirs) = (Target::start(), Target::start());
    let receiver = Receiver::start();
    let sonde = serve(&format!(
        "{}{}",
        sources(&[("db", "org_acme", &mine), ("db", "org_other", &theirs)]),
        webhook("acme-only", &receiver.url(HOOK), "organization = \"org_acme\"\nfailure_threshold = 1")
    ));
    mine.down();
    theirs.down();
    receiver.wait("acme's down", Duration::from_secs(10), |r| !r.is_empty());
    std::thread::sleep(Duration::from_millis(1500));
    let got = receiver.delivered();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].json()["source"]["organization"], "org_acme");
    assert_eq!(metric(&sonde, "sonde_source_down", "organization=\"org_other\""), None, "not watched at all");
    assert_eq!(metric(&sonde, "sonde_source_down", "organization=\"org_acme\""), Some(1.0));
}
