//! `Store::chart_points`: a window of finished checks gathered into at most
//! the buckets asked for, oldest first, each with its longest duration and
//! a failure never hidden by the OK checks beside it.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sonde::model::{CheckRecord, CheckStatus, Trigger};

use super::{Backend, finished_check, spec};

pub async fn chart_points_gather_a_window_into_bounded_buckets(b: Backend) {
    let store = b.store.as_ref();
    let a = store.create_source(&spec("a"), &json!({})).await.expect("a");
    let other = store.create_source(&spec("b"), &json!({})).await.expect("b");
    // 400 checks over the last 20 h, 3 min apart; every 50th failed; the
    // longest takes 9,999 ms.
    for i in 0..400u64 {
        let mut c = finished_check(a.id, Duration::from_secs(i * 180 + 30));
        c.duration_ms = Some(if i == 123 { 9_999 } else { 10 + i });
        if i % 50 == 7 {
            c.status = if i % 100 == 7 { CheckStatus::Error } else { CheckStatus::Timeout };
        }
        store.insert_check(&c).await.expect("insert");
    }
    // Out of the window, unfinished, or another source's: never drawn.
    let mut old = finished_check(a.id, Duration::from_secs(25 * 3600));
    old.duration_ms = Some(50_000);
    store.insert_check(&old).await.expect("old");
    store
        .insert_check(&CheckRecord::new(a.id, Trigger::Manual, CheckStatus::Running))
        .await
        .expect("running");
    let mut theirs = finished_check(other.id, Duration::from_secs(60));
    theirs.duration_ms = Some(70_000);
    store.insert_check(&theirs).await.expect("theirs");

    let now = Utc::now();
    let since = now - chrono::Duration::hours(24);
    let points = store.chart_points(a.id, since, now, 100).await.expect("points");
    // 20 h of a 24 h window in 100 buckets of 864 s: about 84 hold checks.
    assert!((80..=100).contains(&points.len()), "{} points", points.len());
    assert!(points.windows(2).all(|w| w[0].at < w[1].at), "oldest first: {points:?}");
    assert!(points.iter().all(|p| p.at >= since && p.at <= now), "{points:?}");
    assert_eq!(points.iter().filter_map(|p| p.duration_ms).max(), Some(9_999), "the longest is kept");
    let failed: Vec<_> = points.iter().filter(|p| p.status != CheckStatus::Ok).map(|p| p.status).collect();
    assert_eq!(failed.len(), 8, "each failure shows in its bucket: {failed:?}");
    assert!(failed.contains(&CheckStatus::Error) && failed.contains(&CheckStatus::Timeout), "{failed:?}");

    // One bucket per check when there are more buckets than checks; asking
    // for more than the cap gets the cap.
    let all = store.chart_points(a.id, since, now, 1000).await.expect("all");
    assert_eq!(all.len(), 400, "86 s buckets, checks 180 s apart");
    let capped = store.chart_points(a.id, since, now, u32::MAX).await.expect("capped");
    assert!(capped.len() <= sonde::store::chart::MAX_BUCKETS as usize);
    let one = store.chart_points(a.id, since, now, 1).await.expect("one");
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!((one[0].duration_ms, one[0].status), (Some(9_999), CheckStatus::Timeout), "the worst status");
    // An empty window.
    let none =
        store.chart_points(a.id, since - chrono::Duration::days(7), since - chrono::Duration::days(6), 50);
    assert!(none.await.expect("none").is_empty());
}
