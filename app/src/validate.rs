//! Input rules shared by the CLI, the HTTP handlers and the pages. Each returns a sentence that
//! tells the person what is wrong and what is expected.

/// Longest accepted org slug.
pub const MAX_SLUG_LEN: usize = 63;

/// Longest value from outside (a claim, a query parameter, an IdP's error text) that is
/// stored or logged, in characters; longer values are cut.
pub const MAX_STORED_CHARS: usize = 512;

/// Longest piece of a refused value quoted back in an error message, in characters.
pub const MAX_QUOTED_CHARS: usize = 100;

/// A refused value as an error message quotes it: [`bounded`] to [`MAX_QUOTED_CHARS`] and in
/// double quotes (`"xxxx…"`), so a 60 KB value is not echoed whole.
pub fn quoted(input: &str) -> String {
    format!("{:?}", bounded(input, MAX_QUOTED_CHARS))
}

/// A value from outside made safe to store, log or print: control characters (terminal
/// escapes, NUL, newlines) removed, at most `max_chars` characters kept, with `…` marking a cut.
pub fn bounded(input: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_chars * 4));
    for (kept, c) in input.chars().filter(|c| !c.is_control()).enumerate() {
        if kept == max_chars {
            out.push('…');
            return out;
        }
        out.push(c);
    }
    out
}

/// An org slug: lowercase letters, digits and hyphens, starting and ending with a letter or digit.
pub fn slug(input: &str) -> Result<&str, String> {
    let ok_chars = input
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if input.is_empty()
        || input.len() > MAX_SLUG_LEN
        || !ok_chars
        || input.starts_with('-')
        || input.ends_with('-')
    {
        return Err(format!(
            "invalid org slug {}: use 1 to {MAX_SLUG_LEN} lowercase letters, digits and hyphens, starting and ending with a letter or digit",
            quoted(input)
        ));
    }
    Ok(input)
}

/// Longest email address accepted, in characters (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// An email address typed by a person (e.g. to invite someone): trimmed; one `@` with
/// something on both sides, no spaces or control characters, at most [`MAX_EMAIL_CHARS`].
/// Only a plausibility check: Okta says whose address it is.
pub fn email(input: &str) -> Result<&str, String> {
    let e = input.trim();
    let plausible = e.chars().count() <= MAX_EMAIL_CHARS
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if plausible {
        Ok(e)
    } else {
        Err(format!(
            "{} is not an email address: give one like pat@example.com (at most {MAX_EMAIL_CHARS} characters).",
            quoted(e)
        ))
    }
}

/// Longest organization name or short name accepted from the login page, in characters (a
/// display name is at most 200).
pub const MAX_ORG_INPUT_CHARS: usize = 200;

/// What a person typed on the login page to name their org (its display name or short name):
/// trimmed, inner runs of white space made one space; refused when empty, longer than
/// [`MAX_ORG_INPUT_CHARS`] or holding control characters.
pub fn org_input(input: &str) -> Result<String, String> {
    let words: Vec<&str> = input.split_whitespace().collect();
    let typed = words.join(" ");
    if typed.is_empty() || typed.chars().count() > MAX_ORG_INPUT_CHARS {
        return Err(format!(
            "enter the organization's name or short name (1 to {MAX_ORG_INPUT_CHARS} characters)"
        ));
    }
    if typed.chars().any(char::is_control) {
        return Err("the organization name must not hold control characters".into());
    }
    Ok(typed)
}

/// An org's display name: non-empty, at most 200 characters, no control characters.
pub fn display_name(input: &str) -> Result<&str, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("the org name must not be empty".into());
    }
    if name.chars().count() > 200 {
        return Err("the org name must be at most 200 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the org name must not contain control characters".into());
    }
    Ok(name)
}

/// An OAuth client id as Okta issues it: visible ASCII, no spaces, at most 255 characters.
pub fn client_id(input: &str) -> Result<&str, String> {
    let id = input.trim();
    if id.is_empty() {
        return Err("the client ID must not be empty".into());
    }
    if id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "invalid client ID {}: use at most 255 visible ASCII characters without spaces",
            quoted(id)
        ));
    }
    Ok(id)
}

/// A client secret: surrounding whitespace (a trailing newline from a file) is dropped.
pub fn client_secret(input: &str) -> Result<&str, String> {
    let secret = input.trim();
    if secret.is_empty() {
        return Err("the client secret is empty".into());
    }
    if secret.len() > 1024 || secret.chars().any(char::is_control) {
        return Err("the client secret must be at most 1024 characters on one line".into());
    }
    Ok(secret)
}

/// The longest duration [`duration`] accepts: 100 years (36,500 days), in seconds. Longer
/// values would overflow the clocks they are added to (a session or a link would end at once).
pub const MAX_DURATION_SECS: u64 = 36_500 * 86_400;

/// A duration: `90s`, `30m`, `8h`, `7d` (a bare number is seconds); more than zero and at
/// most [`MAX_DURATION_SECS`].
pub fn duration(input: &str) -> Result<std::time::Duration, String> {
    let s = input.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let invalid = || {
        format!(
            "invalid duration {}: use e.g. 30s, 15m, 8h or 7d",
            quoted(input)
        )
    };
    let n: u64 = digits.parse().map_err(|_| invalid())?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => return Err(invalid()),
    }
    .ok_or_else(invalid)?;
    if secs == 0 {
        return Err(format!(
            "invalid duration {}: must be more than zero",
            quoted(input)
        ));
    }
    if secs > MAX_DURATION_SECS {
        return Err(format!(
            "invalid duration {input:?}: must be at most {}d",
            MAX_DURATION_SECS / 86_400
        ));
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["acme", "a", "acme-corp", "x1", "9lives"] {
            assert!(slug(good).is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "Acme",
            "acme_corp",
            "-acme",
            "acme-",
            "ac me",
            "é",
            long.as_str(),
        ] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_ids_and_secrets() {
        assert_eq!(display_name("  Acme Inc ").unwrap(), "Acme Inc");
        assert!(display_name("   ").is_err());
        assert!(display_name("a\u{7}b").is_err());
        assert!(client_id("0oa1b2c3").is_ok());
        assert!(client_id("has space").is_err());
        assert!(client_id("").is_err());
        assert_eq!(client_secret("abc\n").unwrap(), "abc");
        assert!(client_secret("\n\n").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("30m").unwrap().as_secs(), 1800);
        assert_eq!(duration("7d").unwrap().as_secs(), 7 * 86_400);
        assert_eq!(duration("90").unwrap().as_secs(), 90);
        for bad in ["", "0s", "8x", "h", "-1h", "99999999999999999999d", "1.5h"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn outside_values_are_bounded_and_stripped() {
        assert_eq!(bounded("a\u{1b}[31mb\0c\nd", 10), "a[31mbcd");
        assert_eq!(bounded("abcdef", 3), "abc…");
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded(&"é".repeat(2_000_000), 5).chars().count(), 6);
    }
}
