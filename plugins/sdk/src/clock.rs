//! Reading the times and durations that sources and configs write, without
//! a date library: RFC 3339 (and ISO 8601 without a zone, taken as UTC),
//! RFC 1123 (HTTP's `Last-Modified`, Azure's listings), and durations such
//! as `7d`, `12h`, `1h30m`. A guest stays small, and these are the only
//! spellings probes meet.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in seconds since the Unix epoch (`wasi:clocks` under the sandbox).
pub fn now_unix() -> i64 {
    unix_of(SystemTime::now())
}

/// `t` in seconds since the Unix epoch (negative before 1970).
pub fn unix_of(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A duration such as `90s`, `30m`, `12h`, `7d`, `1h30m` or `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration like 7d, 12h, 30m or 90s");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let one = match &rest[..unit] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        let n = u32::try_from(n).map_err(|_| bad())?;
        total = total.checked_add(one.checked_mul(n).ok_or_else(bad)?).ok_or_else(bad)?;
        rest = rest[unit..].trim_start();
    }
    Ok(total)
}

/// A duration written back the way configs write it: `9d3h`, `42m10s`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

/// `unix` seconds as RFC 3339 UTC: `2009-10-12T17:50:30Z`.
pub fn format_rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's `civil_from_days`, the inverse of `days_from_civil`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Seconds since the Unix epoch of a timestamp in RFC 3339
/// (`2009-10-12T17:50:30.000Z`, `2024-01-01 12:00:00+02:00`; without a zone
/// it is UTC; a bare date is its midnight) or RFC 1123 (`Mon, 12 Oct 2009
/// 17:50:30 GMT`).
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let parsed = if t.starts_with(|c: char| c.is_ascii_digit()) { rfc3339(t) } else { rfc1123(t) };
    parsed.ok_or_else(|| format!("{text:?} is not an RFC 3339 or RFC 1123 timestamp"))
}

fn rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = days_from_civil(num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?)?;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(date * 86_400);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let rb = rest.as_bytes();
    if rb.len() < 5 || rb[2] != b':' {
        return None;
    }
    let (h, m) = (num(&rest[0..2])?, num(&rest[3..5])?);
    let mut rest = &rest[5..];
    let mut s = 0;
    if let Some(r) = rest.strip_prefix(':') {
        s = num(r.get(0..2)?)?;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix(['.', ',']) {
            rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
        }
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let offset = zone(rest.trim_start())?;
    Some(date * 86_400 + i64::from(h * 3600 + m * 60 + s) - offset)
}

/// The offset east of UTC, in seconds, of `Z`, `+02:00`, `-0500`, `+01`,
/// ` UTC`, or nothing (UTC).
fn zone(z: &str) -> Option<i64> {
    if z.is_empty() || z.eq_ignore_ascii_case("z") || z == "UTC" || z == "GMT" {
        return Some(0);
    }
    let sign = match z.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (num(&digits)?, 0),
        4 => (num(&digits[0..2])?, num(&digits[2..4])?),
        _ => return None,
    };
    (h < 24 && m < 60).then(|| sign * i64::from(h * 3600 + m * 60))
}

fn rfc1123(t: &str) -> Option<i64> {
    // "Mon, 12 Oct 2009 17:50:30 GMT": the weekday is redundant.
    let t = t.split_once(',').map_or(t, |(_, r)| r);
    let mut parts = t.split_whitespace();
    let day = num(parts.next()?)?;
    let month = month(parts.next()?)?;
    let year = num(parts.next()?)?;
    let clock: Vec<&str> = parts.next()?.split(':').collect();
    let zone_text = parts.next().unwrap_or("GMT");
    if clock.len() != 3 || parts.next().is_some() {
        return None;
    }
    let (h, m, s) = (num(clock[0])?, num(clock[1])?, num(clock[2])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let date = days_from_civil(year, month, day)?;
    Some(date * 86_400 + i64::from(h * 3600 + m * 60 + s) - zone(zone_text)?)
}

fn month(name: &str) -> Option<u32> {
    const NAMES: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let lower = name.get(0..3)?.to_ascii_lowercase();
    NAMES.iter().position(|n| *n == lower).and_then(|i| u32::try_from(i + 1).ok())
}

fn num(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), refusing impossible dates.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day == 0 || day > days_in[month as usize - 1] {
        return None;
    }
    let (y, m, d) = (i64::from(year) - i64::from(month <= 2), i64::from(month), i64::from(day));
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_and_its_relatives() {
        let t = 1_255_369_830; // 2009-10-12T17:50:30Z
        for text in [
            "2009-10-12T17:50:30.000Z",
            "2009-10-12T17:50:30Z",
            "2009-10-12 17:50:30",
            "2009-10-12t17:50:30z",
            "2009-10-12T19:50:30+02:00",
            "2009-10-12T12:50:30.123456-0500",
            "2009-10-12T18:50:30+01",
        ] {
            assert_eq!(parse_timestamp(text), Ok(t), "{text}");
        }
        assert_eq!(parse_timestamp("1970-01-01"), Ok(0));
        for t in [0, 951_782_400, t, -86_400, 4_102_444_799] {
            assert_eq!(parse_timestamp(&format_rfc3339(t)), Ok(t), "{t}");
        }
        assert_eq!(format_rfc3339(t), "2009-10-12T17:50:30Z");
        assert_eq!(parse_timestamp("2000-02-29T00:00:00Z"), Ok(951_782_400));
        for bad in
            ["2009-02-29", "2009-13-01", "2009-10-12T25:00:00Z", "2009-10-12T17:50:30+2", "yesterday", ""]
        {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc1123_as_http_and_azure_write_it() {
        assert_eq!(parse_timestamp("Mon, 12 Oct 2009 17:50:30 GMT"), Ok(1_255_369_830));
        assert_eq!(parse_timestamp("Sun, 06 Nov 1994 08:49:37 GMT"), Ok(784_111_777));
        assert!(parse_timestamp("Mon, 12 Foo 2009 17:50:30 GMT").is_err());
        assert!(parse_timestamp("Mon, 12 Oct 2009 17:50 GMT").is_err());
    }

    #[test]
    fn durations_both_ways() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "7", "d", "7w", "-1d", "1.5h", "99999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(9 * 86_400 + 3 * 3600 + 5)), "9d3h5s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn unix_of_both_sides_of_the_epoch() {
        assert_eq!(unix_of(UNIX_EPOCH + Duration::from_secs(5)), 5);
        assert_eq!(unix_of(UNIX_EPOCH - Duration::from_secs(5)), -5);
        assert!(now_unix() > 1_700_000_000);
    }
}
