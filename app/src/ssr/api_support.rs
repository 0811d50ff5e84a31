//! What every server function of the JSON API ([`crate::api`]) starts with: the store, the
//! signed-in active member and org, and the mapping of errors to HTTP statuses.
//!
//! It is also the one place an error becomes JSON: store and domain errors become an
//! [`ApiError`] here (`From`), an [`ApiError`] becomes an HTTP answer here
//! ([`IntoResponse`](axum::response::IntoResponse), for axum handlers outside the server
//! functions), and the request guards in front of the API answer in the same wire form with
//! [`refusal`].

use super::PublicUrl;
use super::auth;
use super::crypto::SecretKey;
use super::membership::DomainError;
use super::outbound::Outbound;
use super::store::{Store, StoreError};
use crate::api::types::{ApiError, Me};
use crate::model::{Member, Org};
use leptos::prelude::use_context;

/// A signed-in request: the server's store, key, public URL and outbound client, and the active member with
/// their org.
pub struct Ctx {
    pub store: Store,
    pub key: SecretKey,
    pub public_url: PublicUrl,
    /// The one client for requests to IdPs (connection checks).
    pub outbound: Outbound,
    pub session: tower_sessions::Session,
    pub me: Member,
    pub org: Org,
}

/// Resolves the signed-in member; 401 when there is none or they are no longer active.
///
/// The server's context values are all read before the first await: they live with the
/// request's reactive owner, which a server function called during rendering may outlive.
pub async fn signed_in() -> Result<Ctx, ApiError> {
    let store = provided::<Store>("store")?;
    let key = provided::<SecretKey>("secret key")?;
    let public_url = provided::<PublicUrl>("public URL")?;
    let outbound = provided::<Outbound>("outbound client")?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer in front of server functions");
        ApiError::Internal
    })?;
    // The same rules as every page: absolute expiry, deactivated or removed members.
    let Some((me, org)) = auth::signed_in_member(&session, &store).await? else {
        return Err(ApiError::Unauthenticated);
    };
    Ok(Ctx {
        store,
        key,
        public_url,
        outbound,
        session,
        me,
        org,
    })
}

/// The signed-in, active member and their org (`GET /api/v1/me`, the layout's `whoami`), or
/// `None` when nobody is signed in. Only the store and the session are needed.
pub async fn me() -> Result<Option<Me>, ApiError> {
    let store = provided::<Store>("store")?;
    let session: tower_sessions::Session = leptos_axum::extract().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer in front of server functions");
        ApiError::Internal
    })?;
    Ok(auth::signed_in_member(&session, &store)
        .await?
        .map(|(member, org)| Me { member, org }))
}

/// True when the current request is a call of the server function at `path` itself, not a
/// page rendering that calls it: only then does its answer's status belong to it.
pub fn answering(path: &str) -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .is_some_and(|parts| parts.uri.path() == path)
}

/// A value the server provides to server functions (see `server/src/http.rs`).
fn provided<T: Clone + Send + Sync + 'static>(what: &str) -> Result<T, ApiError> {
    use_context::<T>().ok_or_else(|| {
        tracing::error!("the {what} is not provided to server functions");
        ApiError::Internal
    })
}

/// Sets the HTTP status of the response to the one `e` answers with.
pub fn set_status(e: &ApiError) {
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(e.status())
    {
        resp.set_status(status);
    }
}

/// Sets `Retry-After` (whole seconds) on the response of the current server function.
fn set_retry_after(retry_after_ms: i64) {
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(v) =
            axum::http::HeaderValue::from_str(&((retry_after_ms + 999) / 1000).to_string())
    {
        resp.insert_header(axum::http::header::RETRY_AFTER, v);
    }
}

/// The last step of every server function: an error sets its HTTP status.
pub fn finish<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &result {
        set_status(e);
    }
    result
}

/// A 1-based page number; absent or empty means 1.
pub fn parse_page(page: Option<&str>) -> Result<u32, ApiError> {
    match page.map(str::trim).unwrap_or("") {
        "" => Ok(1),
        p => p
            .parse::<u32>()
            .ok()
            .filter(|&n| (1..=1_000_000).contains(&n))
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "page must be a number from 1, not {}.",
                    crate::validate::quoted(p)
                ))
            }),
    }
}

/// The members list's `role` and `status` filters: empty or absent is any; anything but a role
/// or a status is refused, quoted bounded.
pub fn parse_filter(
    role: Option<&str>,
    status: Option<&str>,
) -> Result<crate::ssr::store::MemberFilter, ApiError> {
    use crate::model::{MemberStatus, Role};
    let role = match role.map(str::trim).unwrap_or("") {
        "" => None,
        r => Some(Role::parse(r).ok_or_else(|| {
            ApiError::Invalid(format!(
                "role must be owner, admin or member, not {}.",
                crate::validate::quoted(r)
            ))
        })?),
    };
    let status = match status.map(str::trim).unwrap_or("") {
        "" => None,
        s => Some(MemberStatus::parse(s).ok_or_else(|| {
            ApiError::Invalid(format!(
                "status must be active or deactivated, not {}.",
                crate::validate::quoted(s)
            ))
        })?),
    };
    Ok(crate::ssr::store::MemberFilter { role, status })
}

/// An [`ApiError`] as an axum answer: its status and its wire form
/// `{"error": code, "message": sentence}`, as the server functions answer it.
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

/// A refusal by a guard in front of any handler, in [`ApiError`]'s wire form
/// `{"error": code, "message": sentence}`, for codes that only those guards answer with
/// (`cross_site`, `too_large`, `uri_too_long`, `headers_too_large`, `request_timeout`,
/// `method_not_allowed`, and `not_found` for an unknown endpoint; see README, "Admin JSON API").
pub fn refusal(
    status: axum::http::StatusCode,
    code: &str,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        status,
        axum::Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}

/// The one mapping of store failures to API errors: unavailable (unreachable, busy, locked,
/// full) 503, a value the database refuses 400, anything else 500.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::Unavailable
        } else if e.is_bad_input() {
            tracing::info!(error = %e, "the database refused a value of the request");
            ApiError::Invalid(
                "A value in this request cannot be stored (for example it contains a NUL character): correct it and try again."
                    .into(),
            )
        } else {
            tracing::error!(error = %e, "store error");
            ApiError::Internal
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => ApiError::NotFound,
            DomainError::Forbidden(m) => ApiError::Forbidden(m),
            DomainError::Invalid(m) => ApiError::Invalid(m),
            DomainError::Conflict(m) => ApiError::Conflict(m),
            DomainError::ConnectionTestFailed(r) => ApiError::ConnectionTestFailed(r),
            DomainError::RateLimited { retry_after_ms } => {
                set_retry_after(retry_after_ms);
                ApiError::RateLimited(super::rate_limit::limited_message(retry_after_ms))
            }
            DomainError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(parse_page(None).unwrap(), 1);
        assert_eq!(parse_page(Some("")).unwrap(), 1);
        assert_eq!(parse_page(Some("3")).unwrap(), 3);
        assert!(parse_page(Some("0")).is_err());
        assert!(parse_page(Some("-1")).is_err());
        assert!(parse_page(Some("x")).is_err());
    }

    async fn answer(resp: axum::response::Response) -> (u16, serde_json::Value) {
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn errors_answer_in_one_wire_form() {
        use axum::response::IntoResponse as _;
        let (status, body) = answer(ApiError::Unavailable.into_response()).await;
        assert_eq!(status, 503);
        assert_eq!(body["error"], "unavailable");
        assert_eq!(body["message"], ApiError::Unavailable.message());
        let (status, body) =
            answer(ApiError::from(StoreError::Unavailable("gone".into())).into_response()).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")));
        let (status, body) = answer(refusal(
            axum::http::StatusCode::FORBIDDEN,
            "cross_site",
            "Refused.",
        ))
        .await;
        assert_eq!(status, 403);
        assert_eq!(
            body,
            serde_json::json!({"error": "cross_site", "message": "Refused."})
        );
        // The browser reads a guard's refusal as an ApiError.
        assert_eq!(
            serde_json::from_value::<ApiError>(body).unwrap(),
            ApiError::Forbidden("Refused.".into())
        );
    }
}
