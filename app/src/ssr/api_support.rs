//! What every server function of the JSON API ([`crate::api`]) starts with: the store, the
//! signed-in active member and org, and the mapping of errors to HTTP statuses.

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
}
