//! The admin JSON API: shared types (usable in the browser) and the Leptos server functions
//! behind the stable endpoints `/api/v1/...` (see README.md, "Admin JSON API").
//!
//! Every call resolves the signed-in, active member from the session (401 otherwise) and is
//! scoped to that member's org: an id from another org answers 404. Rules live in
//! [`crate::ssr::membership`] and the matrix in [`permissions`].

pub mod advice;
pub mod permissions;

use crate::model::{Member, MemberStatus, Org, Role};
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json, JsonEncoding};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Members and audit entries per page.
pub const PER_PAGE: u32 = 50;

// ---- shared types ----------------------------------------------------------------------------

/// A member as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: MemberStatus,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            id: m.id,
            email: m.email,
            name: m.name,
            role: m.role,
            status: m.status,
            created_at: m.created_at,
            last_login_at: m.last_login_at,
        }
    }
}

impl permissions::Party for MemberView {
    fn party_id(&self) -> &str {
        &self.id
    }
    fn party_role(&self) -> Role {
        self.role
    }
    fn party_status(&self) -> MemberStatus {
        self.status
    }
}

/// Members of an org by status and by role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCounts {
    pub active: i64,
    pub deactivated: i64,
    pub owner: i64,
    pub admin: i64,
    pub member: i64,
}

/// `GET /api/v1/members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersPage {
    pub members: Vec<MemberView>,
    /// Members matching the search.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// The whole org, whatever the search.
    pub counts: MemberCounts,
}

/// `POST /api/v1/members/remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub removed: String,
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub member: Member,
    pub org: Org,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSuccess {
    pub at: i64,
    pub email: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastFailure {
    pub at: i64,
    pub reason: String,
    pub detail: String,
    pub advice: String,
}

/// `GET /api/v1/sso`. Connection fields are `null` until the operator registers one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoView {
    pub configured: bool,
    pub issuer: Option<String>,
    pub okta_domain: Option<String>,
    pub client_id: Option<String>,
    /// `••••` and the last 4 characters of the client secret.
    pub client_secret_hint: Option<String>,
    pub enabled: bool,
    pub jit_enabled: bool,
    pub default_role: Role,
    /// What to paste into Okta: "Initiate login URI".
    pub initiate_login_uri: String,
    /// What to paste into Okta: "Sign-in redirect URIs".
    pub redirect_uri: String,
    pub last_success: Option<LastSuccess>,
    pub last_failure: Option<LastFailure>,
    /// True for the owner: settings and the secret may be changed.
    pub can_edit: bool,
}

/// One step of "Test connection".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCheck {
    /// `discovery`, `issuer`, `signing_keys`, `client_credentials` or `redirect_uri`.
    pub name: String,
    pub ok: bool,
    pub message: String,
    /// What to change, in Okta's or Tessera's words; empty when `ok`.
    pub fix: String,
}

/// The result of "Test connection".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub ok: bool,
    pub checks: Vec<ConnectionCheck>,
}

impl ConnectionReport {
    pub fn check(&self, name: &str) -> Option<&ConnectionCheck> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// One login attempt as shown to owners and admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: i64,
    /// `success` or `failure`.
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    pub email: Option<String>,
    pub subject: Option<String>,
    pub advice: String,
}

/// Attempts of one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub success: i64,
    pub failure: i64,
}

/// `GET /api/v1/login-attempts`: the latest 100 attempts and the last 14 days, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginActivity {
    pub attempts: Vec<AttemptView>,
    pub daily: Vec<DailyCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_email: String,
    /// `role_changed`, `member_deactivated`, `member_reactivated`, `member_removed`,
    /// `ownership_transferred`, `sso_settings_changed`, `client_secret_rotated`,
    /// `sso_connection_tested`, `sso_disabled` (by the operator); setup links: `setup_link_created`, `setup_link_opened`,
    /// `setup_link_test_passed`, `setup_link_test_failed`, `setup_link_saved`,
    /// `setup_link_expired`, `setup_link_revoked`; the operator: `sso_connection_set`,
    /// `members_rekeyed` (and `ownership_transferred` by `tessera org transfer-owner`).
    pub action: String,
    pub target_id: Option<String>,
    pub target_email: String,
    /// Short JSON, e.g. `{"role":"member"}`; empty when not applicable.
    pub before: String,
    pub after: String,
}

/// `GET /api/v1/audit`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

/// `POST /api/v1/sso/setup-link`: a one-time setup link for the caller's org.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkCreated {
    /// `{public_url}/setup/<token>`: shown once, only its hash is stored.
    pub url: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// One setup link as its org's owner sees it (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkView {
    pub id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// `operator (CLI)` or the creating owner's email.
    pub created_by: String,
    /// `open`, `used`, `revoked` (also when its creator is no longer the owner) or `expired`.
    pub state: String,
}

/// `GET /api/v1/sso/setup-links`: the org's latest 100 links, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkList {
    pub links: Vec<SetupLinkView>,
}

/// `POST /api/v1/sso/setup-links/revoke`: how many open links were revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinksRevoked {
    pub revoked: u64,
}

// ---- errors ----------------------------------------------------------------------------------

/// Why an API call was refused. On the wire: `{"error": <code>, "message": <sentence>}` (plus
/// `"report"` for `connection_test_failed`), with the matching HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ErrorBody", from = "ErrorBody")]
pub enum ApiError {
    /// 401: no session, an expired one, or a deactivated member.
    Unauthenticated,
    /// 403: signed in, but the role does not allow it.
    Forbidden(String),
    /// 404: no such member (or org data) in the caller's org.
    NotFound,
    /// 400: bad input.
    Invalid(String),
    /// 409: the state does not allow it (changed meanwhile, deactivated target, ...).
    Conflict(String),
    /// 400: the new client secret failed "Test connection" and was not saved.
    ConnectionTestFailed(ConnectionReport),
    /// 429: the org's connection tests are used up for now; the message says when to retry.
    RateLimited(String),
    /// 503: the database does not answer.
    Unavailable,
    /// 500.
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::Invalid(_) => "invalid",
            ApiError::Conflict(_) => "conflict",
            ApiError::ConnectionTestFailed(_) => "connection_test_failed",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => {
                "Sign in first: click the Tessera tile in your Okta dashboard.".into()
            }
            ApiError::Forbidden(m)
            | ApiError::Invalid(m)
            | ApiError::Conflict(m)
            | ApiError::RateLimited(m) => m.clone(),
            ApiError::NotFound => "Not found in your organization.".into(),
            ApiError::ConnectionTestFailed(_) => {
                "The connection test failed with this client secret, so it was not saved: see the report.".into()
            }
            ApiError::Unavailable => "Tessera is temporarily unavailable: try again shortly.".into(),
            ApiError::Internal => {
                "Something went wrong: try again; if it persists, contact the service operator."
                    .into()
            }
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthenticated => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound => 404,
            ApiError::Invalid(_) | ApiError::ConnectionTestFailed(_) => 400,
            ApiError::Conflict(_) => 409,
            ApiError::RateLimited(_) => 429,
            ApiError::Unavailable => 503,
            ApiError::Internal => 500,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApiError {}

/// The wire form of [`ApiError`].
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    report: Option<ConnectionReport>,
}

impl From<ApiError> for ErrorBody {
    fn from(e: ApiError) -> Self {
        ErrorBody {
            error: e.code().to_string(),
            message: e.message(),
            report: match e {
                ApiError::ConnectionTestFailed(r) => Some(r),
                _ => None,
            },
        }
    }
}

impl From<ErrorBody> for ApiError {
    fn from(b: ErrorBody) -> Self {
        match (b.error.as_str(), b.report) {
            ("unauthenticated", _) => ApiError::Unauthenticated,
            // The cross-site guard in front of the API answers `cross_site`.
            ("forbidden" | "cross_site", _) => ApiError::Forbidden(b.message),
            ("not_found", _) => ApiError::NotFound,
            ("invalid", _) => ApiError::Invalid(b.message),
            ("conflict", _) => ApiError::Conflict(b.message),
            ("connection_test_failed", Some(r)) => ApiError::ConnectionTestFailed(r),
            ("rate_limited", _) => ApiError::RateLimited(b.message),
            ("unavailable", _) => ApiError::Unavailable,
            _ => ApiError::Internal,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let e = match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => {
                ApiError::Invalid(format!("The request is malformed: {m}"))
            }
            // On the server, only the arguments are ever deserialized (a JSON body that does not
            // fit); in the browser it is the answer, which is no fault of the request.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(m) => {
                ApiError::Invalid(format!("The request is malformed: {m}"))
            }
            ServerFnErrorErr::Request(_) => ApiError::Unavailable,
            _ => ApiError::Internal,
        };
        // On the server this runs inside the request (e.g. for undecodable arguments).
        #[cfg(feature = "ssr")]
        crate::ssr::api_support::set_status(&e);
        e
    }
}

// ---- server functions ------------------------------------------------------------------------

/// `GET /api/v1/members?q=&page=`: 50 per page (1-based), ordered by name, email, id; `q`
/// matches name or email, case-insensitively, `%` and `_` literally. Everyone signed in.
#[server(prefix = "/api", endpoint = "v1/members", input = GetUrl)]
pub async fn list_members(
    q: Option<String>,
    page: Option<String>,
) -> Result<MembersPage, ApiError> {
    use crate::ssr::api_support::{finish, parse_page, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let page = parse_page(page.as_deref())?;
            let q = q.unwrap_or_default();
            Ok(membership::list_members(&cx.store, &cx.me, q.trim(), page).await?)
        }
        .await,
    )
}

/// `POST /api/v1/members/role` `{"member_id", "role": "admin"|"member"}`.
#[server(prefix = "/api", endpoint = "v1/members/role", input = Json)]
pub async fn change_member_role(member_id: String, role: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, parse_role, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let role = parse_role(&role)?;
            let m = membership::change_role(&cx.store, &cx.me, &member_id, role).await?;
            Ok(m.into())
        }
        .await,
    )
}

/// `POST /api/v1/members/deactivate` `{"member_id"}`: also ends all their sessions.
#[server(prefix = "/api", endpoint = "v1/members/deactivate", input = Json)]
pub async fn deactivate_member(member_id: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::deactivate(&cx.store, &cx.me, &member_id)
                .await?
                .into())
        }
        .await,
    )
}

/// `POST /api/v1/members/reactivate` `{"member_id"}`.
#[server(prefix = "/api", endpoint = "v1/members/reactivate", input = Json)]
pub async fn reactivate_member(member_id: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::reactivate(&cx.store, &cx.me, &member_id)
                .await?
                .into())
        }
        .await,
    )
}

/// `POST /api/v1/members/remove` `{"member_id"}` -> `{"removed": id}`.
#[server(prefix = "/api", endpoint = "v1/members/remove", input = Json)]
pub async fn remove_member(member_id: String) -> Result<Removed, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let m = membership::remove(&cx.store, &cx.me, &member_id).await?;
            Ok(Removed { removed: m.id })
        }
        .await,
    )
}

/// `POST /api/v1/org/transfer-ownership` `{"member_id"}` -> the new owner. The caller (the
/// owner) becomes an admin in the same transaction.
#[server(prefix = "/api", endpoint = "v1/org/transfer-ownership", input = Json)]
pub async fn transfer_ownership(member_id: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(
                membership::transfer_ownership(&cx.store, &cx.me, &member_id)
                    .await?
                    .into(),
            )
        }
        .await,
    )
}

/// `GET /api/v1/me`: the signed-in member's profile and org.
#[server(prefix = "/api", endpoint = "v1/me", input = GetUrl)]
pub async fn get_me() -> Result<Me, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(Me {
                member: cx.me,
                org: cx.org,
            })
        }
        .await,
    )
}

/// `GET /api/v1/sso`: the Okta connection, policy and last sign-ins (owner and admins).
#[server(prefix = "/api", endpoint = "v1/sso", input = GetUrl)]
pub async fn sso_settings() -> Result<SsoView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::sso_view(&cx.store, &cx.key, &cx.public_url, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/settings` `{"enabled", "jit_enabled", "default_role"}` (owner).
/// `enabled` is optional: `true` turns SSO on, absent leaves it; `false` while SSO is on is
/// refused with 403 `forbidden` (only the operator turns SSO off: `tessera sso disable`).
#[server(prefix = "/api", endpoint = "v1/sso/settings", input = Json)]
pub async fn update_sso_settings(
    #[server(default)] enabled: Option<bool>,
    jit_enabled: bool,
    default_role: String,
) -> Result<SsoView, ApiError> {
    use crate::ssr::api_support::{finish, parse_role, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let role = parse_role(&default_role)?;
            membership::update_sso_settings(&cx.store, &cx.me, enabled, jit_enabled, role).await?;
            Ok(membership::sso_view(&cx.store, &cx.key, &cx.public_url, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/test` `{}`: "Test connection" with the stored credentials (owner, admins).
/// 429 `rate_limited` (with `Retry-After`) when the org's connection tests are used up.
#[server(prefix = "/api", endpoint = "v1/sso/test", input = Json)]
pub async fn test_sso_connection() -> Result<ConnectionReport, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::test_connection(
                &cx.store,
                &cx.key,
                &cx.public_url,
                &cx.outbound,
                &cx.me,
            )
            .await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/rotate-secret` `{"client_secret"}` (owner): saved only when "Test
/// connection" passes with it; otherwise 400 `connection_test_failed` with the report. The test
/// counts against the org's connection-test budget (429 `rate_limited`).
#[server(prefix = "/api", endpoint = "v1/sso/rotate-secret", input = Json)]
pub async fn rotate_client_secret(client_secret: String) -> Result<ConnectionReport, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::rotate_client_secret(
                &cx.store,
                &cx.key,
                &cx.public_url,
                &cx.outbound,
                &cx.me,
                &client_secret,
            )
            .await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/setup-link` `{"expires": "72h"}` (optional; 30m, 72h, 7d, at most 30d)
/// -> `{"url", "expires_at"}` (owner): a one-time link with which the org's Okta administrator
/// connects (or replaces) the Okta app. Older links stay valid until used, expired or revoked.
#[server(prefix = "/api", endpoint = "v1/sso/setup-link", input = Json)]
pub async fn create_setup_link(expires: Option<String>) -> Result<SetupLinkCreated, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::setup_links;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(
                setup_links::create_for_owner(
                    &cx.store,
                    &cx.public_url,
                    &cx.me,
                    expires.as_deref(),
                )
                .await?,
            )
        }
        .await,
    )
}

/// `GET /api/v1/sso/setup-links` (owner): the org's latest 100 setup links, newest first, with
/// id, created_at, expires_at, created_by and state (`open`, `used`, `revoked`, `expired`);
/// never a token.
#[server(prefix = "/api", endpoint = "v1/sso/setup-links", input = GetUrl)]
pub async fn list_setup_links() -> Result<SetupLinkList, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::setup_links;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(setup_links::list_for_owner(&cx.store, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/setup-links/revoke` `{}` or `{"id"}` (owner) -> `{"revoked": n}`: revokes
/// every open setup link of the org (no `id`), or the one with `id` (404 when the org has none
/// with that id; an empty or blank `id` is 400 and revokes nothing). Audited as
/// `setup_link_revoked`, one entry per link.
#[server(prefix = "/api", endpoint = "v1/sso/setup-links/revoke", input = Json)]
pub async fn revoke_setup_links(id: Option<String>) -> Result<SetupLinksRevoked, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::setup_links;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(setup_links::revoke_for_owner(&cx.store, &cx.me, id.as_deref()).await?)
        }
        .await,
    )
}

/// `GET /api/v1/login-attempts?outcome=success|failure|` (owner, admins).
#[server(prefix = "/api", endpoint = "v1/login-attempts", input = GetUrl)]
pub async fn login_attempts(outcome: Option<String>) -> Result<LoginActivity, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::login::Outcome;
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let outcome = match outcome.as_deref().map(str::trim).unwrap_or("") {
                "" => None,
                "success" => Some(Outcome::Success),
                "failure" => Some(Outcome::Failure),
                other => {
                    return Err(ApiError::Invalid(format!(
                        "outcome must be success, failure or empty, not {}.",
                        crate::validate::quoted(other)
                    )));
                }
            };
            Ok(membership::login_activity(&cx.store, &cx.me, outcome).await?)
        }
        .await,
    )
}

/// `GET /api/v1/audit?page=` (owner, admins): newest first, 50 per page.
#[server(prefix = "/api", endpoint = "v1/audit", input = GetUrl)]
pub async fn audit_log(page: Option<String>) -> Result<AuditPage, ApiError> {
    use crate::ssr::api_support::{finish, parse_page, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let page = parse_page(page.as_deref())?;
            Ok(membership::audit_page(&cx.store, &cx.me, page).await?)
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_as_json() {
        let report = ConnectionReport {
            ok: false,
            checks: vec![ConnectionCheck {
                name: "client_credentials".into(),
                ok: false,
                message: "m".into(),
                fix: "f".into(),
            }],
        };
        for e in [
            ApiError::Unauthenticated,
            ApiError::Forbidden("no".into()),
            ApiError::NotFound,
            ApiError::Invalid("bad".into()),
            ApiError::Conflict("later".into()),
            ApiError::ConnectionTestFailed(report),
            ApiError::RateLimited("Too many connection tests: try again in 3 minutes.".into()),
            ApiError::Unavailable,
            ApiError::Internal,
        ] {
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json["error"], e.code());
            assert_eq!(json["message"], e.message());
            assert_eq!(serde_json::from_value::<ApiError>(json).unwrap(), e);
        }
        let cross: ApiError =
            serde_json::from_str(r#"{"error":"cross_site","message":"x"}"#).unwrap();
        assert_eq!(cross, ApiError::Forbidden("x".into()));
    }
}
