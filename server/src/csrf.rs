//! Cross-site request refusal for state-changing requests (a CSRF defence that needs no token).
//!
//! A POST, PUT, PATCH or DELETE must come from Tessera's own pages: its `Origin` header must be
//! the public URL's origin, or — when a browser sends no `Origin`, or `Origin: null` —
//! `Sec-Fetch-Site` must be `same-origin`. (Under `Referrer-Policy: no-referrer`, which every
//! page carries, browsers send `Origin: null` with plain HTML form POSTs, e.g. the setup page's
//! forms; `Sec-Fetch-Site` is set by the browser alone, pages cannot forge it.) Anything else
//! answers 403 `{"error":"cross_site","message":…}`, the API's error wire form (a page's form
//! post included: no page of Tessera's makes such a request), before any handler or session
//! work runs. `/sso/initiate` and `/sso/callback` are exempt: Okta posts there from
//! its own origin by design (third-party initiated login, form_post responses).

use crate::state::AppState;
use app::ssr::api_support::refusal;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// Paths that legitimately receive cross-site POSTs from Okta.
pub const EXEMPT: [&str; 2] = ["/sso/initiate", "/sso/callback"];

/// The origin (`scheme://host[:port]`) of a URL, as browsers send it in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let origin = u.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// May a request with this method, path and these headers proceed?
pub fn allowed(method: &Method, path: &str, headers: &axum::http::HeaderMap, origin: &str) -> bool {
    if !matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) || EXEMPT.contains(&path)
    {
        return true;
    }
    let same_origin_fetch = || {
        headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"same-origin"))
    };
    match headers.get(header::ORIGIN) {
        Some(sent) if sent.as_bytes() == b"null" => same_origin_fetch(),
        Some(sent) => sent
            .to_str()
            .is_ok_and(|s| s.trim_end_matches('/').eq_ignore_ascii_case(origin)),
        None => same_origin_fetch(),
    }
}

/// The most characters of a request's path or `Origin` a refusal logs.
const LOGGED_CHARS: usize = 300;

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn same_origin_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = origin_of(&state.config.public_url).unwrap_or_default();
    if allowed(req.method(), req.uri().path(), req.headers(), &origin) {
        return next.run(req).await;
    }
    // Both values come from outside: logged bounded (a header may be kilobytes long).
    let shown = |v: &str| app::validate::bounded(v, LOGGED_CHARS);
    tracing::info!(
        method = %req.method(),
        path = %shown(&app::ssr::setup_links::redact_tokens(req.uri().path())),
        origin = %shown(req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or("-")),
        "refused a cross-site request"
    );
    refusal(
        StatusCode::FORBIDDEN,
        "cross_site",
        "Refused: this request did not come from Tessera's own pages. Reload Tessera and try again from there.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://sso.example.com").as_deref(),
            Some("https://sso.example.com")
        );
        assert_eq!(
            origin_of("https://sso.example.com:443").as_deref(),
            Some("https://sso.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
    }

    #[test]
    fn state_changes_need_our_origin() {
        let o = "https://sso.example.com";
        let post = Method::POST;
        assert!(allowed(&Method::GET, "/api/v1/members", &headers(&[]), o));
        assert!(allowed(
            &post,
            "/logout",
            &headers(&[("origin", "https://sso.example.com")]),
            o
        ));
        assert!(!allowed(
            &post,
            "/logout",
            &headers(&[("origin", "https://evil.example")]),
            o
        ));
        assert!(!allowed(
            &post,
            "/logout",
            &headers(&[("origin", "null")]),
            o
        ));
        assert!(!allowed(&post, "/logout", &headers(&[]), o));
        assert!(allowed(
            &post,
            "/logout",
            &headers(&[("sec-fetch-site", "same-origin")]),
            o
        ));
        assert!(!allowed(
            &post,
            "/logout",
            &headers(&[("sec-fetch-site", "same-site")]),
            o
        ));
        assert!(!allowed(
            &post,
            "/logout",
            &headers(&[("sec-fetch-site", "cross-site")]),
            o
        ));
        // An Origin header wins over Sec-Fetch-Site.
        assert!(!allowed(
            &post,
            "/logout",
            &headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            o
        ));
        // A form POST under `Referrer-Policy: no-referrer` sends `Origin: null`: the browser's
        // own Sec-Fetch-Site decides.
        assert!(allowed(
            &post,
            "/setup/x/save",
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            o
        ));
        for site in ["cross-site", "same-site", "none"] {
            assert!(!allowed(
                &post,
                "/setup/x/save",
                &headers(&[("origin", "null"), ("sec-fetch-site", site)]),
                o
            ));
        }
        assert!(!allowed(&Method::DELETE, "/api/v1/x", &headers(&[]), o));
        assert!(allowed(
            &post,
            "/sso/initiate",
            &headers(&[("origin", "https://acme.okta.com")]),
            o
        ));
        assert!(allowed(&post, "/sso/callback", &headers(&[]), o));
        assert!(!allowed(&post, "/sso/initiate/x", &headers(&[]), o));
    }
}
