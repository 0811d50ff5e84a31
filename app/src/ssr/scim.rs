//! SCIM 2.0 provisioning from the org's Okta (RFC 7643, RFC 7644), the domain side: bearer
//! tokens (what they may do: provision one org; how they die: revoked), groups Okta pushes and
//! the roles they map to, the provisioning mode, and the provisioning log. Members themselves
//! change only through the membership core (`membership::scim_*`).
//!
//! Roles from groups: a member's role is the highest role among the mapped groups they belong
//! to, else the org's default role, recomputed whenever a group, its members or a mapping
//! change (each change audited as `role_changed`). While the org maps no group at all, roles
//! stay Tessera's (an admin's choice is never overwritten by a push that means nothing). The
//! owner role is never given or taken this way.

use super::PublicUrl;
use super::actor::{Actor, Via};
use super::membership::DomainError;
use super::store::scim::{
    GroupChange, GroupFilter, MemberDelta, ScimGroup, ScimRequest, ScimToken, Written,
};
use super::store::{NewAudit, Store};
use crate::api::types::{
    GroupView, ProvisioningLogPage, ProvisioningView, ScimRequestView, ScimTokenCreated,
    ScimTokenView,
};
use crate::model::{
    DefaultRole, GroupId, Member, MemberId, Org, OrgId, ProvisioningMode, Role, ScimTokenId,
    SsoConnection,
};
use serde_json::json;

/// At most this many active tokens per org: two, so a token can be rotated without downtime.
pub const MAX_ACTIVE_TOKENS: i64 = 2;
/// Every token starts with this, so leaked ones are recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "tscim_";
/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Longest token name, in characters.
pub const MAX_TOKEN_NAME: usize = 64;
/// Longest group displayName, in characters.
pub const MAX_GROUP_NAME: usize = 256;

const OKTA: Actor<'static> = Actor::Okta(Via::Scim);

/// `{public_url}/scim/v2`: the base URL to paste into Okta ("SCIM connector base URL").
pub fn base_url(public_url: &PublicUrl) -> String {
    format!("{}/scim/v2", public_url.0.trim_end_matches('/'))
}

/// A new token (`tscim_` and 43 URL-safe base64 characters).
fn new_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Could `token` be one of ours? Anything else is refused without a lookup.
fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_PREFIX.len() + 43
        && token.starts_with(TOKEN_PREFIX)
        && token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What is stored of a token: its SHA-256, hex. Tokens are random, so no slow hash is needed.
fn token_hash(token: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// May `actor` manage SCIM in `org_id` (tokens, role mappings, the provisioning mode)? The
/// owner, the operator, and (for the setup page's token) whoever holds a setup link.
fn may_manage(actor: &Actor<'_>, org_id: &OrgId) -> Result<(), DomainError> {
    match actor {
        Actor::Member(m) if m.org_id != org_id => Err(DomainError::NotFound),
        Actor::Member(m) if m.role == Role::Owner => Ok(()),
        Actor::Member(_) => Err(DomainError::Forbidden(
            "Only the owner of the organization manages SCIM provisioning.".into(),
        )),
        Actor::Operator | Actor::SetupLink => Ok(()),
        Actor::Okta(_) => Err(DomainError::Forbidden(
            "Okta does not manage SCIM provisioning.".into(),
        )),
    }
}

async fn connection(store: &Store, org: &Org) -> Result<SsoConnection, DomainError> {
    store.sso_connection(&org.id).await?.ok_or_else(|| {
        DomainError::Invalid(
            "Connect the organization's Okta first: SCIM provisioning comes from the same Okta org as sign-in."
                .into(),
        )
    })
}

// ---- tokens ------------------------------------------------------------------------------------

/// A token just created: the token itself is shown this once and never stored.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub token: ScimToken,
    pub secret: String,
    /// The provisioning mode changed from `jit` to `both` with it (SCIM is accepted now).
    pub mode_switched: bool,
}

/// Creates a token for `org` named `name` (trimmed; empty means "Okta"), at most
/// [`MAX_ACTIVE_TOKENS`] active at once ([`DomainError::Conflict`] for a third: revoke one
/// first). The org must have an Okta connection. When the provisioning mode is `jit` it becomes
/// `both`, so the token works at once. Audited as `scim_token_created` (and
/// `provisioning_mode_changed`).
pub async fn create_token(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    name: &str,
) -> Result<NewToken, DomainError> {
    may_manage(actor, &org.id)?;
    let name = token_name(name)?;
    let sso = connection(store, org).await?;
    let secret = new_token();
    let hint = secret[secret.len() - 4..].to_string();
    let entry = actor.audit(&org.id, "scim_token_created", None);
    let token = store
        .create_scim_token(
            &org.id,
            &name,
            &token_hash(&secret),
            &hint,
            MAX_ACTIVE_TOKENS,
            entry,
        )
        .await?
        .ok_or_else(|| {
            DomainError::Conflict(format!(
                "This organization has {MAX_ACTIVE_TOKENS} active SCIM tokens already: revoke one before creating another."
            ))
        })?;
    let mode_switched = sso.provisioning == ProvisioningMode::Jit;
    if mode_switched {
        set_mode(store, actor, org, &sso, ProvisioningMode::Both).await?;
    }
    Ok(NewToken {
        token,
        secret,
        mode_switched,
    })
}

fn token_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(DomainError::Invalid(
            "A token name cannot contain control characters.".into(),
        ));
    }
    if name.chars().count() > MAX_TOKEN_NAME {
        return Err(DomainError::Invalid(format!(
            "A token name has at most {MAX_TOKEN_NAME} characters."
        )));
    }
    Ok(if name.is_empty() { "Okta" } else { name }.to_string())
}

/// The org's tokens (active first), without the tokens themselves.
pub async fn tokens(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
) -> Result<Vec<ScimToken>, DomainError> {
    may_manage(actor, &org.id)?;
    Ok(store.scim_tokens(&org.id).await?)
}

/// Revokes the org's active token `id`: Okta's next request with it gets 401. Audited as
/// `scim_token_revoked`. An unknown, malformed or revoked id is [`DomainError::NotFound`].
pub async fn revoke_token(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    id: &str,
) -> Result<ScimToken, DomainError> {
    may_manage(actor, &org.id)?;
    let Ok(id) = ScimTokenId::parse(id.trim()) else {
        return Err(DomainError::NotFound);
    };
    let entry = actor.audit(&org.id, "scim_token_revoked", None);
    store
        .revoke_scim_token(&org.id, &id, entry)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Who a SCIM request acts for: the org its token belongs to, and its connection.
#[derive(Clone, Debug)]
pub struct ScimCaller {
    pub org: Org,
    pub sso: SsoConnection,
    pub token: ScimToken,
}

/// Why a bearer token opens nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Missing, malformed, unknown or revoked: 401.
    Unauthenticated,
    /// A valid token of an org that does not accept SCIM now (no connection, or the
    /// provisioning mode is `jit`): 403.
    Off,
}

/// The org a bearer `token` provisions. Nothing is looked up for a malformed token.
pub async fn authenticate(store: &Store, token: &str) -> Result<ScimCaller, AuthError> {
    if !well_formed(token) {
        return Err(AuthError::Refused(Refused::Unauthenticated));
    }
    let Some(token) = store.scim_token_by_hash(&token_hash(token)).await? else {
        return Err(AuthError::Refused(Refused::Unauthenticated));
    };
    let Some((org, sso)) = store.org_with_sso(&token.org_id).await? else {
        return Err(AuthError::Refused(Refused::Unauthenticated));
    };
    let Some((sso, _)) = sso else {
        return Err(AuthError::Refused(Refused::Off));
    };
    if !sso.provisioning.scim() {
        return Err(AuthError::Refused(Refused::Off));
    }
    Ok(ScimCaller { org, sso, token })
}

/// [`authenticate`]'s failure.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("refused")]
    Refused(Refused),
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
}

// ---- the provisioning mode ---------------------------------------------------------------------

/// Sets the org's provisioning mode (the owner on the SSO page, the operator with `tessera sso
/// policy --provisioning`). Audited as `provisioning_mode_changed`.
pub async fn set_provisioning_mode(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    mode: ProvisioningMode,
) -> Result<SsoConnection, DomainError> {
    may_manage(actor, &org.id)?;
    let sso = connection(store, org).await?;
    if sso.provisioning == mode {
        return Ok(sso);
    }
    set_mode(store, actor, org, &sso, mode).await?;
    Ok(SsoConnection {
        provisioning: mode,
        ..sso
    })
}

async fn set_mode(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    sso: &SsoConnection,
    mode: ProvisioningMode,
) -> Result<(), DomainError> {
    let entry = actor
        .audit(&org.id, "provisioning_mode_changed", None)
        .change(
            json!({"provisioning": sso.provisioning}),
            json!({"provisioning": mode}),
        );
    store.set_provisioning_mode(&org.id, mode, &entry).await?;
    Ok(())
}

// ---- groups ------------------------------------------------------------------------------------

/// A change Okta asks of a group (`POST`, `PUT`, `PATCH`), ids already checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupEdit {
    pub display_name: Option<String>,
    pub external_id: Option<Option<String>>,
    /// The whole member list (`PUT`, `replace path=members`).
    pub set_members: Option<Vec<MemberId>>,
    pub add: Vec<MemberId>,
    pub remove: Vec<MemberId>,
}

fn group_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::Invalid("displayName is required.".into()));
    }
    if name.chars().any(char::is_control) || name.chars().count() > MAX_GROUP_NAME {
        return Err(DomainError::Invalid(format!(
            "displayName has 1 to {MAX_GROUP_NAME} characters and no control characters."
        )));
    }
    Ok(name.to_string())
}

/// Creates (`id` = `None`) or changes the caller's group as `edit` says, recomputing the roles
/// of members whose groups changed when the group is mapped. Audited as `group_pushed` (with
/// the members added and removed) or `group_renamed`. Errors: an unknown member id is
/// [`DomainError::Invalid`] (nothing changes); a displayName another group has is
/// [`DomainError::Taken`]; an unknown group is [`DomainError::NotFound`].
pub async fn write_group(
    store: &Store,
    caller: &ScimCaller,
    id: Option<&GroupId>,
    edit: &GroupEdit,
) -> Result<(ScimGroup, MemberDelta), DomainError> {
    let org_id = &caller.org.id;
    let name = edit.display_name.as_deref().map(group_name).transpose()?;
    if id.is_none() && name.is_none() {
        return Err(DomainError::Invalid("displayName is required.".into()));
    }
    let named: Vec<MemberId> = edit
        .set_members
        .iter()
        .flatten()
        .chain(&edit.add)
        .cloned()
        .collect();
    let unknown = store.unknown_members(org_id, &named).await?;
    if let Some(first) = unknown.first() {
        return Err(DomainError::Invalid(format!(
            "No user of this organization has the id {}.",
            crate::validate::quoted(first.as_str())
        )));
    }
    let before = match id {
        Some(id) => Some(
            store
                .scim_group(org_id, id)
                .await?
                .ok_or(DomainError::NotFound)?,
        ),
        None => None,
    };
    let recorded = OKTA.recorded();
    let change = GroupChange {
        id: id.cloned().unwrap_or_else(|| GroupId::from("new")),
        create: id.is_none().then_some(()),
        display_name: name.as_deref(),
        external_id: edit.external_id.as_ref().map(|e| e.as_deref()),
        set_members: edit.set_members.as_deref(),
        add: &edit.add,
        remove: &edit.remove,
        default_role: caller.sso.default_role.role(),
        actor: &recorded,
    };
    let entry = |group: &ScimGroup, delta: &MemberDelta| -> Option<NewAudit> {
        group_entry(org_id, before.as_ref(), group, delta)
    };
    match store.write_group(org_id, &change, &entry).await? {
        Written::Done(done) => Ok(done),
        Written::UserNameTaken => Err(DomainError::Taken(format!(
            "Another group of this organization has the displayName {}.",
            crate::validate::quoted(name.as_deref().unwrap_or_default())
        ))),
        Written::Gone => Err(DomainError::NotFound),
    }
}

/// The audit entry of a group change: `group_pushed` for a new group or changed members,
/// `group_renamed` for a rename alone; none when nothing changed.
fn group_entry(
    org_id: &OrgId,
    before: Option<&ScimGroup>,
    group: &ScimGroup,
    delta: &MemberDelta,
) -> Option<NewAudit> {
    let renamed = before.is_some_and(|b| b.display_name != group.display_name);
    let members_changed = !delta.added.is_empty() || !delta.removed.is_empty();
    let action = match (before, renamed, members_changed) {
        (None, _, _) => "group_pushed",
        (Some(_), _, true) => "group_pushed",
        (Some(_), true, false) => "group_renamed",
        (Some(_), false, false) => return None,
    };
    Some(OKTA.audit(org_id, action, None).change(
        json!({"group": before.map(|b| b.display_name.as_str())}),
        json!({
            "group": group.display_name,
            "group_id": group.id,
            "role": group.role,
            "added": delta.added.len(),
            "removed": delta.removed.len(),
        }),
    ))
}

/// Deletes the caller's group `id` (its members lose it; roles recomputed when it was mapped).
/// Audited as `group_deleted`.
pub async fn delete_group(
    store: &Store,
    caller: &ScimCaller,
    id: &GroupId,
) -> Result<ScimGroup, DomainError> {
    let org_id = &caller.org.id;
    let group = store
        .scim_group(org_id, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let entry = OKTA.audit(org_id, "group_deleted", None).change(
        json!({"group": group.display_name, "role": group.role}),
        json!({}),
    );
    if !store
        .delete_group(
            org_id,
            id,
            caller.sso.default_role.role(),
            &OKTA.recorded(),
            &entry,
        )
        .await?
    {
        return Err(DomainError::NotFound);
    }
    Ok(group)
}

// ---- role mappings -----------------------------------------------------------------------------

/// The pushed group of `org` named `name` (any case).
async fn group_named(store: &Store, org: &Org, name: &str) -> Result<ScimGroup, DomainError> {
    let name = group_name(name)?;
    let (groups, _) = store
        .scim_groups(
            &org.id,
            &GroupFilter::DisplayNameKey(name.to_lowercase()),
            0,
            1,
        )
        .await?;
    groups.into_iter().next().ok_or_else(|| {
        DomainError::Invalid(format!(
            "Okta has not pushed a group named {} to this organization: push it first (in Okta, the app's Push Groups tab), then map it.",
            crate::validate::quoted(&name)
        ))
    })
}

/// Maps the pushed group named `group` (its current displayName, any case) to `role`, or
/// removes its mapping (`None`). The mapping is stored against the group, so it survives a
/// rename. Members' roles are recomputed at once. Audited as `role_mapping_set` /
/// `role_mapping_removed`.
pub async fn set_role_mapping(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    group: &str,
    role: Option<DefaultRole>,
) -> Result<ScimGroup, DomainError> {
    may_manage(actor, &org.id)?;
    let sso = connection(store, org).await?;
    let found = group_named(store, org, group).await?;
    if role.is_none() && found.role.is_none() {
        return Err(DomainError::NotFound);
    }
    let action = if role.is_some() {
        "role_mapping_set"
    } else {
        "role_mapping_removed"
    };
    let entry = actor.audit(&org.id, action, None).change(
        json!({"group": found.display_name, "role": found.role}),
        json!({"group": found.display_name, "role": role.map(|r| r.role())}),
    );
    if !store
        .set_role_mapping(
            &org.id,
            &found.id,
            role.map(|r| r.role()),
            sso.default_role.role(),
            &actor.recorded(),
            &entry,
        )
        .await?
    {
        return Err(DomainError::NotFound);
    }
    Ok(ScimGroup {
        role: role.map(|r| r.role()),
        ..found
    })
}

/// The org's mapped groups with their member counts, by name.
pub async fn role_mappings(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
) -> Result<Vec<(ScimGroup, i64)>, DomainError> {
    match actor {
        Actor::Member(m) if m.org_id == org.id && m.role != Role::Member => {}
        _ => may_manage(actor, &org.id)?,
    }
    Ok(store.role_mappings(&org.id).await?)
}

// ---- views for the admin pages -----------------------------------------------------------------

fn token_view(t: ScimToken) -> ScimTokenView {
    ScimTokenView {
        id: t.id,
        name: t.name,
        hint: t.hint,
        created_at: t.created_at,
        created_by: t.created_by,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

/// Groups listed on the SSO page.
const GROUPS_LISTED: i64 = 200;

/// The SSO page's "Provisioning" section: mode, base URL, tokens and pushed groups with their
/// roles. Owner and admins (the tokens' list only for the owner); `can_edit` for the owner.
pub async fn provisioning_view(
    store: &Store,
    public_url: &PublicUrl,
    me: &Member,
) -> Result<ProvisioningView, DomainError> {
    if me.role == Role::Member {
        return Err(DomainError::Forbidden(
            "Only owners and admins see SCIM provisioning.".into(),
        ));
    }
    let org_id = &me.org_id;
    let sso = store.sso_connection(org_id).await?;
    let owner = me.role == Role::Owner;
    let tokens = if owner {
        store.scim_tokens(org_id).await?
    } else {
        Vec::new()
    };
    let counts = store.role_mappings(org_id).await?;
    let (groups, _) = store
        .scim_groups(org_id, &GroupFilter::All, 0, GROUPS_LISTED)
        .await?;
    let mut groups: Vec<GroupView> = groups
        .into_iter()
        .map(|g| GroupView {
            members: counts
                .iter()
                .find(|(m, _)| m.id == g.id)
                .map_or(0, |(_, n)| *n),
            id: g.id,
            display_name: g.display_name,
            role: g.role,
        })
        .collect();
    groups.sort_by(|a, b| {
        (a.role.is_none(), a.display_name.to_lowercase())
            .cmp(&(b.role.is_none(), b.display_name.to_lowercase()))
    });
    Ok(ProvisioningView {
        connected: sso.is_some(),
        mode: sso.map_or(ProvisioningMode::Jit, |s| s.provisioning),
        base_url: base_url(public_url),
        tokens: tokens.into_iter().map(token_view).collect(),
        groups,
        can_edit: owner,
        now: store.now_ms(),
    })
}

/// [`create_token`] as the SSO page shows its result.
pub fn token_created(public_url: &PublicUrl, new: NewToken) -> ScimTokenCreated {
    ScimTokenCreated {
        token: token_view(new.token),
        secret: new.secret,
        base_url: base_url(public_url),
        mode_switched: new.mode_switched,
    }
}

/// [`revoke_token`]'s result as listed.
pub fn revoked_view(t: ScimToken) -> ScimTokenView {
    token_view(t)
}

/// Page `page` of the provisioning log as the admin pages show it.
pub async fn log_view(
    store: &Store,
    me: &Member,
    page: u32,
) -> Result<ProvisioningLogPage, DomainError> {
    let org = store
        .org_by_id(&me.org_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let mut page = page.max(1);
    let (mut entries, total) = log_page(store, &Actor::Member(me), &org, page).await?;
    // A page past the end shows the last page, as the other lists do.
    let last = u32::try_from((total.max(0) + LOG_PER_PAGE - 1) / LOG_PER_PAGE)
        .unwrap_or(u32::MAX)
        .max(1);
    if page > last {
        page = last;
        entries = log_page(store, &Actor::Member(me), &org, page).await?.0;
    }
    Ok(ProvisioningLogPage {
        entries: entries
            .into_iter()
            .map(|e| ScimRequestView {
                at: e.at,
                method: e.method,
                path: e.path,
                status: e.status,
                scim_type: e.scim_type,
                summary: e.summary,
                member_id: e.member_id,
                about: e.about,
                duration_ms: e.duration_ms,
            })
            .collect(),
        total,
        page,
        per_page: LOG_PER_PAGE as u32,
        now: store.now_ms(),
    })
}

// ---- the provisioning log ----------------------------------------------------------------------

/// Entries of the provisioning log per page.
pub const LOG_PER_PAGE: i64 = 50;

/// Records one authenticated SCIM request in the caller's provisioning log. A failure to
/// record is logged, never the request's failure.
pub async fn record(store: &Store, org_id: &OrgId, entry: &ScimRequest) {
    if let Err(e) = store.record_scim_request(org_id, entry).await {
        tracing::warn!(error = %e, "could not record a SCIM request in the provisioning log");
    }
}

/// Page `page` (1-based) of the org's provisioning log, newest first, and the total. Owners
/// and admins.
pub async fn log_page(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    page: u32,
) -> Result<(Vec<ScimRequest>, i64), DomainError> {
    match actor {
        Actor::Member(m) if m.org_id == org.id && m.role != Role::Member => {}
        Actor::Operator => {}
        _ => {
            return Err(DomainError::Forbidden(
                "Only owners and admins see the provisioning log.".into(),
            ));
        }
    }
    let offset = i64::from(page.max(1) - 1) * LOG_PER_PAGE;
    Ok(store.scim_requests(&org.id, offset, LOG_PER_PAGE).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_checked_before_lookup() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert!(a.starts_with(TOKEN_PREFIX));
        for bad in [
            "",
            "tscim_",
            &a[..a.len() - 1],
            &format!("{a}x"),
            &a.replace(TOKEN_PREFIX, "tscix_"),
            &format!("{}é{}", &a[..10], &a[12..]),
        ] {
            assert!(!well_formed(bad), "{bad:?}");
        }
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn token_names_are_bounded() {
        assert_eq!(token_name("  ").unwrap(), "Okta");
        assert_eq!(token_name(" Okta prod ").unwrap(), "Okta prod");
        assert!(token_name("a\nb").is_err());
        assert!(token_name(&"x".repeat(MAX_TOKEN_NAME + 1)).is_err());
    }
}
