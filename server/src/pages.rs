//! Plain server-rendered pages for the sign-in flow: errors with a reason code and advice.
//! They need no WASM, so they work in any browser state.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A full HTML page around `body` (already escaped HTML).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_in(status, title, "page narrow", body)
}

/// Like [`page`], with `main_class` on `<main>` (e.g. `page` for a wider page).
pub fn page_in(status: StatusCode, title: &str, main_class: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Tessera</title><link rel=\"stylesheet\" href=\"/pkg/tessera.css\"></head>\
         <body><main class=\"{main_class}\"><p class=\"brand\">Tessera</p>{body}</main></body></html>",
        title = escape(title),
        main_class = escape(main_class),
    );
    let mut resp = (status, html).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An error page: a heading, what happened, what the person can do, and the reason code.
pub fn problem(
    status: StatusCode,
    reason: &str,
    title: &str,
    what: &str,
    advice: &str,
    retry: Option<&str>,
) -> Response {
    let retry = retry
        .map(|href| {
            format!(
                "<p><a class=\"button\" href=\"{}\">Sign in again</a></p>",
                escape(href)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<section class=\"card problem\" data-reason=\"{reason}\"><h1>{title}</h1><p>{what}</p>\
         <p class=\"advice\">{advice}</p>{retry}<p class=\"muted\">Reason code: <span class=\"code\">{reason}</span></p></section>",
        reason = escape(reason),
        title = escape(title),
        what = escape(what),
        advice = escape(advice),
    );
    page(status, title, &body)
}

/// How a page answers a store failure: the status and reason code. The one mapping for pages
/// (the JSON API's is `From<StoreError> for ApiError` in `app::ssr::api_support`): the database
/// unreachable, busy, locked or full is `503 service_unavailable`; a value it refuses (a NUL
/// character on PostgreSQL) is bad input, `400 bad_request`; anything else `500 internal_error`.
pub fn store_failure_status(e: &app::ssr::store::StoreError) -> (StatusCode, &'static str) {
    if e.is_unavailable() {
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
    } else if e.is_bad_input() {
        (StatusCode::BAD_REQUEST, "bad_request")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    }
}
