//! The pages: each renders on the server (readable with JavaScript off) and hydrates for
//! interactions. The setup-link page and the problem pages are rendered by the server alone,
//! as whole documents without WASM ([`document`]), so they exist only with `ssr`.

pub mod activity;
pub mod audit;
#[cfg(feature = "ssr")]
pub mod document;
pub mod head;
pub mod layout;
pub mod members;
#[cfg(feature = "ssr")]
pub mod problem;
#[cfg(feature = "ssr")]
pub mod setup;
pub mod sso;

use leptos::prelude::*;

/// Whether the page has hydrated (its event handlers are attached), provided by the app.
#[derive(Clone, Copy, Debug)]
pub struct Hydrated(pub ReadSignal<bool>);

/// `false` in the server's HTML and until the WASM has hydrated the page, then `true`. Controls
/// that need JavaScript render `disabled=move || !hydrated.get() || …`, so a page read before
/// (or without) the WASM never offers a button that does nothing.
pub fn hydrated() -> Signal<bool> {
    match use_context::<Hydrated>() {
        Some(Hydrated(h)) => h.into(),
        None => Signal::stored(false),
    }
}

/// `"1 admin"`, `"2 admins"`, `"0 admins"`.
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Sets the document's `<title>` to `{page} · Tessera`.
#[component]
pub fn PageTitle(page: &'static str) -> impl IntoView {
    view! { <leptos_meta::Title text=format!("{page} · Tessera") /> }
}

/// `2026-11-26 22:05 UTC` for a unix-ms timestamp (no time library in the WASM bundle).
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// `ms` relative to `now` (both unix ms), in words: "just now", "5 minutes ago", "3 hours
/// ago", "yesterday", "12 days ago", then the date ("2026-10-01"). A time after `now` (clock
/// skew between nodes) reads "just now".
pub fn relative_ms(ms: i64, now: i64) -> String {
    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    let ago = now.saturating_sub(ms);
    match ago {
        i64::MIN..=59_999 => "just now".into(),
        _ if ago < HOUR => plural(ago / MIN, "minute ago", "minutes ago"),
        _ if ago < DAY => plural(ago / HOUR, "hour ago", "hours ago"),
        _ if ago < 2 * DAY => "yesterday".into(),
        _ if ago < 30 * DAY => format!("{} days ago", ago / DAY),
        _ => format_ms(ms).chars().take(10).collect(),
    }
}

/// A moment as people read it: relative to `now` ([`relative_ms`]), the exact UTC time on
/// hover (`title`) and for machines (`datetime`).
#[component]
pub fn Moment(ms: i64, now: i64) -> impl IntoView {
    let exact = format_ms(ms);
    let iso = exact.replacen(' ', "T", 1).replace(" UTC", "Z");
    view! { <time datetime=iso title=exact>{relative_ms(ms, now)}</time> }
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

/// Percent-encodes a query value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_ms(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_ms(1_795_730_703_639), "2026-11-26 22:05 UTC");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn moments_read_as_words() {
        let now = 1_795_730_703_639;
        assert_eq!(relative_ms(now, now), "just now");
        assert_eq!(relative_ms(now + 5_000, now), "just now");
        assert_eq!(relative_ms(now - 60_000, now), "1 minute ago");
        assert_eq!(relative_ms(now - 5 * 60_000, now), "5 minutes ago");
        assert_eq!(relative_ms(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(relative_ms(now - 30 * 3_600_000, now), "yesterday");
        assert_eq!(relative_ms(now - 12 * 86_400_000, now), "12 days ago");
        assert_eq!(relative_ms(0, now), "1970-01-01");
        // Extremes neither panic nor overflow.
        assert_eq!(relative_ms(i64::MAX, i64::MIN), "just now");
        assert!(!relative_ms(i64::MIN, i64::MAX).is_empty());
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(plural(1, "admin", "admins"), "1 admin");
        assert_eq!(plural(0, "admin", "admins"), "0 admins");
        assert_eq!(plural(2, "member", "members"), "2 members");
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(encode_query("a b&c=%"), "a%20b%26c%3D%25");
    }
}
