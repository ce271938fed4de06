//! A response-time chart as inline SVG, shared by the pages that show one
//! (the public status pages, a source's own page): a line of response
//! times over a window, failures as red dots, the longest time and the
//! window as axis labels. It is markup only (no script, no external
//! resource, no `style` attribute), so it renders under a CSP of
//! `default-src 'none'`.
//!
//! The caller bounds the points (the store's `Store::chart_points` gathers
//! a window into at most a few hundred buckets); this module draws what
//! it is given, oldest first.

use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};

use crate::model::{ChartPoint, CheckStatus};

/// The drawing's own units; the `svg` scales to its container's width.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 140.0;
/// Room for the labels: the value axis on the left, times below.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

const LINE: &str = "#0969da";
const FAIL: &str = "#cf222e";
const AXIS: &str = "#8c959f";
const TEXT: &str = "#57606a";

/// The span a chart covers, ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Day,
    Week,
}

impl Window {
    pub fn duration(self) -> Duration {
        match self {
            Window::Day => Duration::hours(24),
            Window::Week => Duration::days(7),
        }
    }

    /// `24 h` or `7 d`, as the pages spell windows.
    pub fn label(self) -> &'static str {
        match self {
            Window::Day => "24 h",
            Window::Week => "7 d",
        }
    }
}

/// `1.2 s` past a second, else `340 ms`.
fn millis(ms: u64) -> String {
    if ms >= 1000 { format!("{:.1} s", ms as f64 / 1000.0) } else { format!("{ms} ms") }
}

/// Where a point falls: x by time within the window, y by duration
/// against `max` (a point without a duration sits on the baseline).
fn place(p: &ChartPoint, start: DateTime<Utc>, span_ms: f64, max: u64) -> (f64, f64) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let t = ((p.at - start).num_milliseconds() as f64 / span_ms).clamp(0.0, 1.0);
    let v = p.duration_ms.map_or(0.0, |d| d as f64 / max as f64).clamp(0.0, 1.0);
    (LEFT + t * plot_w, TOP + (1.0 - v) * plot_h)
}

/// The chart of `points` (oldest first) over `window`, ending at `now`.
pub fn render(points: &[ChartPoint], window: Window, now: DateTime<Utc>) -> Markup {
    let start = now - window.duration();
    let span_ms = window.duration().num_milliseconds() as f64;
    let inside: Vec<&ChartPoint> = points.iter().filter(|p| p.at >= start && p.at <= now).collect();
    // At least 1 ms, so that a window of instant answers still has a scale.
    let max = inside.iter().filter_map(|p| p.duration_ms).max().unwrap_or(0).max(1);
    let failures = inside.iter().filter(|p| p.status != CheckStatus::Ok).count();
    let line: Vec<String> = inside
        .iter()
        .filter(|p| p.duration_ms.is_some())
        .map(|p| place(p, start, span_ms, max))
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let summary = match (inside.len(), failures) {
        (0, _) => format!("Response time over {}: no checks", window.label()),
        (_, 0) => format!("Response time over {}: longest {}, no failures", window.label(), millis(max)),
        (_, f) => format!("Response time over {}: longest {}, {f} failed", window.label(), millis(max)),
    };
    let (bottom, right) = (HEIGHT - BOTTOM, WIDTH - RIGHT);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            role="img" aria-label=(summary) data-window=(window.label()) data-points=(inside.len())
            data-failures=(failures) {
            title { (summary) }
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(bottom) stroke=(AXIS) stroke-width="1" {}
            line x1=(LEFT) y1=(bottom) x2=(right) y2=(bottom) stroke=(AXIS) stroke-width="1" {}
            line x1=(LEFT) y1=(TOP) x2=(right) y2=(TOP) stroke=(AXIS) stroke-width="0.5" stroke-dasharray="3 3" {}
            text x=(LEFT - 4.0) y=(TOP + 4.0) text-anchor="end" font-size="11" fill=(TEXT) { (millis(max)) }
            text x=(LEFT - 4.0) y=(bottom) text-anchor="end" font-size="11" fill=(TEXT) { "0" }
            text x=(LEFT) y=(HEIGHT - 6.0) font-size="11" fill=(TEXT) { (window.label()) " ago" }
            text x=(right) y=(HEIGHT - 6.0) text-anchor="end" font-size="11" fill=(TEXT) { "now" }
            @if inside.is_empty() {
                text x=((LEFT + right) / 2.0) y=((TOP + bottom) / 2.0) text-anchor="middle" font-size="12" fill=(TEXT) {
                    "no checks in " (window.label())
                }
            }
            @if line.len() > 1 {
                polyline points=(line.join(" ")) fill="none" stroke=(LINE) stroke-width="1.5" stroke-linejoin="round" {}
            } @else if let Some(only) = line.first() {
                @let (x, y) = only.split_once(',').unwrap_or(("0", "0"));
                circle.point cx=(x) cy=(y) r="2.5" fill=(LINE) {}
            }
            @for p in inside.iter().filter(|p| p.status != CheckStatus::Ok) {
                @let (x, y) = place(p, start, span_ms, max);
                circle.failure cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" fill=(FAIL) {
                    title { (p.status.as_str()) " at " (p.at.format("%Y-%m-%d %H:%M UTC")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(now: DateTime<Utc>, minutes_ago: i64, ms: Option<u64>, status: CheckStatus) -> ChartPoint {
        ChartPoint { at: now - Duration::minutes(minutes_ago), duration_ms: ms, status }
    }

    #[test]
    fn a_line_of_times_failures_in_red_and_the_longest_time_labelled() {
        let now = Utc::now();
        let points = [
            point(now, 120, Some(40), CheckStatus::Ok),
            point(now, 60, Some(1500), CheckStatus::Timeout),
            point(now, 30, Some(80), CheckStatus::Ok),
            point(now, 10, None, CheckStatus::Error),
        ];
        let svg = render(&points, Window::Day, now).into_string();
        assert!(svg.starts_with("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains("<polyline points=\""), "{svg}");
        assert_eq!(svg.matches("class=\"failure\"").count(), 2, "{svg}");
        assert!(svg.contains(FAIL) && svg.contains(">1.5 s<") && svg.contains(">24 h ago<"), "{svg}");
        assert!(svg.contains("data-failures=\"2\"") && svg.contains("data-points=\"4\""), "{svg}");
        assert!(!svg.contains("<script") && !svg.contains("style="), "{svg}");
    }

    #[test]
    fn points_outside_the_window_and_an_empty_window() {
        let now = Utc::now();
        let old = [point(now, 60 * 25, Some(10), CheckStatus::Ok)];
        let svg = render(&old, Window::Day, now).into_string();
        assert!(svg.contains("no checks in 24 h") && !svg.contains("polyline"), "{svg}");
        let week = render(&old, Window::Week, now).into_string();
        assert!(week.contains("class=\"point\"") && week.contains(">7 d ago<"), "{week}");
        assert!(week.contains(">10 ms<"), "{week}");
    }
}
