//! The admin JSON API: the Leptos server functions behind the stable endpoints `/api/v1/...`
//! (see README.md, "Admin JSON API"); their wire types live in [`types`] and are re-exported
//! here.
//!
//! Every call resolves the signed-in, active member from the session (401 otherwise) and is
//! scoped to that member's org: an id from another org answers 404. Rules live in
//! [`crate::ssr::membership`] and the matrix in [`permissions`].

pub mod audit_text;
pub mod login_reason;
pub mod permissions;
pub mod provisioning;
#[cfg(feature = "ssr")]
pub mod scim;
pub mod signal_text;
pub mod types;

pub use provisioning::*;
pub use types::*;

use crate::model::DefaultRole;

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json, Post};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{Serialize, de::DeserializeOwned};

/// The JSON answers of the server functions (and their [`ApiError`]s): `application/json` as
/// with Leptos's `JsonEncoding`, but read in the browser from text (`serde_json::from_str`)
/// rather than from bytes. A page's resources are hydrated from text, so every answer type then
/// has one JSON decoder in the hydrate bundle instead of two (one per reader type).
pub struct JsonText;

/// The output encoding of every server function: [`JsonText`] in the response body.
pub type JsonAnswer = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

/// [`ApiError`] as the error type of the server functions: a request that cannot be decoded
/// answers `invalid` (400), an unreachable server `unavailable`.
impl FromServerFnError for ApiError {
    type Encoder = JsonText;

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

/// `GET /api/v1/members?q=&page=&role=&status=`: 50 per page (1-based; a page past the end
/// answers the last page), ordered by name, email, id; `q` matches name or email,
/// case-insensitively, `%` and `_` literally; `role` (`owner`, `admin`, `member`) and `status`
/// (`active`, `deactivated`) narrow the list, empty or absent means any. Everyone signed in.
#[server(prefix = "/api", endpoint = "v1/members", input = GetUrl, output = JsonAnswer)]
pub async fn list_members(
    q: Option<String>,
    page: Option<String>,
    role: Option<String>,
    status: Option<String>,
    #[server(default)] after: Option<String>,
) -> Result<MembersPage, ApiError> {
    use crate::ssr::api_support::{finish, parse_filter, parse_page, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let page = parse_page(page.as_deref())?;
            let filter = parse_filter(role.as_deref(), status.as_deref())?;
            let q = q.unwrap_or_default();
            let after = after.as_deref().filter(|a| !a.trim().is_empty());
            Ok(membership::list_members(&cx.store, &cx.me, q.trim(), filter, page, after).await?)
        }
        .await,
    )
}

/// `POST /api/v1/members/role` `{"member_id", "role": "admin"|"member"}`.
#[server(prefix = "/api", endpoint = "v1/members/role", input = Json, output = JsonAnswer)]
pub async fn change_member_role(
    member_id: String,
    role: DefaultRole,
) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    finish(
        async move {
            let cx = signed_in().await?;
            let actor = Actor::Member(&cx.me);
            let m =
                membership::change_role(&cx.store, &actor, &cx.org.id, &member_id, role).await?;
            Ok(m.into())
        }
        .await,
    )
}

/// `POST /api/v1/members/deactivate` `{"member_id"}`: also ends all their sessions.
#[server(prefix = "/api", endpoint = "v1/members/deactivate", input = Json, output = JsonAnswer)]
pub async fn deactivate_member(member_id: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    finish(
        async move {
            let cx = signed_in().await?;
            let actor = Actor::Member(&cx.me);
            let m = membership::deactivate(&cx.store, &actor, &cx.org.id, &member_id).await?;
            Ok(m.into())
        }
        .await,
    )
}

/// `POST /api/v1/members/sign-out` `{"member_id"}`: "Sign out everywhere" — every session of
/// the member ends at once, on every node; they stay a member and may sign in again. Owner (of
/// admins and members) and admins (of members).
#[server(prefix = "/api", endpoint = "v1/members/sign-out", input = Json, output = JsonAnswer)]
pub async fn sign_out_member(member_id: String) -> Result<SignedOut, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    finish(
        async move {
            let cx = signed_in().await?;
            let actor = Actor::Member(&cx.me);
            let (m, ended) =
                membership::sign_out_everywhere(&cx.store, &actor, &cx.org.id, &member_id).await?;
            Ok(SignedOut {
                member: m.into(),
                sessions_ended: ended,
            })
        }
        .await,
    )
}

/// `POST /api/v1/members/reactivate` `{"member_id"}`.
#[server(prefix = "/api", endpoint = "v1/members/reactivate", input = Json, output = JsonAnswer)]
pub async fn reactivate_member(member_id: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    finish(
        async move {
            let cx = signed_in().await?;
            let actor = Actor::Member(&cx.me);
            let m = membership::reactivate(&cx.store, &actor, &cx.org.id, &member_id).await?;
            Ok(m.into())
        }
        .await,
    )
}

/// `POST /api/v1/members/remove` `{"member_id"}` -> `{"removed": id}`.
#[server(prefix = "/api", endpoint = "v1/members/remove", input = Json, output = JsonAnswer)]
pub async fn remove_member(member_id: String) -> Result<Removed, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    finish(
        async move {
            let cx = signed_in().await?;
            let actor = Actor::Member(&cx.me);
            let m = membership::remove(&cx.store, &actor, &cx.org.id, &member_id).await?;
            Ok(Removed { removed: m.id })
        }
        .await,
    )
}

/// `POST /api/v1/org/transfer-ownership` `{"member_id"}` -> the new owner. The caller (the
/// owner) becomes an admin in the same transaction.
#[server(prefix = "/api", endpoint = "v1/org/transfer-ownership", input = Json, output = JsonAnswer)]
pub async fn transfer_ownership(member_id: String) -> Result<MemberView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    finish(
        async move {
            let cx = signed_in().await?;
            let actor = Actor::Member(&cx.me);
            let done =
                membership::transfer_ownership(&cx.store, &actor, &cx.org.id, &member_id).await?;
            Ok(done.owner.into())
        }
        .await,
    )
}

/// `POST /api/v1/invitations` `{"email", "role": "admin"|"member"}` (owner, admins) -> the
/// invitation: the person joins with `role` on their first sign-in through the org's Okta with
/// that email (verified), for 30 days, even while just-in-time provisioning is off. 409 when
/// the address is already a member's; an open invitation of the same address is replaced.
#[server(prefix = "/api", endpoint = "v1/invitations", input = Json, output = JsonAnswer)]
pub async fn invite_member(email: String, role: DefaultRole) -> Result<InvitationView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::invite(&cx.store, &cx.me, &email, role).await?)
        }
        .await,
    )
}

/// `GET /api/v1/invitations/open` (owner, admins): the org's open invitations, newest first.
#[server(prefix = "/api", endpoint = "v1/invitations/open", input = GetUrl, output = JsonAnswer)]
pub async fn list_invitations() -> Result<InvitationList, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::list_invitations(&cx.store, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/invitations/revoke` `{"id"}` (owner, admins) -> the revoked invitation; 404
/// when the org has no open invitation with that id.
#[server(prefix = "/api", endpoint = "v1/invitations/revoke", input = Json, output = JsonAnswer)]
pub async fn revoke_invitation(id: String) -> Result<InvitationView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(membership::revoke_invitation(&cx.store, &cx.me, &id).await?)
        }
        .await,
    )
}

/// `GET /api/v1/me`: the signed-in member's profile and org; 401 `unauthenticated` when nobody
/// is signed in. (`GET /api/v1/session` redirects here.)
#[server(prefix = "/api", endpoint = "v1/me", input = GetUrl, output = JsonAnswer)]
pub async fn get_me() -> Result<Me, ApiError> {
    use crate::ssr::api_support::{finish, me};
    finish(
        me().await
            .and_then(|me| me.ok_or(ApiError::Unauthenticated)),
    )
}

/// `GET /api/v1/sso`: the Okta connection, policy and last sign-ins (owner and admins).
#[server(prefix = "/api", endpoint = "v1/sso", input = GetUrl, output = JsonAnswer)]
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
#[server(prefix = "/api", endpoint = "v1/sso/settings", input = Json, output = JsonAnswer)]
pub async fn update_sso_settings(
    #[server(default)] enabled: Option<bool>,
    jit_enabled: bool,
    default_role: DefaultRole,
) -> Result<SsoView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            membership::update_sso_settings(&cx.store, &cx.me, enabled, jit_enabled, default_role)
                .await?;
            Ok(membership::sso_view(&cx.store, &cx.key, &cx.public_url, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/signals` `{"universal_logout"?, "shared_signals"?}` (owner): turns Okta's
/// Universal Logout and the Shared Signals receiver on or off for the org (an absent one stays
/// as it is).
#[server(prefix = "/api", endpoint = "v1/sso/signals", input = Json, output = JsonAnswer)]
pub async fn update_signal_switches(
    #[server(default)] universal_logout: Option<bool>,
    #[server(default)] shared_signals: Option<bool>,
) -> Result<SsoView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::{self, Actor};
    use crate::ssr::signals;
    finish(
        async move {
            let cx = signed_in().await?;
            signals::set_switches(
                &cx.store,
                &Actor::Member(&cx.me),
                &cx.org,
                universal_logout,
                shared_signals,
            )
            .await?;
            Ok(membership::sso_view(&cx.store, &cx.key, &cx.public_url, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/sso/test` `{}`: "Test connection" with the stored credentials (owner, admins).
/// 429 `rate_limited` (with `Retry-After`) when the org's connection tests are used up.
#[server(prefix = "/api", endpoint = "v1/sso/test", input = Json, output = JsonAnswer)]
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
#[server(prefix = "/api", endpoint = "v1/sso/rotate-secret", input = Json, output = JsonAnswer)]
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
#[server(prefix = "/api", endpoint = "v1/sso/setup-link", input = Json, output = JsonAnswer)]
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
#[server(prefix = "/api", endpoint = "v1/sso/setup-links", input = GetUrl, output = JsonAnswer)]
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
#[server(prefix = "/api", endpoint = "v1/sso/setup-links/revoke", input = Json, output = JsonAnswer)]
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
#[server(prefix = "/api", endpoint = "v1/login-attempts", input = GetUrl, output = JsonAnswer)]
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

/// `GET /api/v1/audit?page=&who=&action=&from=&to=` (owner, admins): newest first, 50 per
/// page (a page past the end answers the last page), each entry with its sentence. `who`: the
/// actor's email or label contains it (any case, at most 200 characters); `action`: one of the
/// log's actions ([`audit_text::AuditAction`]); `from`, `to`: UTC days `YYYY-MM-DD`, both
/// included. Empty or absent means any; a bad value is 400 `invalid`. The same filters export
/// the log as CSV or JSON at `GET /api/v1/audit/export` (`server/src/audit_export.rs`).
#[server(prefix = "/api", endpoint = "v1/audit", input = GetUrl, output = JsonAnswer)]
pub async fn audit_log(
    page: Option<String>,
    who: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<AuditPage, ApiError> {
    use crate::ssr::api_support::{finish, parse_audit_filter, parse_page, signed_in};
    use crate::ssr::membership;
    finish(
        async move {
            let cx = signed_in().await?;
            let page = parse_page(page.as_deref())?;
            let filter = parse_audit_filter(
                who.as_deref(),
                action.as_deref(),
                from.as_deref(),
                to.as_deref(),
            )?;
            Ok(membership::audit_page(&cx.store, &cx.me, &filter, page).await?)
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
                label: "Client ID and Client secret".into(),
                ok: false,
                message: "m".into(),
                fix: "f".into(),
            }],
            not_checked: Some(NotChecked {
                names: vec!["redirect_uri".into()],
                because: "client_credentials".into(),
                message: "Not checked because …".into(),
            }),
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
