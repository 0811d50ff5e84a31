//! Members: search, paging, counts and the row actions an owner or admin may take.

use super::layout::{Authed, ConfirmDialog, Notice, Section};
use super::{encode_query, format_ms};
use crate::api::Me;
use crate::api::permissions::{Action, may};
use crate::api::{
    ApiError, MemberView, PER_PAGE, change_member_role, deactivate_member, list_members,
    reactivate_member, remove_member, transfer_ownership,
};
use crate::model::{DefaultRole, MemberStatus, Role};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <Authed section=Section::Members>
            <Members />
        </Authed>
    }
}

/// A row action, run after confirmation when destructive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    MakeAdmin,
    MakeMember,
    Deactivate,
    Reactivate,
    Remove,
    Transfer,
}

impl Op {
    fn action(self) -> Action {
        match self {
            Op::MakeAdmin => Action::ChangeRole(Role::Admin),
            Op::MakeMember => Action::ChangeRole(Role::Member),
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
            Op::Deactivate => "deactivate",
            Op::Reactivate => "reactivate",
            Op::Remove => "remove",
            Op::Transfer => "transfer",
        }
    }

    /// Destructive operations ask first: (title, explanation, confirm label).
    fn confirmation(self, who: &str) -> Option<(String, String, String)> {
        match self {
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

#[component]
fn Members() -> impl IntoView {
    let me = expect_context::<Me>();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    };
    let (version, set_version) = signal(0u32);
    let members = Resource::new(
        move || (q(), page(), version.get()),
        |(q, page, _)| list_members(Some(q), Some(page.to_string())),
    );
    let (notice, set_notice) = signal(None::<(bool, String)>);
    let (pending, set_pending) = signal(None::<(Op, String, String)>);
    let (busy, set_busy) = signal(false);

    let execute = move |op: Op, id: String| {
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            let result = op.run(id).await;
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
    let me_member = StoredValue::new(me.member.clone());

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
                    />
                    <button type="submit">"Search"</button>
                </form>
            </div>
            <Notice notice />
            <Suspense fallback=|| view! { <p class="muted">"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                        Ok(data) => {
                            let c = data.counts.clone();
                            let first = (data.page.saturating_sub(1) * data.per_page) as i64 + 1;
                            let last = first + data.members.len() as i64 - 1;
                            let pages = ((data.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE)).max(1) as u32;
                            let qs = encode_query(&q());
                            let prev = (data.page > 1).then(|| format!("/members?q={qs}&page={}", data.page - 1));
                            let next = (data.page < pages).then(|| format!("/members?q={qs}&page={}", data.page + 1));
                            let rows = data
                                .members
                                .into_iter()
                                .map(|m| {
                                    let ops: Vec<Op> = [Op::MakeAdmin, Op::MakeMember, Op::Deactivate, Op::Reactivate, Op::Remove, Op::Transfer]
                                        .into_iter()
                                        .filter(|op| applicable(*op, &m) && may(&me_member.get_value(), op.action(), &m).is_ok())
                                        .collect();
                                    view! { <MemberRow m ops request busy /> }
                                })
                                .collect_view();
                            view! {
                                <p class="counts" id="member-counts">
                                    {format!(
                                        "{} active · {} deactivated · 1 owner · {} admins · {} members",
                                        c.active, c.deactivated, c.admin, c.member,
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
                                    <span class="muted">
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
    }
}

/// Whether an operation makes sense for the row's current state (the matrix decides the rest).
fn applicable(op: Op, m: &MemberView) -> bool {
    let active = m.status == MemberStatus::Active;
    match op {
        Op::MakeAdmin => m.role == Role::Member,
        Op::MakeMember => m.role == Role::Admin,
        Op::Deactivate => active,
        Op::Reactivate => !active,
        Op::Remove => true,
        Op::Transfer => active && m.role != Role::Owner,
    }
}

#[component]
fn MemberRow(
    m: MemberView,
    ops: Vec<Op>,
    request: impl Fn(Op, String, String) + Copy + Send + Sync + 'static,
    busy: ReadSignal<bool>,
) -> impl IntoView {
    let who = display(&m);
    let status_class = if m.status == MemberStatus::Active {
        "status active"
    } else {
        "status deactivated"
    };
    let buttons = ops
        .into_iter()
        .map(|op| {
            let (id, who) = (m.id.to_string(), who.clone());
            let class = if op.confirmation("").is_some() {
                "small danger"
            } else {
                "small"
            };
            view! {
                <button
                    class=class
                    data-action=op.slug()
                    disabled=move || busy.get()
                    on:click=move |_| request(op, id.clone(), who.clone())
                >
                    {op.label()}
                </button>
            }
        })
        .collect_view();
    view! {
        <tr data-member-id=m.id.to_string() data-email=m.email.clone()>
            <td data-label="Name">{m.name.clone()}</td>
            <td data-label="Email">{m.email.clone()}</td>
            <td data-label="Role">
                <span class="badge role">{m.role.as_str()}</span>
            </td>
            <td data-label="Status">
                <span class=status_class>{m.status.as_str()}</span>
            </td>
            <td data-label="Joined">{format_ms(m.created_at)}</td>
            <td data-label="Last sign-in">
                {m.last_login_at.map(format_ms).unwrap_or_else(|| "never".into())}
            </td>
            <td data-label="Actions" class="actions">{buttons}</td>
        </tr>
    }
}
