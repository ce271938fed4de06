//! No alert storms (DESIGN §8 "Dependencies" and "Grouping", issue 21): a
//! switch and fifty sources that `depends_on` it go down together and only
//! the switch pages; two hundred sources down within a route's
//! `group_wait` make one signed webhook body, with one process and with
//! three replicas.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde::alerts::sign::signature;

use sonde_test_support::smtp::{Mode, SmtpServer};

use super::incident::{Group, HOOK, config, keys, source};
use super::receiver::Received;
use super::{SECRET, metric, webhook};

const SLACK: &str = "/slack";

/// A switch and 50 sources behind it, all checked every second against
/// one target that fails and recovers at once: checks of the switch and
/// its dependents interleave, the dependents reaching their threshold
/// about when the switch does. Only the switch's down and up are sent;
/// the dependents' downs are counted as suppressed.
#[test]
fn a_switch_and_fifty_dependents_down_together_page_only_for_the_switch() {
    let Some(group) = Group::start_with(1, |t, r| {
        let mut toml = keys();
        toml.push_str(&source("switch", t, "1s", ""));
        for i in 0..50 {
            toml.push_str(&source(&format!("d{i:02}"), t, "1s", "depends_on = [\"switch\"]\n"));
        }
        toml.push_str(&webhook("ops", &r.url(HOOK), "failure_threshold = 3\nsuccess_threshold = 2\n"));
        toml
    }) else {
        return;
    };
    assert_eq!(group.sources.len(), 51, "{}", group.logs());
    group.wait_streak(true, 1, Duration::from_secs(30));
    group.target.down();
    // Every dependent well past its threshold.
    group.wait_streak(false, 5, Duration::from_secs(30));
    group.target.up();
    group.wait_streak(true, 4, Duration::from_secs(30));
    group.receiver.wait("the switch's up", Duration::from_secs(10), |r| {
        r.iter().any(|r| r.json()["event"] == "up" && r.json()["source"]["name"] == "switch")
    });
    std::thread::sleep(Duration::from_millis(1500));
    let got: Vec<(String, String)> = group.notes().into_iter().map(|n| (n.source, n.event)).collect();
    let want = [("switch".to_string(), "down".to_string()), ("switch".to_string(), "up".to_string())];
    assert_eq!(got, want, "only the switch pages\n{}", group.logs());
    let suppressed = metric(&group.replicas[0], "sonde_notifications_total", "outcome=\"suppressed\"");
    assert!(suppressed.is_some_and(|n| n >= 50.0), "suppressed: {suppressed:?}");
}

/// 200 sources every second, `failure_threshold = 1`, `group_wait = 4s`:
/// all their downs are made within the wait (within a second when the
/// machine keeps up; 2.4 s was seen with three such tests at once on two
/// cores, hence 4 s), so the webhook gets one body listing all 200, each
/// with its own id, signed as a whole; a Slack route gets one message and
/// an e-mail route (a real SMTP server, aiosmtpd) one mail; the same again
/// for the ups.
fn two_hundred_make_one_batch(replicas: usize) {
    const COUNT: usize = 200;
    let rule = "failure_threshold = 1\nsuccess_threshold = 1\ngroup_wait = \"4s\"\n";
    let Some(smtp) = SmtpServer::start(Mode::Plain, None) else { return };
    let routes = |r: &super::receiver::Receiver| {
        format!(
            "[[alerts]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\n{rule}\n\
             [[alerts]]\nname = \"mail\"\ntype = \"email\"\nto = [\"ops@example.com\"]\n\
             from = \"sonde@example.com\"\nsmtp_url = \"{}\"\n{rule}\n",
            r.url(SLACK),
            smtp.url()
        )
    };
    let Some(group) = Group::start_with(replicas, |t, r| config(t, r, COUNT, "1s", rule) + &routes(r)) else {
        return;
    };
    assert_eq!(group.sources.len(), COUNT, "{}", group.logs());
    group.wait_streak(true, 1, Duration::from_secs(60));
    let mut seen = 0;
    // One Slack message and one mail per batch, as one webhook body.
    for (mails_and_messages, event) in (1..).zip(["down", "up"]) {
        if event == "down" {
            group.target.down();
        } else {
            group.target.up();
        }
        let end = Instant::now() + Duration::from_secs(30);
        while events(&hooks(&group.receiver.delivered())[seen..]).len() < COUNT && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Longer than group_interval (= group_wait): a second batch would
        // have come by now.
        std::thread::sleep(Duration::from_millis(4500));
        let delivered = group.receiver.delivered();
        let chat: Vec<&Received> = delivered.iter().filter(|r| r.path == SLACK).collect();
        assert_eq!(chat.len(), mails_and_messages, "{}: one Slack message per batch", group.label);
        let text = chat[mails_and_messages - 1].json().to_string();
        assert!(text.contains(&format!("{COUNT} notifications")), "{}: {text}", group.label);
        let mail = smtp.wait_for(mails_and_messages, Duration::from_secs(10));
        assert_eq!(mail.len(), mails_and_messages, "{}: one mail per batch", group.label);
        let body = mail[mails_and_messages - 1].text.clone().unwrap_or_default();
        assert_eq!(body.lines().filter(|l| l.starts_with("- ")).count(), COUNT, "{}: {body}", group.label);
        let got = hooks(&delivered);
        let bodies = &got[seen..];
        let shapes = summary(bodies);
        println!("{}: the {event}s: {shapes}", group.label);
        assert_eq!(
            bodies.len(),
            1,
            "{}: one body for the {event}s, got {shapes}\n{}",
            group.label,
            group.logs()
        );
        let body = &bodies[0];
        assert_eq!(body.header("x-sonde-signature"), Some(signature(SECRET.as_bytes(), &body.body).as_str()));
        let v = body.json();
        assert_eq!((v["event"].as_str(), v["route"].as_str()), (Some("batch"), Some("ops")), "{v}");
        let list = v["notifications"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), COUNT, "{}: {shapes}", group.label);
        assert!(list.iter().all(|n| n["event"] == event), "all {event}s");
        let ids: HashSet<&str> = list.iter().filter_map(|n| n["id"].as_str()).collect();
        let names: HashSet<&str> = list.iter().filter_map(|n| n["source"]["name"].as_str()).collect();
        assert_eq!((ids.len(), names.len()), (COUNT, COUNT), "each item its own id and source");
        assert!(v["id"].as_str().is_some_and(|id| !ids.contains(id)), "the batch has its own id");
        seen = got.len();
    }
}

/// What the webhook route received (the Slack route posts to the same
/// receiver, at [`SLACK`]).
fn hooks(delivered: &[Received]) -> Vec<Received> {
    delivered.iter().filter(|r| r.path == HOOK).cloned().collect()
}

/// The notifications in `bodies`: a batch's items, or a body that is one.
fn events(bodies: &[Received]) -> Vec<Value> {
    bodies
        .iter()
        .flat_map(|r| {
            let v = r.json();
            match v["notifications"].as_array() {
                Some(items) => items.clone(),
                None => vec![v],
            }
        })
        .collect()
}

/// What arrived, for a failure message: bodies by shape, and over how long
/// their notifications were made.
fn summary(bodies: &[Received]) -> String {
    let mut shapes = std::collections::BTreeMap::new();
    for r in bodies {
        let v = r.json();
        let items = v["notifications"].as_array().map_or(0, Vec::len);
        *shapes.entry(format!("{} with {items} items", v["event"])).or_insert(0) += 1;
    }
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        events(bodies).iter().filter_map(|e| e["timestamp"].as_str()?.parse().ok()).collect();
    let span = match (times.iter().min(), times.iter().max()) {
        (Some(a), Some(b)) => (*b - *a).num_milliseconds(),
        _ => 0,
    };
    format!(
        "{} bodies {shapes:?}, {} notifications made over {span} ms (group_wait is 4000 ms)",
        bodies.len(),
        times.len()
    )
}

#[test]
fn two_hundred_downs_within_group_wait_make_one_webhook_body() {
    two_hundred_make_one_batch(1);
}

#[test]
fn two_hundred_downs_within_group_wait_make_one_webhook_body_from_three_replicas() {
    two_hundred_make_one_batch(3);
}
