//! Times as people read them, in UTC: `2026-11-26 22:05 UTC`, "3 minutes ago", `YYYY-MM-DD`
//! dates typed into a filter. Plain arithmetic on Unix milliseconds (no time library in the
//! WASM bundle), shared by the pages, the API and the server.

const DAY_MS: i64 = 86_400_000;

/// `2026-11-26 22:05 UTC` for a Unix-ms timestamp.
pub fn format_ms(ms: i64) -> String {
    let (y, m, d, secs) = parts(ms);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// `2026-11-26 22:05:03 UTC`: to the second, for a tooltip.
pub fn format_ms_exact(ms: i64) -> String {
    let (y, m, d, secs) = parts(ms);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// `2026-11-26T22:05:03.639Z` (RFC 3339, UTC), for machines: `<time datetime>` and exports.
pub fn rfc3339(ms: i64) -> String {
    let (y, m, d, secs) = parts(ms);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60,
        ms.rem_euclid(1000)
    )
}

/// `YYYY-MM-DD` of the UTC day `ms` falls on.
pub fn day_of(ms: i64) -> String {
    let (y, m, d, _) = parts(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Date, and seconds into the UTC day.
fn parts(ms: i64) -> (i64, u32, u32, i64) {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem)
}

/// `ms` relative to `now` (both unix ms), in words: "just now", "5 minutes ago", "3 hours
/// ago", "yesterday", "12 days ago", then the date ("2026-10-01"). A time after `now` (clock
/// skew between nodes) reads "just now".
pub fn relative_ms(ms: i64, now: i64) -> String {
    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    let ago = now.saturating_sub(ms);
    let count = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match ago {
        i64::MIN..=59_999 => "just now".into(),
        _ if ago < HOUR => count(ago / MIN, "minute ago", "minutes ago"),
        _ if ago < DAY_MS => count(ago / HOUR, "hour ago", "hours ago"),
        _ if ago < 2 * DAY_MS => "yesterday".into(),
        _ if ago < 30 * DAY_MS => format!("{} days ago", ago / DAY_MS),
        _ => day_of(ms),
    }
}

/// A span, to the nearest minute, in the largest whole unit that fits: "30 minutes",
/// "1 hour", "72 hours", "7 days". Days only from 7 days on, so the default 72 h setup link
/// reads as set.
pub fn span(ms: i64) -> String {
    let minutes = ms.max(0).saturating_add(30_000) / 60_000;
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    if minutes < 60 || minutes % 60 != 0 {
        unit(minutes, "minute")
    } else if minutes < 7 * 24 * 60 || minutes % (24 * 60) != 0 {
        unit(minutes / 60, "hour")
    } else {
        unit(minutes / (24 * 60), "day")
    }
}

/// The first millisecond of the UTC day `YYYY-MM-DD` (years 1970 to 9999, a real calendar
/// day; exactly that form, as `<input type="date">` sends it), or `None`.
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    // A day past the month's end (2026-02-30) comes back as another date.
    (civil_from_days(days) == (y, m as u32, d as u32)).then_some(days * DAY_MS)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]; a day past the month's end runs on into the next month).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_ms(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_ms(1_795_730_703_639), "2026-11-26 22:05 UTC");
        assert_eq!(
            format_ms_exact(1_795_730_703_639),
            "2026-11-26 22:05:03 UTC"
        );
        assert_eq!(rfc3339(1_795_730_703_639), "2026-11-26T22:05:03.639Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(day_of(1_795_730_703_639), "2026-11-26");
        // Before 1970 still reads as a date.
        assert_eq!(format_ms_exact(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn moments_read_as_words() {
        let now = 1_795_730_703_639;
        assert_eq!(relative_ms(now, now), "just now");
        assert_eq!(relative_ms(now + 5_000, now), "just now");
        assert_eq!(relative_ms(now - 60_000, now), "1 minute ago");
        assert_eq!(relative_ms(now - 3 * MIN - 5_000, now), "3 minutes ago");
        assert_eq!(relative_ms(now - 5 * MIN, now), "5 minutes ago");
        assert_eq!(relative_ms(now - 3 * HOUR, now), "3 hours ago");
        assert_eq!(relative_ms(now - 30 * HOUR, now), "yesterday");
        assert_eq!(relative_ms(now - 12 * DAY_MS, now), "12 days ago");
        assert_eq!(relative_ms(0, now), "1970-01-01");
        // Extremes neither panic nor overflow.
        assert_eq!(relative_ms(i64::MAX, i64::MIN), "just now");
        assert!(!relative_ms(i64::MIN, i64::MAX).is_empty());
    }

    #[test]
    fn spans_use_the_largest_whole_unit() {
        assert_eq!(span(30 * MIN), "30 minutes");
        assert_eq!(span(MIN), "1 minute");
        assert_eq!(span(HOUR), "1 hour");
        assert_eq!(span(90 * MIN), "90 minutes");
        assert_eq!(span(72 * HOUR), "72 hours");
        assert_eq!(span(7 * 24 * HOUR), "7 days");
        assert_eq!(span(30 * 24 * HOUR), "30 days");
        assert_eq!(span(-5), "0 minutes");
        // Written a few milliseconds apart, a 72 h link still reads as 72 hours.
        assert_eq!(span(72 * HOUR - 3), "72 hours");
        assert_eq!(span(30 * MIN + 29_000), "30 minutes");
    }

    #[test]
    fn days_parse_exactly() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(
            parse_day("2026-11-26"),
            Some(1_795_730_703_639 / DAY_MS * DAY_MS)
        );
        assert_eq!(parse_day("2000-02-29"), Some(951_782_400_000));
        assert_eq!(
            parse_day("9999-12-31").map(day_of).as_deref(),
            Some("9999-12-31")
        );
        for bad in [
            "",
            "2026-1-01",
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "1969-12-31",
            "2026/01/01",
            "+026-01-01",
            "2026-01-0x",
            "２０２６-01-01",
            "2026-01-01T00:00",
            " 2026-01-01",
            "2100-02-29",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?}");
        }
        // Every day of a leap year round-trips.
        let start = parse_day("2024-01-01").unwrap();
        for i in 0..366 {
            let ms = start + i * DAY_MS;
            assert_eq!(parse_day(&day_of(ms)), Some(ms));
        }
    }
}
