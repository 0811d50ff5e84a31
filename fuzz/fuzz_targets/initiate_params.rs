//! Third-party initiated login parameters (query string or form body) from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::sso::{InitiateRequest, parse_initiate};

fuzz_target!(|data: &[u8]| {
    if let InitiateRequest::Login { issuer, target, .. } = parse_initiate(data, "https://sso.example.com") {
        // A normalized issuer is stable under normalization, and targets stay on our origin.
        assert_eq!(app::ssr::issuer::normalize(&issuer, true).as_deref(), Ok(issuer.as_str()));
        if let Some(t) = target {
            assert!(t.starts_with('/') && !t.starts_with("//"), "{t}");
        }
    }
});
