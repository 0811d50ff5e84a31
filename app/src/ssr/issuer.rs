//! Issuer URLs: parsing, the https rule, and the two forms Tessera keeps.
//!
//! - The **published** form ([`published`]) is the issuer as the IdP names itself (as entered,
//!   or as its discovery document states it), trailing slash included: OpenID Connect compares
//!   issuers as exact strings (Discovery 1.0 §4.3, Core §3.1.3.7), so this is the form used for
//!   requests and comparisons.
//! - The **key** ([`key`], the same as [`normalize`]) drops what does not tell two issuers apart
//!   (scheme and host case, the default port, trailing slashes): used only to find an org by
//!   issuer and to keep one issuer to one org (`sso_connections.issuer_key`).

use url::Url;

/// The longest issuer accepted, in characters (Okta's are under 100).
pub const MAX_ISSUER_CHARS: usize = 512;

/// Normalizes an issuer URL into its lookup key: lowercase scheme and host, default port
/// dropped, no trailing slash. Refuses query strings, fragments, credentials, control
/// characters, more than [`MAX_ISSUER_CHARS`] characters and (unless `allow_http`) plain http.
pub fn normalize(input: &str, allow_http: bool) -> Result<String, String> {
    let url = parse(input, allow_http)?;
    let mut out = url.as_str().to_string();
    while out.ends_with('/') {
        out.pop();
    }
    Ok(out)
}

/// The issuer as published: validated like [`normalize`], scheme and host lowercased and the
/// default port dropped, and a path kept exactly as given (`https://idp.example/o/ts/` keeps
/// its slash). A bare origin is written without one (`https://acme.okta.com`, as Okta names
/// its org issuers); an IdP naming itself `https://idp.example/` still signs in, since
/// discovery matches issuers by [`key`] and then uses the form the IdP states.
pub fn published(input: &str, allow_http: bool) -> Result<String, String> {
    let url = parse(input, allow_http)?;
    let mut out = url.as_str().to_string();
    if url.path() == "/" {
        out.pop();
    }
    Ok(out)
}

/// The lookup key of an issuer already stored or published (see the module docs). Never
/// fails: a value that is not a valid issuer keys to itself without trailing slashes.
pub fn key(issuer: &str) -> String {
    normalize(issuer, true).unwrap_or_else(|_| issuer.trim().trim_end_matches('/').to_string())
}

/// True when `a` and `b` name the same issuer up to case of scheme and host, default port and
/// trailing slashes.
pub fn same_key(a: &str, b: &str) -> bool {
    key(a) == key(b)
}

fn parse(input: &str, allow_http: bool) -> Result<Url, String> {
    let input = input.trim();
    if input.chars().count() > MAX_ISSUER_CHARS {
        return Err(format!(
            "invalid issuer URL: longer than {MAX_ISSUER_CHARS} characters"
        ));
    }
    if input.chars().any(char::is_control) {
        return Err("invalid issuer URL: it contains control characters".to_string());
    }
    let url = Url::parse(input).map_err(|e| format!("invalid issuer URL {input:?}: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(format!(
                "issuer {input:?} is not https: Okta issuers are https; pass --allow-http-issuers (TESSERA_ALLOW_HTTP_ISSUERS=true) only for a local development IdP"
            ));
        }
        other => {
            return Err(format!(
                "invalid issuer URL {input:?}: scheme {other:?} is not https"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("invalid issuer URL {input:?}: it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "invalid issuer URL {input:?}: it must not contain credentials"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "invalid issuer URL {input:?}: it must not have a query or fragment"
        ));
    }
    Ok(url)
}

/// Turns an Okta domain (`acme.okta.com`, optionally with `https://`) into its org issuer.
pub fn from_okta_domain(input: &str) -> Result<String, String> {
    let domain = input.trim();
    let bare = domain
        .strip_prefix("https://")
        .unwrap_or(domain)
        .trim_end_matches('/');
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let labels: Vec<&str> = bare.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| valid_label(l)) || bare.len() > 253 {
        return Err(format!(
            "invalid Okta domain {domain:?}: expected a host name such as acme.okta.com"
        ));
    }
    normalize(&format!("https://{bare}"), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_slash_and_port() {
        assert_eq!(
            normalize("HTTPS://Acme.Okta.com/", false).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            normalize("https://acme.okta.com:443", false).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            normalize("https://acme.okta.com/oauth2/default/", false).unwrap(),
            "https://acme.okta.com/oauth2/default"
        );
        assert_eq!(
            normalize("http://127.0.0.1:4000/", true).unwrap(),
            "http://127.0.0.1:4000"
        );
    }

    #[test]
    fn published_keeps_the_path_and_keys_drop_the_slash() {
        assert_eq!(
            published("https://IDP.example/o/ts/", false).unwrap(),
            "https://idp.example/o/ts/"
        );
        assert_eq!(
            published("https://idp.example/o/ts", false).unwrap(),
            "https://idp.example/o/ts"
        );
        assert_eq!(
            published(" https://Acme.okta.com:443 ", false).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            published("https://acme.okta.com/", false).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            published("https://idp.example//", false).unwrap(),
            "https://idp.example//"
        );
        assert_eq!(key("https://idp.example/o/ts/"), "https://idp.example/o/ts");
        assert!(same_key(
            "https://IDP.example:443/o/ts/",
            "https://idp.example/o/ts"
        ));
        assert!(!same_key(
            "https://idp.example/o/ts",
            "https://idp.example/o/t"
        ));
    }

    #[test]
    fn refuses_bad_issuers() {
        assert!(normalize("https://a.example/\u{0}", true).is_err());
        assert!(normalize(&format!("https://a.example/{}", "x".repeat(600)), true).is_err());
        assert!(normalize("http://127.0.0.1:4000", false).is_err());
        for bad in [
            "not a url",
            "ftp://x.com",
            "https://u:p@x.com",
            "https://x.com/?a=b",
            "https://x.com/#f",
        ] {
            assert!(normalize(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn okta_domains() {
        assert_eq!(
            from_okta_domain("acme.okta.com").unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            from_okta_domain("https://ACME.okta.com/").unwrap(),
            "https://acme.okta.com"
        );
        for bad in [
            "",
            "acme",
            "acme.okta.com/path",
            "http://acme.okta.com",
            "a_b.okta.com",
        ] {
            assert!(from_okta_domain(bad).is_err(), "{bad}");
        }
    }
}
