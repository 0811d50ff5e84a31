//! An org's own lifecycle after its creation: renaming it and deleting it with everything of
//! it. Only the service operator does either (`tessera org rename`, `tessera org delete`); a
//! rename is written to the org's audit log, while a deletion takes the log with it.

use super::actor::Actor;
use super::membership::DomainError;
use super::store::{OrgDeleted, Store};
use crate::model::Org;
use crate::validate;
use serde_json::json;

fn operator_only(actor: &Actor<'_>, what: &str) -> Result<(), DomainError> {
    match actor {
        Actor::Operator => Ok(()),
        Actor::Member(_) | Actor::Okta(_) | Actor::SetupLink => Err(DomainError::Forbidden(
            format!("Only the service operator can {what}."),
        )),
    }
}

/// Gives `org` the display name `name` (trimmed; non-empty, at most 200 characters, no control
/// characters). The same name is a no-op (no audit entry). Audited as `org_renamed`
/// (before/after `{"name": …}`) in the same transaction. Returns the org as it is now.
pub async fn rename(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    name: &str,
) -> Result<Org, DomainError> {
    operator_only(actor, "rename an organization")?;
    let name = validate::display_name(name).map_err(DomainError::Invalid)?;
    if name == org.name {
        return Ok(org.clone());
    }
    let audit = actor
        .audit(&org.id, "org_renamed", None)
        .change(json!({"name": org.name}), json!({"name": name}));
    if !store.rename_org(&org.id, name, &audit).await? {
        return Err(DomainError::NotFound);
    }
    Ok(Org {
        name: name.to_string(),
        ..org.clone()
    })
}

/// Deletes `org` and everything of it, in one transaction: its members (their sessions end at
/// once), Okta connection, setup links, sign-ins in flight, login attempts and audit log.
/// There is no undo; its slug and its issuer are free again afterwards.
pub async fn delete(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
) -> Result<OrgDeleted, DomainError> {
    operator_only(actor, "delete an organization")?;
    let deleted = store
        .delete_org(&org.id)
        .await?
        .ok_or(DomainError::NotFound)?;
    tracing::info!(org = %org.slug, members = deleted.members, "deleted the org");
    Ok(deleted)
}
