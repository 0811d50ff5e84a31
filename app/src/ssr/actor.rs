//! Who acts: every change to an org — its members, its Okta connection, its setup links — is
//! made by an [`Actor`], and its audit entry names them through [`Actor::recorded`] (the store
//! keeps only that projection, [`AuditActor`]).

use super::store::{AuditActor, NewAudit};
use crate::model::{Member, MemberId, OrgId};

// The labels of the actors who are not members, shared with the pages that put them into
// words (`crate::api::audit_text`).
pub use crate::api::audit_text::{ACTOR_CLI, ACTOR_LINK, ACTOR_OKTA_JIT};

/// Who makes a change, as its audit entry names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor<'a> {
    /// A signed-in, active member, through the admin pages or the JSON API.
    Member(&'a Member),
    /// The service operator, through the `tessera` CLI (audited as [`ACTOR_CLI`]).
    Operator,
    /// The org's Okta, on its own initiative.
    Okta(Via),
    /// Whoever holds one of the org's setup links (audited as [`ACTOR_LINK`]).
    SetupLink,
}

/// How Okta acts on an org's members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Just-in-time provisioning: a person Okta vouches for signs in for the first time.
    /// (SCIM provisioning and Universal Logout will be further ways.)
    JustInTime,
}

impl Actor<'_> {
    /// The acting member's id; `None` for everyone else.
    pub fn member_id(&self) -> Option<&MemberId> {
        match self {
            Actor::Member(m) => Some(&m.id),
            Actor::Operator | Actor::Okta(_) | Actor::SetupLink => None,
        }
    }

    /// How the audit log names the actor: the member's email, or one of the fixed labels
    /// ([`ACTOR_CLI`], [`ACTOR_OKTA_JIT`], [`ACTOR_LINK`]).
    pub fn label(&self) -> &str {
        match self {
            Actor::Member(m) => &m.email,
            Actor::Operator => ACTOR_CLI,
            Actor::Okta(Via::JustInTime) => ACTOR_OKTA_JIT,
            Actor::SetupLink => ACTOR_LINK,
        }
    }

    /// The actor as the store records them.
    pub fn recorded(&self) -> AuditActor {
        AuditActor {
            id: self.member_id().cloned(),
            label: self.label().to_string(),
        }
    }

    /// An audit entry by this actor in `org_id` about `target` (or about the org when `None`);
    /// before and after are empty until [`NewAudit::change`] sets them.
    pub fn audit(&self, org_id: &OrgId, action: &str, target: Option<&Member>) -> NewAudit {
        NewAudit {
            org_id: org_id.clone(),
            actor_id: self.member_id().cloned(),
            actor_email: self.label().to_string(),
            action: action.to_string(),
            target_id: target.map(|t| t.id.clone()),
            target_email: target.map(|t| t.email.clone()).unwrap_or_default(),
            before: String::new(),
            after: String::new(),
        }
    }
}
