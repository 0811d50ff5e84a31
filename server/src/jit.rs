//! Just-in-time provisioning: the member behind a verified Okta identity, created on first
//! sign-in, keyed by (org, issuer key, subject) and never by email. The issuer key
//! ([`issuer::key`]) ignores a trailing slash, so registering the same issuer with or without
//! one never makes second members.

use crate::oidc::Identity;
use app::model::{Member, MemberStatus, Org, SsoConnection};
use app::ssr::issuer;
use app::ssr::store::{Store, StoreError};

/// Why a verified person is still not let in.
#[derive(Debug)]
pub enum Refusal {
    /// The member exists but has been deactivated by an owner or admin.
    Deactivated,
    /// The org admits only existing members and this person is not one.
    JitDisabled,
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

/// Finds or creates the member for `identity`. Existing members get their email and name
/// refreshed (an email change at Okta never makes a second member); the org's first member
/// becomes its owner, settled by the database under concurrent first logins.
pub async fn provision_member(
    store: &Store,
    org: &Org,
    sso: &SsoConnection,
    identity: &Identity,
) -> Result<Member, Refusal> {
    let issuer = issuer::key(&sso.issuer);
    let issuer = issuer.as_str();
    let touch = || {
        store.touch_active_member(
            &org.id,
            issuer,
            &identity.subject,
            &identity.email,
            &identity.name,
        )
    };
    // A returning member: one statement.
    if let Some(member) = touch().await? {
        return Ok(member);
    }
    let existing = store
        .member_by_subject(&org.id, issuer, &identity.subject)
        .await?;
    match existing {
        Some(m) if m.status == MemberStatus::Deactivated => Err(Refusal::Deactivated),
        // Reactivated, or created by a concurrent first sign-in, since the update above.
        Some(_) => touch().await?.ok_or(Refusal::Deactivated),
        None if !sso.jit_enabled => Err(Refusal::JitDisabled),
        None => {
            let (m, created) = store
                .insert_member(
                    &org.id,
                    issuer,
                    &identity.subject,
                    &identity.email,
                    &identity.name,
                    sso.default_role,
                )
                .await?;
            if created {
                tracing::info!(org = %org.slug, member = %m.id, role = %m.role, "provisioned a new member");
                return Ok(m);
            }
            // A concurrent first sign-in of the same person created them first.
            touch().await?.ok_or(Refusal::Deactivated)
        }
    }
}
