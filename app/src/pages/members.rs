//! Members: search, paging, counts and the row actions an owner or admin may take.

use super::layout::{Authed, ConfirmDialog, Notice, Section, SessionState};
use super::{Moment, PageTitle, encode_query, format_ms, hydrated, plural, when_loaded};
use crate::api::permissions::{Action, may};
use crate::api::permissions::{OrgAction, may_org};
use crate::api::{
    ApiError, MemberView, PER_PAGE, change_member_role, deactivate_member, invite_member,
    list_invitations, list_members, reactivate_member, remove_member, revoke_invitation,
    sign_out_member, transfer_ownership,
};
use crate::model::{DefaultRole, MemberStatus, Role};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <PageTitle page="Members" />
        <Authed section=Section::Members>
            <Members />
            <Invitations />
        </Authed>
    }
}

/// A row action, run after confirmation when destructive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    MakeAdmin,
    MakeMember,
    /// "Sign out everywhere": every session of theirs ends; they stay a member.
    SignOut,
    Deactivate,
    Reactivate,
    Remove,
    Transfer,
}

impl Op {
    /// In menu order: role changes, signing out, status changes, then removal and the
    /// ownership transfer.
    const ALL: [Op; 7] = [
        Op::MakeAdmin,
        Op::MakeMember,
        Op::SignOut,
        Op::Deactivate,
        Op::Reactivate,
        Op::Remove,
        Op::Transfer,
    ];

    fn from_slug(slug: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.slug() == slug)
    }

    fn action(self) -> Action {
        match self {
            Op::MakeAdmin => Action::ChangeRole(Role::Admin),
            Op::MakeMember => Action::ChangeRole(Role::Member),
            Op::SignOut => Action::SignOut,
            Op::Deactivate => Action::Deactivate,
            Op::Reactivate => Action::Reactivate,
            Op::Remove => Action::Remove,
            Op::Transfer => Action::TransferOwnership,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Op::MakeAdmin => "Make admin",
            Op::MakeMember => "Make member",
            Op::SignOut => "Sign out everywhere",
            Op::Deactivate => "Deactivate",
            Op::Reactivate => "Reactivate",
            Op::Remove => "Remove",
            Op::Transfer => "Transfer ownership",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Op::MakeAdmin => "make-admin",
            Op::MakeMember => "make-member",
            Op::SignOut => "sign-out",
            Op::Deactivate => "deactivate",
            Op::Reactivate => "reactivate",
            Op::Remove => "remove",
            Op::Transfer => "transfer",
        }
    }

    /// Destructive operations ask first: (title, explanation, confirm label).
    fn confirmation(self, who: &str) -> Option<(String, String, String)> {
        match self {
            Op::SignOut => Some((
                format!("Sign {who} out everywhere?"),
                "Every session of theirs in Tessera ends at once, on every device and browser. They stay a member and can sign in again through Okta.".into(),
                "Sign out everywhere".into(),
            )),
            Op::Deactivate => Some((
                format!("Deactivate {who}?"),
                "Their sessions end at once and Okta sign-ins are refused until they are reactivated.".into(),
                "Deactivate".into(),
            )),
            Op::Remove => Some((
                format!("Remove {who}?"),
                "They leave the organization. If they sign in with Okta again later they come back as a new member.".into(),
                "Remove".into(),
            )),
            Op::Transfer => Some((
                format!("Transfer ownership to {who}?"),
                "They become the owner; you become an admin. Only the new owner can undo this.".into(),
                "Transfer ownership".into(),
            )),
            _ => None,
        }
    }

    async fn run(self, id: String) -> Result<String, ApiError> {
        Ok(match self {
            Op::MakeAdmin => format!(
                "{} is now an admin.",
                display(&change_member_role(id, DefaultRole::Admin).await?)
            ),
            Op::MakeMember => format!(
                "{} is now a member.",
                display(&change_member_role(id, DefaultRole::Member).await?)
            ),
            Op::SignOut => {
                let done = sign_out_member(id).await?;
                format!(
                    "Signed {} out everywhere: {}.",
                    display(&done.member),
                    match done.sessions_ended {
                        0 => "no session was open".to_string(),
                        1 => "1 session ended".to_string(),
                        n => format!("{n} sessions ended"),
                    }
                )
            }
            Op::Deactivate => format!("{} is deactivated.", display(&deactivate_member(id).await?)),
            Op::Reactivate => format!(
                "{} is active again.",
                display(&reactivate_member(id).await?)
            ),
            Op::Remove => {
                remove_member(id).await?;
                "The member was removed.".into()
            }
            Op::Transfer => format!(
                "{} is now the owner.",
                display(&transfer_ownership(id).await?)
            ),
        })
    }
}

fn display(m: &MemberView) -> String {
    if m.name.is_empty() {
        m.email.clone()
    } else {
        m.name.clone()
    }
}

/// A filter value from the page's query (`role=`, `status=`): one of `allowed`, else any.
fn filter_param(value: Option<String>, allowed: &[&str]) -> String {
    value
        .filter(|v| allowed.contains(&v.as_str()))
        .unwrap_or_default()
}

#[component]
fn Members() -> impl IntoView {
    let session = SessionState::get();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let role = move || filter_param(query.read().get("role"), &["owner", "admin", "member"]);
    let status = move || filter_param(query.read().get("status"), &["active", "deactivated"]);
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
            .min(1_000_000)
    };
    let (version, set_version) = signal(0u32);
    let members = Resource::new(
        move || (q(), page(), role(), status(), version.get()),
        |(q, page, role, status, _)| {
            list_members(
                Some(q),
                Some(page.to_string()),
                Some(role),
                Some(status),
                None,
            )
        },
    );
    let (notice, set_notice) = signal(None::<(bool, String)>);
    let (pending, set_pending) = signal(None::<(Op, String, String)>);
    let (busy, set_busy) = signal(false);
    let hydrated = hydrated();

    let execute = move |op: Op, id: String| {
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            let result = op.run(id).await;
            if let (Err(e), Some(s)) = (&result, session) {
                s.note(e);
            }
            // A transfer changes the signed-in owner's own role: the header shows it at once.
            if let (Ok(_), Op::Transfer, Some(s)) = (&result, op, session) {
                s.refresh();
            }
            set_notice.set(Some(match result {
                Ok(msg) => (true, msg),
                Err(e) => (false, e.message()),
            }));
            set_busy.set(false);
            set_version.update(|v| *v += 1);
        });
    };
    let request = move |op: Op, id: String, who: String| {
        if op.confirmation(&who).is_some() {
            set_pending.set(Some((op, id, who)));
        } else {
            execute(op, id);
        }
    };
    let dialog =
        Signal::derive(move || pending.get().and_then(|(op, _, who)| op.confirmation(&who)));
    let me_member = move || session.and_then(|s| s.0.get().map(|me| me.member));
    let selected = move |current: String, value: &'static str| current == value;
    // An admin claiming the org whose owner Okta deactivated: asked first, like a transfer.
    let (claiming, set_claiming) = signal(None::<String>);
    let claim_dialog = Signal::derive(move || {
        claiming.get().map(|owner| {
            (
                "Claim ownership?".to_string(),
                format!("You become the owner of this organization; {owner} becomes an admin and stays deactivated."),
                "Claim ownership".to_string(),
            )
        })
    });
    let claim = move || {
        let Some(me) = me_member() else { return };
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            let result = transfer_ownership(me.id.to_string()).await;
            if let Some(s) = session {
                match &result {
                    // The header shows the new role at once.
                    Ok(_) => s.refresh(),
                    Err(e) => s.note(e),
                }
            }
            set_notice.set(Some(match result {
                Ok(_) => (true, "You are now the owner of this organization.".into()),
                Err(e) => (false, e.message()),
            }));
            set_busy.set(false);
            set_version.update(|v| *v += 1);
        });
    };

    view! {
        <section class="card">
            <div class="row-between">
                <h1>"Members"</h1>
                <form method="get" action="/members" class="search" role="search">
                    <label for="member-search" class="visually-hidden">
                        "Search by name or email"
                    </label>
                    <input
                        id="member-search"
                        type="search"
                        name="q"
                        placeholder="Search name or email"
                        prop:value=q
                        value=q
                    />
                    <label for="member-role" class="visually-hidden">"Role"</label>
                    <select id="member-role" name="role">
                        <option value="" selected=move || selected(role(), "")>"Any role"</option>
                        <option value="owner" selected=move || selected(role(), "owner")>"Owner"</option>
                        <option value="admin" selected=move || selected(role(), "admin")>"Admins"</option>
                        <option value="member" selected=move || selected(role(), "member")>"Members"</option>
                    </select>
                    <label for="member-status" class="visually-hidden">"Status"</label>
                    <select id="member-status" name="status">
                        <option value="" selected=move || selected(status(), "")>"Any status"</option>
                        <option value="active" selected=move || selected(status(), "active")>"Active"</option>
                        <option value="deactivated" selected=move || selected(status(), "deactivated")>"Deactivated"</option>
                    </select>
                    <button type="submit">"Search"</button>
                </form>
            </div>
            <Notice notice />
            <Suspense fallback=|| view! { <p class="muted">"Loading members…"</p> }>
                {when_loaded(members, move |result| {
                    match result {
                        Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                        Ok(data) => {
                            let c = data.counts.clone();
                            let first = (data.page.saturating_sub(1) * data.per_page) as i64 + 1;
                            let last = first + data.members.len() as i64 - 1;
                            let pages = ((data.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE)).max(1) as u32;
                            let href = |page: u32| {
                                format!(
                                    "/members?q={}&role={}&status={}&page={page}",
                                    encode_query(&q()),
                                    role(),
                                    status()
                                )
                            };
                            let prev = (data.page > 1).then(|| href(data.page - 1));
                            let next = (data.page < pages).then(|| href(data.page + 1));
                            let me = me_member();
                            let banner = data
                                .owner_deactivated
                                .clone()
                                .filter(|_| me.as_ref().is_some_and(|me| me.role == Role::Admin))
                                .map(|owner| view! { <OwnerDeactivated owner set_claiming busy hydrated /> });
                            let rows = data
                                .members
                                .into_iter()
                                .map(|m| {
                                    let mine = me.as_ref().is_some_and(|me| me.id == m.id);
                                    let ops: Vec<Op> = me
                                        .as_ref()
                                        .map(|me| {
                                            Op::ALL
                                                .into_iter()
                                                .filter(|op| applicable(*op, &m) && may(me, op.action(), &m).is_ok())
                                                .collect()
                                        })
                                        .unwrap_or_default();
                                    let now = data.now;
                                    view! { <MemberRow m ops mine now request busy hydrated /> }
                                })
                                .collect_view();
                            view! {
                                {banner}
                                <p class="counts" id="member-counts">
                                    {format!(
                                        "{} · {} · 1 owner · {} · {}",
                                        plural(c.active, "active", "active"),
                                        plural(c.deactivated, "deactivated", "deactivated"),
                                        plural(c.admin, "admin", "admins"),
                                        plural(c.member, "member", "members"),
                                    )}
                                </p>
                                <div class="table-wrap">
                                    <table class="members" id="members-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Email"</th>
                                                <th scope="col">"Role"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Joined"</th>
                                                <th scope="col">"Last sign-in"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="Pages">
                                    <span class="muted" id="member-range">
                                        {if data.total == 0 {
                                            "No members match.".to_string()
                                        } else {
                                            format!("{first}–{last} of {}", data.total)
                                        }}
                                    </span>
                                    {prev.map(|href| view! { <a href=href rel="prev">"← Previous"</a> })}
                                    {next.map(|href| view! { <a href=href rel="next">"Next →"</a> })}
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
        <ConfirmDialog
            open=dialog
            on_cancel=Callback::new(move |_| set_pending.set(None))
            on_confirm=Callback::new(move |_| {
                if let Some((op, id, _)) = pending.get_untracked() {
                    set_pending.set(None);
                    execute(op, id);
                }
            })
        />
        <ConfirmDialog
            open=claim_dialog
            on_cancel=Callback::new(move |_| set_claiming.set(None))
            on_confirm=Callback::new(move |_| {
                set_claiming.set(None);
                claim();
            })
        />
    }
}

/// What admins see while Okta has deactivated the org's owner (a leaver): who, and the two
/// ways on, claiming ownership themselves or asking the service operator.
#[component]
fn OwnerDeactivated(
    owner: String,
    set_claiming: WriteSignal<Option<String>>,
    busy: ReadSignal<bool>,
    hydrated: Signal<bool>,
) -> impl IntoView {
    let who = owner.clone();
    view! {
        <div class="notice error banner" id="owner-deactivated" role="status">
            <p>
                {format!("The owner, {owner}, was deactivated in Okta. Claim ownership, or ask the service operator (")}
                <span class="code">"tessera org transfer-owner"</span>
                ")."
            </p>
            <button
                class="primary"
                id="claim-ownership"
                disabled=move || !hydrated.get() || busy.get()
                on:click=move |_| set_claiming.set(Some(who.clone()))
            >
                "Claim ownership"
            </button>
        </div>
    }
}

/// Whether an operation makes sense for the row's current state (the matrix decides the rest).
fn applicable(op: Op, m: &MemberView) -> bool {
    let active = m.status == MemberStatus::Active;
    match op {
        Op::MakeAdmin => m.role == Role::Member,
        Op::MakeMember => m.role == Role::Admin,
        // A deactivated member has no session left (deactivation ended them all).
        Op::SignOut => active,
        Op::Deactivate => active,
        Op::Reactivate => !active,
        Op::Remove => true,
        Op::Transfer => active && m.role != Role::Owner,
    }
}

/// One member: their facts, and one menu of what the signed-in member may do to them (only
/// actions that apply; none for rows they may not change). Their own row is marked "you".
#[component]
fn MemberRow(
    m: MemberView,
    ops: Vec<Op>,
    mine: bool,
    /// The server's time the page was made at, for relative times.
    now: i64,
    request: impl Fn(Op, String, String) + Copy + Send + Sync + 'static,
    busy: ReadSignal<bool>,
    hydrated: Signal<bool>,
) -> impl IntoView {
    let who = display(&m);
    let status_class = if m.status == MemberStatus::Active {
        "status active"
    } else {
        "status deactivated"
    };
    let actions = if ops.is_empty() {
        view! { <span class="muted">"—"</span> }.into_any()
    } else {
        let (id, name) = (m.id.to_string(), who.clone());
        let options = ops
            .iter()
            .map(|op| view! { <option value=op.slug()>{op.label()}</option> })
            .collect_view();
        let on_change = move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            // The menu goes back to its title, ready for the next choice.
            let select: leptos::web_sys::HtmlSelectElement = event_target(&ev);
            select.set_value("");
            if let Some(op) = Op::from_slug(&value) {
                request(op, id.clone(), name.clone());
            }
        };
        view! {
            <select
                class="row-actions"
                aria-label=format!("Actions for {who}")
                disabled=move || !hydrated.get() || busy.get()
                on:change=on_change
            >
                <option value="" selected>"Actions…"</option>
                {options}
            </select>
        }
        .into_any()
    };
    view! {
        <tr data-member-id=m.id.to_string() data-email=m.email.clone() class:me=mine>
            <td data-label="Name">
                {m.name.clone()}
                {mine.then(|| view! { " " <span class="badge you">"you"</span> })}
            </td>
            <td data-label="Email">{m.email.clone()}</td>
            <td data-label="Role">
                <span class="badge role">{m.role.as_str()}</span>
            </td>
            <td data-label="Status">
                <span class=status_class>{m.status.as_str()}</span>
            </td>
            <td data-label="Joined"><Moment ms=m.created_at now /></td>
            <td data-label="Last sign-in">
                {match m.last_login_at {
                    Some(ms) => view! { <Moment ms now /> }.into_any(),
                    None => view! { <span class="muted">"never signed in"</span> }.into_any(),
                }}
            </td>
            <td data-label="Actions" class="actions">{actions}</td>
        </tr>
    }
}

/// Owners and admins pre-approve people by email with a role: the person's first sign-in
/// through the org's Okta creates them, even with just-in-time provisioning off.
#[component]
fn Invitations() -> impl IntoView {
    let session = SessionState::get();
    let allowed = move || {
        session
            .and_then(|s| s.0.get())
            .is_some_and(|me| may_org(&me.member, OrgAction::InviteMembers).is_ok())
    };
    view! { <Show when=allowed>{|| view! { <InvitationsCard /> }}</Show> }
}

#[component]
fn InvitationsCard() -> impl IntoView {
    let (version, set_version) = signal(0u32);
    let open = Resource::new(move || version.get(), |_| list_invitations());
    let (email, set_email) = signal(String::new());
    let (role, set_role) = signal(DefaultRole::Member);
    let (busy, set_busy) = signal(false);
    let (notice, set_notice) = signal(None::<(bool, String)>);
    let hydrated = hydrated();
    let session = SessionState::get();
    let done = move |result: Result<String, ApiError>| {
        if let (Err(e), Some(s)) = (&result, session) {
            s.note(e);
        }
        set_notice.set(Some(match result {
            Ok(msg) => (true, msg),
            Err(e) => (false, e.message()),
        }));
        set_busy.set(false);
        set_version.update(|v| *v += 1);
    };
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        let (e, r) = (email.get_untracked(), role.get_untracked());
        leptos::task::spawn_local(async move {
            let result = invite_member(e, r).await.map(|i| {
                format!(
                    "{} is invited as {}: their first sign-in through your Okta (within 30 days) lets them in.",
                    i.email, i.role
                )
            });
            if result.is_ok() {
                set_email.set(String::new());
            }
            done(result);
        });
    };
    let revoke = move |id: String| {
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            done(
                revoke_invitation(id)
                    .await
                    .map(|i| format!("The invitation of {} is revoked.", i.email)),
            );
        });
    };
    view! {
        <section class="card" id="invitations">
            <h2>"Invite people"</h2>
            <p class="muted">
                "Pre-approve someone by the email address they use in Okta: their first sign-in through your Okta creates them with the role you choose, even when just-in-time provisioning is off. They must be assigned to the Tessera app in Okta."
            </p>
            <form class="row" on:submit=invite id="invite-form">
                <label for="invite-email" class="visually-hidden">"Email address"</label>
                <input
                    id="invite-email"
                    type="email"
                    required
                    maxlength="254"
                    placeholder="pat@example.com"
                    disabled=move || !hydrated.get()
                    prop:value=email
                    on:input=move |ev| set_email.set(event_target_value(&ev))
                />
                <label for="invite-role" class="visually-hidden">"Role"</label>
                <select id="invite-role" disabled=move || !hydrated.get() on:change=move |ev| {
                    set_role.set(if event_target_value(&ev) == "admin" { DefaultRole::Admin } else { DefaultRole::Member })
                }>
                    <option value="member" selected=move || role.get() == DefaultRole::Member>"member"</option>
                    <option value="admin" selected=move || role.get() == DefaultRole::Admin>"admin"</option>
                </select>
                <button type="submit" class="primary" id="invite" disabled=move || !hydrated.get() || busy.get()>
                    "Invite"
                </button>
            </form>
            <Notice notice />
            <Suspense fallback=|| view! { <p class="muted">"Loading invitations…"</p> }>
                {when_loaded(open, move |result| {
                    match result {
                        Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                        Ok(list) if list.invitations.is_empty() => {
                            view! { <p class="muted" id="no-invitations">"No open invitations."</p> }.into_any()
                        }
                        Ok(list) => {
                            let rows = list
                                .invitations
                                .into_iter()
                                .map(|i| {
                                    let id = i.id.to_string();
                                    let label = format!("Revoke the invitation of {}", i.email);
                                    view! {
                                        <tr data-invitation=i.email.clone()>
                                            <td data-label="Email">{i.email.clone()}</td>
                                            <td data-label="Role"><span class="badge role">{i.role.as_str()}</span></td>
                                            <td data-label="Invited by">{i.invited_by.clone()}</td>
                                            <td data-label="Expires">{format_ms(i.expires_at)}</td>
                                            <td data-label="">
                                                <button
                                                    class="small"
                                                    aria-label=label
                                                    disabled=move || !hydrated.get() || busy.get()
                                                    on:click=move |_| revoke(id.clone())
                                                >
                                                    "Revoke"
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view();
                            view! {
                                <div class="table-wrap">
                                    <table id="invitations-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Email"</th>
                                                <th scope="col">"Role"</th>
                                                <th scope="col">"Invited by"</th>
                                                <th scope="col">"Expires"</th>
                                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                            </tr>
                                        </thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                </div>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MemberId;

    fn view(id: &str, role: Role, status: MemberStatus) -> MemberView {
        MemberView {
            id: MemberId::from(id),
            email: format!("{id}@example.com"),
            name: String::new(),
            role,
            status,
            created_at: 0,
            last_login_at: None,
        }
    }

    /// The menu a row gets, as the page builds it.
    fn menu(me: &MemberView, m: &MemberView) -> Vec<&'static str> {
        Op::ALL
            .into_iter()
            .filter(|op| applicable(*op, m) && may(me, op.action(), m).is_ok())
            .map(Op::slug)
            .collect()
    }

    #[test]
    fn ops_round_trip_through_their_slugs() {
        for op in Op::ALL {
            assert_eq!(Op::from_slug(op.slug()), Some(op));
        }
        assert_eq!(Op::from_slug(""), None);
    }

    #[test]
    fn sign_out_everywhere_is_offered_where_the_rules_allow() {
        let owner = view("owner", Role::Owner, MemberStatus::Active);
        let admin = view("admin", Role::Admin, MemberStatus::Active);
        let other_admin = view("admin2", Role::Admin, MemberStatus::Active);
        let member = view("member", Role::Member, MemberStatus::Active);
        let gone = view("gone", Role::Member, MemberStatus::Deactivated);
        assert!(menu(&owner, &admin).contains(&"sign-out"));
        assert!(menu(&owner, &member).contains(&"sign-out"));
        assert!(menu(&admin, &member).contains(&"sign-out"));
        // Not another admin, not the owner, not oneself, not a deactivated member (no session).
        assert!(!menu(&admin, &other_admin).contains(&"sign-out"));
        assert!(!menu(&admin, &owner).contains(&"sign-out"));
        assert!(!menu(&owner, &owner).contains(&"sign-out"));
        assert!(!menu(&owner, &gone).contains(&"sign-out"));
        assert!(!menu(&member, &member).contains(&"sign-out"));
        // It asks first, naming the person.
        let (title, body, confirm) = Op::SignOut.confirmation("Bob Brown").unwrap();
        assert_eq!(title, "Sign Bob Brown out everywhere?");
        assert!(body.contains("stay a member"));
        assert_eq!(confirm, "Sign out everywhere");
    }
}
