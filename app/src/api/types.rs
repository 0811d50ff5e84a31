//! The wire types of the admin JSON API: what the server functions in [`crate::api`] take and
//! return, and [`ApiError`], their error form. Plain serde data usable in the browser and by the
//! domain ([`crate::ssr`]) alike; nothing here depends on the server side.

use crate::api::permissions;
use crate::model::{
    DefaultRole, GroupId, InvitationId, Member, MemberId, MemberStatus, Org, ProvisioningMode,
    Role, ScimTokenId, SetupLinkId,
};
use serde::{Deserialize, Serialize};

/// Members and audit entries per page.
pub const PER_PAGE: u32 = 50;

// ---- shared types ----------------------------------------------------------------------------

/// A member as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: MemberId,
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
    fn party_id(&self) -> &MemberId {
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
    /// The page number (1-based); 0 for a page asked for with `after`.
    pub page: u32,
    /// The cursor of the page after this one (`?after=`), `None` on the last page: keyset
    /// paging, as fast deep in the list as at its start.
    #[serde(default)]
    pub next: Option<String>,
    pub per_page: u32,
    /// The whole org, whatever the search.
    pub counts: MemberCounts,
    /// The server's time (unix ms) the page was made at: relative times ("3 days ago") read
    /// the same in the server's HTML and after hydration.
    pub now: i64,
    /// The owner's email while the owner is deactivated (Okta deactivated a leaving owner):
    /// an admin may then claim ownership. `None` otherwise (absent in older answers).
    #[serde(default)]
    pub owner_deactivated: Option<String>,
}

/// `POST /api/v1/members/remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub removed: MemberId,
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
    pub default_role: DefaultRole,
    /// What to paste into Okta: "Initiate login URI".
    pub initiate_login_uri: String,
    /// What to paste into Okta: "Sign-in redirect URIs".
    pub redirect_uri: String,
    pub last_success: Option<LastSuccess>,
    pub last_failure: Option<LastFailure>,
    /// True for the owner: settings and the secret may be changed.
    pub can_edit: bool,
    /// Universal Logout and Shared Signals: switches and what to paste into Okta.
    #[serde(default)]
    pub signals: SignalsView,
}

/// `POST /api/v1/members/sign-out`: the member and how many sessions ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOut {
    pub member: MemberView,
    pub sessions_ended: u64,
}

/// The SSO page's "Universal Logout and Shared Signals" section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalsView {
    /// Okta's Universal Logout may end members' sessions (while SSO is on).
    pub universal_logout: bool,
    /// The Shared Signals receiver acts on Okta's events (while SSO is on).
    pub shared_signals: bool,
    /// Okta's "Global token revocation endpoint": `{public_url}/oauth/global-token-revocation`.
    pub universal_logout_endpoint: String,
    /// The SSF push endpoint: `{public_url}/ssf/events`.
    pub ssf_endpoint: String,
    /// The `aud` SETs for this org carry: `{public_url}/ssf/orgs/{slug}`.
    pub ssf_audience: String,
    /// The latest signal received, if any.
    pub last: Option<SecurityEventView>,
}

/// A security signal Okta sent (Universal Logout, or a Shared Signals event) and what Tessera
/// did about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventView {
    /// Unix milliseconds.
    pub at: i64,
    /// `universal_logout` or `shared_signals`.
    pub channel: String,
    /// The event type URI (e.g. `https://schemas.openid.net/secevent/caep/event-type/session-revoked`),
    /// or `global-token-revocation`.
    pub event_type: String,
    /// Its short name, e.g. "Session revoked (CAEP)".
    pub event: String,
    /// The subject as Okta named it (an email, or `sub at issuer`).
    pub subject: String,
    pub member_id: Option<MemberId>,
    pub member_email: String,
    /// `signed_out`, `deactivated`, `reactivated`, `unchanged`, `no_member`, `ambiguous`
    /// (several members have the email: nothing done), `ignored`, `verified`.
    pub outcome: String,
    pub sessions_ended: i64,
}

/// One step of "Test connection" that ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCheck {
    /// `discovery`, `issuer`, `signing_keys`, `client_credentials` or `redirect_uri`.
    pub name: String,
    /// What the check is, as the SSO page and the setup page both show it
    /// (e.g. "Client ID and Client secret").
    #[serde(default)]
    pub label: String,
    pub ok: bool,
    pub message: String,
    /// What to change, in Okta's or Tessera's words; empty when `ok`.
    pub fix: String,
}

/// The checks that could not run because an earlier one failed: shown as one line, never as
/// failures of their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotChecked {
    /// The checks that did not run (their `name`s), in order.
    pub names: Vec<String>,
    /// The failed check they need (its `name`).
    pub because: String,
    /// The line both pages show, e.g. "Not checked because “Okta answers” failed: Okta domain
    /// (issuer), Signing keys (RS256), Client ID and Client secret, Sign-in redirect URI."
    pub message: String,
}

/// The result of "Test connection".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// Every check ran and passed.
    pub ok: bool,
    /// The checks that ran, in order.
    pub checks: Vec<ConnectionCheck>,
    /// The checks that could not run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<NotChecked>,
}

impl ConnectionReport {
    /// The check `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&ConnectionCheck> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Was the check `name` left out because an earlier one failed?
    pub fn not_checked(&self, name: &str) -> bool {
        self.not_checked
            .as_ref()
            .is_some_and(|n| n.names.iter().any(|x| x == name))
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
    /// The latest security signals from Okta (Universal Logout, Shared Signals), newest first.
    #[serde(default)]
    pub security_events: Vec<SecurityEventView>,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// The acting member; `None` for the service operator, Okta and setup links.
    pub actor_id: Option<MemberId>,
    /// The acting member's email, or `operator (CLI)`, `Okta (just-in-time sign-in)` or
    /// `setup link` ([`crate::api::audit_text`]).
    pub actor_email: String,
    /// One of [`crate::api::audit_text::AuditAction`]'s codes (`role_changed`,
    /// `member_provisioned`, `sso_disabled`, `setup_link_saved`, …; README, "Audit log").
    pub action: String,
    pub target_id: Option<MemberId>,
    pub target_email: String,
    /// Short JSON, e.g. `{"role":"member"}`; empty when not applicable.
    pub before: String,
    pub after: String,
    /// What happened, as a sentence a person reads ([`crate::api::audit_text::sentence`]).
    pub sentence: String,
}

/// `GET /api/v1/audit`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// The page shown: the one asked for, or the last one when that is past the end.
    pub page: u32,
    pub per_page: u32,
    /// Entries matching the filters.
    pub total: i64,
    /// The server's time (Unix milliseconds), which "3 minutes ago" is counted from, so the
    /// server's rendering and the browser's agree.
    pub now: i64,
}

/// `POST /api/v1/sso/setup-link`: a one-time setup link for the caller's org.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkCreated {
    /// `{public_url}/setup/<token>`: shown once, only its hash is stored.
    pub url: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// An open invitation: `email` may join with `role` on their first sign-in through the org's
/// Okta (with that email, verified), until `expires_at` (Unix milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: DefaultRole,
    /// Who invited: an email, or `operator (CLI)`.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `GET /api/v1/invitations`: the org's open invitations, newest first (at most 200).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationList {
    pub invitations: Vec<InvitationView>,
}

/// One setup link as its org's owner sees it (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLinkView {
    pub id: SetupLinkId,
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

// ---- SCIM provisioning ------------------------------------------------------------------------

/// A SCIM token as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenView {
    pub id: ScimTokenId,
    pub name: String,
    /// The token's last four characters.
    pub hint: String,
    pub created_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A pushed group and the role it maps to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: GroupId,
    pub display_name: String,
    pub role: Option<Role>,
    /// Members in the group (only for mapped groups; 0 otherwise).
    pub members: i64,
}

/// `GET /api/v1/provisioning`: SCIM provisioning as the SSO page's "Provisioning" section
/// shows it (owner and admins; only the owner may change it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningView {
    /// The org has an Okta connection (SCIM needs one).
    pub connected: bool,
    pub mode: ProvisioningMode,
    /// What to paste into Okta: "SCIM connector base URL".
    pub base_url: String,
    pub tokens: Vec<ScimTokenView>,
    /// Groups Okta pushed, mapped ones first, by name (at most 200).
    pub groups: Vec<GroupView>,
    /// True for the owner.
    pub can_edit: bool,
    /// The server's time (unix ms) the view was made at, for relative times.
    #[serde(default)]
    pub now: i64,
}

/// `POST /api/v1/provisioning/tokens`: a token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenCreated {
    pub token: ScimTokenView,
    /// The bearer token to paste into Okta (Tessera keeps only its hash).
    pub secret: String,
    pub base_url: String,
    /// The provisioning mode changed from `jit` to `both` with it.
    pub mode_switched: bool,
}

/// One request of the provisioning log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimRequestView {
    pub at: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: String,
    pub summary: String,
    pub member_id: Option<MemberId>,
    /// Who or what it was about (a userName, a group name, a filter).
    pub about: String,
    pub duration_ms: i64,
}

/// `GET /api/v1/provisioning/log?page=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningLogPage {
    pub entries: Vec<ScimRequestView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub now: i64,
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
