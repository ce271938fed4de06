//! Deadlines hold under load: many CPU-bound guests at once all stop on time.

use std::time::{Duration, Instant};

use serde_json::json;
use sonde::runtime::Status;

use crate::common::{hostile, runtime};

/// 200 spinning guests with a 500 ms deadline on two cores: every one reports
/// TIMEOUT, none later than 650 ms after it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusive_200_spinning_guests_all_time_out_on_time() {
    let rt = std::sync::Arc::new(runtime());
    let p = hostile(&rt).await;
    let deadline = Duration::from_millis(500);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (rt, p) = (rt.clone(), p.clone());
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = rt.check(&p, &json!({"mode": "spin"}), deadline).await;
                (r.status, t0.elapsed())
            })
        })
        .collect();
    let mut late = Vec::new();
    let mut worst = Duration::ZERO;
    for t in tasks {
        let (status, took) = t.await.expect("task");
        assert_eq!(status, Status::Timeout);
        worst = worst.max(took);
        if took > Duration::from_millis(650) {
            late.push(took);
        }
    }
    eprintln!("slowest of 200 reported after {worst:?} (deadline 500 ms, bound 650 ms)");
    assert!(late.is_empty(), "{} of 200 reported late: {late:?}", late.len());
}
