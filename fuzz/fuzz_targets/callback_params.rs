//! Callback-side parsing: org slugs, issuers from `iss`, and return targets from arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(slug) = app::validate::slug(s) {
        assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    }
    if let Ok(issuer) = app::ssr::issuer::normalize(s, true) {
        assert!(issuer.starts_with("https://") || issuer.starts_with("http://"));
        assert!(!issuer.ends_with('/'));
    }
    let _ = app::ssr::issuer::from_okta_domain(s);
    if let Some(t) = tessera::sso::same_origin_target("https://sso.example.com", s) {
        assert!(t.starts_with('/') && !t.starts_with("//"), "{t}");
    }
});
