//! `[[maintenance]]` windows: recurring spans of time, in UTC, in which an
//! organization's sources (or some of them) send no alerts. Checks go on.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};

/// One window, checked by the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Every organization's sources when `None`.
    pub organization: Option<String>,
    /// All of the organization's sources when `None`.
    pub sources: Option<Vec<String>>,
    /// The days it starts on; every day when `None`.
    pub days: Option<Vec<Weekday>>,
    /// When it starts, UTC.
    pub start: NaiveTime,
    pub duration: Duration,
}

/// `monday` … `sunday`, or their first three letters, any case.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    let days = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    days.iter().find(|(name, _)| *name == s || (s.len() == 3 && name.starts_with(&s))).map(|(_, d)| *d)
}

impl Window {
    /// Whether the window covers `source` of `organization`.
    pub fn covers(&self, organization: &str, source: &str) -> bool {
        self.organization.as_deref().is_none_or(|o| o == organization)
            && self.sources.as_ref().is_none_or(|names| names.iter().any(|n| n == source))
    }

    /// Whether `now` falls in an occurrence of the window. An occurrence may
    /// have started on an earlier day (a window over midnight, or one of
    /// several days), so the days back to its longest reach are tried.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let Ok(length) = chrono::Duration::from_std(self.duration) else { return false };
        let reach = self.duration.as_secs() / 86_400 + 1;
        (0..=reach).any(|back| {
            let day = now.date_naive() - chrono::Duration::days(back as i64);
            if self.days.as_ref().is_some_and(|d| !d.contains(&day.weekday())) {
                return false;
            }
            let start = day.and_time(self.start).and_utc();
            start <= now && now < start + length
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn window(days: Option<Vec<Weekday>>, start: &str, hours: u64) -> Window {
        Window {
            organization: Some("org_acme".into()),
            sources: Some(vec!["orders-db".into()]),
            days,
            start: NaiveTime::parse_from_str(start, "%H:%M").expect("time"),
            duration: Duration::from_secs(hours * 3600),
        }
    }

    #[test]
    fn a_sunday_window_is_open_only_on_sunday_in_its_hours() {
        let w = window(Some(vec![Weekday::Sun]), "02:00", 1);
        // 2026-03-01 is a Sunday.
        assert!(w.is_open(at("2026-03-01T02:00:00Z")));
        assert!(w.is_open(at("2026-03-01T02:59:59Z")));
        assert!(!w.is_open(at("2026-03-01T03:00:00Z")));
        assert!(!w.is_open(at("2026-03-01T01:59:59Z")));
        assert!(!w.is_open(at("2026-03-02T02:30:00Z")), "Monday");
    }

    #[test]
    fn a_window_over_midnight_belongs_to_the_day_it_starts() {
        let w = window(Some(vec![Weekday::Sat]), "23:00", 2);
        assert!(w.is_open(at("2026-03-01T00:30:00Z")), "Sunday 00:30, started Saturday");
        assert!(!w.is_open(at("2026-03-02T00:30:00Z")), "Monday 00:30: Sunday is not a start day");
    }

    #[test]
    fn without_days_it_is_every_day() {
        let w = window(None, "12:00", 1);
        assert!(w.is_open(at("2026-03-04T12:10:00Z")) && w.is_open(at("2026-03-07T12:10:00Z")));
    }

    #[test]
    fn it_covers_its_organization_and_sources_only() {
        let w = window(None, "12:00", 1);
        assert!(w.covers("org_acme", "orders-db"));
        assert!(!w.covers("org_acme", "other"));
        assert!(!w.covers("org_other", "orders-db"));
        let all = Window { sources: None, ..w };
        assert!(all.covers("org_acme", "anything") && !all.covers("org_other", "anything"));
    }

    #[test]
    fn weekdays_parse_long_and_short() {
        assert_eq!(parse_weekday("Sunday"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("tue"), Some(Weekday::Tue));
        assert_eq!(parse_weekday("someday"), None);
        assert_eq!(parse_weekday("t"), None);
    }
}
