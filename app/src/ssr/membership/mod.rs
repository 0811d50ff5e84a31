//! The membership core: every change to an org's members, whoever makes it, goes through the
//! functions here, with an explicit [`Actor`] — a member using the admin pages or API, the
//! operator using the CLI, or Okta (just-in-time provisioning at sign-in now; SCIM and
//! Universal Logout later). Each function works only inside the org it is given (an id from
//! another org is [`DomainError::NotFound`]) and writes its audit entry, naming the actor, in
//! the same transaction as the change.
//!
//! The rules:
//! - A member is keyed by (org, issuer key, subject), never by email ([`provision`]).
//! - **The org's first member becomes its owner**, and an org never has two: the database
//!   settles it under concurrent first sign-ins (the partial unique index `members_one_owner`
//!   behind `Store::insert_member`), so the rule holds however many nodes race.
//! - Ownership changes hands only by [`transfer_ownership`]; no role change or default role
//!   makes an owner ([`DefaultRole`] cannot say "owner").
//! - Who may do what to whom is the pure permission matrix [`may`] / [`may_org`] (shared with
//!   the pages), and [`may_operator`] for the service operator (`tessera member …`), who may
//!   act on any member but the owner; updates are guarded so they apply only while the state
//!   they were decided on still holds.
//!
//! The org's Okta connection as its owner and admins see and change it, the login activity and
//! the audit log are here too, for members acting through the admin pages.

pub use crate::api::permissions::{Action, OrgAction, Party, may, may_operator, may_org};
pub use okta::{
    ScimCreated, okta_deactivate, okta_reactivate, scim_create, scim_delete, scim_replace,
};

mod okta;

use super::PublicUrl;
use super::connection::Rekeyed;
use super::crypto::SecretKey;
use super::issuer;
use super::login::Outcome;
use super::outbound::Outbound;
use super::rate_limit::Budget;
use super::sso_check;
use super::store::scim::Linked;
use super::store::signals::SecurityEventRow;
use super::store::{
    Admission, AuditEntry, AuditFilter, DirectoryPage, Guard, Invitation, MemberFilter, MemberStats,
};
use super::store::{Store, StoreError};
use crate::api::audit_text;
use crate::api::types::{
    AttemptView, AuditPage, AuditView, ConnectionReport, DailyCount, InvitationList,
    InvitationView, LastFailure, LastSuccess, LoginActivity, MembersPage, PER_PAGE,
    SecurityEventView, SignalsView, SsoView,
};
use crate::model::{
    DefaultRole, InvitationId, Member, MemberId, MemberStatus, Org, OrgId, Role, SsoConnection,
};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// No such member (or connection) in the org.
    #[error("not found in your organization")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// A value that must be unique in the org is another's already (a SCIM `userName` or
    /// group `displayName`).
    #[error("{0}")]
    Taken(String),
    /// A new client secret failed "Test connection" and was not saved.
    #[error("the connection test failed")]
    ConnectionTestFailed(ConnectionReport),
    /// The org's connection tests are used up for now ([`super::rate_limit`]).
    #[error("too many connection tests")]
    RateLimited { retry_after_ms: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The opaque `after` cursor of the members list: a member's place in its order (name, email,
/// id) as base64url JSON. Only ever read back as a position, never trusted as anything else.
mod cursor {
    use super::DomainError;
    use crate::model::{Member, MemberId};
    use crate::ssr::store::MemberKey;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// Longest cursor accepted, in characters.
    const MAX_CHARS: usize = 4096;

    pub fn encode(m: &Member) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::json!([m.name, m.email, m.id]).to_string())
    }

    pub fn decode(cursor: &str) -> Result<MemberKey, DomainError> {
        let bad = || {
            DomainError::Invalid(
                "after must be a cursor a members page gave (its \"next\").".into(),
            )
        };
        let cursor = cursor.trim();
        if cursor.is_empty() || cursor.len() > MAX_CHARS {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let (name, email, id): (String, String, String) =
            serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if [&name, &email, &id].iter().any(|v| v.contains('\0')) {
            return Err(bad());
        }
        Ok(MemberKey {
            name,
            email,
            id: MemberId::parse(&id).map_err(|_| bad())?,
        })
    }
}

/// Login attempts listed by [`login_activity`].
pub const ATTEMPTS_LISTED: i64 = 100;
/// Security signals from Okta listed by [`login_activity`].
pub const SIGNALS_LISTED: i64 = 50;
/// Days covered by the daily login counts, today included.
pub const ACTIVITY_DAYS: i64 = 14;
const DAY_MS: i64 = 86_400_000;
/// Longest accepted search.
const MAX_QUERY: usize = 200;

const CHANGED: &str =
    "This member or your own role changed meanwhile: reload the page and try again.";
const CHANGED_FOR_OPERATOR: &str = "This member changed meanwhile (an owner or admin acted on them at the same time): look at them again with `tessera member show` and retry.";
const NO_CONNECTION: &str = "No Okta connection is registered for this organization yet: create a setup link on the SSO page for your Okta admin, or ask the service operator.";

// ---- who acts ----------------------------------------------------------------------------------

pub use super::actor::{ACTOR_OKTA_JIT, Actor, Via};

impl Actor<'_> {
    /// The member acting in `org_id`, for changes only a member of the org makes (an owner's
    /// own transfer). The operator, Okta and setup links are refused here. A member of another
    /// org finds nobody.
    fn member_in(&self, org_id: &OrgId, what: &str) -> Result<&Member, DomainError> {
        match self {
            Actor::Member(m) if m.org_id == org_id => Ok(m),
            Actor::Member(_) => Err(DomainError::NotFound),
            Actor::Operator | Actor::Okta(_) | Actor::SetupLink => Err(DomainError::Forbidden(
                format!("Only an owner or admin of the organization can {what}."),
            )),
        }
    }

    /// Who decides `what` (a role or status change, a removal) in `org_id`: a member of the
    /// org, or the service operator. Okta and setup links are refused: no flow of theirs makes
    /// these changes yet. A member of another org finds nobody.
    fn decider_in(&self, org_id: &OrgId, what: &str) -> Result<Decider<'_>, DomainError> {
        match self {
            Actor::Member(_) => self.member_in(org_id, what).map(Decider::Member),
            Actor::Operator => Ok(Decider::Operator),
            Actor::Okta(Via::Scim | Via::SharedSignals | Via::UniversalLogout) => Ok(Decider::Okta),
            Actor::Okta(Via::JustInTime) | Actor::SetupLink => {
                Err(DomainError::Forbidden(format!(
                    "Only an owner or admin of the organization, or the service operator, can {what}."
                )))
            }
        }
    }
}

/// Who decides a change to another member, and so what the store re-checks when it writes it.
#[derive(Clone, Copy, Debug)]
enum Decider<'a> {
    /// A member of the org: the permission matrix [`may`], and their role must still hold.
    Member(&'a Member),
    /// The service operator (`tessera member …`): [`may_operator`]; they hold no membership.
    Operator,
    /// The org's Okta over SCIM: as the operator (never the owner's role or removal); it holds
    /// no membership either.
    Okta,
}

impl<'a> Decider<'a> {
    fn allow(self, action: Action, target: &Member) -> Result<(), DomainError> {
        allow(match self {
            Decider::Member(me) => may(me, action, target),
            Decider::Operator | Decider::Okta => may_operator(action, target),
        })
    }

    /// The state the decision was made on, for the store's guarded update.
    fn guard(self, org_id: &'a OrgId, target: &'a Member) -> Guard<'a> {
        Guard {
            org_id,
            actor: match self {
                Decider::Member(me) => Some((&me.id, me.role)),
                Decider::Operator | Decider::Okta => None,
            },
            target_id: &target.id,
            target_role: target.role,
            target_status: target.status,
        }
    }

    /// The guard no longer held: the member (or the acting member's role) changed meanwhile.
    fn changed(self) -> DomainError {
        DomainError::Conflict(match self {
            Decider::Member(_) => CHANGED.into(),
            Decider::Operator => CHANGED_FOR_OPERATOR.into(),
            Decider::Okta => "This member changed meanwhile: retry the request.".into(),
        })
    }
}

fn allow(decision: Result<(), String>) -> Result<(), DomainError> {
    decision.map_err(DomainError::Forbidden)
}

/// The member `target_id` of `org_id`.
async fn target(store: &Store, org_id: &OrgId, target_id: &str) -> Result<Member, DomainError> {
    let id = target_id.trim();
    if id.is_empty() {
        return Err(DomainError::Invalid("member_id is required.".into()));
    }
    // An id that cannot be one (too long, odd characters) finds nobody, as an unknown one does.
    let Ok(id) = MemberId::parse(id) else {
        return Err(DomainError::NotFound);
    };
    store
        .member_by_id(org_id, &id)
        .await?
        .ok_or(DomainError::NotFound)
}

fn who(m: &Member) -> &str {
    if m.name.is_empty() { &m.email } else { &m.name }
}

// ---- provisioning --------------------------------------------------------------------------

/// A person as their org's IdP vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The ID token's `sub`: non-empty, at most 255 characters, no control characters.
    pub subject: String,
    /// `email` from /userinfo, else from the ID token; empty when neither has one.
    pub email: String,
    /// The same answer says `email_verified` (true or "true"). Only a verified email picks an
    /// invitation.
    pub email_verified: bool,
    /// The display name: `name`, else `given_name family_name`, else `preferred_username`,
    /// else (when there is no email either) the `sub`, so no member is ever blank.
    pub name: String,
    /// `preferred_username` (Okta's login), or empty: a new member's SCIM `userName`, and how
    /// a member Okta provisioned over SCIM without an `externalId` is linked.
    pub preferred_username: String,
}

impl Identity {
    /// The SCIM `userName` of a member this identity creates: the Okta login, else the email,
    /// else the `sub`.
    pub fn user_name(&self) -> &str {
        [&self.preferred_username, &self.email, &self.subject]
            .into_iter()
            .find(|v| !v.trim().is_empty())
            .map_or("", |v| v.as_str())
    }
}

/// Why a person Okta vouches for is still not let in.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The member exists but has been deactivated by an owner or admin.
    #[error("the member is deactivated")]
    Deactivated,
    /// The member exists but Okta deactivated them (SCIM `active: false`).
    #[error("the member was deactivated in Okta")]
    DeactivatedInOkta,
    /// The org admits only existing members and this person is not one.
    #[error("just-in-time provisioning is off")]
    JitDisabled,
    /// The org's provisioning mode is `scim` and Okta has not provisioned this person.
    #[error("not provisioned by Okta")]
    NotProvisioned,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The member behind `identity` in `org`, as `actor` (Okta, [`Via::JustInTime`]) brings them
/// in: found by (org, issuer key, subject) and never by email, so an email change at Okta
/// never makes a second member, and registering the issuer with or without a trailing slash
/// neither ([`issuer::key`]).
///
/// - An active member gets their sign-in time recorded (one statement); when Okta's email or
///   name for them changed, the profile is refreshed with a `member_profile_changed` entry.
/// - A deactivated member is refused ([`ProvisionError::Deactivated`], or
///   [`ProvisionError::DeactivatedInOkta`] when Okta deactivated them over SCIM).
/// - A member Okta provisioned over SCIM who never signed in is linked now ([`link`]).
/// - Under the provisioning mode `scim`, nobody else comes in: a member Okta did not provision
///   and a stranger are refused ([`ProvisionError::NotProvisioned`]).
/// - A stranger with an open invitation for their verified email ([`invite`]) becomes a member
///   with the invitation's role, whether just-in-time provisioning is on or off, and the
///   invitation is consumed in the same transaction.
/// - Another stranger is refused while the org's just-in-time provisioning is off
///   ([`ProvisionError::JitDisabled`]); otherwise they become a member with the connection's
///   default role — or the owner, when they are the org's first member. The database settles
///   that under concurrent first sign-ins (one owner per org, by a unique index), and the new
///   member's `member_provisioned` audit entry (actor `actor`, after `{"role": …}`) is written
///   in the same transaction. Their SCIM `userName` is [`Identity::user_name`].
pub async fn provision(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    sso: &SsoConnection,
    identity: &Identity,
) -> Result<Member, ProvisionError> {
    let issuer = issuer::key(&sso.issuer);
    let issuer = issuer.as_str();
    let scim_only = !sso.provisioning.admits_unprovisioned();
    let touch = || {
        store.touch_active_member(
            &org.id,
            issuer,
            &identity.subject,
            &identity.email,
            &identity.name,
            scim_only,
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
        Some(m) if m.status == MemberStatus::Deactivated => Err(deactivated(store, &m).await?),
        Some(m) if scim_only && !store.scim_managed(&org.id, &m.id).await? => {
            Err(ProvisionError::NotProvisioned)
        }
        // Okta's profile changed (an email or a name): refreshed, and audited, since audit
        // entries name members by email.
        Some(m)
            if crate::validate::bounded(&identity.email, crate::validate::MAX_STORED_CHARS)
                != m.email
                || crate::validate::bounded(&identity.name, crate::validate::MAX_STORED_CHARS)
                    != m.name =>
        {
            let audit = |updated: &Member| {
                actor
                    .audit(&org.id, "member_profile_changed", Some(updated))
                    .change(
                        json!({"email": m.email, "name": m.name}),
                        json!({"email": updated.email, "name": updated.name}),
                    )
            };
            store
                .refresh_member_profile(&m, &identity.email, &identity.name, &audit)
                .await?
                .ok_or(ProvisionError::Deactivated)
        }
        // Reactivated, or created by a concurrent first sign-in, since the update above.
        Some(_) => touch().await?.ok_or(ProvisionError::Deactivated),
        None => {
            if let Some(m) = link(store, actor, org, issuer, identity).await? {
                return Ok(m);
            }
            if scim_only {
                return Err(ProvisionError::NotProvisioned);
            }
            let new = NewMember {
                actor,
                org,
                issuer,
                identity,
            };
            let (m, created) = new.admit(store, sso).await?;
            if created {
                tracing::info!(org = %org.slug, member = %m.id, role = %m.role, "provisioned a new member");
                return Ok(m);
            }
            // A concurrent first sign-in of the same person created them first.
            touch().await?.ok_or(ProvisionError::Deactivated)
        }
    }
}

/// Why a deactivated member is refused: deactivated by Okta (SCIM) or in Tessera.
async fn deactivated(store: &Store, m: &Member) -> Result<ProvisionError, StoreError> {
    Ok(if store.deactivated_by_okta(&m.org_id, &m.id).await? {
        ProvisionError::DeactivatedInOkta
    } else {
        ProvisionError::Deactivated
    })
}

/// The member Okta provisioned over SCIM before this person ever signed in, linked to them now
/// (never a duplicate): the one whose `externalId` is their `sub` (Okta's user id), else one
/// without an `externalId` whose `userName` is their `preferred_username` (any case). Never by
/// email. The org's first member to sign in becomes its owner. Audited as `member_linked`.
async fn link(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    issuer: &str,
    identity: &Identity,
) -> Result<Option<Member>, ProvisionError> {
    let login = identity.preferred_username.trim().to_lowercase();
    let entry = |m: &Member, owner: bool| {
        let mut e = actor.audit(&org.id, "member_linked", Some(m));
        e.after = json!({"role": m.role, "became_owner": owner}).to_string();
        e
    };
    let linked = store
        .link_scim_user(
            &org.id,
            issuer,
            &identity.subject,
            (!login.is_empty()).then_some(login.as_str()),
            &entry,
        )
        .await?;
    match linked {
        Linked::Member(m, _) => {
            tracing::info!(org = %org.slug, member = %m.id, role = %m.role, "linked a member Okta provisioned over SCIM");
            Ok(Some(m))
        }
        Linked::Deactivated { by_okta: true } => Err(ProvisionError::DeactivatedInOkta),
        Linked::Deactivated { by_okta: false } => Err(ProvisionError::Deactivated),
        Linked::Nobody => Ok(None),
    }
}

/// A person Okta vouches for, about to become a member.
struct NewMember<'a> {
    actor: &'a Actor<'a>,
    org: &'a Org,
    issuer: &'a str,
    identity: &'a Identity,
}

impl NewMember<'_> {
    /// Admits them by an open invitation for their verified email, else by just-in-time
    /// provisioning when it is on ([`ProvisionError::JitDisabled`] when it is off).
    async fn admit(
        &self,
        store: &Store,
        sso: &SsoConnection,
    ) -> Result<(Member, bool), ProvisionError> {
        let invitation = if self.identity.email_verified {
            store
                .open_invitation_for(&self.org.id, &self.identity.email)
                .await?
        } else {
            None
        };
        if invitation.is_none() && !sso.jit_enabled {
            return Err(ProvisionError::JitDisabled);
        }
        match self.insert(store, sso, invitation.as_ref()).await {
            // The invitation was revoked or expired meanwhile: only JIT can admit them now.
            Err(StoreError::NotFound(_)) if invitation.is_some() => {
                if !sso.jit_enabled {
                    return Err(ProvisionError::JitDisabled);
                }
                Ok(self.insert(store, sso, None).await?)
            }
            other => Ok(other?),
        }
    }

    /// Inserts them with `invitation`'s role (accepting it in the same transaction), else the
    /// connection's default role, and their `member_provisioned` entry.
    async fn insert(
        &self,
        store: &Store,
        sso: &SsoConnection,
        invitation: Option<&Invitation>,
    ) -> Result<(Member, bool), StoreError> {
        let role = invitation.map_or(sso.default_role, |i| i.role).role();
        let audit = |m: &Member| {
            let mut entry = self
                .actor
                .audit(&self.org.id, "member_provisioned", Some(m));
            entry.after = match invitation {
                Some(i) => {
                    json!({"role": m.role, "invitation": i.id, "invited_by": i.invited_by})
                }
                None => json!({"role": m.role}),
            }
            .to_string();
            entry
        };
        let admission = Admission {
            audit: &audit,
            invitation: invitation.map(|i| &i.id),
        };
        store
            .insert_member_audited(
                &self.org.id,
                self.issuer,
                &self.identity.subject,
                &self.identity.email,
                &self.identity.name,
                self.identity.user_name(),
                role,
                Some(&admission),
            )
            .await
    }
}

// ---- invitations ---------------------------------------------------------------------------------

/// How long an invitation stays open.
pub const INVITATION_DAYS: i64 = 30;
/// Invitations listed by [`list_invitations`].
const INVITATIONS_LISTED: i64 = 200;

fn invitation_view(i: Invitation) -> InvitationView {
    InvitationView {
        id: i.id,
        email: i.email,
        role: i.role,
        invited_by: i.invited_by,
        created_at: i.created_at,
        expires_at: i.expires_at,
    }
}

/// Pre-approves `email` into `actor`'s org with `role` for [`INVITATION_DAYS`]: their first
/// sign-in through the org's Okta with that email (verified) creates them with `role`, even
/// while just-in-time provisioning is off. Owners and admins may; an address that is already a
/// member's is refused, an open invitation of the same address is replaced. Audited as
/// `invitation_created`.
pub async fn invite(
    store: &Store,
    actor: &Member,
    email: &str,
    role: DefaultRole,
) -> Result<InvitationView, DomainError> {
    allow(may_org(actor, OrgAction::InviteMembers))?;
    let email = crate::validate::email(email).map_err(DomainError::Invalid)?;
    if let Some(m) = store.members_by_email(&actor.org_id, email).await?.first() {
        return Err(DomainError::Conflict(format!(
            "{} is already a member ({}).",
            m.email, m.role
        )));
    }
    let expires_at = store.now_ms().saturating_add(INVITATION_DAYS * DAY_MS);
    let who = Actor::Member(actor);
    let entry = who.audit(&actor.org_id, "invitation_created", None);
    let invitation = store
        .create_invitation(
            &actor.org_id,
            email,
            role,
            expires_at,
            &who.recorded(),
            entry,
        )
        .await?;
    Ok(invitation_view(invitation))
}

/// The open invitations of `actor`'s org, newest first. Owners and admins.
pub async fn list_invitations(
    store: &Store,
    actor: &Member,
) -> Result<InvitationList, DomainError> {
    allow(may_org(actor, OrgAction::InviteMembers))?;
    let open = store
        .open_invitations(&actor.org_id, INVITATIONS_LISTED)
        .await?;
    Ok(InvitationList {
        invitations: open.into_iter().map(invitation_view).collect(),
    })
}

/// Revokes the open invitation `id` of `actor`'s org (an id from elsewhere, or of a closed
/// invitation, is [`DomainError::NotFound`]). Audited as `invitation_revoked`.
pub async fn revoke_invitation(
    store: &Store,
    actor: &Member,
    id: &str,
) -> Result<InvitationView, DomainError> {
    allow(may_org(actor, OrgAction::InviteMembers))?;
    let Ok(id) = InvitationId::parse(id.trim()) else {
        return Err(DomainError::NotFound);
    };
    let entry = Actor::Member(actor).audit(&actor.org_id, "invitation_revoked", None);
    match store.revoke_invitation(&actor.org_id, &id, entry).await? {
        Some(i) => Ok(invitation_view(i)),
        None => Err(DomainError::NotFound),
    }
}

// ---- members ---------------------------------------------------------------------------------

/// One page (1-based, [`PER_PAGE`] per page) of the org's members ordered by name, email, id;
/// `q` matches name or email case-insensitively, `%` and `_` literally. Everyone may.
pub async fn list_members(
    store: &Store,
    actor: &Member,
    q: &str,
    filter: MemberFilter,
    page: u32,
    after: Option<&str>,
) -> Result<MembersPage, DomainError> {
    allow(may_org(actor, OrgAction::ViewMembers))?;
    if q.chars().count() > MAX_QUERY {
        return Err(DomainError::Invalid(format!(
            "The search is too long (at most {MAX_QUERY} characters)."
        )));
    }
    let after = after.map(cursor::decode).transpose()?;
    let search = (!q.is_empty()).then_some(q);
    let filtered = search.is_some() || filter != MemberFilter::default();
    // The org's counts come with the page (one statement for both).
    let (stats, members, total, page, next) = match after {
        // Keyset: one more than a page says whether another follows.
        Some(key) => {
            let (stats, mut members) = store
                .members_after(&actor.org_id, search, filter, i64::from(PER_PAGE) + 1, &key)
                .await?;
            let more = members.len() > PER_PAGE as usize;
            members.truncate(PER_PAGE as usize);
            let total = if filtered {
                store
                    .count_members_matching(&actor.org_id, search, filter)
                    .await?
            } else {
                stats.counts.active + stats.counts.deactivated
            };
            let next = more.then(|| members.last().map(cursor::encode)).flatten();
            (stats, members, total, 0, next)
        }
        None => {
            // A page past the end shows the last page instead.
            let (found, _, page) = clamped_page(page, |offset| async move {
                let found = store
                    .members_page(&actor.org_id, search, filter, i64::from(PER_PAGE), offset)
                    .await?;
                let total = found.total;
                Ok((found, total))
            })
            .await?;
            let DirectoryPage {
                stats,
                members,
                total,
            } = found;
            let more = i64::from(page) * i64::from(PER_PAGE) < total;
            let next = more.then(|| members.last().map(cursor::encode)).flatten();
            (stats, members, total, page, next)
        }
    };
    let MemberStats {
        counts,
        owner_deactivated,
    } = stats;
    Ok(MembersPage {
        members: members.into_iter().map(Into::into).collect(),
        total,
        page,
        next,
        per_page: PER_PAGE,
        counts,
        now: store.now_ms(),
        // Okta may deactivate a leaving owner: the page then tells admins they may claim it.
        owner_deactivated,
    })
}

/// Page `page` (1-based, [`PER_PAGE`] a page) of a list, fetched with `fetch(offset)` giving
/// the page and the list's total; a page past the end fetches and shows the last page
/// instead. Returns the page fetched, the total and the page number shown.
async fn clamped_page<T, F, Fut>(page: u32, fetch: F) -> Result<(T, i64, u32), StoreError>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(T, i64), StoreError>>,
{
    let offset = |page: u32| i64::from(page - 1) * i64::from(PER_PAGE);
    let mut page = page.max(1);
    let (mut found, mut total) = fetch(offset(page)).await?;
    if page > last_page(total) {
        page = last_page(total);
        (found, total) = fetch(offset(page)).await?;
    }
    Ok((found, total, page))
}

/// The last page of a list of `total` entries, [`PER_PAGE`] per page (1 for an empty list).
fn last_page(total: i64) -> u32 {
    let pages = (total.max(0) + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE);
    u32::try_from(pages).unwrap_or(u32::MAX).max(1)
}

/// Gives the member `target_id` of `org_id` the role `role` (never owner: see
/// [`transfer_ownership`]). Owner: admin <-> member of anyone but themselves. Admin:
/// member -> admin. The operator: admin <-> member of anyone but the owner. A role the member
/// already has is a no-op (no audit entry). Audited as `role_changed`.
pub async fn change_role(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
    role: DefaultRole,
) -> Result<Member, DomainError> {
    let decider = actor.decider_in(org_id, "change roles")?;
    let target = target(store, org_id, target_id).await?;
    let role = role.role();
    decider.allow(Action::ChangeRole(role), &target)?;
    if target.role == role {
        return Ok(target);
    }
    let audit = actor
        .audit(org_id, "role_changed", Some(&target))
        .change(json!({"role": target.role}), json!({"role": role}));
    if !store
        .set_member_role(&decider.guard(org_id, &target), role, &audit)
        .await?
    {
        return Err(decider.changed());
    }
    Ok(Member { role, ..target })
}

/// Deactivates a member: all their sessions end at once and Okta sign-ins are refused until
/// they are reactivated. Never the owner (the operator included: transfer ownership first).
/// Already deactivated: a no-op. Audited as `member_deactivated`.
pub async fn deactivate(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
) -> Result<Member, DomainError> {
    set_status(store, actor, org_id, target_id, MemberStatus::Deactivated).await
}

/// Reactivates a member: they may sign in again (with a new session). Already active: a no-op.
/// Audited as `member_reactivated`.
pub async fn reactivate(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
) -> Result<Member, DomainError> {
    set_status(store, actor, org_id, target_id, MemberStatus::Active).await
}

async fn set_status(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
    to: MemberStatus,
) -> Result<Member, DomainError> {
    let (action, audit_action, what) = match to {
        MemberStatus::Deactivated => (
            Action::Deactivate,
            "member_deactivated",
            "deactivate members",
        ),
        MemberStatus::Active => (
            Action::Reactivate,
            "member_reactivated",
            "reactivate members",
        ),
    };
    let decider = actor.decider_in(org_id, what)?;
    let target = target(store, org_id, target_id).await?;
    decider.allow(action, &target)?;
    if target.status == to {
        return Ok(target);
    }
    let audit = actor
        .audit(org_id, audit_action, Some(&target))
        .change(json!({"status": target.status}), json!({"status": to}));
    if !store
        .set_member_status(&decider.guard(org_id, &target), to, &audit)
        .await?
    {
        return Err(decider.changed());
    }
    Ok(Member {
        status: to,
        ..target
    })
}

/// Removes a member, their sessions and the open setup links they made. Never the owner (the
/// operator included: transfer ownership first). If they sign in through Okta again,
/// just-in-time provisioning (when on) makes them a new member. Returns the removed member.
/// Audited as `member_removed`.
pub async fn remove(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
) -> Result<Member, DomainError> {
    let decider = actor.decider_in(org_id, "remove members")?;
    let target = target(store, org_id, target_id).await?;
    decider.allow(Action::Remove, &target)?;
    let mut audit = actor.audit(org_id, "member_removed", Some(&target));
    audit.before = json!({"role": target.role, "status": target.status}).to_string();
    if !store
        .delete_member(&decider.guard(org_id, &target), &audit)
        .await?
    {
        return Err(decider.changed());
    }
    Ok(target)
}

/// Signs the member `target_id` of `org_id` out everywhere ("Sign out everywhere", `tessera
/// member sign-out`): every session of theirs ends at once, on every node. They stay a member
/// and may sign in again through Okta. Owner and admins as [`may`] says ([`Action::SignOut`]);
/// the operator and Okta ([`Via::UniversalLogout`], [`Via::SharedSignals`]) for anyone, the
/// owner included. Audited as `sessions_revoked` with the number of sessions ended, which it
/// returns with the member.
pub async fn sign_out_everywhere(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
) -> Result<(Member, u64), DomainError> {
    let target = target(store, org_id, target_id).await?;
    let ended = end_sessions(store, actor, org_id, std::slice::from_ref(&target), None).await?;
    Ok((target, ended))
}

/// Ends every session of `targets` (members of `org_id`) in one transaction, one
/// `sessions_revoked` entry each (with `why`, e.g. Okta's event, in its details); the one
/// path by which sessions end on someone's say-so. Returns how many sessions ended.
pub async fn end_sessions(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    targets: &[Member],
    why: Option<&str>,
) -> Result<u64, DomainError> {
    let decider = actor.decider_in(org_id, "sign members out")?;
    for t in targets {
        if t.org_id != *org_id {
            return Err(DomainError::NotFound);
        }
        decider.allow(Action::SignOut, t)?;
    }
    let live: Vec<i64> = {
        let mut live = Vec::with_capacity(targets.len());
        for t in targets {
            live.push(store.live_sessions_of(&t.id).await?);
        }
        live
    };
    let entries: Vec<_> = targets
        .iter()
        .zip(&live)
        .map(|(t, n)| {
            let mut after = json!({"sessions": n});
            if let Some(why) = why {
                after["because"] = json!(why);
            }
            let mut e = actor.audit(org_id, "sessions_revoked", Some(t));
            e.after = after.to_string();
            e
        })
        .collect();
    let ids: Vec<&MemberId> = targets.iter().map(|t| &t.id).collect();
    let ended = store.end_sessions(org_id, &ids, &entries).await?;
    if ended > 0 {
        tracing::info!(org = %org_id, members = targets.len(), sessions = ended, actor = %actor.label(), "signed members out everywhere");
    }
    Ok(ended)
}

/// An ownership transfer: the new owner and the previous one (now an admin), if the org had
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transferred {
    pub owner: Member,
    pub previous: Option<Member>,
}

/// Makes the active admin or member `target_id` of `org_id` the owner; the current owner (if
/// any) becomes an admin in the same transaction and the open setup links they made stop
/// working. Audited as `ownership_transferred`.
///
/// - A member: the owner, handing the org over ([`may`]); or an admin claiming the org for
///   themselves while its owner is deactivated (Okta deactivated a leaving owner over SCIM).
/// - The operator (`tessera org transfer-owner`), e.g. when the owner can no longer sign in:
///   any member who is not the owner already; an org without an owner simply gets one.
/// - Okta: refused.
///
/// A deactivated target is [`DomainError::Conflict`] (reactivate them first).
pub async fn transfer_ownership(
    store: &Store,
    actor: &Actor<'_>,
    org_id: &OrgId,
    target_id: &str,
) -> Result<Transferred, DomainError> {
    let target = match actor {
        Actor::Member(_) => {
            let me = actor.member_in(org_id, "transfer ownership")?;
            let target = target(store, org_id, target_id).await?;
            // An admin claims an org whose owner Okta deactivated (a leaver).
            let claim = target.id == me.id
                && me.role == Role::Admin
                && store
                    .owner_of(org_id)
                    .await?
                    .is_some_and(|o| o.status == MemberStatus::Deactivated);
            if !claim {
                allow(may(me, Action::TransferOwnership, &target))?;
            }
            target
        }
        Actor::Operator => {
            let target = target(store, org_id, target_id).await?;
            if target.role == Role::Owner {
                return Err(DomainError::Conflict(format!(
                    "{} is already the owner",
                    who(&target)
                )));
            }
            target
        }
        Actor::Okta(_) | Actor::SetupLink => {
            return Err(DomainError::Forbidden(
                "Ownership changes hands only by the owner or the service operator.".into(),
            ));
        }
    };
    if target.status != MemberStatus::Active {
        return Err(DomainError::Conflict(format!(
            "{} is deactivated: reactivate them before transferring ownership to them.",
            who(&target)
        )));
    }
    let owner = match actor {
        // The owner handing over: the store demotes them only while they still are.
        Actor::Member(me) if me.role == Role::Owner => Some((*me).clone()),
        _ => store.owner_of(org_id).await?,
    };
    let mut audit = actor.audit(org_id, "ownership_transferred", Some(&target));
    let previous_email = owner.as_ref().map_or(String::new(), |o| o.email.clone());
    audit.before = json!({"owner": previous_email, "role": target.role}).to_string();
    audit.after = json!({"owner": target.email, "role": Role::Owner, "previous_owner_role": owner.as_ref().map(|_| Role::Admin)}).to_string();
    if !store
        .transfer_ownership(
            org_id,
            owner.as_ref().map(|o| (&o.id, o.status)),
            &target.id,
            &audit,
        )
        .await?
    {
        return Err(DomainError::Conflict(CHANGED.into()));
    }
    Ok(Transferred {
        owner: Member {
            role: Role::Owner,
            ..target
        },
        previous: owner.map(|o| Member {
            role: Role::Admin,
            ..o
        }),
    })
}

/// The member of `org_id` an operator names: by id, or else by email (case-insensitive).
/// An email shared by several members (e.g. duplicates after an issuer change) is refused
/// with their ids.
pub async fn member_named(
    store: &Store,
    org_id: &OrgId,
    id_or_email: &str,
) -> Result<Member, DomainError> {
    let wanted = id_or_email.trim();
    if wanted.is_empty() {
        return Err(DomainError::Invalid("give a member id or email".into()));
    }
    if let Ok(id) = MemberId::parse(wanted)
        && let Some(m) = store.member_by_id(org_id, &id).await?
    {
        return Ok(m);
    }
    let found = store.members_by_email(org_id, wanted).await?;
    match found.as_slice() {
        [] => Err(DomainError::NotFound),
        [one] => Ok(one.clone()),
        many => Err(DomainError::Invalid(format!(
            "{} members have the email {}: give the member id instead ({})",
            many.len(),
            crate::validate::bounded(wanted, 200),
            many.iter()
                .map(|m| format!("{} keyed to {}", m.id, m.issuer))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Moves every member of `org` keyed to `from_issuer` onto the org's current issuer, keeping
/// their `sub` (after an issuer change, when the same people arrive through the new issuer).
/// Only the operator (`tessera org rekey-members`); audited as `members_rekeyed` in the same
/// transaction. The refusals (no connection, nobody keyed to that issuer, the current issuer,
/// a duplicate `sub`) are the store's [`StoreError::Invalid`], and write nothing.
pub async fn rekey_members(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    from_issuer: &str,
) -> Result<Rekeyed, DomainError> {
    match actor {
        Actor::Operator => Ok(store.rekey_members(org, from_issuer).await?),
        Actor::Member(_) | Actor::Okta(_) | Actor::SetupLink => Err(DomainError::Forbidden(
            "Only the service operator moves members between issuers (`tessera org rekey-members`)."
                .into(),
        )),
    }
}

// ---- the Okta connection ---------------------------------------------------------------------

/// `••••` and the last 4 characters of `secret`.
pub fn secret_hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("••••{tail}")
}

/// `acme.okta.com` for `https://acme.okta.com`.
pub fn okta_domain(issuer: &str) -> String {
    issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

async fn open_secret(
    store: &Store,
    key: &SecretKey,
    org_id: &OrgId,
) -> Result<Option<(String, String)>, StoreError> {
    let Some(sealed) = store.sealed_client_secret(org_id).await? else {
        return Ok(None);
    };
    match key.open(org_id.as_str(), &sealed) {
        Ok(secret) => Ok(Some((sealed, secret))),
        Err(e) => {
            tracing::warn!(%org_id, error = %e, "the stored client secret does not open");
            Ok(None)
        }
    }
}

async fn connection(store: &Store, org_id: &OrgId) -> Result<SsoConnection, DomainError> {
    store
        .sso_connection(org_id)
        .await?
        .ok_or_else(|| DomainError::Conflict(NO_CONNECTION.into()))
}

/// The SSO page: connection, policy, the URIs to paste into Okta, the last sign-ins. Owner and
/// admins; `can_edit` only for the owner.
pub async fn sso_view(
    store: &Store,
    key: &SecretKey,
    public_url: &PublicUrl,
    actor: &Member,
) -> Result<SsoView, DomainError> {
    allow(may_org(actor, OrgAction::ViewSso))?;
    let org_id = &actor.org_id;
    let sso = store.sso_connection(org_id).await?;
    let hint = match &sso {
        Some(_) => open_secret(store, key, org_id)
            .await?
            .map(|(_, s)| secret_hint(&s)),
        None => None,
    };
    let last_success = store
        .last_login_success(org_id)
        .await?
        .map(|(at, email, name)| LastSuccess { at, email, name });
    let last_failure = store
        .last_login_failure(org_id)
        .await?
        .map(|a| LastFailure {
            at: a.at,
            advice: a.reason.advice(&a.detail).to_string(),
            reason: a.reason.code().to_string(),
            detail: a.detail,
        });
    Ok(SsoView {
        configured: sso.is_some(),
        issuer: sso.as_ref().map(|s| s.issuer.clone()),
        okta_domain: sso.as_ref().map(|s| okta_domain(&s.issuer)),
        client_id: sso.as_ref().map(|s| s.client_id.clone()),
        client_secret_hint: hint,
        enabled: sso.as_ref().is_some_and(|s| s.enabled),
        jit_enabled: sso.as_ref().is_none_or(|s| s.jit_enabled),
        default_role: sso.as_ref().map_or(DefaultRole::Member, |s| s.default_role),
        initiate_login_uri: public_url.initiate_login_uri(),
        redirect_uri: public_url.redirect_uri(),
        last_success,
        last_failure,
        can_edit: may_org(actor, OrgAction::EditSsoSettings).is_ok(),
        signals: SignalsView {
            universal_logout: sso.as_ref().is_some_and(|s| s.universal_logout),
            shared_signals: sso.as_ref().is_some_and(|s| s.shared_signals),
            universal_logout_endpoint: public_url.universal_logout_endpoint(),
            ssf_endpoint: public_url.ssf_endpoint(),
            ssf_audience: match store.org_by_id(org_id).await? {
                Some(org) => public_url.ssf_audience(&org.slug),
                None => String::new(),
            },
            last: store
                .security_events(org_id, 1)
                .await?
                .into_iter()
                .next()
                .map(security_event_view),
        },
    })
}

/// What the owner is told when asking to turn SSO off: only the operator can.
pub const DISABLE_IS_OPERATOR_ONLY: &str = "Only the service operator can turn single sign-on off: it signs everyone in your organization out at once, you included, and nobody can sign in again until the operator turns it back on. If that is what you want, ask the service operator.";

/// Owner: sets the just-in-time policy and may turn SSO on (`enabled: Some(true)`); `None`
/// leaves the switch as it is. Turning SSO off is the operator's (`tessera sso disable`):
/// it locks everyone out, the owner included, so an owner asking for it is
/// [`DomainError::Forbidden`] with [`DISABLE_IS_OPERATOR_ONLY`] and nothing changes.
/// Unchanged settings: a no-op.
pub async fn update_sso_settings(
    store: &Store,
    actor: &Member,
    enabled: Option<bool>,
    jit_enabled: bool,
    default_role: DefaultRole,
) -> Result<SsoConnection, DomainError> {
    allow(may_org(actor, OrgAction::EditSsoSettings))?;
    let sso = connection(store, &actor.org_id).await?;
    if sso.enabled && enabled == Some(false) {
        return Err(DomainError::Forbidden(DISABLE_IS_OPERATOR_ONLY.into()));
    }
    let turn_on = enabled == Some(true);
    let enabled = sso.enabled || turn_on;
    if (sso.enabled, sso.jit_enabled, sso.default_role) == (enabled, jit_enabled, default_role) {
        return Ok(sso);
    }
    let audit = Actor::Member(actor).audit(&actor.org_id, "sso_settings_changed", None).change(
        json!({"enabled": sso.enabled, "jit_enabled": sso.jit_enabled, "default_role": sso.default_role}),
        json!({"enabled": enabled, "jit_enabled": jit_enabled, "default_role": default_role}),
    );
    // The switch is written only from off to on: a concurrent `tessera sso disable` is never
    // undone by a policy change made from a page loaded before it.
    if !store
        .update_sso_settings(
            &actor.org_id,
            &actor.id,
            turn_on,
            jit_enabled,
            default_role,
            &audit,
        )
        .await?
    {
        return Err(DomainError::Conflict(
            "Your role or the connection changed meanwhile: reload the page and try again.".into(),
        ));
    }
    Ok(SsoConnection {
        enabled,
        jit_enabled,
        default_role,
        ..sso
    })
}

/// Counts one connection test against the org's budget ([`super::rate_limit`]).
async fn take_test(store: &Store, org_id: &OrgId) -> Result<(), DomainError> {
    match store.take_connection_test(org_id).await? {
        Budget::Granted => Ok(()),
        Budget::Limited { retry_after_ms } => Err(DomainError::RateLimited { retry_after_ms }),
    }
}

/// "Test connection" with the stored credentials. Owner and admins.
///
/// Through `outbound` (destination policy, `--idp-timeout`, size cap); counted against the
/// org's connection-test budget ([`DomainError::RateLimited`] when it is used up).
pub async fn test_connection(
    store: &Store,
    key: &SecretKey,
    public_url: &PublicUrl,
    outbound: &Outbound,
    actor: &Member,
) -> Result<ConnectionReport, DomainError> {
    allow(may_org(actor, OrgAction::TestConnection))?;
    let sso = connection(store, &actor.org_id).await?;
    let Some((_, secret)) = open_secret(store, key, &actor.org_id).await? else {
        return Err(DomainError::Conflict(
            "The stored client secret cannot be read with this server's secret key: the owner should rotate the client secret.".into(),
        ));
    };
    take_test(store, &actor.org_id).await?;
    let report = sso_check::check_connection(
        outbound,
        &sso.issuer,
        &sso.client_id,
        &secret,
        &public_url.redirect_uri(),
    )
    .await;
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    let mut audit = Actor::Member(actor).audit(&actor.org_id, "sso_connection_tested", None);
    audit.after = json!({"ok": report.ok, "failed": failed}).to_string();
    store.record_audit(&audit).await?;
    Ok(report)
}

/// Owner: replaces the client secret, but only when "Test connection" passes with the new one;
/// otherwise [`DomainError::ConnectionTestFailed`] with the report, the old one stays and the
/// refusal is audited as `client_secret_rotation_failed` (the failed checks, never the secret).
/// The test counts against the org's connection-test budget like [`test_connection`].
pub async fn rotate_client_secret(
    store: &Store,
    key: &SecretKey,
    public_url: &PublicUrl,
    outbound: &Outbound,
    actor: &Member,
    new_secret: &str,
) -> Result<ConnectionReport, DomainError> {
    allow(may_org(actor, OrgAction::RotateClientSecret))?;
    let secret = new_secret.trim();
    if secret.is_empty() {
        return Err(DomainError::Invalid(
            "Paste the new Client secret from Okta (Applications → Tessera → General → Client Credentials).".into(),
        ));
    }
    if secret.len() > 1024 || secret.chars().any(char::is_control) {
        return Err(DomainError::Invalid(
            "That does not look like an Okta client secret: copy it again from Okta.".into(),
        ));
    }
    let sso = connection(store, &actor.org_id).await?;
    let old_sealed = store
        .sealed_client_secret(&actor.org_id)
        .await?
        .ok_or_else(|| DomainError::Conflict(NO_CONNECTION.into()))?;
    take_test(store, &actor.org_id).await?;
    let report = sso_check::check_connection(
        outbound,
        &sso.issuer,
        &sso.client_id,
        secret,
        &public_url.redirect_uri(),
    )
    .await;
    if !report.ok {
        // Recorded (which checks failed, never the secret): a refused rotation is worth
        // knowing about, e.g. someone trying secrets.
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        let mut audit =
            Actor::Member(actor).audit(&actor.org_id, "client_secret_rotation_failed", None);
        audit.after = json!({ "failed": failed }).to_string();
        store.record_audit(&audit).await?;
        return Err(DomainError::ConnectionTestFailed(report));
    }
    let old_hint = key
        .open(actor.org_id.as_str(), &old_sealed)
        .map(|s| secret_hint(&s))
        .unwrap_or_default();
    let audit = Actor::Member(actor)
        .audit(&actor.org_id, "client_secret_rotated", None)
        .change(
            json!({"client_secret": old_hint}),
            json!({"client_secret": secret_hint(secret)}),
        );
    let sealed = key.seal(actor.org_id.as_str(), secret);
    if !store
        .replace_client_secret(&actor.org_id, &actor.id, &old_sealed, &sealed, &audit)
        .await?
    {
        return Err(DomainError::Conflict(
            "The client secret or your role changed meanwhile: reload the page and try again."
                .into(),
        ));
    }
    Ok(report)
}

// ---- activity and audit ----------------------------------------------------------------------

/// `YYYY-MM-DD` of a day number since the Unix epoch (UTC).
pub fn day_string(day: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(day * 86_400) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => String::new(),
    }
}

/// The latest login attempts (optionally of one outcome) and the daily counts of the last
/// [`ACTIVITY_DAYS`] UTC days, oldest first. Owner and admins.
pub async fn login_activity(
    store: &Store,
    actor: &Member,
    outcome: Option<Outcome>,
) -> Result<LoginActivity, DomainError> {
    allow(may_org(actor, OrgAction::ViewLoginActivity))?;
    let attempts = store
        .login_attempts_of(&actor.org_id, outcome, ATTEMPTS_LISTED)
        .await?
        .into_iter()
        .map(|a| AttemptView {
            at: a.at,
            outcome: a.outcome.as_str().into(),
            advice: a.reason.advice(&a.detail).to_string(),
            reason: a.reason.code().to_string(),
            detail: a.detail,
            email: a.email,
            subject: a.subject,
        })
        .collect();
    let today = store.now_ms().div_euclid(DAY_MS);
    let first = today - (ACTIVITY_DAYS - 1);
    let counts = store
        .daily_login_counts(&actor.org_id, first * DAY_MS)
        .await?;
    let daily = (first..=today)
        .map(|day| {
            let (success, failure) = counts
                .iter()
                .find(|(d, _, _)| *d == day)
                .map_or((0, 0), |&(_, s, f)| (s, f));
            DailyCount {
                day: day_string(day),
                success,
                failure,
            }
        })
        .collect();
    let security_events = store
        .security_events(&actor.org_id, SIGNALS_LISTED)
        .await?
        .into_iter()
        .map(security_event_view)
        .collect();
    Ok(LoginActivity {
        attempts,
        daily,
        security_events,
    })
}

/// A recorded security signal as the pages show it.
fn security_event_view(r: SecurityEventRow) -> SecurityEventView {
    SecurityEventView {
        at: r.at,
        channel: r.channel,
        event: crate::api::signal_text::event_name(&r.event_type).to_string(),
        event_type: r.event_type,
        subject: r.subject,
        member_id: r.member_id,
        member_email: r.member_email,
        outcome: r.outcome,
        sessions_ended: r.sessions_ended,
    }
}

/// One page (1-based, [`PER_PAGE`] per page) of the audit log entries matching `filter`,
/// newest first, each with its sentence; a page past the end shows the last page. Owner and
/// admins.
pub async fn audit_page(
    store: &Store,
    actor: &Member,
    filter: &AuditFilter,
    page: u32,
) -> Result<AuditPage, DomainError> {
    allow(may_org(actor, OrgAction::ViewAudit))?;
    let (entries, total, page) = clamped_page(page, |offset| {
        store.audit_entries(&actor.org_id, filter, i64::from(PER_PAGE), offset)
    })
    .await?;
    Ok(AuditPage {
        entries: entries.into_iter().map(audit_view).collect(),
        page,
        per_page: PER_PAGE,
        total,
        now: store.now_ms(),
    })
}

/// An entry as the API, the page and the export show it: with its sentence.
fn audit_view(e: AuditEntry) -> AuditView {
    let mut view = AuditView {
        id: e.id,
        at: e.at,
        actor_id: e.actor_id,
        actor_email: e.actor_email,
        action: e.action,
        target_id: e.target_id,
        target_email: e.target_email,
        before: e.before,
        after: e.after,
        sentence: String::new(),
    };
    view.sentence = audit_text::sentence(&view);
    view
}

/// Most entries one export of the audit log holds: the newest that match (README, "Audit
/// log"). Narrow the dates for older ones.
pub const AUDIT_EXPORT_MAX_ROWS: i64 = 100_000;
/// Entries read from the store at a time while exporting.
const AUDIT_EXPORT_BATCH: i64 = 500;

/// An export of the audit log under way: the newest entries matching a filter, at most
/// [`AUDIT_EXPORT_MAX_ROWS`], newest first, read in batches ([`AuditExport::next_batch`]) so
/// a large log is never held in memory whole. Entries written after it started are not in it.
pub struct AuditExport {
    store: Store,
    org_id: OrgId,
    filter: AuditFilter,
    after: Option<(i64, String)>,
    left: i64,
    /// Entries that matched when the export started.
    pub total: i64,
    /// Entries it holds: `total`, or [`AUDIT_EXPORT_MAX_ROWS`] when more matched.
    pub rows: i64,
}

/// Starts an export of the org's audit log entries matching `filter`. Owner and admins, as
/// for [`audit_page`].
pub async fn audit_export(
    store: &Store,
    actor: &Member,
    filter: AuditFilter,
) -> Result<AuditExport, DomainError> {
    allow(may_org(actor, OrgAction::ViewAudit))?;
    let total = store.audit_count(&actor.org_id, &filter).await?;
    let rows = total.min(AUDIT_EXPORT_MAX_ROWS);
    Ok(AuditExport {
        store: store.clone(),
        org_id: actor.org_id.clone(),
        filter,
        after: None,
        left: rows,
        total,
        rows,
    })
}

impl AuditExport {
    /// The next entries, newest first; empty when the export is complete.
    pub async fn next_batch(&mut self) -> Result<Vec<AuditView>, DomainError> {
        if self.left <= 0 {
            return Ok(Vec::new());
        }
        let limit = self.left.min(AUDIT_EXPORT_BATCH);
        let after = self.after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let batch = self
            .store
            .audit_entries_after(&self.org_id, &self.filter, after, limit)
            .await?;
        let read = i64::try_from(batch.len()).unwrap_or(limit);
        // Fewer than asked for: the rest was purged meanwhile (retention).
        self.left = if read < limit { 0 } else { self.left - read };
        self.after = batch.last().map(|e| (e.at, e.id.clone()));
        Ok(batch.into_iter().map(audit_view).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_show_only_the_last_four() {
        assert_eq!(secret_hint("abcdefgh1234"), "••••1234");
        assert_eq!(secret_hint("ab"), "••••ab");
        assert_eq!(okta_domain("https://acme.okta.com"), "acme.okta.com");
        assert_eq!(okta_domain("http://127.0.0.1:4000"), "127.0.0.1:4000");
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(20_000), "2024-10-04");
    }
}
