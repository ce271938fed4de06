//! What both backends share for [`super::Store::chart_points`]: the
//! width of a bucket, and a bucket's row as a [`ChartPoint`].

use chrono::{DateTime, Utc};

use super::{StoreResult, corrupt};
use crate::model::{ChartPoint, CheckStatus};

/// Most buckets one chart may ask for: a chart is a few hundred pixels
/// wide, and a public page asks for one per source it shows.
pub const MAX_BUCKETS: u32 = 1000;

/// Whole seconds per bucket, so that `[since, until]` spans at most
/// `buckets` of them (at least one second, whatever is asked).
pub fn bucket_seconds(since: DateTime<Utc>, until: DateTime<Utc>, buckets: u32) -> i64 {
    // The whole seconds a check's time can fall in, counted from
    // `since`'s: offsets 0 to span - 1, so index (span - 1) / width < n.
    let span = (until.timestamp() - since.timestamp() + 1).max(1);
    let n = i64::from(buckets.clamp(1, MAX_BUCKETS));
    ((span + n - 1) / n).max(1)
}

/// A bucket's point: its latest time, its longest duration, and its worst
/// status (`worst`, the greatest non-OK status text, or None when all
/// were OK).
pub fn point(at: DateTime<Utc>, max_ms: Option<i64>, worst: Option<&str>) -> StoreResult<ChartPoint> {
    let status = match worst {
        None => CheckStatus::Ok,
        Some(s) => CheckStatus::parse(s).ok_or_else(|| corrupt(format!("check status {s:?}")))?,
    };
    Ok(ChartPoint { at, duration_ms: max_ms.map(|d| u64::try_from(d).unwrap_or(0)), status })
}
