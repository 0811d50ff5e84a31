//! Okta's security signals over HTTP: the Universal Logout endpoint
//! (`POST /oauth/global-token-revocation`, draft-parecki-oauth-global-token-revocation) and the
//! Shared Signals push receiver (`POST /ssf/events`, RFC 8935). HTTP <-> domain only: the
//! checks and effects are `app::ssr::signals`'.
//!
//! Okta calls both server to server, without cookies or an `Origin` header: they sit outside
//! the browser stack (no session, no CSRF check) with their own bounds: a body of at most
//! [`MAX_SIGNAL_BODY_BYTES`] arriving within [`crate::limits::BODY_WITHIN`]. Their answers
//! never depend on whether a member exists unless the JWT proved it comes from the org's Okta.

use crate::limits::{BodyRead, refused_head};
use crate::state::AppState;
use app::ssr::PublicUrl;
use app::ssr::signals::{self, LogoutError, SetError};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

/// Largest Universal Logout body or SET accepted, in bytes.
pub const MAX_SIGNAL_BODY_BYTES: usize = 32 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(signals::LOGOUT_PATH, post(universal_logout))
        .route(signals::SSF_PATH, post(receive_set))
}

/// The body, or the answer refusing it (`refuse` makes that answer from a status and a
/// sentence).
async fn body_of(
    req: Request,
    refuse: impl Fn(u16, &str) -> Response,
) -> Result<(HeaderMap, Vec<u8>), Response> {
    if let Some((status, why)) = refused_head(&req, MAX_SIGNAL_BODY_BYTES) {
        return Err(refuse(status, why));
    }
    let (parts, body) = req.into_parts();
    match crate::limits::read_body(body, MAX_SIGNAL_BODY_BYTES).await {
        BodyRead::Whole(bytes) => Ok((parts.headers, bytes.to_vec())),
        BodyRead::TooLarge => Err(refuse(413, "The request body is too large.")),
        BodyRead::TooSlow => Err(refuse(408, "The request body took too long to arrive.")),
        BodyRead::Broken => Err(refuse(400, "The request body could not be read.")),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

// ---- Universal Logout ----------------------------------------------------------------------------

/// An error of the Universal Logout endpoint: `{"error", "error_description"}` (OAuth's shape);
/// 401 also carries `WWW-Authenticate: Bearer`.
fn logout_error(code: u16, error: &str, description: &str) -> Response {
    let mut resp = (
        status(code),
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    if code == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    resp
}

/// `POST /oauth/global-token-revocation`: 204 when the member's sessions ended; 400, 401,
/// 403, 404, 422 as [`LogoutError`] says.
async fn universal_logout(State(state): State<AppState>, req: Request) -> Response {
    let resp = match body_of(req, |code, why| logout_error(code, "invalid_request", why)).await {
        Ok((headers, body)) => logout(&state, &headers, &body).await,
        Err(refused) => refused,
    };
    state
        .metrics
        .security_signal("universal_logout", resp.status());
    resp
}

async fn logout(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        });
    let public_url = PublicUrl(state.config.public_url.clone());
    match signals::universal_logout(&state.store, state.oidc.as_ref(), &public_url, bearer, body)
        .await
    {
        Ok(done) => {
            tracing::info!(org = %done.org.slug, member = %done.member.id, sessions = done.sessions_ended, "Universal Logout: Okta signed a member out");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e @ LogoutError::NoToken) => {
            let mut resp = logout_error(401, "invalid_token", &e.to_string());
            // RFC 6750 §3.1: a request without credentials gets a challenge without an error.
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            resp
        }
        Err(LogoutError::Unauthorized(why)) => logout_error(401, "invalid_token", &why),
        Err(LogoutError::BadRequest(why)) => logout_error(400, "invalid_request", &why),
        Err(e @ LogoutError::Disabled) => logout_error(403, "access_denied", &e.to_string()),
        Err(e @ LogoutError::NoSuchMember) => logout_error(404, "not_found", &e.to_string()),
        Err(LogoutError::Unprocessable(why)) => logout_error(422, "unprocessable", &why),
        Err(LogoutError::Store(e)) => {
            let (code, reason) = store_failed(&e);
            logout_error(
                code,
                reason,
                "The request could not be processed now; retry later.",
            )
        }
    }
}

// ---- Shared Signals ------------------------------------------------------------------------------

/// An RFC 8935 §2.3 error: `{"err", "description"}`.
fn set_error(code: u16, err: &str, description: &str) -> Response {
    (
        status(code),
        axum::Json(json!({"err": err, "description": description})),
    )
        .into_response()
}

/// `POST /ssf/events`: 202 Accepted for a SET taken (whatever it asked); 400 with RFC 8935's
/// `err` for one refused; 415 for a body that is not `application/secevent+jwt`.
async fn receive_set(State(state): State<AppState>, req: Request) -> Response {
    let resp = match body_of(req, |code, why| set_error(code, "invalid_request", why)).await {
        Ok((headers, body)) => set(&state, &headers, &body).await,
        Err(refused) => refused,
    };
    state
        .metrics
        .security_signal("shared_signals", resp.status());
    resp
}

async fn set(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    let media = crate::limits::media_type(headers);
    if media.as_deref() != Some("application/secevent+jwt") {
        return set_error(
            415,
            "invalid_request",
            "Send the SET as Content-Type: application/secevent+jwt (RFC 8935).",
        );
    }
    let public_url = PublicUrl(state.config.public_url.clone());
    match signals::receive_set(&state.store, state.oidc.as_ref(), &public_url, body).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(SetError::Store(e)) => {
            let (code, _) = store_failed(&e);
            set_error(
                code,
                "invalid_request",
                "The SET could not be processed now; retry later.",
            )
        }
        Err(e) => {
            let err = e.code().unwrap_or("invalid_request");
            tracing::info!(err, why = %e, "Shared Signals: SET refused");
            set_error(400, err, &e.to_string())
        }
    }
}

/// The status of a store failure (503 when the database is out, 400 for a value it refuses),
/// logged.
fn store_failed(e: &app::ssr::store::StoreError) -> (u16, &'static str) {
    let (status, reason) = crate::pages::store_failure_status(e);
    if status.is_server_error() {
        tracing::error!(error = %e, "a security signal could not be processed: the database failed");
    }
    (status.as_u16(), reason)
}
