//! The admin JSON API of SCIM provisioning (the SSO page's "Provisioning" section and the
//! provisioning log): `/api/v1/provisioning…`. Rules live in [`crate::ssr::scim`].

use super::JsonAnswer;
use super::types::{
    ApiError, GroupView, ProvisioningLogPage, ProvisioningView, ScimTokenCreated, ScimTokenView,
};
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};

/// `GET /api/v1/provisioning` (owner, admins): the mode, the base URL to paste into Okta, the
/// tokens (owner only) and the pushed groups with their roles.
#[server(prefix = "/api", endpoint = "v1/provisioning", input = GetUrl, output = JsonAnswer)]
pub async fn provisioning() -> Result<ProvisioningView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::scim;
    finish(
        async move {
            let cx = signed_in().await?;
            Ok(scim::provisioning_view(&cx.store, &cx.public_url, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/provisioning/tokens` `{"name"}` (owner): a new SCIM token, shown once; at
/// most two active (409 `conflict` for a third). The mode becomes `both` when it was `jit`.
#[server(prefix = "/api", endpoint = "v1/provisioning/tokens", input = Json, output = JsonAnswer)]
pub async fn create_scim_token(
    #[server(default)] name: Option<String>,
) -> Result<ScimTokenCreated, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::Actor;
    use crate::ssr::scim;
    finish(
        async move {
            let cx = signed_in().await?;
            let new = scim::create_token(
                &cx.store,
                &Actor::Member(&cx.me),
                &cx.org,
                name.as_deref().unwrap_or(""),
            )
            .await?;
            Ok(scim::token_created(&cx.public_url, new))
        }
        .await,
    )
}

/// `POST /api/v1/provisioning/tokens/revoke` `{"id"}` (owner): Okta's next request with it
/// gets 401. 404 for an unknown or revoked token.
#[server(prefix = "/api", endpoint = "v1/provisioning/tokens/revoke", input = Json, output = JsonAnswer)]
pub async fn revoke_scim_token(id: String) -> Result<ScimTokenView, ApiError> {
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::Actor;
    use crate::ssr::scim;
    finish(
        async move {
            let cx = signed_in().await?;
            let t = scim::revoke_token(&cx.store, &Actor::Member(&cx.me), &cx.org, &id).await?;
            Ok(scim::revoked_view(t))
        }
        .await,
    )
}

/// `POST /api/v1/provisioning/mode` `{"mode": "jit"|"scim"|"both"}` (owner).
#[server(prefix = "/api", endpoint = "v1/provisioning/mode", input = Json, output = JsonAnswer)]
pub async fn set_provisioning_mode(mode: String) -> Result<ProvisioningView, ApiError> {
    use crate::model::ProvisioningMode;
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::Actor;
    use crate::ssr::scim;
    finish(
        async move {
            let cx = signed_in().await?;
            let mode = ProvisioningMode::parse(&mode).map_err(ApiError::Invalid)?;
            scim::set_provisioning_mode(&cx.store, &Actor::Member(&cx.me), &cx.org, mode).await?;
            Ok(scim::provisioning_view(&cx.store, &cx.public_url, &cx.me).await?)
        }
        .await,
    )
}

/// `POST /api/v1/provisioning/role-map` `{"group", "role": "admin"|"member"|""}` (owner): maps
/// the pushed group named `group` to `role` (empty removes the mapping); members' roles change
/// at once.
#[server(prefix = "/api", endpoint = "v1/provisioning/role-map", input = Json, output = JsonAnswer)]
pub async fn set_role_mapping(group: String, role: String) -> Result<GroupView, ApiError> {
    use crate::model::DefaultRole;
    use crate::ssr::api_support::{finish, signed_in};
    use crate::ssr::membership::Actor;
    use crate::ssr::scim;
    finish(
        async move {
            let cx = signed_in().await?;
            let role = match role.trim() {
                "" => None,
                r => Some(DefaultRole::parse(r).map_err(ApiError::Invalid)?),
            };
            let g =
                scim::set_role_mapping(&cx.store, &Actor::Member(&cx.me), &cx.org, &group, role)
                    .await?;
            Ok(GroupView {
                id: g.id,
                display_name: g.display_name,
                role: g.role,
                members: 0,
            })
        }
        .await,
    )
}

/// `GET /api/v1/provisioning/log?page=` (owner, admins): the SCIM requests Okta sent, newest
/// first, 50 per page, kept as long as login attempts. Tokens are never recorded.
#[server(prefix = "/api", endpoint = "v1/provisioning/log", input = GetUrl, output = JsonAnswer)]
pub async fn provisioning_log(page: Option<String>) -> Result<ProvisioningLogPage, ApiError> {
    use crate::ssr::api_support::{finish, parse_page, signed_in};
    use crate::ssr::scim;
    finish(
        async move {
            let cx = signed_in().await?;
            let page = parse_page(page.as_deref())?;
            Ok(scim::log_view(&cx.store, &cx.me, page).await?)
        }
        .await,
    )
}
