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

/// Longest `who` filter of the audit log, in characters.
pub const MAX_AUDIT_WHO: usize = 200;

/// The audit log's filters, from the log's query (`/api/v1/audit`, `/audit`, the export):
/// `who` (a substring of the actor's email or label, at most [`MAX_AUDIT_WHO`] characters),
/// `action` (one of [`AuditAction`]'s codes), `from` and `to` (UTC days `YYYY-MM-DD`, both
/// included). Empty or absent means any; anything else is refused, quoted bounded.
///
/// [`AuditAction`]: crate::api::audit_text::AuditAction
pub fn parse_audit_filter(
    who: Option<&str>,
    action: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<crate::ssr::store::AuditFilter, ApiError> {
    use crate::api::audit_text::AuditAction;
    use crate::time_text::parse_day;
    use crate::validate::quoted;
    let who = who.map(str::trim).unwrap_or("");
    if who.chars().count() > MAX_AUDIT_WHO {
        return Err(ApiError::Invalid(format!(
            "who is too long: search at most {MAX_AUDIT_WHO} characters of an email (or \"operator\", \"Okta\", \"setup link\")."
        )));
    }
    if who.chars().any(char::is_control) {
        return Err(ApiError::Invalid(
            "who must not contain control characters.".into(),
        ));
    }
    let action = match action.map(str::trim).unwrap_or("") {
        "" => None,
        a => Some(
            AuditAction::parse(a)
                .ok_or_else(|| {
                    ApiError::Invalid(format!(
                        "action must be one of the audit log's actions (such as role_changed or sso_disabled; README, \"Audit log\"), not {}.",
                        quoted(a)
                    ))
                })?
                .code()
                .to_string(),
        ),
    };
    let day = |name: &str, value: Option<&str>| match value.map(str::trim).unwrap_or("") {
        "" => Ok(None),
        d => parse_day(d).map(Some).ok_or_else(|| {
            ApiError::Invalid(format!(
                "{name} must be a day as YYYY-MM-DD (UTC, 1970 to 9999), not {}.",
                quoted(d)
            ))
        }),
    };
    let from_ms = day("from", from)?;
    let to_ms = day("to", to)?;
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f > t
    {
        return Err(ApiError::Invalid(
            "from is after to: give the earlier day as from.".into(),
        ));
    }
    Ok(crate::ssr::store::AuditFilter {
        actor: (!who.is_empty()).then(|| who.to_string()),
        action,
        from_ms,
        // `to` includes its whole day.
        until_ms: to_ms.map(|t| t + 86_400_000),
    })
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
/// full, a transaction rolled back to settle a race) 503, a value the database refuses 400,
/// what the request names deleted meanwhile 404, anything else 500.
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
        } else if e.is_gone() {
            tracing::info!(error = %e, "what the request names was deleted meanwhile");
            ApiError::NotFound
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
            DomainError::Conflict(m) | DomainError::Taken(m) => ApiError::Conflict(m),
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

    #[test]
    fn audit_filters() {
        use crate::ssr::store::AuditFilter;
        assert_eq!(
            parse_audit_filter(None, None, None, None).unwrap(),
            AuditFilter::default()
        );
        assert_eq!(
            parse_audit_filter(
                Some(" alice "),
                Some("role_changed"),
                Some("2026-11-01"),
                Some("2026-11-01")
            )
            .unwrap(),
            AuditFilter {
                actor: Some("alice".into()),
                action: Some("role_changed".into()),
                from_ms: Some(1_793_491_200_000),
                until_ms: Some(1_793_491_200_000 + 86_400_000),
            }
        );
        let refused = |e: ApiError| match e {
            ApiError::Invalid(m) => m,
            other => panic!("{other:?}"),
        };
        let long = "x".repeat(201);
        let m = refused(parse_audit_filter(Some(&long), None, None, None).unwrap_err());
        assert!(!m.contains(&long[..150]), "{m}");
        assert!(parse_audit_filter(Some(&"x".repeat(200)), None, None, None).is_ok());
        refused(parse_audit_filter(Some("a\tb"), None, None, None).unwrap_err());
        let m =
            refused(parse_audit_filter(None, Some(&"y".repeat(10_000)), None, None).unwrap_err());
        assert!(m.len() < 400, "{m}");
        refused(parse_audit_filter(None, Some("Role_Changed"), None, None).unwrap_err());
        refused(parse_audit_filter(None, None, Some("2026-02-30"), None).unwrap_err());
        refused(parse_audit_filter(None, None, None, Some("yesterday")).unwrap_err());
        refused(
            parse_audit_filter(None, None, Some("2026-11-02"), Some("2026-11-01")).unwrap_err(),
        );
        // One day: from and to the same day.
        let f = parse_audit_filter(None, None, Some(""), Some("1970-01-01")).unwrap();
        assert_eq!((f.from_ms, f.until_ms), (None, Some(86_400_000)));
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
