//! The admin domain: what owners, admins and members may do to each other and to their org's
//! Okta connection, as plain functions over the store. Every function takes the acting member
//! (signed in and active) and works only inside the actor's org: an id from another org is
//! [`DomainError::NotFound`]. Every change writes an audit entry in the same transaction.
//!
//! The permission matrix itself is [`may`] / [`may_org`] (pure, shared with the pages).

pub use crate::api::permissions::{Action, OrgAction, Party, may, may_org};

use super::PublicUrl;
use super::crypto::SecretKey;
use super::login::Outcome;
use super::outbound::Outbound;
use super::rate_limit::Budget;
use super::sso_check;
use super::store::{Guard, NewAudit};
use super::store::{Store, StoreError};
use crate::api::advice::advice;
use crate::api::types::{
    AttemptView, AuditPage, AuditView, ConnectionReport, DailyCount, LastFailure, LastSuccess,
    LoginActivity, MembersPage, PER_PAGE, SsoView,
};
use crate::model::{Member, MemberStatus, Role, SsoConnection};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// No such member (or connection) in the actor's org.
    #[error("not found in your organization")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// A new client secret failed "Test connection" and was not saved.
    #[error("the connection test failed")]
    ConnectionTestFailed(ConnectionReport),
    /// The org's connection tests are used up for now ([`super::rate_limit`]).
    #[error("too many connection tests")]
    RateLimited { retry_after_ms: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Login attempts listed by [`login_activity`].
pub const ATTEMPTS_LISTED: i64 = 100;
/// Days covered by the daily login counts, today included.
pub const ACTIVITY_DAYS: i64 = 14;
const DAY_MS: i64 = 86_400_000;
/// Longest accepted search.
const MAX_QUERY: usize = 200;

const CHANGED: &str =
    "This member or your own role changed meanwhile: reload the page and try again.";
const NO_CONNECTION: &str = "No Okta connection is registered for this organization yet: the service operator registers it with `tessera sso set`.";

fn allow(decision: Result<(), String>) -> Result<(), DomainError> {
    decision.map_err(DomainError::Forbidden)
}

/// The member `target_id` of the actor's org.
async fn target(store: &Store, actor: &Member, target_id: &str) -> Result<Member, DomainError> {
    let id = target_id.trim();
    if id.is_empty() {
        return Err(DomainError::Invalid("member_id is required.".into()));
    }
    store
        .member_by_id(&actor.org_id, id)
        .await?
        .ok_or(DomainError::NotFound)
}

fn guard<'a>(actor: &'a Member, target: &'a Member) -> Guard<'a> {
    Guard {
        org_id: &actor.org_id,
        actor_id: &actor.id,
        actor_role: actor.role,
        target_id: &target.id,
        target_role: target.role,
        target_status: target.status,
    }
}

fn who(m: &Member) -> &str {
    if m.name.is_empty() { &m.email } else { &m.name }
}

// ---- members ---------------------------------------------------------------------------------

/// One page (1-based, [`PER_PAGE`] per page) of the org's members ordered by name, email, id;
/// `q` matches name or email case-insensitively, `%` and `_` literally. Everyone may.
pub async fn list_members(
    store: &Store,
    actor: &Member,
    q: &str,
    page: u32,
) -> Result<MembersPage, DomainError> {
    allow(may_org(actor, OrgAction::ViewMembers))?;
    if q.chars().count() > MAX_QUERY {
        return Err(DomainError::Invalid(format!(
            "The search is too long (at most {MAX_QUERY} characters)."
        )));
    }
    let page = page.max(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let (members, total) = store
        .members_page(
            &actor.org_id,
            (!q.is_empty()).then_some(q),
            i64::from(PER_PAGE),
            offset,
        )
        .await?;
    let counts = store.member_counts(&actor.org_id).await?;
    // Unfiltered, the total is the org-wide count already in `counts`.
    let total = total.unwrap_or(counts.active + counts.deactivated);
    Ok(MembersPage {
        members: members.into_iter().map(Into::into).collect(),
        total,
        page,
        per_page: PER_PAGE,
        counts,
    })
}

/// Owner: admin <-> member of anyone but themselves. Admin: member -> admin. A role the
/// member already has is a no-op (no audit entry).
pub async fn change_role(
    store: &Store,
    actor: &Member,
    target_id: &str,
    role: Role,
) -> Result<Member, DomainError> {
    let target = target(store, actor, target_id).await?;
    allow(may(actor, Action::ChangeRole(role), &target))?;
    if target.role == role {
        return Ok(target);
    }
    let audit = NewAudit::new(actor, "role_changed", Some(&target))
        .change(json!({"role": target.role}), json!({"role": role}));
    if !store
        .set_member_role(&guard(actor, &target), role, &audit)
        .await?
    {
        return Err(DomainError::Conflict(CHANGED.into()));
    }
    Ok(Member { role, ..target })
}

/// Deactivates a member: all their sessions end at once and Okta sign-ins are refused until
/// they are reactivated. Already deactivated: a no-op.
pub async fn deactivate(
    store: &Store,
    actor: &Member,
    target_id: &str,
) -> Result<Member, DomainError> {
    set_status(store, actor, target_id, MemberStatus::Deactivated).await
}

/// Reactivates a member: they may sign in again (with a new session). Already active: a no-op.
pub async fn reactivate(
    store: &Store,
    actor: &Member,
    target_id: &str,
) -> Result<Member, DomainError> {
    set_status(store, actor, target_id, MemberStatus::Active).await
}

async fn set_status(
    store: &Store,
    actor: &Member,
    target_id: &str,
    to: MemberStatus,
) -> Result<Member, DomainError> {
    let target = target(store, actor, target_id).await?;
    let (action, audit_action) = match to {
        MemberStatus::Deactivated => (Action::Deactivate, "member_deactivated"),
        MemberStatus::Active => (Action::Reactivate, "member_reactivated"),
    };
    allow(may(actor, action, &target))?;
    if target.status == to {
        return Ok(target);
    }
    let audit = NewAudit::new(actor, audit_action, Some(&target))
        .change(json!({"status": target.status}), json!({"status": to}));
    if !store
        .set_member_status(&guard(actor, &target), to, &audit)
        .await?
    {
        return Err(DomainError::Conflict(CHANGED.into()));
    }
    Ok(Member {
        status: to,
        ..target
    })
}

/// Removes a member and their sessions. If they sign in through Okta again, just-in-time
/// provisioning (when on) makes them a new member. Returns the removed member.
pub async fn remove(store: &Store, actor: &Member, target_id: &str) -> Result<Member, DomainError> {
    let target = target(store, actor, target_id).await?;
    allow(may(actor, Action::Remove, &target))?;
    let mut audit = NewAudit::new(actor, "member_removed", Some(&target));
    audit.before = json!({"role": target.role, "status": target.status}).to_string();
    if !store.delete_member(&guard(actor, &target), &audit).await? {
        return Err(DomainError::Conflict(CHANGED.into()));
    }
    Ok(target)
}

/// The owner hands the org to an active admin or member and becomes an admin, atomically;
/// the setup links they made stop working. Returns the new owner.
pub async fn transfer_ownership(
    store: &Store,
    actor: &Member,
    target_id: &str,
) -> Result<Member, DomainError> {
    let target = target(store, actor, target_id).await?;
    allow(may(actor, Action::TransferOwnership, &target))?;
    let mut audit = NewAudit::new(actor, "ownership_transferred", Some(&target));
    hand_over(store, Some(actor), target, &mut audit).await
}

/// What both transfers share: the target must be active; the audit entry's before/after;
/// the guarded store transfer. `owner` is `None` only for an org without an owner.
async fn hand_over(
    store: &Store,
    owner: Option<&Member>,
    target: Member,
    audit: &mut NewAudit,
) -> Result<Member, DomainError> {
    if target.status != MemberStatus::Active {
        return Err(DomainError::Conflict(format!(
            "{} is deactivated: reactivate them before transferring ownership to them.",
            who(&target)
        )));
    }
    let previous = owner.map_or(String::new(), |o| o.email.clone());
    audit.before = json!({"owner": previous, "role": target.role}).to_string();
    audit.after = json!({"owner": target.email, "role": Role::Owner, "previous_owner_role": owner.map(|_| Role::Admin)}).to_string();
    if !store
        .transfer_ownership(
            &target.org_id,
            owner.map(|o| o.id.as_str()),
            &target.id,
            audit,
        )
        .await?
    {
        return Err(DomainError::Conflict(CHANGED.into()));
    }
    Ok(Member {
        role: Role::Owner,
        ..target
    })
}

/// The member of `org_id` an operator names: by id, or else by email (case-insensitive).
/// An email shared by several members (e.g. duplicates after an issuer change) is refused
/// with their ids.
pub async fn member_named(
    store: &Store,
    org_id: &str,
    id_or_email: &str,
) -> Result<Member, DomainError> {
    let wanted = id_or_email.trim();
    if wanted.is_empty() {
        return Err(DomainError::Invalid("give a member id or email".into()));
    }
    if let Some(m) = store.member_by_id(org_id, wanted).await? {
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

/// `tessera org transfer-owner <org> <member>`: the operator makes `target` the owner; the
/// current owner (if any) becomes an admin, exactly as with the owner's own transfer (one
/// transaction, their setup links revoked), audited as `ownership_transferred` with actor
/// `operator (CLI)`. Returns the new and the previous owner.
pub async fn transfer_ownership_by_operator(
    store: &Store,
    org_id: &str,
    target: Member,
) -> Result<(Member, Option<Member>), DomainError> {
    if target.org_id != org_id {
        return Err(DomainError::NotFound);
    }
    if target.role == Role::Owner {
        return Err(DomainError::Conflict(format!(
            "{} is already the owner",
            who(&target)
        )));
    }
    let owner = store.owner_of(org_id).await?;
    let mut audit = NewAudit {
        org_id: org_id.to_string(),
        actor_id: None,
        actor_email: super::store::ACTOR_CLI.into(),
        action: "ownership_transferred".into(),
        target_id: Some(target.id.clone()),
        target_email: target.email.clone(),
        before: String::new(),
        after: String::new(),
    };
    let new_owner = hand_over(store, owner.as_ref(), target, &mut audit).await?;
    Ok((new_owner, owner))
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
    org_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let Some(sealed) = store.sealed_client_secret(org_id).await? else {
        return Ok(None);
    };
    match key.open(org_id, &sealed) {
        Ok(secret) => Ok(Some((sealed, secret))),
        Err(e) => {
            tracing::warn!(org_id, error = %e, "the stored client secret does not open");
            Ok(None)
        }
    }
}

async fn connection(store: &Store, org_id: &str) -> Result<SsoConnection, DomainError> {
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
            advice: advice(&a.reason, &a.detail),
            reason: a.reason,
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
        default_role: sso.as_ref().map_or(Role::Member, |s| s.default_role),
        initiate_login_uri: public_url.initiate_login_uri(),
        redirect_uri: public_url.redirect_uri(),
        last_success,
        last_failure,
        can_edit: may_org(actor, OrgAction::EditSsoSettings).is_ok(),
    })
}

/// What the owner is told when asking to turn SSO off: only the operator can.
pub const DISABLE_IS_OPERATOR_ONLY: &str = "Only the service operator can turn single sign-on off: it signs everyone in your organization out at once, you included, and nobody can sign in again until the operator turns it back on. If that is what you want, ask the service operator to run `tessera sso disable <org>`.";

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
    default_role: Role,
) -> Result<SsoConnection, DomainError> {
    allow(may_org(actor, OrgAction::EditSsoSettings))?;
    if default_role == Role::Owner {
        return Err(DomainError::Invalid(
            "The default role of new members must be member or admin.".into(),
        ));
    }
    let sso = connection(store, &actor.org_id).await?;
    if sso.enabled && enabled == Some(false) {
        return Err(DomainError::Forbidden(DISABLE_IS_OPERATOR_ONLY.into()));
    }
    let turn_on = enabled == Some(true);
    let enabled = sso.enabled || turn_on;
    if (sso.enabled, sso.jit_enabled, sso.default_role) == (enabled, jit_enabled, default_role) {
        return Ok(sso);
    }
    let audit = NewAudit::new(actor, "sso_settings_changed", None).change(
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
async fn take_test(store: &Store, org_id: &str) -> Result<(), DomainError> {
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
    let mut audit = NewAudit::new(actor, "sso_connection_tested", None);
    audit.after = json!({"ok": report.ok, "failed": failed}).to_string();
    store.record_audit(&audit).await?;
    Ok(report)
}

/// Owner: replaces the client secret, but only when "Test connection" passes with the new one;
/// otherwise [`DomainError::ConnectionTestFailed`] with the report, and the old one stays.
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
            "Paste the new Client secret from Okta (Applications -> Tessera -> General -> Client Credentials).".into(),
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
        return Err(DomainError::ConnectionTestFailed(report));
    }
    let old_hint = key
        .open(&actor.org_id, &old_sealed)
        .map(|s| secret_hint(&s))
        .unwrap_or_default();
    let audit = NewAudit::new(actor, "client_secret_rotated", None).change(
        json!({"client_secret": old_hint}),
        json!({"client_secret": secret_hint(secret)}),
    );
    let sealed = key.seal(&actor.org_id, secret);
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
            advice: advice(&a.reason, &a.detail),
            reason: a.reason,
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
    Ok(LoginActivity { attempts, daily })
}

/// One page (1-based) of the audit log, newest first. Owner and admins.
pub async fn audit_page(
    store: &Store,
    actor: &Member,
    page: u32,
) -> Result<AuditPage, DomainError> {
    allow(may_org(actor, OrgAction::ViewAudit))?;
    let page = page.max(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let (entries, total) = store
        .audit_entries(&actor.org_id, i64::from(PER_PAGE), offset)
        .await?;
    Ok(AuditPage {
        entries: entries
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                at: e.at,
                actor_id: e.actor_id,
                actor_email: e.actor_email,
                action: e.action,
                target_id: e.target_id,
                target_email: e.target_email,
                before: e.before,
                after: e.after,
            })
            .collect(),
        page,
        per_page: PER_PAGE,
        total,
    })
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
