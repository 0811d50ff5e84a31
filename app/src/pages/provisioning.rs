//! The SSO page's "Provisioning" section: SCIM provisioning from the org's Okta. Owners and
//! admins see the SCIM connector base URL, the provisioning mode and which Okta groups give
//! which role; the owner changes the mode, creates and revokes tokens (a new token is shown
//! once, with what to paste where in Okta) and maps groups to roles.
//!
//! As on the rest of the page, every result shows next to the control that asked for it and
//! takes focus ([`Notice`]); controls that need JavaScript are disabled until the page has
//! hydrated, and what the server renders is the saved state.

use super::layout::{ConfirmDialog, CopyValue, Notice, SessionState};
use super::{Moment, hydrated, plural, when_loaded};
use crate::api::{
    ApiError, GroupView, ProvisioningView, ScimTokenCreated, ScimTokenView, create_scim_token,
    provisioning, revoke_scim_token, set_provisioning_mode, set_role_mapping,
};
use crate::model::ProvisioningMode;
use leptos::prelude::*;

/// The three modes, in the order the page lists them, each explained in one line.
const MODES: [(ProvisioningMode, &str, &str); 3] = [
    (
        ProvisioningMode::Jit,
        "jit — sign-in only",
        "People come in when they sign in (members, invitations and, with just-in-time provisioning on, anyone your Okta vouches for); Okta's SCIM requests are refused.",
    ),
    (
        ProvisioningMode::Scim,
        "scim — Okta provisioning only",
        "Only people Okta provisioned to Tessera over SCIM may sign in, while active; anyone else is told to ask their Okta admin to assign them.",
    ),
    (
        ProvisioningMode::Both,
        "both — provisioning and sign-in",
        "Okta provisions and deprovisions over SCIM, and sign-in still lets people in as under jit.",
    ),
];

/// What the section's controls last reported: kept outside the reloading view, so a result
/// (and a token shown once) survives the reload its own change causes.
#[derive(Clone, Copy)]
struct Outcomes {
    mode: RwSignal<Option<(bool, String)>>,
    tokens: RwSignal<Option<(bool, String)>>,
    created: RwSignal<Option<ScimTokenCreated>>,
    groups: RwSignal<Option<(bool, String)>>,
}

/// The section's data: made by the page with its other resources, before anything awaits, so
/// the server's HTML and the hydrating browser number the page's resources alike (see the SSO
/// page's `Sso`).
pub type ProvisioningResource = Resource<Result<ProvisioningView, ApiError>>;

/// [`ProvisioningSection`]'s data, reloaded whenever `version` changes; asked for only when
/// `allowed` (owners and admins), so nobody else's page gets a refusal's status from it.
pub fn provisioning_resource(version: ReadSignal<u32>, allowed: bool) -> ProvisioningResource {
    Resource::new(
        move || version.get(),
        move |_| async move {
            if allowed {
                provisioning().await
            } else {
                Err(ApiError::Forbidden(
                    "Only owners and admins see SCIM provisioning.".into(),
                ))
            }
        },
    )
}

/// The "Provisioning" section (`id="provisioning"`), for owners and admins.
#[component]
pub fn ProvisioningSection(
    view: ProvisioningResource,
    set_version: WriteSignal<u32>,
) -> impl IntoView {
    let outcomes = Outcomes {
        mode: RwSignal::new(None),
        tokens: RwSignal::new(None),
        created: RwSignal::new(None),
        groups: RwSignal::new(None),
    };
    view! {
        <section class="card" id="provisioning" aria-labelledby="provisioning-title">
            <h2 id="provisioning-title">"Provisioning"</h2>
            <p class="muted">
                "With SCIM provisioning your Okta creates and updates people in Tessera, and they leave the moment Okta unassigns or deactivates them: every session of theirs ends at once. Their role can come from the Okta groups you push."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading provisioning…"</p> }>
                {when_loaded(view, move |result| {
                    match result {
                        Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                        Ok(v) => view! { <Provisioning v set_version outcomes /> }.into_any(),
                    }
                })}
            </Suspense>
            <p>
                <a href="/provisioning" id="provisioning-log-link">"Provisioning log: every request Okta sent →"</a>
            </p>
        </section>
    }
}

#[component]
fn Provisioning(
    v: ProvisioningView,
    set_version: WriteSignal<u32>,
    outcomes: Outcomes,
) -> impl IntoView {
    let can_edit = v.can_edit;
    let not_connected = (!v.connected).then(|| {
        view! {
            <p class="notice error" id="provisioning-not-connected">
                "Connect your Okta for sign-in first (above): provisioning comes from the same Okta org."
            </p>
        }
    });
    view! {
        {not_connected}
        <dl class="facts">
            <dt>"SCIM connector base URL"</dt>
            <dd>
                <CopyValue id="scim-base-url" value=v.base_url.clone() />
            </dd>
        </dl>
        <Mode mode=v.mode can_edit set_version notice=outcomes.mode />
        {can_edit.then(|| {
            view! {
                <Tokens
                    tokens=v.tokens.clone()
                    now=v.now
                    connected=v.connected
                    set_version
                    notice=outcomes.tokens
                    created=outcomes.created
                />
            }
        })}
        <Groups groups=v.groups.clone() can_edit set_version notice=outcomes.groups />
    }
    .into_any()
}

/// The provisioning mode: a choice of three for the owner, the same three read-only for admins.
#[component]
fn Mode(
    mode: ProvisioningMode,
    can_edit: bool,
    set_version: WriteSignal<u32>,
    notice: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let (chosen, set_chosen) = signal(mode);
    let (busy, set_busy) = signal(false);
    let hydrated = hydrated();
    let session = SessionState::get();
    let (notice_read, set_notice) = notice.split();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        let m = chosen.get_untracked();
        leptos::task::spawn_local(async move {
            match set_provisioning_mode(m.as_str().to_string()).await {
                Ok(v) => {
                    set_notice.set(Some((
                        true,
                        format!("The provisioning mode is {} now.", v.mode.as_str()),
                    )));
                    set_version.update(|v| *v += 1);
                }
                Err(e) => {
                    note(session, &e);
                    set_notice.set(Some((false, e.message())));
                }
            }
            set_busy.set(false);
        });
    };
    if !can_edit {
        let items = MODES
            .into_iter()
            .map(|(m, label, line)| {
                let current = m == mode;
                view! {
                    <li data-mode=m.as_str() class:current=current>
                        <strong>{label}</strong>
                        {current.then(|| view! { " " <span class="badge">"current"</span> })}
                        <br />
                        <span class="muted">{line}</span>
                    </li>
                }
            })
            .collect_view();
        return view! {
            <h3>"Who may come in"</h3>
            <p id="provisioning-mode">
                "Provisioning mode: " <span class="code">{mode.as_str()}</span>
                " (only the owner changes it)"
            </p>
            <ul class="modes">{items}</ul>
        }
        .into_any();
    }
    let options = MODES
        .into_iter()
        .map(|(m, label, line)| {
            let id = format!("mode-{}", m.as_str());
            let hint = format!("{id}-hint");
            view! {
                <div class="mode-option">
                    <input
                        type="radio"
                        name="provisioning-mode"
                        id=id.clone()
                        value=m.as_str()
                        checked=m == mode
                        prop:checked=move || chosen.get() == m
                        aria-describedby=hint.clone()
                        disabled=move || !hydrated.get()
                        on:change=move |_| set_chosen.set(m)
                    />
                    <label for=id>{label}</label>
                    <p class="muted" id=hint>{line}</p>
                </div>
            }
        })
        .collect_view();
    view! {
        <form class="stack" id="provisioning-mode-form" on:submit=save>
            <fieldset class="modes">
                <legend>"Who may come in (provisioning mode)"</legend>
                {options}
            </fieldset>
            <div class="row">
                <button
                    type="submit"
                    class="primary"
                    id="save-provisioning-mode"
                    disabled=move || !hydrated.get() || busy.get()
                >
                    "Save mode"
                </button>
            </div>
            <Notice notice=notice_read />
        </form>
    }
    .into_any()
}

/// Ends the page's session when an answer says it is gone.
fn note(session: Option<SessionState>, e: &ApiError) {
    if let Some(s) = session {
        s.note(e);
    }
}

/// The org's SCIM tokens (owner): the list with Revoke, and "Create token".
#[component]
fn Tokens(
    tokens: Vec<ScimTokenView>,
    /// The server's time the view was made at, for relative times.
    now: i64,
    connected: bool,
    set_version: WriteSignal<u32>,
    notice: RwSignal<Option<(bool, String)>>,
    created: RwSignal<Option<ScimTokenCreated>>,
) -> impl IntoView {
    let (name, set_name) = signal(String::new());
    let (busy, set_busy) = signal(false);
    let (pending, set_pending) = signal(None::<(String, String)>);
    let hydrated = hydrated();
    let session = SessionState::get();
    let (notice_read, set_notice) = notice.split();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        created.set(None);
        let n = name.get_untracked();
        leptos::task::spawn_local(async move {
            match create_scim_token((!n.trim().is_empty()).then_some(n)).await {
                Ok(c) => {
                    set_name.set(String::new());
                    set_notice.set(Some((
                        true,
                        format!(
                            "Token “{}” created: copy it now, Tessera shows it only this once.",
                            c.token.name
                        ),
                    )));
                    created.set(Some(c));
                    set_version.update(|v| *v += 1);
                }
                Err(e) => {
                    note(session, &e);
                    set_notice.set(Some((false, e.message())));
                }
            }
            set_busy.set(false);
        });
    };
    let revoke = move |id: String| {
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            match revoke_scim_token(id).await {
                Ok(t) => set_notice.set(Some((
                    true,
                    format!(
                        "Token “{}” (…{}) is revoked: Okta's next request with it is refused.",
                        t.name, t.hint
                    ),
                ))),
                Err(e) => {
                    note(session, &e);
                    set_notice.set(Some((false, e.message())));
                }
            }
            set_busy.set(false);
            set_version.update(|v| *v += 1);
        });
    };
    let dialog = Signal::derive(move || {
        pending.get().map(|(_, label)| {
            (
                format!("Revoke the token {label}?"),
                "Okta's next request with it is refused: provisioning stops until Okta has another active token.".to_string(),
                "Revoke".to_string(),
            )
        })
    });
    let active = tokens.iter().filter(|t| t.revoked_at.is_none()).count() as i64;
    let list = if tokens.is_empty() {
        view! { <p class="muted" id="no-scim-tokens">"No SCIM tokens yet."</p> }.into_any()
    } else {
        let rows = tokens
            .into_iter()
            .map(|t| {
                let id = t.id.to_string();
                let label = format!("“{}” (…{})", t.name, t.hint);
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let button = t.revoked_at.is_none().then(move || {
                    let aria = format!("Revoke the token {label}");
                    view! {
                        <button
                            class="small danger"
                            aria-label=aria
                            disabled=move || !hydrated.get() || busy.get()
                            on:click=move |_| set_pending.set(Some((id.clone(), label.clone())))
                        >
                            "Revoke"
                        </button>
                    }
                });
                view! {
                    <tr data-token-id=t.id.to_string() data-state=state>
                        <td data-label="Name">{t.name.clone()}</td>
                        <td data-label="Token"><span class="code">{format!("…{}", t.hint)}</span></td>
                        <td data-label="Created"><Moment ms=t.created_at now /></td>
                        <td data-label="Created by">{t.created_by.clone()}</td>
                        <td data-label="Last used">
                            {match t.last_used_at {
                                Some(ms) => view! { <Moment ms now /> }.into_any(),
                                None => view! { <span class="muted">"never"</span> }.into_any(),
                            }}
                        </td>
                        <td data-label="State">
                            <span class=if state == "active" { "status active" } else { "status deactivated" }>{state}</span>
                        </td>
                        <td data-label="" class="actions">{button}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table id="scim-tokens">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Token"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Created by"</th>
                            <th scope="col">"Last used"</th>
                            <th scope="col">"State"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <h3>"SCIM tokens"</h3>
        <p class="muted" id="scim-token-count">
            {format!(
                "{} of at most 2: keep a second one to replace a token without interrupting provisioning.",
                plural(active, "active token", "active tokens"),
            )}
        </p>
        {list}
        <form class="row" id="create-scim-token-form" on:submit=create>
            <label for="scim-token-name">"Token name (optional)"</label>
            <input
                type="text"
                id="scim-token-name"
                maxlength="64"
                placeholder="Okta"
                autocomplete="off"
                disabled=move || !hydrated.get()
                prop:value=name
                on:input=move |ev| set_name.set(event_target_value(&ev))
            />
            <button
                type="submit"
                class="primary"
                id="create-scim-token"
                disabled=move || !hydrated.get() || busy.get() || !connected
            >
                "Create token"
            </button>
        </form>
        <Notice notice=notice_read />
        {move || created.get().map(|c| view! { <TokenOnce c /> })}
        <ConfirmDialog
            open=dialog
            on_cancel=Callback::new(move |_| set_pending.set(None))
            on_confirm=Callback::new(move |_| {
                if let Some((id, _)) = pending.get_untracked() {
                    set_pending.set(None);
                    revoke(id);
                }
            })
        />
    }
    .into_any()
}

/// A token just created, shown this once, with what to paste where in Okta.
#[component]
fn TokenOnce(c: ScimTokenCreated) -> impl IntoView {
    view! {
        <div class="token-once" id="scim-token-created" role="region" aria-label="Your new SCIM token">
            <h4>"Your new SCIM token — copy it now"</h4>
            <p>
                <strong>"Tessera shows this token only once"</strong>
                " and keeps only a hash of it. If you lose it, revoke it and create another."
            </p>
            <p>
                <CopyValue id="scim-token-secret" value=c.secret.clone() />
            </p>
            {c.mode_switched.then(|| view! {
                <p class="notice ok" id="scim-mode-switched">
                    "The provisioning mode moved from jit to both, so Okta's requests are accepted from now on while sign-in keeps working as before."
                </p>
            })}
            <OktaSteps base_url=c.base_url.clone() />
        </div>
    }
    .into_any()
}

/// Where the base URL and the token go in the Okta Admin Console, in Okta's words.
#[component]
pub fn OktaSteps(base_url: String) -> impl IntoView {
    view! {
        <ol class="okta-steps" id="okta-scim-steps">
            <li>
                "In the Okta Admin Console: " <strong>"Applications → Applications"</strong>
                " → the Tessera app → " <strong>"General"</strong> " → App Settings → "
                <strong>"Edit"</strong> ": Provisioning " <strong>"SCIM"</strong> " → "
                <strong>"Save"</strong> "."
            </li>
            <li>
                <strong>"Provisioning"</strong> " tab → " <strong>"Integration"</strong> " → "
                <strong>"Edit"</strong> ":"
                <ul>
                    <li>
                        "SCIM connector base URL: " <span class="code">{base_url}</span>
                    </li>
                    <li>"Unique identifier field for users: " <span class="code">"userName"</span></li>
                    <li>
                        "Supported provisioning actions: " <strong>"Push New Users"</strong> ", "
                        <strong>"Push Profile Updates"</strong> ", " <strong>"Push Groups"</strong>
                    </li>
                    <li>
                        "Authentication Mode: " <strong>"HTTP Header"</strong>
                        "; Authorization: Bearer, and paste the token"
                    </li>
                </ul>
                <strong>"Test Connector Configuration"</strong> ", then " <strong>"Save"</strong> "."
            </li>
            <li>
                <strong>"Provisioning"</strong> " → " <strong>"To App"</strong> " → "
                <strong>"Edit"</strong> ": enable " <strong>"Create Users"</strong> ", "
                <strong>"Update User Attributes"</strong> " and " <strong>"Deactivate Users"</strong>
                "; " <strong>"Save"</strong> "."
            </li>
            <li>
                <strong>"Push Groups"</strong> " tab → " <strong>"Push Groups"</strong>
                ": push the groups that should carry a Tessera role; the owner then maps them to roles on Tessera's SSO page (Role from Okta groups)."
            </li>
        </ol>
    }
    .into_any()
}

/// "Role from Okta groups": the groups Okta pushed, each with its role; the owner sets
/// admin, member or none per group.
#[component]
fn Groups(
    groups: Vec<GroupView>,
    can_edit: bool,
    set_version: WriteSignal<u32>,
    notice: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let hydrated = hydrated();
    let session = SessionState::get();
    let (notice_read, set_notice) = notice.split();
    let map = move |group: String, role: String| {
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            let none = role.is_empty();
            match set_role_mapping(group.clone(), role.clone()).await {
                Ok(g) => set_notice.set(Some((
                    true,
                    if none {
                        format!("“{}” no longer gives a role.", g.display_name)
                    } else {
                        format!(
                            "Members of “{}” are {}s now (unless another mapped group gives them more).",
                            g.display_name, role
                        )
                    },
                ))),
                Err(e) => {
                    note(session, &e);
                    set_notice.set(Some((false, e.message())));
                }
            }
            set_busy.set(false);
            set_version.update(|v| *v += 1);
        });
    };
    let mapped = groups.iter().filter(|g| g.role.is_some()).count() as i64;
    let list = if groups.is_empty() {
        view! {
            <p class="muted" id="no-scim-groups">
                "Okta has pushed no groups yet. In Okta, the app's " <strong>"Push Groups"</strong>
                " tab → " <strong>"Push Groups"</strong> " sends the groups to map here."
            </p>
        }
        .into_any()
    } else {
        let rows = groups
            .into_iter()
            .map(|g| {
                let role = g.role.map(|r| r.as_str().to_string()).unwrap_or_default();
                let members = if g.role.is_some() {
                    plural(g.members, "member", "members")
                } else {
                    "—".to_string()
                };
                let cell = if can_edit {
                    let name = g.display_name.clone();
                    let current = role.clone();
                    let option = move |value: &'static str, label: &'static str| {
                        view! { <option value=value selected=current == value>{label}</option> }
                    };
                    view! {
                        <select
                            aria-label=format!("Role from the group {}", g.display_name)
                            disabled=move || !hydrated.get() || busy.get()
                            on:change=move |ev| map(name.clone(), event_target_value(&ev))
                        >
                            {option("admin", "admin")}
                            {option("member", "member")}
                            {option("", "none")}
                        </select>
                    }
                    .into_any()
                } else if role.is_empty() {
                    view! { <span class="muted">"none"</span> }.into_any()
                } else {
                    view! { <span class="badge role">{role.clone()}</span> }.into_any()
                };
                view! {
                    <tr data-group=g.display_name.clone() data-role=role.clone()>
                        <td data-label="Okta group">{g.display_name.clone()}</td>
                        <td data-label="Members">{members}</td>
                        <td data-label="Role">{cell}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table id="role-mappings">
                    <thead>
                        <tr>
                            <th scope="col">"Okta group"</th>
                            <th scope="col">"Members"</th>
                            <th scope="col">"Role"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <h3>"Role from Okta groups"</h3>
        <p class="muted" id="role-mapping-rules">
            "A member's role is the highest role among the mapped groups they belong to, else the role of new members. Roles are recomputed at once when a mapping or a group changes; the owner is never changed. "
            {if mapped == 0 {
                "No group is mapped now: roles stay as set in Tessera, and Okta's pushes change none."
            } else {
                "Without any mapping, roles would stay as set in Tessera."
            }}
        </p>
        {list}
        <Notice notice=notice_read />
    }
    .into_any()
}
