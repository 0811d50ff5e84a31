//! What the audit log says, in words: one sentence per entry ("alice@example.com made
//! bob@example.com an admin"), its before and after as labelled details, the actions an
//! entry can record ([`AuditAction`]) and the fixed names of the actors who are not members.
//! Pure: shared by the server (the API, the export) and the pages in the browser; no
//! server-only imports. Every known action is matched exhaustively, so a new one cannot fall
//! back to generic words; an action this build does not know still gets a sentence.
//!
//! The sentences are plain text: emails, issuers and names in them come from outside, and
//! the pages render them as text (Leptos escapes them), never as HTML.

use super::types::AuditView;
use crate::time_text::{format_ms, span};
use crate::validate::bounded;
use serde_json::{Map, Value};

/// How the audit log records the service operator using the `tessera` CLI.
pub const ACTOR_CLI: &str = "operator (CLI)";
/// How the audit log records just-in-time provisioning by the org's Okta.
pub const ACTOR_OKTA_JIT: &str = "Okta (just-in-time sign-in)";
/// How the audit log records SCIM provisioning by the org's Okta (`/scim/v2`).
pub const ACTOR_OKTA_SCIM: &str = "Okta (SCIM)";
/// How the audit log records Okta's Universal Logout (`/oauth/global-token-revocation`).
pub const ACTOR_OKTA_LOGOUT: &str = "Okta (Universal Logout)";
/// How the audit log records Okta's security events (Shared Signals, `/ssf/events`).
pub const ACTOR_OKTA_SIGNALS: &str = "Okta (Shared Signals)";
/// How the audit log records whoever holds a setup link (the customer's Okta admin, not a
/// member).
pub const ACTOR_LINK: &str = "setup link";

/// Longest value from outside (an email, an issuer, a name) a sentence quotes, in characters.
const MAX_SHOWN: usize = 120;
/// Longest value a detail shows, in characters.
const MAX_DETAIL: usize = 300;
/// Most failed checks a sentence names.
const MAX_CHECKS: usize = 10;

/// What an audit entry records. [`AuditAction::code`] is what the store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A member's role changed (admin or member), by a member or the operator.
    RoleChanged,
    MemberDeactivated,
    MemberReactivated,
    MemberRemoved,
    /// Every session of a member ended at once ("Sign out everywhere"), by an owner or admin,
    /// the operator, or Okta (Universal Logout, a Shared Signals event).
    SessionsRevoked,
    /// The org got a new owner; the previous one (if any) is now an admin.
    OwnershipTransferred,
    /// Okta brought a new member in at their first sign-in (just-in-time provisioning).
    MemberProvisioned,
    /// A member signed in with another email or name at Okta: their profile was refreshed.
    MemberProfileChanged,
    /// The operator moved the members keyed to an old issuer onto the current one.
    MembersRekeyed,
    /// An owner or admin invited someone by email, with a role.
    InvitationCreated,
    InvitationRevoked,
    /// The operator created or replaced the org's Okta connection (`tessera sso set`).
    SsoConnectionSet,
    SsoEnabled,
    SsoDisabled,
    /// The owner changed the SSO switch (on only) or the just-in-time policy.
    SsoSettingsChanged,
    /// The operator set the just-in-time policy (`tessera sso policy`).
    SsoPolicySet,
    /// Okta's Universal Logout or the Shared Signals receiver was turned on or off.
    SecuritySignalsChanged,
    /// An owner or admin ran "Test connection".
    SsoConnectionTested,
    ClientSecretRotated,
    /// A new client secret failed its connection test and was not saved.
    ClientSecretRotationFailed,
    /// The operator dropped a client secret that no longer opened with the secret key
    /// (`tessera secret-key drop-unreadable`).
    ClientSecretDropped,
    SetupLinkCreated,
    SetupLinkOpened,
    SetupLinkTestPassed,
    SetupLinkTestFailed,
    /// The connection was saved (and SSO turned on) through a setup link.
    SetupLinkSaved,
    /// Someone opened a setup link after it expired.
    SetupLinkExpired,
    SetupLinkRevoked,
    OrgRenamed,
    /// A member Okta provisioned over SCIM signed in for the first time and was linked.
    MemberLinked,
    ScimTokenCreated,
    ScimTokenRevoked,
    /// The provisioning mode changed (jit, scim, both).
    ProvisioningModeChanged,
    /// Okta pushed a group, or changed its members.
    GroupPushed,
    GroupRenamed,
    GroupDeleted,
    /// A pushed group was mapped to a role.
    RoleMappingSet,
    RoleMappingRemoved,
}

/// The groups of the log's action filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionGroup {
    Members,
    SingleSignOn,
    SetupLinks,
    Provisioning,
    Organization,
}

impl ActionGroup {
    pub const ALL: [ActionGroup; 5] = [
        ActionGroup::Members,
        ActionGroup::SingleSignOn,
        ActionGroup::SetupLinks,
        ActionGroup::Provisioning,
        ActionGroup::Organization,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ActionGroup::Members => "Members",
            ActionGroup::SingleSignOn => "Single sign-on",
            ActionGroup::SetupLinks => "Setup links",
            ActionGroup::Provisioning => "Provisioning (SCIM)",
            ActionGroup::Organization => "Organization",
        }
    }
}

impl AuditAction {
    /// Every action, in the order the filter lists them.
    pub const ALL: [AuditAction; 38] = [
        AuditAction::RoleChanged,
        AuditAction::MemberDeactivated,
        AuditAction::MemberReactivated,
        AuditAction::MemberRemoved,
        AuditAction::SessionsRevoked,
        AuditAction::OwnershipTransferred,
        AuditAction::MemberProvisioned,
        AuditAction::MemberProfileChanged,
        AuditAction::MembersRekeyed,
        AuditAction::InvitationCreated,
        AuditAction::InvitationRevoked,
        AuditAction::SsoConnectionSet,
        AuditAction::SsoEnabled,
        AuditAction::SsoDisabled,
        AuditAction::SsoSettingsChanged,
        AuditAction::SsoPolicySet,
        AuditAction::SecuritySignalsChanged,
        AuditAction::SsoConnectionTested,
        AuditAction::ClientSecretRotated,
        AuditAction::ClientSecretRotationFailed,
        AuditAction::ClientSecretDropped,
        AuditAction::SetupLinkCreated,
        AuditAction::SetupLinkOpened,
        AuditAction::SetupLinkTestPassed,
        AuditAction::SetupLinkTestFailed,
        AuditAction::SetupLinkSaved,
        AuditAction::SetupLinkExpired,
        AuditAction::SetupLinkRevoked,
        AuditAction::OrgRenamed,
        AuditAction::MemberLinked,
        AuditAction::ScimTokenCreated,
        AuditAction::ScimTokenRevoked,
        AuditAction::ProvisioningModeChanged,
        AuditAction::GroupPushed,
        AuditAction::GroupRenamed,
        AuditAction::GroupDeleted,
        AuditAction::RoleMappingSet,
        AuditAction::RoleMappingRemoved,
    ];

    /// The stored code, e.g. `role_changed`.
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::RoleChanged => "role_changed",
            AuditAction::MemberDeactivated => "member_deactivated",
            AuditAction::MemberReactivated => "member_reactivated",
            AuditAction::MemberRemoved => "member_removed",
            AuditAction::SessionsRevoked => "sessions_revoked",
            AuditAction::OwnershipTransferred => "ownership_transferred",
            AuditAction::MemberProvisioned => "member_provisioned",
            AuditAction::MemberProfileChanged => "member_profile_changed",
            AuditAction::MembersRekeyed => "members_rekeyed",
            AuditAction::InvitationCreated => "invitation_created",
            AuditAction::InvitationRevoked => "invitation_revoked",
            AuditAction::SsoConnectionSet => "sso_connection_set",
            AuditAction::SsoEnabled => "sso_enabled",
            AuditAction::SsoDisabled => "sso_disabled",
            AuditAction::SsoSettingsChanged => "sso_settings_changed",
            AuditAction::SsoPolicySet => "sso_policy_set",
            AuditAction::SecuritySignalsChanged => "security_signals_changed",
            AuditAction::SsoConnectionTested => "sso_connection_tested",
            AuditAction::ClientSecretRotated => "client_secret_rotated",
            AuditAction::ClientSecretRotationFailed => "client_secret_rotation_failed",
            AuditAction::ClientSecretDropped => "client_secret_dropped",
            AuditAction::SetupLinkCreated => "setup_link_created",
            AuditAction::SetupLinkOpened => "setup_link_opened",
            AuditAction::SetupLinkTestPassed => "setup_link_test_passed",
            AuditAction::SetupLinkTestFailed => "setup_link_test_failed",
            AuditAction::SetupLinkSaved => "setup_link_saved",
            AuditAction::SetupLinkExpired => "setup_link_expired",
            AuditAction::SetupLinkRevoked => "setup_link_revoked",
            AuditAction::OrgRenamed => "org_renamed",
            AuditAction::MemberLinked => "member_linked",
            AuditAction::ScimTokenCreated => "scim_token_created",
            AuditAction::ScimTokenRevoked => "scim_token_revoked",
            AuditAction::ProvisioningModeChanged => "provisioning_mode_changed",
            AuditAction::GroupPushed => "group_pushed",
            AuditAction::GroupRenamed => "group_renamed",
            AuditAction::GroupDeleted => "group_deleted",
            AuditAction::RoleMappingSet => "role_mapping_set",
            AuditAction::RoleMappingRemoved => "role_mapping_removed",
        }
    }

    /// The action with this stored code, exactly.
    pub fn parse(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Its name in the action filter.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::RoleChanged => "Role changed",
            AuditAction::MemberDeactivated => "Member deactivated",
            AuditAction::MemberReactivated => "Member reactivated",
            AuditAction::MemberRemoved => "Member removed",
            AuditAction::SessionsRevoked => "Signed out everywhere",
            AuditAction::OwnershipTransferred => "Ownership transferred",
            AuditAction::MemberProvisioned => "Member added at first sign-in",
            AuditAction::MemberProfileChanged => "Member's email or name changed at Okta",
            AuditAction::MembersRekeyed => "Members moved to another Okta org",
            AuditAction::InvitationCreated => "Member invited",
            AuditAction::InvitationRevoked => "Invitation revoked",
            AuditAction::SsoConnectionSet => "Okta connection set by the operator",
            AuditAction::SsoEnabled => "Single sign-on turned on",
            AuditAction::SsoDisabled => "Single sign-on turned off",
            AuditAction::SsoSettingsChanged => "Single sign-on settings changed",
            AuditAction::SsoPolicySet => "Just-in-time policy set by the operator",
            AuditAction::SecuritySignalsChanged => "Universal Logout / Shared Signals switched",
            AuditAction::SsoConnectionTested => "Connection tested",
            AuditAction::ClientSecretRotated => "Client secret rotated",
            AuditAction::ClientSecretRotationFailed => "Client secret rotation failed",
            AuditAction::ClientSecretDropped => "Unreadable client secret dropped",
            AuditAction::SetupLinkCreated => "Setup link created",
            AuditAction::SetupLinkOpened => "Setup link opened",
            AuditAction::SetupLinkTestPassed => "Setup link test passed",
            AuditAction::SetupLinkTestFailed => "Setup link test failed",
            AuditAction::SetupLinkSaved => "Connection saved with a setup link",
            AuditAction::SetupLinkExpired => "Expired setup link opened",
            AuditAction::SetupLinkRevoked => "Setup link revoked",
            AuditAction::OrgRenamed => "Organization renamed",
            AuditAction::MemberLinked => "Provisioned member's first sign-in",
            AuditAction::ScimTokenCreated => "SCIM token created",
            AuditAction::ScimTokenRevoked => "SCIM token revoked",
            AuditAction::ProvisioningModeChanged => "Provisioning mode changed",
            AuditAction::GroupPushed => "Okta group pushed",
            AuditAction::GroupRenamed => "Okta group renamed",
            AuditAction::GroupDeleted => "Okta group deleted",
            AuditAction::RoleMappingSet => "Group mapped to a role",
            AuditAction::RoleMappingRemoved => "Group mapping removed",
        }
    }

    /// Where the action filter lists it.
    pub fn group(self) -> ActionGroup {
        match self {
            AuditAction::RoleChanged
            | AuditAction::MemberDeactivated
            | AuditAction::MemberReactivated
            | AuditAction::MemberRemoved
            | AuditAction::SessionsRevoked
            | AuditAction::OwnershipTransferred
            | AuditAction::MemberProvisioned
            | AuditAction::MemberProfileChanged
            | AuditAction::MembersRekeyed
            | AuditAction::InvitationCreated
            | AuditAction::InvitationRevoked => ActionGroup::Members,
            AuditAction::SsoConnectionSet
            | AuditAction::SsoEnabled
            | AuditAction::SsoDisabled
            | AuditAction::SsoSettingsChanged
            | AuditAction::SsoPolicySet
            | AuditAction::SecuritySignalsChanged
            | AuditAction::SsoConnectionTested
            | AuditAction::ClientSecretRotated
            | AuditAction::ClientSecretRotationFailed
            | AuditAction::ClientSecretDropped => ActionGroup::SingleSignOn,
            AuditAction::SetupLinkCreated
            | AuditAction::SetupLinkOpened
            | AuditAction::SetupLinkTestPassed
            | AuditAction::SetupLinkTestFailed
            | AuditAction::SetupLinkSaved
            | AuditAction::SetupLinkExpired
            | AuditAction::SetupLinkRevoked => ActionGroup::SetupLinks,
            AuditAction::OrgRenamed => ActionGroup::Organization,
            AuditAction::MemberLinked => ActionGroup::Members,
            AuditAction::ScimTokenCreated
            | AuditAction::ScimTokenRevoked
            | AuditAction::ProvisioningModeChanged
            | AuditAction::GroupPushed
            | AuditAction::GroupRenamed
            | AuditAction::GroupDeleted
            | AuditAction::RoleMappingSet
            | AuditAction::RoleMappingRemoved => ActionGroup::Provisioning,
        }
    }
}

/// Who wrote an entry, as a sentence names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who<'a> {
    /// A member, by the email recorded (possibly empty).
    Member(&'a str),
    /// The service operator ([`ACTOR_CLI`]).
    Operator,
    /// The org's Okta ([`ACTOR_OKTA_JIT`]).
    Okta,
    /// Whoever holds a setup link ([`ACTOR_LINK`]).
    SetupLink,
    /// A label this build does not know (a newer node's actor).
    Other(&'a str),
}

impl<'a> Who<'a> {
    /// The actor of an entry. An entry with an acting member id names a member, whatever their
    /// email says, so an email such as "operator (CLI)" never passes for the operator.
    pub fn of(actor_is_member: bool, label: &'a str) -> Who<'a> {
        match label {
            _ if actor_is_member => Who::Member(label),
            ACTOR_CLI => Who::Operator,
            ACTOR_OKTA_JIT | ACTOR_OKTA_SCIM | ACTOR_OKTA_LOGOUT | ACTOR_OKTA_SIGNALS => Who::Okta,
            ACTOR_LINK => Who::SetupLink,
            other => Who::Other(other),
        }
    }

    /// The actor of `e`.
    pub fn of_entry(e: &'a AuditView) -> Who<'a> {
        Who::of(e.actor_id.is_some(), &e.actor_email)
    }

    /// How a sentence starts with them: `alice@example.com`, "The service operator", "Okta",
    /// "Someone with a setup link".
    pub fn name(self) -> String {
        match self {
            Who::Member(email) if email.trim().is_empty() => {
                "A member without an email address".into()
            }
            Who::Member(email) => bounded(email, MAX_SHOWN),
            Who::Operator => "The service operator".into(),
            Who::Okta => "Okta".into(),
            Who::SetupLink => "Someone with a setup link".into(),
            Who::Other(label) if label.trim().is_empty() => "Someone".into(),
            Who::Other(label) => bounded(label, MAX_SHOWN),
        }
    }
}

/// The member an entry is about, as a sentence names them.
fn target(e: &AuditView) -> String {
    if !e.target_email.trim().is_empty() {
        bounded(&e.target_email, MAX_SHOWN)
    } else if e.target_id.is_some() {
        "a member without an email address".into()
    } else {
        "a member".into()
    }
}

/// `before`/`after` as a JSON object; anything else (empty, not JSON) as an empty one.
fn object(s: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// A non-empty string value, bounded.
fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(|s| bounded(s, MAX_SHOWN))
}

fn flag(m: &Map<String, Value>, key: &str) -> Option<bool> {
    m.get(key).and_then(Value::as_bool)
}

fn int(m: &Map<String, Value>, key: &str) -> Option<i64> {
    m.get(key).and_then(Value::as_i64)
}

/// The failed checks an entry lists, in words.
fn checks(m: &Map<String, Value>) -> Vec<String> {
    m.get("failed")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .take(MAX_CHECKS)
                .map(check_name)
                .collect()
        })
        .unwrap_or_default()
}

/// A connection check's name in words (`signing_keys` -> "signing keys").
pub fn check_name(name: &str) -> String {
    match name {
        "discovery" => "discovery".into(),
        "issuer" => "issuer".into(),
        "signing_keys" => "signing keys".into(),
        "client_credentials" => "client credentials".into(),
        "redirect_uri" => "redirect URI".into(),
        "issuer_in_use" => "issuer already connected to another organization".into(),
        other => bounded(&other.replace('_', " "), 64),
    }
}

/// `acme.okta.com` for `https://acme.okta.com/`.
fn domain(issuer: &str) -> String {
    let s = issuer.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    bounded(s.trim_end_matches('/'), MAX_SHOWN)
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "1 member", "3 members".
fn count(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "an admin", "a member", "the owner".
fn role_phrase(role: &str) -> String {
    match role {
        "admin" => "an admin".into(),
        "member" => "a member".into(),
        "owner" => "the owner".into(),
        other => format!("“{other}”"),
    }
}

/// What changed in the SSO switch and the just-in-time policy, as verb phrases.
fn policy_changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(on) = flag(after, "enabled")
        && flag(before, "enabled") != Some(on)
    {
        out.push(format!("turned single sign-on {}", on_off(on)));
    }
    if let Some(on) = flag(after, "jit_enabled")
        && flag(before, "jit_enabled") != Some(on)
    {
        out.push(format!("turned just-in-time provisioning {}", on_off(on)));
    }
    if let Some(role) = text(after, "default_role")
        && text(before, "default_role").as_deref() != Some(role.as_str())
    {
        out.push(format!("set new members' role to {role}"));
    }
    out
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// ": every check passed" or ": it failed (client credentials)".
fn test_result(ok: Option<bool>, failed: &[String]) -> String {
    match (ok, failed.is_empty()) {
        (Some(true), _) => ": every check passed".into(),
        (_, false) => format!(": it failed ({})", failed.join(", ")),
        (Some(false), true) => ": it failed".into(),
        (None, true) => String::new(),
    }
}

/// What happened, as one sentence without a final stop: "alice@example.com made
/// bob@example.com an admin", "The service operator turned single sign-on off", "Okta added
/// carol@example.com on their first sign-in (member)". An action this build does not know
/// gets "… performed “its_code”".
pub fn sentence(e: &AuditView) -> String {
    let who = Who::of_entry(e);
    let a = who.name();
    let (before, after) = (object(&e.before), object(&e.after));
    let Some(action) = AuditAction::parse(&e.action) else {
        let what = bounded(&e.action, 64);
        return if e.target_id.is_some() || !e.target_email.trim().is_empty() {
            format!("{a} performed “{what}” on {}", target(e))
        } else {
            format!("{a} performed “{what}”")
        };
    };
    let someone = |doing: &str| match who {
        Who::SetupLink => format!("Someone {doing}"),
        _ => format!("{a} {doing}"),
    };
    match action {
        AuditAction::RoleChanged => {
            let why = if text(&after, "because").as_deref() == Some("okta_groups") {
                " (from their Okta groups)"
            } else {
                ""
            };
            match text(&after, "role") {
                Some(role) => format!("{a} made {} {}{why}", target(e), role_phrase(&role)),
                None => format!("{a} changed the role of {}{why}", target(e)),
            }
        }
        AuditAction::MemberDeactivated if okta_via(e, ACTOR_OKTA_SIGNALS) => format!(
            "{a} deactivated {} after an account-disabled event",
            target(e)
        ),
        AuditAction::MemberDeactivated => format!("{a} deactivated {}", target(e)),
        AuditAction::MemberReactivated if okta_via(e, ACTOR_OKTA_SIGNALS) => format!(
            "{a} reactivated {} after an account-enabled event",
            target(e)
        ),
        AuditAction::MemberReactivated => format!("{a} reactivated {}", target(e)),
        AuditAction::MemberRemoved => format!("{a} removed {} from the organization", target(e)),
        AuditAction::SessionsRevoked => {
            let how = match text(&after, "because").as_deref() {
                Some("session-revoked") => " after a session-revoked event".to_string(),
                Some("credential-change") => " after a credential change".to_string(),
                Some(other) => format!(" after “{other}”"),
                None if okta_via(e, ACTOR_OKTA_LOGOUT) => " with Universal Logout".to_string(),
                None if okta_via(e, ACTOR_OKTA_SIGNALS) => {
                    " after a Shared Signals event".to_string()
                }
                None => String::new(),
            };
            let ended = match int(&after, "sessions") {
                Some(0) => " (no session was open)".to_string(),
                Some(n) => format!(" ({} ended)", count(n, "session", "sessions")),
                None => String::new(),
            };
            format!("{a} signed {} out everywhere{how}{ended}", target(e))
        }
        AuditAction::OwnershipTransferred => {
            let now = text(&after, "previous_owner_role")
                .map_or_else(|| "an admin".to_string(), |r| role_phrase(&r));
            match (who, text(&before, "owner")) {
                (Who::Member(me), Some(previous)) if previous.eq_ignore_ascii_case(me.trim()) => {
                    format!(
                        "{a} transferred ownership to {} and is now {now}",
                        target(e)
                    )
                }
                (_, Some(previous)) => {
                    format!("{a} made {} the owner; {previous} is now {now}", target(e))
                }
                (_, None) => format!("{a} made {} the owner", target(e)),
            }
        }
        AuditAction::MemberProvisioned => {
            let invited = text(&after, "invited_by").map(|by| match by.as_str() {
                ACTOR_CLI => "invited by the service operator".to_string(),
                by => format!("invited by {by}"),
            });
            let role = match (text(&after, "role").as_deref(), invited) {
                (Some("owner"), _) => " (owner: the organization's first member)".to_string(),
                (Some(role), Some(invited)) => format!(" ({role}, {invited})"),
                (Some(role), None) => format!(" ({role})"),
                (None, Some(invited)) => format!(" ({invited})"),
                (None, None) => String::new(),
            };
            if text(&after, "via").as_deref() == Some("scim") {
                let inactive = if text(&after, "status").as_deref() == Some("deactivated") {
                    ", deactivated"
                } else {
                    ""
                };
                let role = text(&after, "role").unwrap_or_else(|| "member".into());
                return format!(
                    "{a} provisioned {} over SCIM ({role}{inactive}; not signed in yet)",
                    target(e)
                );
            }
            format!("{a} added {} on their first sign-in{role}", target(e))
        }
        AuditAction::MemberProfileChanged => {
            let mut changes = Vec::new();
            let email = |m: &Map<String, Value>| text(m, "email");
            if email(&before) != email(&after) {
                changes.push(format!(
                    "email from {} to {}",
                    email(&before).unwrap_or_else(|| "none".into()),
                    email(&after).unwrap_or_else(|| "none".into())
                ));
            }
            let name = |m: &Map<String, Value>| text(m, "name").map(|n| format!("“{n}”"));
            if name(&before) != name(&after) {
                changes.push(format!(
                    "name from {} to {}",
                    name(&before).unwrap_or_else(|| "none".into()),
                    name(&after).unwrap_or_else(|| "none".into())
                ));
            }
            if changes.is_empty() {
                format!("{a} updated the profile of {}", target(e))
            } else {
                format!(
                    "{a} updated the profile of {}: {}",
                    target(e),
                    and_list(&changes)
                )
            }
        }
        AuditAction::InvitationCreated => {
            let whom = text(&after, "email").unwrap_or_else(|| "someone".into());
            let mut s = match text(&after, "role") {
                Some(role) => format!("{a} invited {whom} to join as {}", role_phrase(&role)),
                None => format!("{a} invited {whom} to join"),
            };
            if flag(&after, "replaced") == Some(true) {
                s.push_str(", replacing the earlier invitation of that address");
            }
            s
        }
        AuditAction::InvitationRevoked => match text(&after, "email") {
            Some(whom) => format!("{a} revoked the invitation of {whom}"),
            None => format!("{a} revoked an invitation"),
        },
        AuditAction::MembersRekeyed => {
            let moved = int(&after, "moved").unwrap_or(0);
            match (text(&before, "issuer"), text(&after, "issuer")) {
                (Some(from), Some(to)) => format!(
                    "{a} moved {} from the Okta org {} to {}",
                    count(moved, "member", "members"),
                    domain(&from),
                    domain(&to)
                ),
                _ => format!(
                    "{a} moved {} to the current Okta org",
                    count(moved, "member", "members")
                ),
            }
        }
        AuditAction::SsoConnectionSet => {
            let client = text(&after, "client_id")
                .map(|c| format!(" (Client ID {c})"))
                .unwrap_or_default();
            let to = text(&after, "issuer").map(|i| domain(&i));
            let from = text(&before, "issuer").map(|i| domain(&i));
            let mut s = match (from, to) {
                (_, None) => format!("{a} set the Okta connection{client}"),
                (None, Some(to)) => format!("{a} connected the Okta org {to}{client}"),
                (Some(from), Some(to)) if from.eq_ignore_ascii_case(&to) => {
                    format!("{a} updated the Okta connection to {to}{client}")
                }
                (Some(from), Some(to)) => {
                    format!("{a} moved the Okta connection from {from} to {to}{client}")
                }
            };
            s.push_str(&previous_members(&after));
            s
        }
        AuditAction::SsoEnabled => format!("{a} turned single sign-on on"),
        AuditAction::SsoDisabled => match int(&after, "sessions_ended") {
            Some(n) if n > 0 => format!(
                "{a} turned single sign-on off, signing everyone out ({} ended)",
                count(n, "session", "sessions")
            ),
            _ => format!("{a} turned single sign-on off"),
        },
        AuditAction::SsoSettingsChanged => {
            let changes = policy_changes(&before, &after);
            if changes.is_empty() {
                format!("{a} changed the single sign-on settings")
            } else {
                format!("{a} {}", and_list(&changes))
            }
        }
        AuditAction::SsoPolicySet => {
            let changes = policy_changes(&before, &after);
            if changes.is_empty() {
                format!("{a} set the just-in-time provisioning policy again, unchanged")
            } else {
                format!("{a} {}", and_list(&changes))
            }
        }
        AuditAction::SecuritySignalsChanged => {
            let mut changes = Vec::new();
            for (key, name) in SIGNAL_SWITCHES {
                if let Some(on) = flag(&after, key)
                    && flag(&before, key) != Some(on)
                {
                    changes.push(format!("{name} {}", on_off(on)));
                }
            }
            if changes.is_empty() {
                format!("{a} set Universal Logout and Shared Signals again, unchanged")
            } else {
                format!("{a} turned {}", and_list(&changes))
            }
        }
        AuditAction::SsoConnectionTested => format!(
            "{a} tested the Okta connection{}",
            test_result(flag(&after, "ok"), &checks(&after))
        ),
        AuditAction::ClientSecretRotated => format!("{a} rotated the Okta client secret"),
        AuditAction::ClientSecretDropped => format!(
            "{a} dropped the Okta client secret, which did not open with the server's secret key: sign-ins fail until it is set again"
        ),
        AuditAction::ClientSecretRotationFailed => {
            let failed = checks(&after);
            let which = if failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", failed.join(", "))
            };
            format!(
                "{a} tried to rotate the Okta client secret, but the new secret failed the connection test{which} and was not saved"
            )
        }
        AuditAction::SetupLinkCreated => match int(&after, "expires_at") {
            Some(expires) if expires > e.at => format!(
                "{a} created a setup link, valid for {}",
                span(expires - e.at)
            ),
            _ => format!("{a} created a setup link"),
        },
        AuditAction::SetupLinkOpened => someone("opened a setup link"),
        AuditAction::SetupLinkTestPassed | AuditAction::SetupLinkTestFailed => {
            let to = text(&after, "issuer")
                .map(|i| format!("the connection to {}", domain(&i)))
                .unwrap_or_else(|| "the Okta connection".into());
            let ok = Some(action == AuditAction::SetupLinkTestPassed);
            format!("{a} tested {to}{}", test_result(ok, &checks(&after)))
        }
        AuditAction::SetupLinkSaved => {
            let to = text(&after, "issuer").map(|i| domain(&i));
            let from = text(&before, "issuer").map(|i| domain(&i));
            let mut s = match &to {
                Some(to) => format!("{a} saved the Okta connection to {to}"),
                None => format!("{a} saved the Okta connection"),
            };
            if let (Some(from), Some(to)) = (&from, &to)
                && !from.eq_ignore_ascii_case(to)
            {
                s.push_str(&format!(", replacing {from}"));
            }
            if flag(&after, "enabled") == Some(true) && flag(&before, "enabled") != Some(true) {
                s.push_str(" and turned single sign-on on");
            }
            s.push_str(&previous_members(&after));
            s
        }
        AuditAction::SetupLinkExpired => someone("opened a setup link after it had expired"),
        AuditAction::SetupLinkRevoked => match text(&after, "reason").as_deref() {
            Some("creator_no_longer_owner") => {
                "A setup link stopped working: the member who made it is no longer the owner".into()
            }
            Some("creator_removed") => {
                "A setup link stopped working: the member who made it was removed".into()
            }
            _ => format!("{a} revoked a setup link"),
        },
        AuditAction::OrgRenamed => match (text(&before, "name"), text(&after, "name")) {
            (Some(from), Some(to)) => {
                format!("{a} renamed the organization from “{from}” to “{to}”")
            }
            (None, Some(to)) => format!("{a} renamed the organization “{to}”"),
            _ => format!("{a} renamed the organization"),
        },
        AuditAction::MemberLinked => {
            let owner = if flag(&after, "became_owner") == Some(true) {
                " and became the owner (the organization's first member to sign in)"
            } else {
                ""
            };
            format!(
                "{} signed in for the first time as the member Okta provisioned{owner}",
                target(e)
            )
        }
        AuditAction::ScimTokenCreated => match text(&after, "name") {
            Some(name) => format!("{a} created the SCIM token “{name}”"),
            None => format!("{a} created a SCIM token"),
        },
        AuditAction::ScimTokenRevoked => match text(&before, "name") {
            Some(name) => format!("{a} revoked the SCIM token “{name}”"),
            None => format!("{a} revoked a SCIM token"),
        },
        AuditAction::ProvisioningModeChanged => {
            match (text(&before, "provisioning"), text(&after, "provisioning")) {
                (Some(from), Some(to)) => {
                    format!("{a} changed the provisioning mode from {from} to {to}")
                }
                (_, Some(to)) => format!("{a} set the provisioning mode to {to}"),
                _ => format!("{a} changed the provisioning mode"),
            }
        }
        AuditAction::GroupPushed => {
            let group = text(&after, "group").unwrap_or_else(|| "a group".into());
            let (added, removed) = (
                int(&after, "added").unwrap_or(0),
                int(&after, "removed").unwrap_or(0),
            );
            let mut changes = Vec::new();
            if added > 0 {
                changes.push(format!("added {}", count(added, "member", "members")));
            }
            if removed > 0 {
                changes.push(format!("removed {}", count(removed, "member", "members")));
            }
            let new = text(&before, "group").is_none();
            match (new, changes.is_empty()) {
                (true, true) => format!("{a} pushed the group “{group}”"),
                (true, false) => {
                    format!("{a} pushed the group “{group}” and {}", and_list(&changes))
                }
                (false, true) => format!("{a} pushed the group “{group}” again, unchanged"),
                (false, false) => format!("{a} {} in the group “{group}”", and_list(&changes)),
            }
        }
        AuditAction::GroupRenamed => match (text(&before, "group"), text(&after, "group")) {
            (Some(from), Some(to)) => format!("{a} renamed the group “{from}” to “{to}”"),
            _ => format!("{a} renamed a group"),
        },
        AuditAction::GroupDeleted => match text(&before, "group") {
            Some(g) => format!("{a} deleted the group “{g}”"),
            None => format!("{a} deleted a group"),
        },
        AuditAction::RoleMappingSet => {
            let group = text(&after, "group").unwrap_or_else(|| "a group".into());
            match text(&after, "role") {
                Some(role) => format!("{a} mapped the Okta group “{group}” to the {role} role"),
                None => format!("{a} mapped the Okta group “{group}” to a role"),
            }
        }
        AuditAction::RoleMappingRemoved => {
            let group = text(&before, "group").unwrap_or_else(|| "a group".into());
            format!("{a} removed the role mapping of the Okta group “{group}”")
        }
    }
}

/// The two switches of Okta's security signals, by their key in `before`/`after`.
const SIGNAL_SWITCHES: [(&str, &str); 2] = [
    ("universal_logout", "Universal Logout"),
    ("shared_signals", "Shared Signals"),
];

/// Was `e` written by Okta through `channel` ([`ACTOR_OKTA_LOGOUT`], [`ACTOR_OKTA_SIGNALS`])?
/// A member's email that reads like the label is still a member.
fn okta_via(e: &AuditView, channel: &str) -> bool {
    e.actor_id.is_none() && e.actor_email == channel
}

/// "; 3 members were keyed to the previous Okta org", after an issuer change.
fn previous_members(after: &Map<String, Value>) -> String {
    match int(after, "members_on_previous_issuer") {
        Some(n) if n > 0 && flag(after, "issuer_changed") == Some(true) => format!(
            "; {} keyed to the previous Okta org",
            if n == 1 {
                "1 member was".to_string()
            } else {
                format!("{n} members were")
            }
        ),
        _ => String::new(),
    }
}

/// One line of an entry's details: a field and its value before and after (`None` where
/// that side does not have it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub label: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An entry's before and after, field by field, in words ("Role": "admin" -> "member",
/// "Expires": a UTC time, "Failed checks": "client credentials"). A before or after that is
/// not a JSON object is shown as it is, bounded.
pub fn details(e: &AuditView) -> Vec<Detail> {
    let raw = |s: &str| (!s.trim().is_empty()).then(|| bounded(s, MAX_DETAIL));
    let parsed = |s: &str| match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    let (before, after) = match (
        (e.before.trim().is_empty(), parsed(&e.before)),
        (e.after.trim().is_empty(), parsed(&e.after)),
    ) {
        ((true, _) | (false, Some(_)), (true, _) | (false, Some(_))) => (
            parsed(&e.before).unwrap_or_default(),
            parsed(&e.after).unwrap_or_default(),
        ),
        _ => {
            return vec![Detail {
                label: "Change".into(),
                before: raw(&e.before),
                after: raw(&e.after),
            }];
        }
    };
    let mut keys: Vec<&String> = before.keys().collect();
    keys.extend(after.keys().filter(|k| !before.contains_key(*k)));
    keys.into_iter()
        .map(|k| Detail {
            label: field_label(k),
            before: before.get(k).map(|v| value_text(k, v)),
            after: after.get(k).map(|v| value_text(k, v)),
        })
        .collect()
}

/// A before/after field's name in words.
fn field_label(key: &str) -> String {
    match key {
        "role" => "Role".into(),
        "status" => "Status".into(),
        "owner" => "Owner".into(),
        "previous_owner_role" => "Previous owner's role".into(),
        "enabled" => "Single sign-on".into(),
        "jit_enabled" => "Just-in-time provisioning".into(),
        "default_role" => "New members' role".into(),
        "client_secret" => "Client secret".into(),
        "client_id" => "Client ID".into(),
        "issuer" => "Issuer".into(),
        "issuer_changed" => "Issuer changed".into(),
        "members_on_previous_issuer" => "Members keyed to the previous issuer".into(),
        "ok" => "Passed".into(),
        "failed" => "Failed checks".into(),
        "link_id" => "Setup link id".into(),
        "expires_at" => "Expires".into(),
        "sessions_ended" => "Sessions ended".into(),
        "moved" => "Members moved".into(),
        "name" => "Name".into(),
        "reason" => "Why".into(),
        "email" => "Email".into(),
        "replaced" => "Replaced an open invitation".into(),
        "invitation" => "Invitation id".into(),
        "invited_by" => "Invited by".into(),
        "universal_logout" => "Universal Logout".into(),
        "shared_signals" => "Shared Signals".into(),
        "sessions" => "Sessions ended".into(),
        "because" => "Because".into(),
        "by" => "By".into(),
        other => {
            let words = bounded(&other.replace('_', " "), 64);
            let mut chars = words.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => "Field".into(),
            }
        }
    }
}

/// A before/after value in words.
fn value_text(key: &str, v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b)
            if matches!(
                key,
                "enabled" | "jit_enabled" | "universal_logout" | "shared_signals"
            ) =>
        {
            on_off(*b).into()
        }
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => match n.as_i64() {
            Some(ms) if key.ends_with("_at") => format_ms(ms),
            _ => n.to_string(),
        },
        Value::String(s) if s.trim().is_empty() => "none".into(),
        Value::String(s) => match (key, s.as_str()) {
            ("reason", "creator_no_longer_owner") => {
                "the member who made it is no longer the owner".into()
            }
            ("reason", "creator_removed") => "the member who made it was removed".into(),
            ("because", "session-revoked") => "Okta reported the session revoked (CAEP)".into(),
            ("because", "credential-change") => "Okta reported a credential change (CAEP)".into(),
            ("because", "okta_groups") => "their Okta groups".into(),
            ("by", "okta") => "Okta".into(),
            _ => bounded(s, MAX_DETAIL),
        },
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => bounded(
            &items
                .iter()
                .map(|i| match (key, i) {
                    ("failed", Value::String(s)) => check_name(s),
                    _ => value_text("", i),
                })
                .collect::<Vec<_>>()
                .join(", "),
            MAX_DETAIL,
        ),
        Value::Object(_) => bounded(&v.to_string(), MAX_DETAIL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MemberId;
    use serde_json::json;

    const AT: i64 = 1_795_730_703_639;

    fn entry(actor: &str, action: &str, target: &str, before: Value, after: Value) -> AuditView {
        let member = !matches!(
            actor,
            ACTOR_CLI
                | ACTOR_OKTA_JIT
                | ACTOR_OKTA_SCIM
                | ACTOR_OKTA_LOGOUT
                | ACTOR_OKTA_SIGNALS
                | ACTOR_LINK
        );
        let json = |v: Value| {
            if v.is_null() {
                String::new()
            } else {
                v.to_string()
            }
        };
        AuditView {
            id: "e1".into(),
            at: AT,
            actor_id: member.then(|| MemberId::parse("m-actor").unwrap()),
            actor_email: actor.into(),
            action: action.into(),
            target_id: (!target.is_empty()).then(|| MemberId::parse("m-target").unwrap()),
            target_email: target.into(),
            before: json(before),
            after: json(after),
            sentence: String::new(),
        }
    }

    const ALICE: &str = "alice@example.com";
    const BOB: &str = "bob@example.com";
    const CAROL: &str = "carol@example.com";
    const ALL_FAILED: [&str; 5] = [
        "discovery",
        "issuer",
        "signing_keys",
        "client_credentials",
        "redirect_uri",
    ];

    /// One entry of every action, as the code writes it, and its sentence.
    fn every_action() -> Vec<(AuditView, &'static str)> {
        let link = "5d0c-link";
        vec![
            (
                entry(
                    ALICE,
                    "role_changed",
                    BOB,
                    json!({"role": "member"}),
                    json!({"role": "admin"}),
                ),
                "alice@example.com made bob@example.com an admin",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "role_changed",
                    BOB,
                    json!({"role": "admin"}),
                    json!({"role": "member"}),
                ),
                "The service operator made bob@example.com a member",
            ),
            (
                entry(
                    ALICE,
                    "member_deactivated",
                    BOB,
                    json!({"status": "active"}),
                    json!({"status": "deactivated"}),
                ),
                "alice@example.com deactivated bob@example.com",
            ),
            (
                entry(
                    ALICE,
                    "member_reactivated",
                    BOB,
                    json!({"status": "deactivated"}),
                    json!({"status": "active"}),
                ),
                "alice@example.com reactivated bob@example.com",
            ),
            (
                entry(
                    ALICE,
                    "member_removed",
                    BOB,
                    json!({"role": "member", "status": "active"}),
                    Value::Null,
                ),
                "alice@example.com removed bob@example.com from the organization",
            ),
            (
                entry(
                    ALICE,
                    "ownership_transferred",
                    BOB,
                    json!({"owner": ALICE, "role": "admin"}),
                    json!({"owner": BOB, "role": "owner", "previous_owner_role": "admin"}),
                ),
                "alice@example.com transferred ownership to bob@example.com and is now an admin",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "ownership_transferred",
                    BOB,
                    json!({"owner": ALICE, "role": "member"}),
                    json!({"owner": BOB, "role": "owner", "previous_owner_role": "admin"}),
                ),
                "The service operator made bob@example.com the owner; alice@example.com is now an admin",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "ownership_transferred",
                    BOB,
                    json!({"owner": "", "role": "member"}),
                    json!({"owner": BOB, "role": "owner", "previous_owner_role": null}),
                ),
                "The service operator made bob@example.com the owner",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_provisioned",
                    CAROL,
                    Value::Null,
                    json!({"role": "member"}),
                ),
                "Okta added carol@example.com on their first sign-in (member)",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_provisioned",
                    ALICE,
                    Value::Null,
                    json!({"role": "owner"}),
                ),
                "Okta added alice@example.com on their first sign-in (owner: the organization's first member)",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_provisioned",
                    CAROL,
                    Value::Null,
                    json!({"role": "admin", "invitation": "i-1", "invited_by": ALICE}),
                ),
                "Okta added carol@example.com on their first sign-in (admin, invited by alice@example.com)",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_provisioned",
                    CAROL,
                    Value::Null,
                    json!({"role": "member", "invitation": "i-1", "invited_by": ACTOR_CLI}),
                ),
                "Okta added carol@example.com on their first sign-in (member, invited by the service operator)",
            ),
            (
                entry(
                    ALICE,
                    "invitation_created",
                    "",
                    Value::Null,
                    json!({"email": CAROL, "role": "admin", "expires_at": AT + 30 * 86_400_000, "replaced": false}),
                ),
                "alice@example.com invited carol@example.com to join as an admin",
            ),
            (
                entry(
                    ALICE,
                    "invitation_created",
                    "",
                    Value::Null,
                    json!({"email": CAROL, "role": "member", "expires_at": AT, "replaced": true}),
                ),
                "alice@example.com invited carol@example.com to join as a member, replacing the earlier invitation of that address",
            ),
            (
                entry(
                    BOB,
                    "invitation_revoked",
                    "",
                    Value::Null,
                    json!({"email": CAROL, "role": "member"}),
                ),
                "bob@example.com revoked the invitation of carol@example.com",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "client_secret_dropped",
                    "",
                    json!({"client_secret": "does not open with the current key"}),
                    json!({"client_secret": ""}),
                ),
                "The service operator dropped the Okta client secret, which did not open with the server's secret key: sign-ins fail until it is set again",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_profile_changed",
                    "carol@new.example.com",
                    json!({"email": CAROL, "name": "Carol"}),
                    json!({"email": "carol@new.example.com", "name": "Carol Chen"}),
                ),
                "Okta updated the profile of carol@new.example.com: email from carol@example.com to carol@new.example.com and name from “Carol” to “Carol Chen”",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_profile_changed",
                    CAROL,
                    json!({"email": CAROL, "name": ""}),
                    json!({"email": CAROL, "name": "Carol Chen"}),
                ),
                "Okta updated the profile of carol@example.com: name from none to “Carol Chen”",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "members_rekeyed",
                    "",
                    json!({"issuer": "https://old.okta.com"}),
                    json!({"issuer": "https://acme.okta.com", "moved": 3}),
                ),
                "The service operator moved 3 members from the Okta org old.okta.com to acme.okta.com",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_connection_set",
                    "",
                    Value::Null,
                    json!({"issuer": "https://acme.okta.com", "client_id": "0oa1b2c3"}),
                ),
                "The service operator connected the Okta org acme.okta.com (Client ID 0oa1b2c3)",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_connection_set",
                    "",
                    json!({"issuer": "https://acme.okta.com", "client_id": "0oa-old"}),
                    json!({"issuer": "https://acme.okta.com/", "client_id": "0oa1b2c3"}),
                ),
                "The service operator updated the Okta connection to acme.okta.com (Client ID 0oa1b2c3)",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_connection_set",
                    "",
                    json!({"issuer": "https://old.okta.com", "client_id": "0oa-old"}),
                    json!({"issuer": "https://acme.okta.com", "client_id": "0oa1b2c3", "issuer_changed": true, "members_on_previous_issuer": 4}),
                ),
                "The service operator moved the Okta connection from old.okta.com to acme.okta.com (Client ID 0oa1b2c3); 4 members were keyed to the previous Okta org",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_enabled",
                    "",
                    Value::Null,
                    json!({"enabled": true}),
                ),
                "The service operator turned single sign-on on",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_disabled",
                    "",
                    Value::Null,
                    json!({"enabled": false, "sessions_ended": 0}),
                ),
                "The service operator turned single sign-on off",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_disabled",
                    "",
                    Value::Null,
                    json!({"enabled": false, "sessions_ended": 1}),
                ),
                "The service operator turned single sign-on off, signing everyone out (1 session ended)",
            ),
            (
                entry(
                    ALICE,
                    "sso_settings_changed",
                    "",
                    json!({"enabled": false, "jit_enabled": true, "default_role": "member"}),
                    json!({"enabled": true, "jit_enabled": false, "default_role": "admin"}),
                ),
                "alice@example.com turned single sign-on on, turned just-in-time provisioning off and set new members' role to admin",
            ),
            (
                entry(
                    ALICE,
                    "sso_settings_changed",
                    "",
                    json!({"enabled": true, "jit_enabled": true, "default_role": "member"}),
                    json!({"enabled": true, "jit_enabled": true, "default_role": "admin"}),
                ),
                "alice@example.com set new members' role to admin",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_policy_set",
                    "",
                    json!({"jit_enabled": true, "default_role": "member"}),
                    json!({"jit_enabled": false, "default_role": "member"}),
                ),
                "The service operator turned just-in-time provisioning off",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sso_policy_set",
                    "",
                    json!({"jit_enabled": true, "default_role": "member"}),
                    json!({"jit_enabled": true, "default_role": "member"}),
                ),
                "The service operator set the just-in-time provisioning policy again, unchanged",
            ),
            (
                entry(
                    ALICE,
                    "sso_connection_tested",
                    "",
                    Value::Null,
                    json!({"ok": true, "failed": []}),
                ),
                "alice@example.com tested the Okta connection: every check passed",
            ),
            (
                entry(
                    ALICE,
                    "sso_connection_tested",
                    "",
                    Value::Null,
                    json!({"ok": false, "failed": ALL_FAILED}),
                ),
                "alice@example.com tested the Okta connection: it failed (discovery, issuer, signing keys, client credentials, redirect URI)",
            ),
            (
                entry(
                    ALICE,
                    "client_secret_rotated",
                    "",
                    json!({"client_secret": "••••wxyz"}),
                    json!({"client_secret": "••••abcd"}),
                ),
                "alice@example.com rotated the Okta client secret",
            ),
            (
                entry(
                    ALICE,
                    "client_secret_rotation_failed",
                    "",
                    Value::Null,
                    json!({"failed": ["client_credentials"]}),
                ),
                "alice@example.com tried to rotate the Okta client secret, but the new secret failed the connection test (client credentials) and was not saved",
            ),
            (
                entry(
                    ALICE,
                    "setup_link_created",
                    "",
                    Value::Null,
                    json!({"link_id": link, "expires_at": AT + 72 * 3_600_000}),
                ),
                "alice@example.com created a setup link, valid for 72 hours",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "setup_link_created",
                    "",
                    Value::Null,
                    json!({"link_id": link, "expires_at": AT + 7 * 86_400_000}),
                ),
                "The service operator created a setup link, valid for 7 days",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_opened",
                    "",
                    Value::Null,
                    json!({"link_id": link}),
                ),
                "Someone opened a setup link",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_test_passed",
                    "",
                    Value::Null,
                    json!({"link_id": link, "issuer": "https://acme.okta.com", "client_id": "0oa1", "failed": []}),
                ),
                "Someone with a setup link tested the connection to acme.okta.com: every check passed",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_test_failed",
                    "",
                    Value::Null,
                    json!({"link_id": link, "issuer": "https://acme.okta.com", "client_id": "0oa1", "failed": ["client_credentials", "redirect_uri"]}),
                ),
                "Someone with a setup link tested the connection to acme.okta.com: it failed (client credentials, redirect URI)",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_test_failed",
                    "",
                    Value::Null,
                    json!({"link_id": link, "issuer": "https://globex.okta.com", "client_id": "0oa1", "failed": ["issuer_in_use"]}),
                ),
                "Someone with a setup link tested the connection to globex.okta.com: it failed (issuer already connected to another organization)",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_saved",
                    "",
                    Value::Null,
                    json!({"link_id": link, "issuer": "https://acme.okta.com", "client_id": "0oa1", "enabled": true}),
                ),
                "Someone with a setup link saved the Okta connection to acme.okta.com and turned single sign-on on",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_saved",
                    "",
                    json!({"issuer": "https://old.okta.com", "client_id": "0oa0", "enabled": true}),
                    json!({"link_id": link, "issuer": "https://acme.okta.com", "client_id": "0oa1", "enabled": true, "issuer_changed": true, "members_on_previous_issuer": 1}),
                ),
                "Someone with a setup link saved the Okta connection to acme.okta.com, replacing old.okta.com; 1 member was keyed to the previous Okta org",
            ),
            (
                entry(
                    ACTOR_LINK,
                    "setup_link_expired",
                    "",
                    Value::Null,
                    json!({"link_id": link, "expires_at": AT - 1}),
                ),
                "Someone opened a setup link after it had expired",
            ),
            (
                entry(
                    ALICE,
                    "setup_link_revoked",
                    "",
                    Value::Null,
                    json!({"link_id": link}),
                ),
                "alice@example.com revoked a setup link",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "setup_link_revoked",
                    "",
                    Value::Null,
                    json!({"link_id": link}),
                ),
                "The service operator revoked a setup link",
            ),
            (
                entry(
                    ALICE,
                    "setup_link_revoked",
                    "",
                    Value::Null,
                    json!({"link_id": link, "reason": "creator_no_longer_owner"}),
                ),
                "A setup link stopped working: the member who made it is no longer the owner",
            ),
            (
                entry(
                    ALICE,
                    "setup_link_revoked",
                    "",
                    Value::Null,
                    json!({"link_id": link, "reason": "creator_removed"}),
                ),
                "A setup link stopped working: the member who made it was removed",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "org_renamed",
                    "",
                    json!({"name": "Acme Inc"}),
                    json!({"name": "Acme Corporation"}),
                ),
                "The service operator renamed the organization from “Acme Inc” to “Acme Corporation”",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "member_provisioned",
                    BOB,
                    Value::Null,
                    json!({"role": "member", "status": "active", "via": "scim"}),
                ),
                "Okta provisioned bob@example.com over SCIM (member; not signed in yet)",
            ),
            (
                entry(
                    ACTOR_OKTA_JIT,
                    "member_linked",
                    BOB,
                    Value::Null,
                    json!({"role": "owner", "became_owner": true}),
                ),
                "bob@example.com signed in for the first time as the member Okta provisioned and became the owner (the organization's first member to sign in)",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "role_changed",
                    BOB,
                    json!({"role": "member"}),
                    json!({"role": "admin", "because": "okta_groups"}),
                ),
                "Okta made bob@example.com an admin (from their Okta groups)",
            ),
            (
                entry(
                    ALICE,
                    "scim_token_created",
                    "",
                    Value::Null,
                    json!({"token_id": "t1", "name": "Okta prod"}),
                ),
                "alice@example.com created the SCIM token “Okta prod”",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "scim_token_revoked",
                    "",
                    json!({"token_id": "t1", "name": "Okta prod"}),
                    Value::Null,
                ),
                "The service operator revoked the SCIM token “Okta prod”",
            ),
            (
                entry(
                    ALICE,
                    "provisioning_mode_changed",
                    "",
                    json!({"provisioning": "jit"}),
                    json!({"provisioning": "both"}),
                ),
                "alice@example.com changed the provisioning mode from jit to both",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "group_pushed",
                    "",
                    json!({"group": null}),
                    json!({"group": "Admins", "added": 2, "removed": 0}),
                ),
                "Okta pushed the group “Admins” and added 2 members",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "group_pushed",
                    "",
                    json!({"group": "Admins"}),
                    json!({"group": "Admins", "added": 1, "removed": 1}),
                ),
                "Okta added 1 member and removed 1 member in the group “Admins”",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "group_renamed",
                    "",
                    json!({"group": "Admins"}),
                    json!({"group": "Tessera Admins"}),
                ),
                "Okta renamed the group “Admins” to “Tessera Admins”",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "group_deleted",
                    "",
                    json!({"group": "Admins", "role": "admin"}),
                    json!({}),
                ),
                "Okta deleted the group “Admins”",
            ),
            (
                entry(
                    ALICE,
                    "role_mapping_set",
                    "",
                    json!({"group": "Admins", "role": null}),
                    json!({"group": "Admins", "role": "admin"}),
                ),
                "alice@example.com mapped the Okta group “Admins” to the admin role",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "role_mapping_removed",
                    "",
                    json!({"group": "Admins", "role": "admin"}),
                    json!({"group": "Admins", "role": null}),
                ),
                "The service operator removed the role mapping of the Okta group “Admins”",
            ),
            (
                entry(
                    ALICE,
                    "sessions_revoked",
                    BOB,
                    Value::Null,
                    json!({"sessions": 2}),
                ),
                "alice@example.com signed bob@example.com out everywhere (2 sessions ended)",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "sessions_revoked",
                    BOB,
                    Value::Null,
                    json!({"sessions": 0}),
                ),
                "The service operator signed bob@example.com out everywhere (no session was open)",
            ),
            (
                entry(
                    ACTOR_OKTA_LOGOUT,
                    "sessions_revoked",
                    BOB,
                    Value::Null,
                    json!({"sessions": 1}),
                ),
                "Okta signed bob@example.com out everywhere with Universal Logout (1 session ended)",
            ),
            (
                entry(
                    ACTOR_OKTA_SIGNALS,
                    "sessions_revoked",
                    BOB,
                    Value::Null,
                    json!({"sessions": 2, "because": "session-revoked"}),
                ),
                "Okta signed bob@example.com out everywhere after a session-revoked event (2 sessions ended)",
            ),
            (
                entry(
                    ACTOR_OKTA_SIGNALS,
                    "sessions_revoked",
                    BOB,
                    Value::Null,
                    json!({"sessions": 3, "because": "credential-change"}),
                ),
                "Okta signed bob@example.com out everywhere after a credential change (3 sessions ended)",
            ),
            (
                entry(
                    ACTOR_OKTA_SIGNALS,
                    "member_deactivated",
                    BOB,
                    json!({"status": "active"}),
                    json!({"status": "deactivated", "by": "okta"}),
                ),
                "Okta deactivated bob@example.com after an account-disabled event",
            ),
            (
                entry(
                    ACTOR_OKTA_SIGNALS,
                    "member_reactivated",
                    BOB,
                    json!({"status": "deactivated"}),
                    json!({"status": "active", "by": "okta"}),
                ),
                "Okta reactivated bob@example.com after an account-enabled event",
            ),
            (
                entry(
                    ACTOR_OKTA_SCIM,
                    "member_deactivated",
                    BOB,
                    json!({"status": "active"}),
                    json!({"status": "deactivated", "by": "okta"}),
                ),
                "Okta deactivated bob@example.com",
            ),
            (
                entry(
                    ALICE,
                    "security_signals_changed",
                    "",
                    json!({"universal_logout": true, "shared_signals": true}),
                    json!({"universal_logout": false, "shared_signals": true}),
                ),
                "alice@example.com turned Universal Logout off",
            ),
            (
                entry(
                    ACTOR_CLI,
                    "security_signals_changed",
                    "",
                    json!({"universal_logout": false, "shared_signals": true}),
                    json!({"universal_logout": true, "shared_signals": false}),
                ),
                "The service operator turned Universal Logout on and Shared Signals off",
            ),
            (
                entry(
                    ALICE,
                    "security_signals_changed",
                    "",
                    json!({"universal_logout": true, "shared_signals": true}),
                    json!({"universal_logout": true, "shared_signals": true}),
                ),
                "alice@example.com set Universal Logout and Shared Signals again, unchanged",
            ),
        ]
    }

    #[test]
    fn every_action_reads_as_a_sentence() {
        let cases = every_action();
        for (e, expected) in &cases {
            assert_eq!(sentence(e), *expected, "{}", e.action);
        }
        // Every action has at least one case above.
        for action in AuditAction::ALL {
            assert!(
                cases.iter().any(|(e, _)| e.action == action.code()),
                "no sentence tested for {}",
                action.code()
            );
        }
    }

    #[test]
    fn actions_round_trip_and_are_listed_once() {
        let mut codes = std::collections::HashSet::new();
        let mut labels = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.code()), Some(a));
            assert!(codes.insert(a.code()), "{} twice", a.code());
            assert!(labels.insert(a.label()), "{} twice", a.label());
            assert!(
                a.code().len() <= 64
                    && a.code()
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(ActionGroup::ALL.contains(&a.group()));
        }
        for bad in ["", "Role_Changed", "role_changed ", "sso", "role_changed\0"] {
            assert_eq!(AuditAction::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn actors_are_named_for_people() {
        assert_eq!(Who::of(false, ACTOR_CLI).name(), "The service operator");
        assert_eq!(Who::of(false, ACTOR_OKTA_JIT).name(), "Okta");
        assert_eq!(
            Who::of(false, ACTOR_LINK).name(),
            "Someone with a setup link"
        );
        assert_eq!(Who::of(true, ALICE).name(), ALICE);
        // A member whose email reads like a fixed label is still that member.
        assert_eq!(Who::of(true, ACTOR_CLI), Who::Member(ACTOR_CLI));
        assert_eq!(Who::of(true, ACTOR_CLI).name(), ACTOR_CLI);
        assert_eq!(
            Who::of(true, "").name(),
            "A member without an email address"
        );
        assert_eq!(Who::of(false, ACTOR_OKTA_SCIM).name(), "Okta");
        // Every way Okta acts is Okta; the sentence says how where it matters.
        assert_eq!(Who::of(false, ACTOR_OKTA_LOGOUT).name(), "Okta");
        assert_eq!(Who::of(false, ACTOR_OKTA_SIGNALS).name(), "Okta");
        // A member whose email reads like an Okta label is that member.
        assert_eq!(
            Who::of(true, ACTOR_OKTA_LOGOUT),
            Who::Member(ACTOR_OKTA_LOGOUT)
        );
        assert_eq!(
            Who::of(false, "Okta (Workflows)").name(),
            "Okta (Workflows)"
        );
        assert_eq!(Who::of(false, " ").name(), "Someone");
        // Long labels are cut.
        let long = "x".repeat(1000);
        assert_eq!(Who::of(true, &long).name().chars().count(), MAX_SHOWN + 1);
    }

    #[test]
    fn unknown_actions_and_odd_entries_still_read() {
        let e = entry(ALICE, "member_suspended", BOB, Value::Null, Value::Null);
        assert_eq!(
            sentence(&e),
            "alice@example.com performed “member_suspended” on bob@example.com"
        );
        let e = entry(ACTOR_CLI, "org_archived", "", Value::Null, Value::Null);
        assert_eq!(
            sentence(&e),
            "The service operator performed “org_archived”"
        );
        // A target without an email.
        let mut e = entry(ALICE, "member_deactivated", BOB, Value::Null, Value::Null);
        e.target_email.clear();
        assert_eq!(
            sentence(&e),
            "alice@example.com deactivated a member without an email address"
        );
        // Missing or malformed before/after: the general form of the sentence.
        let mut e = entry(ALICE, "role_changed", BOB, Value::Null, Value::Null);
        e.after = "{not json".into();
        assert_eq!(
            sentence(&e),
            "alice@example.com changed the role of bob@example.com"
        );
        let e = entry(
            ALICE,
            "role_changed",
            BOB,
            Value::Null,
            json!({"role": "<b>x</b>"}),
        );
        assert_eq!(
            sentence(&e),
            "alice@example.com made bob@example.com “<b>x</b>”"
        );
        let e = entry(
            ALICE,
            "sso_settings_changed",
            "",
            Value::Null,
            json!([1, 2]),
        );
        assert_eq!(
            sentence(&e),
            "alice@example.com changed the single sign-on settings"
        );
        let e = entry(
            ACTOR_CLI,
            "members_rekeyed",
            "",
            Value::Null,
            json!({"moved": 1}),
        );
        assert_eq!(
            sentence(&e),
            "The service operator moved 1 member to the current Okta org"
        );
        let e = entry(
            ALICE,
            "setup_link_created",
            "",
            Value::Null,
            json!({"expires_at": "soon"}),
        );
        assert_eq!(sentence(&e), "alice@example.com created a setup link");
        let e = entry(ALICE, "sso_connection_tested", "", Value::Null, Value::Null);
        assert_eq!(sentence(&e), "alice@example.com tested the Okta connection");
        // Outside values are cut, control characters dropped.
        let issuer = format!("https://{}.okta.com\n", "a".repeat(500));
        let e = entry(
            ACTOR_LINK,
            "setup_link_saved",
            "",
            Value::Null,
            json!({"issuer": issuer, "enabled": true}),
        );
        let s = sentence(&e);
        assert!(s.len() < 300 && !s.contains('\n'), "{s}");
    }

    #[test]
    fn details_name_each_field() {
        let e = entry(
            ALICE,
            "role_changed",
            BOB,
            json!({"role": "member"}),
            json!({"role": "admin"}),
        );
        assert_eq!(
            details(&e),
            vec![Detail {
                label: "Role".into(),
                before: Some("member".into()),
                after: Some("admin".into())
            }]
        );
        let e = entry(
            ALICE,
            "setup_link_created",
            "",
            Value::Null,
            json!({"link_id": "l1", "expires_at": AT}),
        );
        assert_eq!(
            details(&e),
            vec![
                Detail {
                    label: "Expires".into(),
                    before: None,
                    after: Some("2026-11-26 22:05 UTC".into())
                },
                Detail {
                    label: "Setup link id".into(),
                    before: None,
                    after: Some("l1".into())
                },
            ]
        );
        let e = entry(
            ALICE,
            "sso_settings_changed",
            "",
            json!({"enabled": false, "jit_enabled": true}),
            json!({"enabled": true, "jit_enabled": true, "new_thing": [true]}),
        );
        let d = details(&e);
        assert_eq!(
            d[0],
            Detail {
                label: "Single sign-on".into(),
                before: Some("off".into()),
                after: Some("on".into())
            }
        );
        assert_eq!(
            d[2],
            Detail {
                label: "New thing".into(),
                before: None,
                after: Some("yes".into())
            }
        );
        let e = entry(
            ALICE,
            "sso_connection_tested",
            "",
            Value::Null,
            json!({"ok": false, "failed": ["signing_keys"]}),
        );
        assert_eq!(details(&e)[0].after.as_deref(), Some("signing keys"));
        assert_eq!(details(&e)[1].after.as_deref(), Some("no"));
        let e = entry(
            ACTOR_CLI,
            "ownership_transferred",
            BOB,
            json!({"owner": ""}),
            json!({"owner": BOB, "previous_owner_role": null}),
        );
        assert_eq!(details(&e)[0].before.as_deref(), Some("none"));
        assert_eq!(details(&e)[1].after.as_deref(), Some("none"));
        let e = entry(
            ALICE,
            "security_signals_changed",
            "",
            json!({"universal_logout": true, "shared_signals": false}),
            json!({"universal_logout": false, "shared_signals": false}),
        );
        assert_eq!(
            details(&e),
            vec![
                Detail {
                    label: "Shared Signals".into(),
                    before: Some("off".into()),
                    after: Some("off".into())
                },
                Detail {
                    label: "Universal Logout".into(),
                    before: Some("on".into()),
                    after: Some("off".into())
                },
            ]
        );
        let e = entry(
            ACTOR_OKTA_SIGNALS,
            "sessions_revoked",
            BOB,
            Value::Null,
            json!({"sessions": 2, "because": "credential-change"}),
        );
        assert_eq!(
            details(&e),
            vec![
                Detail {
                    label: "Because".into(),
                    before: None,
                    after: Some("Okta reported a credential change (CAEP)".into())
                },
                Detail {
                    label: "Sessions ended".into(),
                    before: None,
                    after: Some("2".into())
                },
            ]
        );
        // A member whose email reads like Okta's label did it themselves: no channel words.
        let mut e = entry(
            ACTOR_OKTA_LOGOUT,
            "sessions_revoked",
            BOB,
            Value::Null,
            json!({"sessions": 1}),
        );
        e.actor_id = Some(MemberId::parse("m-actor").unwrap());
        assert_eq!(
            sentence(&e),
            "Okta (Universal Logout) signed bob@example.com out everywhere (1 session ended)"
        );
        // Not JSON: shown as it is, bounded.
        let mut e = entry(ALICE, "x", "", Value::Null, Value::Null);
        e.before = "plain words".into();
        e.after = "y".repeat(5000);
        let d = details(&e);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].before.as_deref(), Some("plain words"));
        assert_eq!(d[0].after.as_ref().unwrap().chars().count(), MAX_DETAIL + 1);
        assert!(details(&entry(ALICE, "x", "", Value::Null, Value::Null)).is_empty());
    }
}
