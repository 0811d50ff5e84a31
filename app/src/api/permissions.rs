//! The permission matrix: who may do what to whom in an org. Pure functions, shared by the
//! server (which enforces them) and the pages (which hide what would be refused).
//!
//! | actor \ action                     | owner            | admin               | member |
//! | ---------------------------------- | ---------------- | ------------------- | ------ |
//! | see members list, own profile      | yes              | yes                 | yes    |
//! | see SSO page, login activity, audit| yes              | yes                 | no     |
//! | run "Test connection"              | yes              | yes                 | no     |
//! | edit SSO settings, rotate secret   | yes              | no                  | no     |
//! | create, list, revoke setup links   | yes              | no                  | no     |
//! | change role admin <-> member       | any non-owner    | member -> admin only| no     |
//! | deactivate / reactivate / remove   | any non-owner    | members only        | no     |
//! | transfer ownership                 | to an active non-owner | no            | no     |
//!
//! Nobody acts on themselves, and nobody acts on the owner: an org is never left without one.
//!
//! The service operator (the `tessera` CLI, [`may_operator`]) holds no membership: they may
//! change the role of, deactivate and remove any member but the owner, reactivate anyone, and
//! make any other member the owner (`tessera org transfer-owner`). No role change makes an
//! owner, theirs included.

use crate::model::{Member, MemberId, MemberStatus, Role};

/// Something that acts or is acted on: a member as stored, or as listed by the API.
pub trait Party {
    fn party_id(&self) -> &MemberId;
    fn party_role(&self) -> Role;
    fn party_status(&self) -> MemberStatus;
}

impl Party for Member {
    fn party_id(&self) -> &MemberId {
        &self.id
    }
    fn party_role(&self) -> Role {
        self.role
    }
    fn party_status(&self) -> MemberStatus {
        self.status
    }
}

/// An action on one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ChangeRole(Role),
    Deactivate,
    Reactivate,
    Remove,
    TransferOwnership,
    /// "Sign out everywhere": end every session of the member (they stay a member and may
    /// sign in again).
    SignOut,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::ChangeRole(_) => "change the role of",
            Action::Deactivate => "deactivate",
            Action::Reactivate => "reactivate",
            Action::Remove => "remove",
            Action::TransferOwnership => "transfer ownership to",
            Action::SignOut => "sign out",
        }
    }
}

/// An org-wide action (no member targeted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgAction {
    ViewMembers,
    ViewOwnProfile,
    ViewSso,
    TestConnection,
    ViewLoginActivity,
    ViewAudit,
    EditSsoSettings,
    RotateClientSecret,
    /// Create, list and revoke the org's setup links.
    ManageSetupLinks,
    /// Invite people (pre-approve them by email with a role), list and revoke invitations.
    InviteMembers,
}

/// May `actor` do `action` to `target`? `Err` carries the reason, written for the actor.
/// Only permissions: state (a deactivated transfer target, a missing member) is the caller's.
pub fn may(actor: &impl Party, action: Action, target: &impl Party) -> Result<(), String> {
    if actor.party_status() != MemberStatus::Active {
        return Err("Your membership is deactivated.".into());
    }
    if actor.party_id() == target.party_id() {
        return Err(match (action, actor.party_role()) {
            (Action::TransferOwnership, Role::Owner) => {
                "You already own this organization: choose another member to transfer it to."
                    .into()
            }
            (Action::TransferOwnership, _) => "Only the owner can transfer ownership.".into(),
            (Action::ChangeRole(_), Role::Owner) => {
                "You cannot change your own role: as the owner, transfer ownership to another member first."
                    .into()
            }
            (Action::ChangeRole(_), _) => {
                "You cannot change your own role: ask the owner.".into()
            }
            (_, Role::Owner) => format!(
                "You cannot {} yourself: as the owner, transfer ownership to another member first.",
                action.verb()
            ),
            _ => format!(
                "You cannot {} yourself: ask the owner or another admin.",
                action.verb()
            ),
        });
    }
    if action == Action::ChangeRole(Role::Owner) {
        return Err(
            "Ownership changes hands only by a transfer: the owner can transfer ownership.".into(),
        );
    }
    match actor.party_role() {
        Role::Member => Err(
            "Members cannot manage other members: ask an owner or admin of your organization."
                .into(),
        ),
        Role::Admin => {
            if action == Action::TransferOwnership {
                return Err("Only the owner can transfer ownership.".into());
            }
            match target.party_role() {
                Role::Owner => Err(format!(
                    "Admins cannot {} the owner: the organization must always have its owner.",
                    action.verb()
                )),
                Role::Admin => Err(format!(
                    "Admins cannot {} another admin: ask the owner.",
                    action.verb()
                )),
                Role::Member => Ok(()),
            }
        }
        Role::Owner => match target.party_role() {
            // Unreachable with one owner per org (the actor is the owner), kept for safety.
            Role::Owner => Err(format!("You cannot {} the owner.", action.verb())),
            Role::Admin | Role::Member => Ok(()),
        },
    }
}

/// May the service operator (the `tessera` CLI, audited as `operator (CLI)`) do `action` to
/// `target`? Only the target counts: any member but the owner, since the org always keeps its
/// owner and ownership moves only by a transfer. Reactivating is allowed for anyone. `Err`
/// carries the reason, written for the operator.
pub fn may_operator(action: Action, target: &impl Party) -> Result<(), String> {
    const TRANSFER: &str = "`tessera org transfer-owner <org> <member>`";
    match (action, target.party_role()) {
        (Action::ChangeRole(Role::Owner), _) => Err(format!(
            "No role change makes an owner: ownership changes hands only by {TRANSFER}."
        )),
        // Ending sessions takes nothing away: the owner too may sign in again.
        (Action::Reactivate | Action::SignOut, _) => Ok(()),
        (Action::TransferOwnership, Role::Owner) => Err("This member is already the owner.".into()),
        (_, Role::Owner) => Err(format!(
            "Cannot {} the owner: transfer ownership first ({TRANSFER}), then try again.",
            action.verb()
        )),
        (_, Role::Admin | Role::Member) => Ok(()),
    }
}

/// May `actor` do the org-wide `action`?
pub fn may_org(actor: &impl Party, action: OrgAction) -> Result<(), String> {
    if actor.party_status() != MemberStatus::Active {
        return Err("Your membership is deactivated.".into());
    }
    let role = actor.party_role();
    match action {
        OrgAction::ViewMembers | OrgAction::ViewOwnProfile => Ok(()),
        OrgAction::ViewSso
        | OrgAction::TestConnection
        | OrgAction::ViewLoginActivity
        | OrgAction::InviteMembers
        | OrgAction::ViewAudit => match role {
            Role::Owner | Role::Admin => Ok(()),
            Role::Member => Err(format!(
                "Only the owner and admins can {}.",
                match action {
                    OrgAction::ViewSso => "see the SSO settings",
                    OrgAction::TestConnection => "test the Okta connection",
                    OrgAction::ViewLoginActivity => "see login activity",
                    OrgAction::InviteMembers => "invite people",
                    _ => "see the audit log",
                }
            )),
        },
        OrgAction::EditSsoSettings
        | OrgAction::RotateClientSecret
        | OrgAction::ManageSetupLinks => match role {
            Role::Owner => Ok(()),
            Role::Admin | Role::Member => Err(format!(
                "Only the owner can {}.",
                match action {
                    OrgAction::EditSsoSettings => "change the SSO settings",
                    OrgAction::RotateClientSecret => "rotate the client secret",
                    _ => "create, see or revoke setup links",
                }
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, role: Role, status: MemberStatus) -> Member {
        Member {
            id: id.into(),
            org_id: "org".into(),
            issuer: "https://acme.okta.com".into(),
            subject: format!("sub-{id}"),
            email: format!("{id}@example.com"),
            name: id.into(),
            role,
            status,
            created_at: 0,
            last_login_at: None,
        }
    }

    use MemberStatus::{Active, Deactivated};
    use Role::{Admin, Member as Mem, Owner};

    const ACTIONS: [Action; 7] = [
        Action::ChangeRole(Admin),
        Action::ChangeRole(Mem),
        Action::Deactivate,
        Action::Reactivate,
        Action::Remove,
        Action::TransferOwnership,
        Action::SignOut,
    ];

    /// The matrix, cell by cell: (actor role, action, target role) -> allowed.
    fn expected(actor: Role, action: Action, target: Role) -> bool {
        match (actor, action, target) {
            (_, _, Owner) => false,
            (Mem, _, _) => false,
            (Admin, Action::TransferOwnership, _) => false,
            (Admin, _, Admin) => false,
            (Admin, _, Mem) => true,
            (Owner, _, Admin | Mem) => true,
        }
    }

    #[test]
    fn every_cell_of_the_member_matrix() {
        let mut cells = 0;
        for actor_role in [Owner, Admin, Mem] {
            for target_role in [Owner, Admin, Mem] {
                for target_status in [Active, Deactivated] {
                    if target_role == Owner && target_status == Deactivated {
                        continue; // the owner is never deactivated
                    }
                    for action in ACTIONS {
                        let actor = m("actor", actor_role, Active);
                        let target = m("target", target_role, target_status);
                        let got = may(&actor, action, &target);
                        assert_eq!(
                            got.is_ok(),
                            expected(actor_role, action, target_role),
                            "{actor_role} {action:?} {target_role} ({target_status:?}): {got:?}"
                        );
                        if let Err(msg) = got {
                            assert!(msg.ends_with('.'), "a sentence: {msg}");
                        }
                        cells += 1;
                    }
                }
            }
        }
        assert_eq!(cells, 3 * 5 * ACTIONS.len());
    }

    #[test]
    fn nobody_acts_on_themselves() {
        for role in [Owner, Admin, Mem] {
            let me = m("me", role, Active);
            for action in ACTIONS {
                let err = may(&me, action, &me).unwrap_err();
                assert!(
                    err.contains("yourself")
                        || err.contains("your own role")
                        || err.contains("already own")
                        || err.contains("Only the owner"),
                    "{role} {action:?}: {err}"
                );
            }
        }
        let owner = m("o", Owner, Active);
        assert!(
            may(&owner, Action::Remove, &owner)
                .unwrap_err()
                .contains("transfer ownership")
        );
    }

    #[test]
    fn nobody_makes_a_second_owner_by_role_change() {
        for actor in [Owner, Admin, Mem] {
            for target in [Admin, Mem] {
                let err = may(
                    &m("a", actor, Active),
                    Action::ChangeRole(Owner),
                    &m("t", target, Active),
                )
                .unwrap_err();
                assert!(!err.is_empty());
            }
        }
        let err = may(
            &m("a", Owner, Active),
            Action::ChangeRole(Owner),
            &m("t", Admin, Active),
        )
        .unwrap_err();
        assert!(err.contains("transfer"), "{err}");
    }

    #[test]
    fn a_deactivated_actor_may_do_nothing() {
        for role in [Owner, Admin, Mem] {
            let actor = m("a", role, Deactivated);
            for action in ACTIONS {
                assert!(may(&actor, action, &m("t", Mem, Active)).is_err());
            }
            assert!(may_org(&actor, OrgAction::ViewMembers).is_err());
        }
    }

    #[test]
    fn specific_messages() {
        let admin = m("a", Admin, Active);
        let err = may(&admin, Action::ChangeRole(Mem), &m("b", Admin, Active)).unwrap_err();
        assert!(err.contains("another admin"), "{err}");
        let err = may(&admin, Action::Deactivate, &m("o", Owner, Active)).unwrap_err();
        assert!(err.contains("the owner"), "{err}");
        let err = may(&admin, Action::TransferOwnership, &m("x", Mem, Active)).unwrap_err();
        assert!(err.contains("Only the owner"), "{err}");
        let err = may(&m("x", Mem, Active), Action::Remove, &m("y", Mem, Active)).unwrap_err();
        assert!(err.contains("Members cannot"), "{err}");
    }

    #[test]
    fn the_operator_acts_on_anyone_but_the_owner() {
        for target_role in [Owner, Admin, Mem] {
            for target_status in [Active, Deactivated] {
                for action in ACTIONS {
                    let target = m("t", target_role, target_status);
                    let got = may_operator(action, &target);
                    let allowed = matches!(action, Action::Reactivate | Action::SignOut)
                        || target_role != Owner;
                    assert_eq!(got.is_ok(), allowed, "{action:?} {target_role}: {got:?}");
                    if let Err(msg) = got {
                        assert!(msg.ends_with('.'), "a sentence: {msg}");
                    }
                }
                let err = may_operator(
                    Action::ChangeRole(Owner),
                    &m("t", target_role, target_status),
                )
                .unwrap_err();
                assert!(err.contains("tessera org transfer-owner"), "{err}");
            }
        }
        for action in [Action::ChangeRole(Mem), Action::Deactivate, Action::Remove] {
            let err = may_operator(action, &m("o", Owner, Active)).unwrap_err();
            assert!(
                err.contains("transfer ownership first"),
                "{action:?}: {err}"
            );
        }
    }

    #[test]
    fn every_cell_of_the_org_matrix() {
        use OrgAction::*;
        let table = [
            (ViewMembers, [true, true, true]),
            (ViewOwnProfile, [true, true, true]),
            (ViewSso, [true, true, false]),
            (TestConnection, [true, true, false]),
            (ViewLoginActivity, [true, true, false]),
            (ViewAudit, [true, true, false]),
            (EditSsoSettings, [true, false, false]),
            (RotateClientSecret, [true, false, false]),
            (ManageSetupLinks, [true, false, false]),
        ];
        for (action, allowed) in table {
            for (role, ok) in [Owner, Admin, Mem].into_iter().zip(allowed) {
                let got = may_org(&m("a", role, Active), action);
                assert_eq!(got.is_ok(), ok, "{role} {action:?}: {got:?}");
            }
        }
    }
}
