//! Who acts: every change to an org — its members, its Okta connection, its setup links — is
//! made by an [`Actor`], and its audit entry names them through [`Actor::recorded`] (the store
//! keeps only that projection, [`AuditActor`]).

use super::store::{AuditActor, NewAudit};
use crate::model::{Member, MemberId, OrgId};
use std::borrow::Cow;

// The labels of the actors who are not members, shared with the pages that put them into
// words (`crate::api::audit_text`).
pub use crate::api::audit_text::{
    ACTOR_CLI, ACTOR_LINK, ACTOR_OKTA_JIT, ACTOR_OKTA_LOGOUT, ACTOR_OKTA_SCIM, ACTOR_OKTA_SIGNALS,
};

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
    JustInTime,
    /// SCIM 2.0 provisioning (`/scim/v2`, RFC 7644): Okta creates, updates, deactivates and
    /// groups members (audited as [`ACTOR_OKTA_SCIM`]).
    Scim,
    /// Universal Logout (`/oauth/global-token-revocation`): Okta ends a member's sessions
    /// (audited as [`ACTOR_OKTA_LOGOUT`]).
    UniversalLogout,
    /// Shared Signals (`/ssf/events`, CAEP and RISC events): Okta ends a member's sessions,
    /// deactivates or reactivates them (audited as [`ACTOR_OKTA_SIGNALS`]).
    SharedSignals,
}

impl Actor<'_> {
    /// The acting member's id; `None` for everyone else.
    pub fn member_id(&self) -> Option<&MemberId> {
        match self {
            Actor::Member(m) => Some(&m.id),
            Actor::Operator | Actor::Okta(_) | Actor::SetupLink => None,
        }
    }

    /// How the audit log names the actor: a member as [`member_label`] says, everyone else by
    /// one of the fixed labels ([`ACTOR_CLI`], [`ACTOR_OKTA_JIT`], [`ACTOR_LINK`]).
    pub fn label(&self) -> Cow<'_, str> {
        match self {
            Actor::Member(m) => member_label(m),
            Actor::Operator => ACTOR_CLI.into(),
            Actor::Okta(Via::JustInTime) => ACTOR_OKTA_JIT.into(),
            Actor::Okta(Via::Scim) => ACTOR_OKTA_SCIM.into(),
            Actor::Okta(Via::UniversalLogout) => ACTOR_OKTA_LOGOUT.into(),
            Actor::Okta(Via::SharedSignals) => ACTOR_OKTA_SIGNALS.into(),
            Actor::SetupLink => ACTOR_LINK.into(),
        }
    }

    /// The actor as the store records them.
    pub fn recorded(&self) -> AuditActor {
        AuditActor {
            id: self.member_id().cloned(),
            label: self.label().into_owned(),
        }
    }

    /// An audit entry by this actor in `org_id` about `target` (or about the org when `None`);
    /// before and after are empty until [`NewAudit::change`] sets them.
    pub fn audit(&self, org_id: &OrgId, action: &str, target: Option<&Member>) -> NewAudit {
        NewAudit {
            org_id: org_id.clone(),
            actor_id: self.member_id().cloned(),
            actor_email: self.label().into_owned(),
            action: action.to_string(),
            target_id: target.map(|t| t.id.clone()),
            target_email: target.map(|t| t.email.clone()).unwrap_or_default(),
            before: String::new(),
            after: String::new(),
        }
    }
}

/// How the audit log names a member: their email when it is one (it holds an `@`, which no
/// fixed label does), else their name (or "member") with their id. The email comes from the
/// org's Okta as its administrators, or the person, set it: an IdP that sends none must not
/// leave the log's "who" blank, and one that sends e.g. `operator (CLI)` must not make a
/// member's change read as the operator's.
pub fn member_label(m: &Member) -> Cow<'_, str> {
    let email = m.email.trim();
    if email.contains('@') {
        return Cow::Borrowed(email);
    }
    let name = m.name.trim();
    let name = if name.is_empty() { "member" } else { name };
    Cow::Owned(format!("{name} (member {})", m.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MemberStatus, Role};

    fn member(email: &str, name: &str) -> Member {
        Member {
            id: "m-1".into(),
            org_id: "o-1".into(),
            issuer: "https://acme.okta.com".into(),
            subject: "sub".into(),
            email: email.into(),
            name: name.into(),
            role: Role::Admin,
            status: MemberStatus::Active,
            created_at: 0,
            last_login_at: None,
        }
    }

    #[test]
    fn members_are_named_by_email_or_by_id_never_as_another_actor() {
        let m = member(" pat@example.com ", "Pat");
        assert_eq!(Actor::Member(&m).label(), "pat@example.com");
        for (email, name, want) in [
            (ACTOR_CLI, "Mallory", "Mallory (member m-1)"),
            (ACTOR_OKTA_JIT, "", "member (member m-1)"),
            (ACTOR_LINK, " ", "member (member m-1)"),
            ("", "Pat", "Pat (member m-1)"),
        ] {
            let m = member(email, name);
            let label = Actor::Member(&m).label().into_owned();
            assert_eq!(label, want);
            assert_eq!(Actor::Member(&m).recorded().label, want);
            assert_eq!(
                Actor::Member(&m).audit(&m.org_id, "x", None).actor_email,
                want
            );
        }
        assert_eq!(Actor::Operator.label(), ACTOR_CLI);
        assert_eq!(Actor::Okta(Via::JustInTime).label(), ACTOR_OKTA_JIT);
        assert_eq!(Actor::SetupLink.label(), ACTOR_LINK);
    }
}
