//! E-mail, Teams and Opsgenie, one event each, against the shapes their
//! services document (cited in each renderer's module doc).

use super::*;

fn mail(stored: &str) -> Mail {
    match render(&route(Kind::Email), stored).expect("render") {
        Outgoing::Mail(m) => m,
        Outgoing::Http(r) => panic!("an email route made a POST: {r:?}"),
    }
}

#[test]
fn a_mail_has_a_subject_a_text_and_an_escaped_html_part() {
    let stored = event(EventKind::Down, "<script>alert(1)</script> & \"quoted\"");
    let m = mail(&stored);
    assert_eq!(m.subject, "[Sonde] orders-db is down");
    let id = serde_json::from_str::<Value>(&stored).expect("json")["id"].as_str().expect("id").to_string();
    assert_eq!(m.message_id, format!("<{id}@sonde.invalid>"), "stable across retries");
    assert!(
        m.text.contains("orders-db") && m.text.contains("org_acme") && m.text.contains("ERROR"),
        "{}",
        m.text
    );
    assert!(m.text.contains("<script>"), "the text part is text: {}", m.text);
    assert!(!m.html.contains("<script>"), "{}", m.html);
    assert!(m.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"), "{}", m.html);
    assert!(m.html.starts_with("<!DOCTYPE html>") && m.html.contains("<table>"));
    let up = mail(&event(EventKind::Up, "x"));
    assert_eq!(up.subject, "[Sonde] orders-db is up again");
    assert_eq!(mail(&event(EventKind::Reminder, "x")).subject, "[Sonde] orders-db is still down");
    for m in [&m, &up] {
        let all = format!("{m:?}");
        assert!(
            !all.contains(SMTP_PASSWORD) && !all.contains("127.0.0.1\"") && !all.contains("s3cret"),
            "{all}"
        );
    }
}

#[test]
fn a_subject_is_one_line() {
    let now = Utc::now();
    let src = Source { name: "evil\r\nBcc: victim@example.com".into(), ..source() };
    let e = Event::new(EventKind::Down, "ops", &src, &check("x"), now, now);
    let m = email::mail(&Stored::One(e));
    assert!(!m.subject.contains('\r') && !m.subject.contains('\n'), "{:?}", m.subject);
}

#[test]
fn a_teams_message_is_one_adaptive_card_as_microsoft_documents() {
    let r = post(Kind::Teams, &event(EventKind::Down, "bad [link](http://evil.example) *bold*"));
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(keys(&v), ["type", "attachments"].into_iter().collect());
    assert_eq!(v["type"], "message");
    let attachments = v["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1);
    let a = &attachments[0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    assert!(a.get("contentUrl").is_some_and(Value::is_null), "contentUrl: null");
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    let body = card["body"].as_array().expect("body");
    assert!(body.iter().all(|b| ["TextBlock", "FactSet"].contains(&b["type"].as_str().unwrap_or_default())));
    assert!(body[0]["text"].as_str().is_some_and(|t| t.contains("orders-db is down")), "{}", body[0]);
    let facts = body.iter().find(|b| b["type"] == "FactSet").expect("facts")["facts"]
        .as_array()
        .expect("facts")
        .clone();
    assert!(facts.iter().all(|f| f["title"].is_string() && f["value"].is_string()));
    let error = facts.iter().find(|f| f["title"] == "Error").expect("error fact");
    assert_eq!(error["value"], "bad \\[link\\](http://evil.example) \\*bold\\*", "Markdown escaped");
    assert!(r.body.len() < 28 * 1024, "a Teams message is at most 28 KB");
}

#[test]
fn opsgenie_creates_by_alias_and_closes_by_alias() {
    let stored = event(EventKind::Down, &"x".repeat(500));
    let source_id = |stored: &str| {
        serde_json::from_str::<Value>(stored).expect("json")["source"]["id"].as_str().expect("id").to_string()
    };
    let down = post(Kind::Opsgenie, &stored);
    assert_eq!(down.url.to_string(), "https://api.eu.opsgenie.com/v2/alerts");
    assert_eq!(header(&down, "authorization"), Some(format!("GenieKey {GENIE_KEY}").as_str()));
    let v: Value = serde_json::from_slice(&down.body).expect("json");
    let want = ["message", "alias", "description", "details", "source", "entity", "tags", "priority"];
    assert_eq!(keys(&v), want.into_iter().collect());
    let alias = v["alias"].as_str().expect("alias").to_string();
    assert_eq!(alias, source_id(&stored), "the source id");
    assert!(v["message"].as_str().is_some_and(|m| m.chars().count() <= 130 && m.contains("orders-db")));
    assert_eq!(v["source"], "Sonde");
    assert_eq!(v["entity"], "org_acme/orders-db");
    assert!(["P1", "P2", "P3", "P4", "P5"].contains(&v["priority"].as_str().expect("priority")));
    let tags = v["tags"].as_array().expect("tags");
    assert!(tags.len() <= 20 && tags.iter().all(|t| t.as_str().is_some_and(|t| t.chars().count() <= 50)));
    let details = v["details"].as_object().expect("details");
    assert!(details.values().all(Value::is_string), "details are string pairs: {details:?}");
    assert!(details.values().map(|d| d.as_str().map_or(0, str::len)).sum::<usize>() <= 8000);
    assert!(!String::from_utf8_lossy(&down.body).contains(GENIE_KEY), "the key is a header, not in the body");

    let reminder = post(Kind::Opsgenie, &event(EventKind::Reminder, "x"));
    assert_eq!(reminder.url, down.url, "a reminder re-creates: Opsgenie counts it on the open alert");
    let stored = event(EventKind::Up, "x");
    let up = post(Kind::Opsgenie, &stored);
    let alias = source_id(&stored);
    assert_eq!(
        up.url.to_string(),
        format!("https://api.eu.opsgenie.com/v2/alerts/{alias}/close?identifierType=alias")
    );
    let v: Value = serde_json::from_slice(&up.body).expect("json");
    assert_eq!(keys(&v), ["source", "note"].into_iter().collect());
}

#[test]
fn an_opsgenie_url_keeps_its_path_prefix() {
    let r = Route::new(
        "og",
        Channel::Opsgenie { url: "http://127.0.0.1:8080/proxy/".parse().expect("uri"), api_key: "k".into() },
    );
    let Ok(Outgoing::Http(req)) = render(&r, &event(EventKind::Down, "x")) else { panic!("a POST") };
    assert_eq!(req.url.to_string(), "http://127.0.0.1:8080/proxy/v2/alerts");
}
