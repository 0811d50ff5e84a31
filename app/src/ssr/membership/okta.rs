//! Members as the org's Okta provisions them over SCIM 2.0 (RFC 7644): created before their
//! first sign-in, adopted when they signed in first, updated, deactivated and reactivated, and
//! removed. The actor is always Okta ([`Via::Scim`], audited as "Okta (SCIM)").
//!
//! The rules:
//! - SCIM never gives or takes the owner role: a new member gets the org's default role (group
//!   mappings then decide, `ssr::scim`), and ownership still goes to the first member who signs
//!   in.
//! - A leaver loses access whatever their role: Okta may deactivate the owner (the org's admins
//!   may then claim ownership, or the operator transfers it). Deactivation ends every session
//!   of the member in the same transaction.
//! - Okta reactivates only members Okta deactivated: one an owner or admin deactivated in
//!   Tessera stays deactivated until they reactivate them.
//! - A SCIM `DELETE` removes the member; of the owner it deactivates them instead, so the org
//!   keeps its owner on record until ownership moves.

use super::{Actor, DomainError, Via, remove};
use crate::model::{Member, MemberStatus, Org, Role, SsoConnection};
use crate::ssr::issuer;
use crate::ssr::store::scim::{ScimUser, UserRecord, Written};
use crate::ssr::store::{NewAudit, Store};
use serde_json::json;

const OKTA: Actor<'static> = Actor::Okta(Via::Scim);

/// What `POST /Users` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScimCreated {
    /// A new member, not signed in yet.
    Created(ScimUser),
    /// A member who signed in before (just in time) with `sub` = the request's `externalId`:
    /// adopted, never duplicated.
    Adopted(ScimUser),
}

fn taken(user_name: &str) -> DomainError {
    DomainError::Taken(format!(
        "Another member of this organization has the userName {}.",
        crate::validate::quoted(user_name)
    ))
}

/// Creates the member `record` describes in `org` (`POST /Users`), with the connection's
/// default role, active or not as `active` says; audited as `member_provisioned`. A member who
/// signed in before with `sub` = `record.external_id` is adopted instead ([`scim_replace`]).
/// Errors: [`DomainError::Taken`] when another member has the userName (any case).
pub async fn scim_create(
    store: &Store,
    org: &Org,
    sso: &SsoConnection,
    record: &UserRecord,
    active: bool,
) -> Result<ScimCreated, DomainError> {
    if let Some(sub) = &record.external_id {
        let key = issuer::key(&sso.issuer);
        if let Some(m) = store.member_by_subject(&org.id, &key, sub).await?
            && let Some(user) = store.scim_user(&org.id, &m.id).await?
        {
            let user = scim_replace(store, org, &user, record, active).await?;
            return Ok(ScimCreated::Adopted(user));
        }
    }
    let role = sso.default_role.role();
    let entry = |m: &Member| {
        let mut e = OKTA.audit(&org.id, "member_provisioned", Some(m));
        e.after = json!({"role": m.role, "status": m.status, "via": "scim"}).to_string();
        e
    };
    match store
        .insert_scim_user(&org.id, record, active, role, &entry)
        .await?
    {
        Written::Done(user) => {
            tracing::info!(org = %org.slug, member = %user.member.id, "Okta provisioned a member over SCIM");
            Ok(ScimCreated::Created(user))
        }
        Written::UserNameTaken => Err(taken(&record.user_name)),
        Written::Gone => Err(DomainError::NotFound),
    }
}

/// Replaces the SCIM attributes of `target` with `record` (`PUT`, and `PATCH` once applied)
/// and sets their status as `active` says. A profile change is audited as
/// `member_profile_changed`; deactivation (every session ends at once) as
/// `member_deactivated`, reactivation as `member_reactivated`. Returns the member as stored.
pub async fn scim_replace(
    store: &Store,
    org: &Org,
    target: &ScimUser,
    record: &UserRecord,
    active: bool,
) -> Result<ScimUser, DomainError> {
    let entry = |before: &ScimUser, after: &ScimUser| -> Option<NewAudit> {
        let shown = |u: &ScimUser| json!({"email": u.member.email, "name": u.member.name, "user_name": u.user_name});
        (shown(before) != shown(after)).then(|| {
            OKTA.audit(&org.id, "member_profile_changed", Some(&after.member))
                .change(shown(before), shown(after))
        })
    };
    let user = match store
        .update_scim_user(&org.id, &target.member.id, record, &entry)
        .await?
    {
        Written::Done(user) => user,
        Written::UserNameTaken => return Err(taken(&record.user_name)),
        Written::Gone => return Err(DomainError::NotFound),
    };
    let to = match (active, user.member.status) {
        (false, MemberStatus::Active) => MemberStatus::Deactivated,
        // Only Okta's own deactivation is Okta's to undo.
        (true, MemberStatus::Deactivated) if user.deactivated_by_okta => MemberStatus::Active,
        _ => return Ok(user),
    };
    set_status(store, &OKTA, org, &user.member, to).await?;
    store
        .scim_user(&org.id, &user.member.id)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Okta says the account of `target` is disabled (a RISC `account-disabled` event): they are
/// deactivated as SCIM's `active: false` does (the owner too; every session ends in the same
/// transaction). False when they were deactivated already.
pub async fn okta_deactivate(
    store: &Store,
    via: Via,
    org: &Org,
    target: &Member,
) -> Result<bool, DomainError> {
    if target.status == MemberStatus::Deactivated {
        return Ok(false);
    }
    set_status(
        store,
        &Actor::Okta(via),
        org,
        target,
        MemberStatus::Deactivated,
    )
    .await?;
    Ok(true)
}

/// Okta says the account of `target` is enabled again (RISC `account-enabled`): reactivated
/// when Okta deactivated them; one an owner or admin deactivated in Tessera stays so. False
/// when nothing changed.
pub async fn okta_reactivate(
    store: &Store,
    via: Via,
    org: &Org,
    target: &Member,
) -> Result<bool, DomainError> {
    let by_okta = store
        .scim_user(&org.id, &target.id)
        .await?
        .is_some_and(|u| u.deactivated_by_okta);
    if target.status == MemberStatus::Active || !by_okta {
        return Ok(false);
    }
    set_status(store, &Actor::Okta(via), org, target, MemberStatus::Active).await?;
    Ok(true)
}

/// Deactivates or reactivates `member` because Okta said so (`actor` is Okta, by SCIM or a
/// security event).
async fn set_status(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    member: &Member,
    to: MemberStatus,
) -> Result<(), DomainError> {
    let action = match to {
        MemberStatus::Deactivated => "member_deactivated",
        MemberStatus::Active => "member_reactivated",
    };
    let entry = actor.audit(&org.id, action, Some(member)).change(
        json!({"status": member.status}),
        json!({"status": to, "by": "okta"}),
    );
    if !store
        .set_status_by_okta(&org.id, &member.id, member.status, to, &entry)
        .await?
    {
        // A concurrent request (Okta retrying, say) made the same change first: done.
        let now = store.scim_user(&org.id, &member.id).await?;
        return match now {
            Some(u) if u.member.status == to => Ok(()),
            Some(_) => Err(DomainError::Conflict(
                "This member changed meanwhile: retry the request.".into(),
            )),
            None => Err(DomainError::NotFound),
        };
    }
    if to == MemberStatus::Deactivated {
        tracing::info!(org = %org.slug, member = %member.id, role = %member.role, actor = %actor.label(), "Okta deactivated a member; their sessions ended");
    }
    Ok(())
}

/// Removes `target` (`DELETE /Users/{id}`), their sessions and the open setup links they made,
/// audited as `member_removed`; the owner is deactivated instead (see the module's rules).
pub async fn scim_delete(store: &Store, org: &Org, target: &ScimUser) -> Result<(), DomainError> {
    if target.member.role == Role::Owner {
        if target.member.status == MemberStatus::Active {
            set_status(store, &OKTA, org, &target.member, MemberStatus::Deactivated).await?;
        }
        return Ok(());
    }
    remove(store, &OKTA, &org.id, target.member.id.as_str()).await?;
    Ok(())
}
