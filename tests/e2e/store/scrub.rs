//! `Store::scrub_history`: the migration's masking of secrets that older
//! versions kept in a source's history, in every spelling, and only there.

use chrono::Utc;
use serde_json::json;
use sonde::alerts::outbox::{AlertWrite, Notification};
use sonde::model::{CheckRecord, CheckStatus, Trigger};

use super::{Backend, spec};

pub async fn history_scrubbing_masks_one_sources_secrets_everywhere(b: Backend) {
    let store = b.store.as_ref();
    let secret = "pa\"ss\\word";
    let escaped = r#"pa\"ss\\word"#;
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let other = store.create_source(&spec("other"), &json!({})).await.expect("other");
    let leaky = |source| {
        let mut c = CheckRecord::new(source, Trigger::Schedule, CheckStatus::Error);
        c.message = Some(format!("bad password {secret}"));
        c.extra = Some(json!({"password": secret}).to_string());
        c.details = Some(json!({"echo": secret, "json": json!({"password": secret}).to_string(), "n": 1}));
        c.reported_at = Some(Utc::now());
        c
    };
    let note = Notification {
        id: uuid::Uuid::new_v4(),
        route: "ops".into(),
        source_id: a.id,
        seq: 1,
        payload: json!({"message": format!("bad password {secret}")}).to_string(),
        created_at: Utc::now(),
        attempts: 0,
    };
    let write = AlertWrite { notifications: vec![note], ..AlertWrite::default() };
    store.record_check(&a, &leaky(a.id), true, &super::alerts::Scripted(write)).await.expect("record");
    let mut clean = CheckRecord::new(a.id, Trigger::Manual, CheckStatus::Ok);
    clean.message = Some("fine".into());
    store.insert_check(&clean).await.expect("clean");
    store.insert_check(&leaky(other.id)).await.expect("other's");
    let before = store.history(a.id, 10, None).await.expect("history");
    assert!(format!("{before:?}").contains("ss\\\\word"), "stored escaped: {before:?}");
    assert!(before.iter().any(|c| c.extra.as_deref().is_some_and(|e| e.contains(escaped))));

    let changed = store.scrub_history(a.id, &[secret.to_string()]).await.expect("scrub");
    assert_eq!(changed, 2, "the leaky check and the notification; the clean check untouched");
    let history = store.history(a.id, 10, None).await.expect("history");
    let text = format!("{history:?}");
    assert!(!text.contains("ss\\\\word") && !text.contains("pa\\\"ss"), "{text}");
    let leaked = history.iter().find(|c| c.status == CheckStatus::Error).expect("leaky check");
    assert_eq!(leaked.message.as_deref(), Some("bad password ***"));
    assert_eq!(leaked.extra.as_deref(), Some(r#"{"password":"***"}"#));
    assert_eq!(leaked.details, Some(json!({"echo": "***", "json": r#"{"password":"***"}"#, "n": 1})));
    let soon = Utc::now() + chrono::Duration::seconds(1);
    let claimed =
        store.claim_notifications(soon, soon + chrono::Duration::seconds(60), 10).await.expect("claim");
    assert_eq!(claimed[0].payload, r#"{"message":"bad password ***"}"#);
    // Another source's history is not this source's to rewrite.
    let theirs = store.history(other.id, 10, None).await.expect("history");
    assert_eq!(theirs[0].message.as_deref(), Some(format!("bad password {secret}").as_str()));
    // Nothing left: a second run changes nothing.
    assert_eq!(store.scrub_history(a.id, &[secret.to_string()]).await.expect("again"), 0);
}
