//! The server's own pages as HTTP responses: the problem pages of the sign-in flow, the setup
//! link and the request guards, and the one mapping of store failures to a page. The views are
//! Leptos components (`app::pages::problem`, `app::pages::setup`) rendered here into whole
//! documents; they need no WASM, so they work in any browser state.

use app::pages::problem::{Problem, WayOn};
use app::ssr::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A whole HTML document as the answer: `status`, `text/html`, `Cache-Control: no-store`.
pub fn html(status: StatusCode, document: String) -> Response {
    let mut resp = (status, document).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A problem page as the answer.
pub fn problem_page(status: StatusCode, problem: Problem) -> Response {
    html(status, problem.to_document())
}

/// An error page: a heading, what happened, what the person can do, and the reason code;
/// `retry` adds a "Sign in again" button to that path.
pub fn problem(
    status: StatusCode,
    reason: &str,
    title: &str,
    what: &str,
    advice: &str,
    retry: Option<&str>,
) -> Response {
    problem_page(
        status,
        Problem {
            reason: reason.to_string(),
            title: title.to_string(),
            what: what.to_string(),
            advice: advice.to_string(),
            way_on: retry.map(WayOn::sign_in_again),
        },
    )
}

/// How a page answers a store failure: the status and reason code. The database unreachable,
/// busy, locked or full is `503 service_unavailable`; a value it refuses (a NUL character on
/// PostgreSQL) is bad input, `400 bad_request`; what the request names deleted meanwhile (an
/// org deleted during the sign-in) `404 not_found`; anything else `500 internal_error`. (The JSON
/// API's mapping is `From<StoreError> for ApiError` in `app::ssr::api_support`.)
pub fn store_failure_status(e: &StoreError) -> (StatusCode, &'static str) {
    if e.is_unavailable() {
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
    } else if e.is_bad_input() {
        (StatusCode::BAD_REQUEST, "bad_request")
    } else if e.is_gone() {
        (StatusCode::NOT_FOUND, "not_found")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    }
}

/// Who reads a page about a store failure, for its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Someone signing in or signed in: the service operator helps; "Sign in again" leads on.
    SignIn,
    /// An Okta administrator on a setup link: their Tessera contact helps; nothing changed.
    SetupLink,
}

/// What a page says about a store failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreProblem {
    pub status: StatusCode,
    /// `service_unavailable`, `bad_request`, `not_found` or `internal_error`
    /// ([`store_failure_status`]).
    pub reason: &'static str,
    pub title: &'static str,
    pub what: &'static str,
    pub advice: &'static str,
    /// Where "Sign in again" leads, if anywhere.
    pub retry: Option<&'static str>,
}

impl StoreProblem {
    /// The problem page of this failure.
    pub fn page(&self) -> Response {
        problem(
            self.status,
            self.reason,
            self.title,
            self.what,
            self.advice,
            self.retry,
        )
    }
}

/// The one mapping of a store failure to what a page says (logged here, once).
pub fn store_problem(e: &StoreError, reader: Reader) -> StoreProblem {
    let (status, reason) = store_failure_status(e);
    let unavailable = status == StatusCode::SERVICE_UNAVAILABLE;
    let bad_input = status == StatusCode::BAD_REQUEST;
    let gone = status == StatusCode::NOT_FOUND;
    if bad_input || gone {
        tracing::info!(error = %e, "a store failure caused by the request (refused or deleted meanwhile)");
    } else {
        tracing::error!(error = %e, unavailable, "store failure behind a page");
    }
    let (title, what, advice, retry) = match (reader, unavailable, bad_input) {
        (Reader::SignIn, _, _) if gone => (
            "This organization no longer exists",
            "The organization this sign-in was for was deleted while it was under way.",
            "If you expected to sign in to it, ask your administrator.",
            Some("/login"),
        ),
        (Reader::SetupLink, _, _) if gone => (
            "This organization no longer exists",
            "The organization of this setup link was deleted meanwhile; nothing was changed.",
            "Ask your Tessera contact for a new setup link.",
            None,
        ),
        (Reader::SignIn, true, _) => (
            "Tessera is temporarily unavailable",
            "Tessera cannot reach its database right now.",
            "Wait a moment and try again. If this persists, contact the service operator.",
            Some("/login"),
        ),
        (Reader::SignIn, false, true) => (
            "This sign-in could not be completed",
            "The sign-in carried a value Tessera cannot accept (for example a control character).",
            "Start again from the Tessera tile in your Okta dashboard.",
            Some("/login"),
        ),
        (Reader::SignIn, false, false) => (
            "Something went wrong",
            "Tessera could not complete the sign-in.",
            "Try again. If this persists, contact the service operator.",
            Some("/login"),
        ),
        (Reader::SetupLink, true, _) => (
            "Tessera is temporarily unavailable",
            "Tessera cannot reach its database right now; nothing was changed.",
            "Wait a moment and try again. If this persists, contact your Tessera contact.",
            None,
        ),
        (Reader::SetupLink, false, true) => (
            "This step could not be completed",
            "The form carried a value Tessera cannot accept (for example a control character); nothing was changed.",
            "Go back, paste the values from Okta again and try again.",
            None,
        ),
        (Reader::SetupLink, false, false) => (
            "Something went wrong",
            "Tessera could not complete this step.",
            "Try again. If this persists, contact your Tessera contact.",
            None,
        ),
    };
    StoreProblem {
        status,
        reason,
        title,
        what,
        advice,
        retry,
    }
}

/// The problem page of a store failure, for `reader`.
pub fn store_failure_page(e: &StoreError, reader: Reader) -> Response {
    store_problem(e, reader).page()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_map_to_one_status_each() {
        let unavailable = StoreError::Unavailable("pool timed out".into());
        let p = store_problem(&unavailable, Reader::SignIn);
        assert_eq!(
            (p.status, p.reason, p.retry),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                Some("/login")
            )
        );
        let p = store_problem(&unavailable, Reader::SetupLink);
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(p.what.contains("nothing was changed"));
        assert_eq!(p.retry, None);
    }

    #[test]
    fn problem_pages_are_html_and_not_stored() {
        let r = problem(
            StatusCode::GONE,
            "setup_link_invalid",
            "Gone",
            "What",
            "Advice",
            Some("/login"),
        );
        assert_eq!(r.status(), StatusCode::GONE);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/html; charset=utf-8"
        );
        assert_eq!(r.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
    }
}
