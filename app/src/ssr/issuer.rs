//! Issuer URLs: parsing, normalization and the https rule.

use url::Url;

/// Normalizes an issuer URL: lowercase scheme and host, default port dropped, no trailing slash.
/// Refuses query strings, fragments, credentials and (unless `allow_http`) plain http.
pub fn normalize(input: &str, allow_http: bool) -> Result<String, String> {
    let input = input.trim();
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
    let mut out = url.as_str().to_string();
    while out.ends_with('/') {
        out.pop();
    }
    Ok(out)
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
    fn refuses_bad_issuers() {
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
