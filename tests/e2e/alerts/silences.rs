//! Silences and maintenance windows hold notifications back; their end
//! releases what is still true. And `/v1/silences` keeps to its tenancy.

use std::time::Duration;

use chrono::{SecondsFormat, Timelike, Utc};
use serde_json::json;

use super::receiver::Receiver;
use super::{ACME, ADMIN, OTHER, Target, call, serve, sources, wait_for_streak, webhook};

const HOOK: &str = "/hook";

fn in_secs(s: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(s)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[test]
fn a_silence_holds_a_down_and_its_end_releases_it() {
    let target = Target::start();
    let receiver = Receiver::start();
    let sonde = serve(&format!(
        "{}{}",
        sources(&[("orders-db", "org_acme", &target), ("other-db", "org_acme", &target)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 2")
    ));
    let body = json!({"sources": ["orders-db"], "ends_at": in_secs(4), "comment": "upgrading orders-db"});
    let (status, silence) = call(&sonde, "POST", "/v1/silences", ACME, Some(body));
    assert_eq!(status, 201, "{silence}");
    assert_eq!(
        (silence["organization"].as_str(), silence["active"].as_bool()),
        (Some("org_acme"), Some(true))
    );
    target.down();
    // other-db is not silenced: its down goes out; orders-db's is held.
    receiver.wait("other-db's down", Duration::from_secs(10), |r| !r.is_empty());
    wait_for_streak(&sonde, "orders-db", "ERROR", 5);
    let names = |r: &Receiver| -> Vec<String> {
        r.delivered().iter().map(|r| r.json()["source"]["name"].as_str().unwrap_or_default().into()).collect()
    };
    assert_eq!(names(&receiver), ["other-db"], "held while silenced");
    let page_marks = crate::alerts::status_page_marks(&sonde);
    assert!(page_marks, "the status page marks the silenced source");
    // Still down when the silence ends: announced then, once.
    receiver.wait("orders-db's down", Duration::from_secs(10), |r| r.len() >= 2);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(names(&receiver), ["other-db", "orders-db"]);
    let held = &receiver.delivered()[1].json();
    assert_eq!(held["event"], "down");
    assert!(held["since"].as_str() < held["timestamp"].as_str(), "since is when it went down: {held}");
}

#[test]
fn a_maintenance_window_holds_a_down_until_it_closes() {
    let target = Target::start();
    let receiver = Receiver::start();
    // A window that opened at the start of this minute and closes ~4 s from now.
    let now = Utc::now();
    let into_minute = u64::from(now.second()) * 1000 + u64::from(now.nanosecond() / 1_000_000);
    let window = format!(
        "[[maintenance]]\norganization = \"org_acme\"\nsources = [\"orders-db\"]\nstart = \"{:02}:{:02}\"\nduration = \"{}ms\"\n",
        now.hour(),
        now.minute(),
        into_minute + 4000
    );
    let sonde = serve(&format!(
        "{}{}{window}",
        sources(&[("orders-db", "org_acme", &target)]),
        webhook("ops", &receiver.url(HOOK), "failure_threshold = 2")
    ));
    target.down();
    wait_for_streak(&sonde, "orders-db", "ERROR", 3);
    let opened_until = now + chrono::Duration::milliseconds(4000);
    if Utc::now() < opened_until {
        assert!(receiver.all().is_empty(), "held in the window: {:#?}", receiver.all());
    }
    receiver.wait("the down after the window", Duration::from_secs(12), |r| !r.is_empty());
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(receiver.events(HOOK), ["down"]);
    let at: chrono::DateTime<Utc> =
        receiver.delivered()[0].json()["timestamp"].as_str().and_then(|t| t.parse().ok()).expect("timestamp");
    assert!(at >= opened_until, "sent at {at}, the window closed at {opened_until}");
}

#[test]
fn silences_keep_to_their_organization() {
    let target = Target::start();
    let sonde = serve(&sources(&[("orders-db", "org_acme", &target)]));
    let body = |org: Option<&str>| {
        let mut b = json!({"ends_at": in_secs(600), "comment": "maintenance"});
        if let Some(o) = org {
            b["organization"] = json!(o);
        }
        b
    };
    let (s, mine) = call(&sonde, "POST", "/v1/silences", ACME, Some(body(None)));
    assert_eq!(s, 201, "{mine}");
    let (s, theirs) = call(&sonde, "POST", "/v1/silences", OTHER, Some(body(Some("org_other"))));
    assert_eq!(s, 201, "{theirs}");
    let (s, global) = call(&sonde, "POST", "/v1/silences", ADMIN, Some(body(None)));
    assert_eq!((s, global["organization"].clone()), (201, json!(null)), "an admin may silence everything");

    // Creating another organization's silence is a 404, as one that does not exist.
    let (s, e) = call(&sonde, "POST", "/v1/silences", ACME, Some(body(Some("org_other"))));
    assert_eq!(s, 404, "{e}");
    // Listing shows only one's own.
    let (_, list) = call(&sonde, "GET", "/v1/silences", ACME, None);
    let ids: Vec<&str> =
        list["silences"].as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, [mine["id"].as_str().expect("id")]);
    let (_, all) = call(&sonde, "GET", "/v1/silences", ADMIN, None);
    assert_eq!(all["silences"].as_array().map(Vec::len), Some(3));
    // Deleting another organization's (or the admin's) is a 404; one's own works.
    for other in [&theirs, &global] {
        let (s, _) = call(
            &sonde,
            "DELETE",
            &format!("/v1/silences/{}", other["id"].as_str().expect("id")),
            ACME,
            None,
        );
        assert_eq!(s, 404);
    }
    let (s, _) =
        call(&sonde, "DELETE", &format!("/v1/silences/{}", mine["id"].as_str().expect("id")), ACME, None);
    assert_eq!(s, 204);
    let (s, _) =
        call(&sonde, "DELETE", &format!("/v1/silences/{}", mine["id"].as_str().expect("id")), ACME, None);
    assert_eq!(s, 404, "gone");
    // Validation: 422s naming the field.
    for (bad, field) in [
        (json!({"comment": "x"}), "ends_at"),
        (json!({"ends_at": "tomorrow", "comment": "x"}), "ends_at"),
        (json!({"ends_at": in_secs(60), "starts_at": in_secs(120), "comment": "x"}), "ends_at"),
        (json!({"ends_at": in_secs(60), "comment": " "}), "comment"),
        (json!({"ends_at": in_secs(60), "comment": "x", "sources": []}), "sources"),
        (json!({"ends_at": in_secs(60), "comment": "x", "color": "red"}), "color"),
    ] {
        let (s, e) = call(&sonde, "POST", "/v1/silences", ADMIN, Some(bad.clone()));
        assert_eq!(s, 422, "{bad}: {e}");
        assert!(e["detail"][0]["loc"].as_array().is_some_and(|l| l.iter().any(|p| p == field)), "{bad}: {e}");
    }
    let (s, _) = call(&sonde, "DELETE", "/v1/silences/not-a-uuid", ADMIN, None);
    assert_eq!(s, 422);
    let (s, _) = call(&sonde, "GET", "/v1/silences", "wrong-key-0000", None);
    assert_eq!(s, 401);
}
