//! A batch (`group_wait`) through every channel: one body, one message,
//! one mail; PagerDuty and Opsgenie refuse it.

use super::*;

/// A stored batch of `n` notifications, every fourth one an "up", each
/// about its own source `db-<i>`.
fn batch(n: usize) -> String {
    let now = Utc::now();
    let notifications = (0..n)
        .map(|i| {
            let src = Source { name: format!("db-{i}"), ..source() };
            let kind = if i % 4 == 3 { EventKind::Up } else { EventKind::Down };
            Event::new(kind, "ops", &src, &check("connection <refused>"), now, now)
        })
        .collect();
    let b = Batch {
        id: Uuid::new_v4(),
        event: BatchTag::Batch,
        route: "ops".into(),
        timestamp: now.to_rfc3339(),
        notifications,
    };
    serde_json::to_string(&b).expect("json")
}

#[test]
fn a_webhook_batch_is_the_stored_text_signed_as_one_body() {
    let stored = batch(3);
    let r = post(Kind::Webhook, &stored);
    assert_eq!(r.body, stored.as_bytes());
    assert_eq!(header(&r, "x-sonde-event"), Some("batch"));
    assert_eq!(header(&r, "x-sonde-signature").map(str::to_string), Some(signature(SIGNING_KEY, &r.body)));
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(keys(&v), ["id", "event", "route", "timestamp", "notifications"].into_iter().collect());
    assert_eq!(v["notifications"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_slack_batch_is_one_message_within_block_kit_limits() {
    for n in [1, 20, 200] {
        let r = post(Kind::Slack, &batch(n));
        let v: Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(keys(&v), ["text", "blocks"].into_iter().collect());
        let blocks = v["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= 50, "{n}: {} blocks", blocks.len());
        let all = v.to_string();
        let listed = (0..n).filter(|i| all.contains(&format!("db-{i} "))).count();
        assert_eq!(listed, n.min(LISTED), "{n}");
        assert_eq!(all.contains(&format!("…and {} more", n.saturating_sub(LISTED))), n > LISTED, "{n}");
        assert!(!all.contains("<refused>") && all.contains("&lt;refused&gt;"), "mrkdwn escaped");
        for b in blocks.iter().filter(|b| b["type"] == "section") {
            assert!(b["text"]["text"].as_str().is_some_and(|t| t.len() <= 3000));
        }
    }
    let v: Value = serde_json::from_slice(&post(Kind::Slack, &batch(200)).body).expect("json");
    assert!(
        v["text"].as_str().is_some_and(|t| t.contains("150 down") && t.contains("50 up")),
        "{}",
        v["text"]
    );
}

#[test]
fn a_teams_batch_is_one_card_under_28_kb() {
    let r = post(Kind::Teams, &batch(200));
    assert!(r.body.len() < 28 * 1024, "{} bytes", r.body.len());
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["attachments"].as_array().map(Vec::len), Some(1));
    let card = &v["attachments"][0]["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
    let all = card.to_string();
    assert_eq!((0..200).filter(|i| all.contains(&format!("db-{i} "))).count(), LISTED);
    assert!(all.contains("…and 180 more") && all.contains("150 down, 50 up"), "{all}");
}

#[test]
fn an_email_batch_is_one_mail_listing_every_source() {
    let Outgoing::Mail(m) = render(&route(Kind::Email), &batch(200)).expect("render") else {
        panic!("a mail")
    };
    assert_eq!(m.subject, "[Sonde] ops: 150 down, 50 up");
    for i in 0..200 {
        assert!(m.text.contains(&format!("db-{i} ")), "text lists db-{i}");
        assert!(m.html.contains(&format!("<td>db-{i}</td>")), "html lists db-{i}");
    }
    assert!(!m.html.contains("<refused>") && m.html.contains("&lt;refused&gt;"));
}

#[test]
fn pagerduty_and_opsgenie_refuse_a_batch() {
    for kind in [Kind::PagerDuty, Kind::Opsgenie] {
        let e = render(&route(kind), &batch(2)).expect_err("no batches");
        assert!(matches!(e, PayloadError::Batch(_)), "{e}");
        assert!(e.to_string().contains(kind.as_str()), "{e}");
    }
}
