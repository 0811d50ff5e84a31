//! SSO: the org's Okta connection, its health, the values to paste into Okta, the owner's
//! controls (settings, client-secret rotation), Universal Logout and Shared Signals
//! ([`super::signals`]) and SCIM provisioning ([`super::provisioning`]). Owners and admins only.
//!
//! The SSO switch is read-only: turning it off signs everyone out (the owner included) and only
//! the operator can turn it back on, so it is the operator's (`tessera sso disable`). The page
//! says so in the customer's words (no operator commands).
//!
//! Every result shows next to the control that asked for it and takes focus; controls that need
//! JavaScript are disabled until the page has hydrated ([`super::hydrated`]), and what the
//! server renders (checkboxes, selects) is the saved state.

use super::layout::{Authed, CopyValue, Notice, Section, SessionState};
use super::provisioning::{ProvisioningSection, provisioning_resource};
use super::signals::SignalsSection;
use super::{PageTitle, format_ms, hydrated, plural, when_loaded};
use crate::api::Me;
use crate::api::permissions::{OrgAction, may_org};
use crate::api::{
    ApiError, ConnectionReport, SetupLinkList, SsoView, create_setup_link, list_setup_links,
    revoke_setup_links, rotate_client_secret, sso_settings, test_sso_connection,
    update_sso_settings,
};
use crate::model::DefaultRole;
use leptos::prelude::*;

#[component]
pub fn SsoPage() -> impl IntoView {
    view! {
        <PageTitle page="Single sign-on" />
        <Authed section=Section::Sso>
            <Sso />
        </Authed>
    }
}

#[component]
fn Sso() -> impl IntoView {
    let (version, set_version) = signal(0u32);
    let session = SessionState::get();
    let member = session
        .and_then(|s| s.0.get_untracked())
        .map(|me| me.member);
    let may = |action| member.as_ref().is_some_and(|m| may_org(m, action).is_ok());
    let (is_admin, is_owner) = (may(OrgAction::ViewSso), may(OrgAction::ManageSetupLinks));
    // Every resource of the page is made here, before anything awaits: the server renders a
    // page's components more than once, and a resource made inside an awaited view would be
    // numbered differently there than in the hydrating browser, which then finds another
    // resource's data in its place.
    let sso = Resource::new(move || version.get(), |_| sso_settings());
    let (provisioning_version, set_provisioning_version) = signal(0u32);
    let provisioning = provisioning_resource(provisioning_version, is_admin);
    let (links_version, set_links_version) = signal(0u32);
    let links = Resource::new(
        move || links_version.get(),
        move |_| async move {
            if is_owner {
                list_setup_links().await
            } else {
                Ok(SetupLinkList { links: Vec::new() })
            }
        },
    );
    let setup_links = SetupLinks {
        links,
        set_version: set_links_version,
    };
    let (notice, set_notice) = signal(None::<(bool, String)>);
    let (report, set_report) = signal(None::<ConnectionReport>);
    let (busy, set_busy) = signal(false);
    let hydrated = hydrated();
    let admin = move || {
        session
            .and_then(|s| s.0.get())
            .is_some_and(|me| may_org(&me.member, OrgAction::ViewSso).is_ok())
    };
    // The owner's forms report here, outside the reloading view, so a result survives the
    // reload its own change causes.
    let outcomes = OwnerOutcomes {
        settings: RwSignal::new(None),
        rotation: RwSignal::new(None),
        rotation_report: RwSignal::new(None),
    };
    // The signals section's "Save" reports here, for the same reason.
    let signals_notice = RwSignal::new(None::<(bool, String)>);

    let test = move |_| {
        set_busy.set(true);
        set_report.set(None);
        leptos::task::spawn_local(async move {
            match test_sso_connection().await {
                Ok(r) => set_report.set(Some(r)),
                Err(e) => set_notice.set(Some((false, e.message()))),
            }
            set_busy.set(false);
        });
    };

    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading SSO settings…"</p> }>
            {when_loaded(sso, move |result| {
                match result {
                    Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                    Ok(view) => {
                        let can_edit = view.can_edit;
                        view! {
                            <section class="card">
                                <h1>"Single sign-on"</h1>
                                <ConnectionFacts view=view.clone() />
                                <div class="row">
                                    <button id="test-connection" class="primary" on:click=test disabled=move || !hydrated.get() || busy.get()>
                                        "Test connection"
                                    </button>
                                </div>
                                <Notice notice />
                                <Report report />
                            </section>
                            <Health view=view.clone() />
                            {can_edit.then(|| view! {
                                <OwnerSettings view=view.clone() set_version outcomes setup_links />
                            })}
                            <SignalsSection
                                signals=view.signals.clone()
                                configured=view.configured
                                sso_enabled=view.enabled
                                can_edit
                                set_version
                                notice=signals_notice
                            />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
        // Outside the settings' view: its own results (a token shown once) survive a reload of
        // the settings.
        <Show when=admin>
            {move || {
                view! {
                    <ProvisioningSection view=provisioning set_version=set_provisioning_version />
                }
            }}
        </Show>
    }
}

#[component]
fn ConnectionFacts(view: SsoView) -> impl IntoView {
    let state = if !view.configured {
        "not configured"
    } else if view.enabled {
        "enabled"
    } else {
        "disabled"
    };
    view! {
        <dl class="facts">
            <dt>"State"</dt>
            <dd id="sso-state"><span class=format!("status {}", state.replace(' ', "-"))>{state}</span></dd>
            <dt>"Okta domain / issuer"</dt>
            <dd id="sso-issuer">{view.okta_domain.clone().or(view.issuer.clone()).unwrap_or_else(|| "—".into())}</dd>
            <dt>"Client ID"</dt>
            <dd class="code">{view.client_id.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Client secret"</dt>
            <dd class="code" id="secret-hint">{view.client_secret_hint.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Just-in-time provisioning"</dt>
            <dd>
                {if view.jit_enabled { "on" } else { "off" }}
                {format!(" (new members: {})", view.default_role.as_str())}
            </dd>
            <dt>"Initiate login URI"</dt>
            <dd><CopyValue id="initiate-uri" value=view.initiate_login_uri.clone() /></dd>
            <dt>"Sign-in redirect URI"</dt>
            <dd><CopyValue id="redirect-uri" value=view.redirect_uri.clone() /></dd>
        </dl>
    }
}

#[component]
fn Report(report: ReadSignal<Option<ConnectionReport>>) -> impl IntoView {
    move || {
        report.get().map(|r| {
            let items = r
                .checks
                .into_iter()
                .map(|c| {
                    let label = if c.label.is_empty() { c.name.clone() } else { c.label };
                    view! {
                        <li class=if c.ok { "check ok" } else { "check failed" } data-check=c.name.clone()>
                            <strong>{if c.ok { "✓ " } else { "✗ " }} {label}</strong>
                            " — "
                            {c.message}
                            {(!c.fix.is_empty()).then(|| view! { <p class="advice">{c.fix}</p> })}
                        </li>
                    }
                })
                .collect_view();
            // The checks that could not run: one line, not a failure each.
            let skipped = r.not_checked.map(|n| {
                view! {
                    <li class="check skipped" data-not-checked=n.names.join(" ")>{n.message}</li>
                }
            });
            view! {
                <div id="connection-report" class=if r.ok { "report ok" } else { "report failed" } role="status">
                    <p>
                        <strong>
                            {if r.ok { "Connection works." } else { "Connection has problems:" }}
                        </strong>
                    </p>
                    <ul class="checks">{items}{skipped}</ul>
                </div>
            }
        })
    }
}

#[component]
fn Health(view: SsoView) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Recent sign-ins"</h2>
            <dl class="facts">
                <dt>"Last successful sign-in"</dt>
                <dd id="last-success">
                    {match view.last_success {
                        Some(s) => format!("{} — {}", format_ms(s.at), if s.name.is_empty() { s.email } else { format!("{} <{}>", s.name, s.email) }),
                        None => "none yet".into(),
                    }}
                </dd>
                <dt>"Last failure"</dt>
                <dd id="last-failure">
                    {match view.last_failure {
                        Some(f) => view! {
                            <span>{format!("{} — ", format_ms(f.at))}<span class="code">{f.reason}</span>" "{f.detail}</span>
                            <p class="advice">{f.advice}</p>
                        }.into_any(),
                        None => "none".into_any(),
                    }}
                </dd>
            </dl>
            <p><a href="/activity">"All login activity →"</a></p>
        </section>
    }
}

#[component]
fn OwnerSettings(
    view: SsoView,
    set_version: WriteSignal<u32>,
    outcomes: OwnerOutcomes,
    setup_links: SetupLinks,
) -> impl IntoView {
    let (jit, set_jit) = signal(view.jit_enabled);
    let (role, set_role) = signal(view.default_role);
    let (secret, set_secret) = signal(String::new());
    let (busy, set_busy) = signal(false);
    // Each form reports next to itself; a rotation's test report is the new secret's, shown
    // under the rotation form, never in the live connection's report above.
    let (notice, set_notice) = outcomes.settings.split();
    let (rotate_notice, set_rotate_notice) = outcomes.rotation.split();
    let (rotate_report, set_rotate_report) = outcomes.rotation_report.split();
    let hydrated = hydrated();
    let ready = move || hydrated.get() && !busy.get();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        let (e, j, r) = (None, jit.get_untracked(), role.get_untracked());
        leptos::task::spawn_local(async move {
            match update_sso_settings(e, j, r).await {
                Ok(_) => {
                    set_notice.set(Some((true, "SSO settings saved.".into())));
                    set_version.update(|v| *v += 1);
                }
                Err(err) => set_notice.set(Some((false, err.message()))),
            }
            set_busy.set(false);
        });
    };
    let rotate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = secret.get_untracked();
        if value.trim().is_empty() {
            set_rotate_notice.set(Some((
                false,
                "Paste the new client secret from Okta first.".into(),
            )));
            return;
        }
        set_busy.set(true);
        set_rotate_report.set(None);
        leptos::task::spawn_local(async move {
            match rotate_client_secret(value).await {
                Ok(report) => {
                    set_rotate_report.set(Some(report));
                    set_secret.set(String::new());
                    set_rotate_notice.set(Some((
                        true,
                        "The new client secret passed the test and is saved.".into(),
                    )));
                    set_version.update(|v| *v += 1);
                }
                Err(err) => {
                    if let crate::api::ApiError::ConnectionTestFailed(report) = &err {
                        set_rotate_report.set(Some(report.clone()));
                        set_rotate_notice.set(Some((
                            false,
                            "The new client secret failed the test and was not saved: the live connection is unchanged.".into(),
                        )));
                    } else {
                        set_rotate_notice.set(Some((false, err.message())));
                    }
                }
            }
            set_busy.set(false);
        });
    };
    view! {
        <section class="card">
            <h2>"Settings (owner)"</h2>
            <form class="stack" on:submit=save id="sso-settings">
                <SsoSwitch enabled=view.enabled />
                <label class="check">
                    <input
                        type="checkbox"
                        id="sso-jit"
                        checked=view.jit_enabled
                        prop:checked=jit
                        disabled=move || !hydrated.get()
                        on:change=move |ev| set_jit.set(event_target_checked(&ev))
                    />
                    " Create members on their first Okta sign-in (just-in-time)"
                </label>
                <label for="sso-default-role">"Role of new members"</label>
                <select id="sso-default-role" disabled=move || !hydrated.get() on:change=move |ev| {
                    set_role.set(if event_target_value(&ev) == "admin" { DefaultRole::Admin } else { DefaultRole::Member })
                }>
                    <option value="member" selected=move || role.get() == DefaultRole::Member>"member"</option>
                    <option value="admin" selected=move || role.get() == DefaultRole::Admin>"admin"</option>
                </select>
                <button type="submit" class="primary" disabled=move || !ready()>"Save settings"</button>
                <Notice notice />
            </form>
        </section>
        <section class="card">
            <h2>"Rotate the client secret"</h2>
            <p class="muted">
                "In Okta: Applications → Tessera → General → Client Credentials → Generate new secret. Paste it here: Tessera tests it against Okta before saving."
            </p>
            <form class="stack" on:submit=rotate id="rotate-secret">
                <label for="new-secret">"New client secret"</label>
                <input type="password" id="new-secret" autocomplete="off" disabled=move || !hydrated.get() prop:value=secret on:input=move |ev| set_secret.set(event_target_value(&ev)) />
                <button type="submit" class="primary" disabled=move || !ready()>"Test and save"</button>
                <Notice notice=rotate_notice />
                <div id="rotation-report"><Report report=rotate_report /></div>
            </form>
        </section>
        <SetupLinkCard setup_links />
    }
}

/// What the owner's forms last reported: kept by the page, across the reload of the settings
/// view that a saved change causes.
#[derive(Clone, Copy)]
struct OwnerOutcomes {
    settings: RwSignal<Option<(bool, String)>>,
    rotation: RwSignal<Option<(bool, String)>>,
    rotation_report: RwSignal<Option<ConnectionReport>>,
}

/// The SSO switch as the owner sees it: read-only, with what turning it off does and who can.
#[component]
fn SsoSwitch(enabled: bool) -> impl IntoView {
    let slug = use_context::<Me>()
        .map(|i| i.org.slug)
        .unwrap_or_else(|| "<org>".into());
    let state = if enabled { "enabled" } else { "disabled" };
    view! {
        <div id="sso-switch">
            <p>
                "Single sign-on: "
                <span class=format!("status {state}") id="sso-enabled-state">{state}</span>
            </p>
            <p class="muted" id="sso-disable-note">
                "Only the service operator can turn single sign-on off (or on again) for "
                <span class="code">{slug}</span>
                ". Turning it off signs everyone in your organization out at once, you included, and nobody can sign in until the operator turns it on again."
            </p>
        </div>
    }
}

/// The org's setup links (owner only; empty for anyone else, who may not list them), and
/// how to reload them.
#[derive(Clone, Copy)]
struct SetupLinks {
    links: Resource<Result<SetupLinkList, ApiError>>,
    set_version: WriteSignal<u32>,
}

/// Lets the owner hand their Okta admin a one-time setup link instead of a secret by email,
/// and see and revoke the org's open links.
#[component]
fn SetupLinkCard(setup_links: SetupLinks) -> impl IntoView {
    let (link, set_link) = signal(None::<Result<(String, i64), String>>);
    let (busy, set_busy) = signal(false);
    let set_version = setup_links.set_version;
    let hydrated = hydrated();
    let create = move |_| {
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            let result = create_setup_link(Some("72h".into())).await;
            set_link.set(Some(
                result
                    .map(|l| (l.url, l.expires_at))
                    .map_err(|e| e.message()),
            ));
            set_version.update(|v| *v += 1);
            set_busy.set(false);
        });
    };
    view! {
        <section class="card" id="setup-links">
            <h2>"Setup link for your Okta admin"</h2>
            <p class="muted">
                "A one-time link (valid 72 hours) to a guided page where your Okta admin enters the new Okta values, tests them and saves. No secret travels by email. Your links stop working when you are no longer the owner."
            </p>
            <button id="create-setup-link" on:click=create disabled=move || !hydrated.get() || busy.get()>
                "Create setup link"
            </button>
            {move || link.get().map(|r| match r {
                Ok((url, expires)) => view! {
                    <p>
                        <CopyValue id="setup-link" value=url />
                        <span class="muted">{format!(" expires {}", format_ms(expires))}</span>
                    </p>
                }.into_any(),
                Err(msg) => view! { <p class="error" role="alert">{msg}</p> }.into_any(),
            })}
            <OpenSetupLinks setup_links />
        </section>
    }
}

/// The org's open setup links, each with "Revoke", and "Revoke all" (owner only).
#[component]
fn OpenSetupLinks(setup_links: SetupLinks) -> impl IntoView {
    let SetupLinks { links, set_version } = setup_links;
    let (message, set_message) = signal(None::<(bool, String)>);
    let hydrated = hydrated();
    let revoke = move |id: Option<String>| {
        leptos::task::spawn_local(async move {
            match revoke_setup_links(id).await {
                Ok(r) => set_message.set(Some((
                    true,
                    format!(
                        "Revoked {}.",
                        plural(r.revoked as i64, "setup link", "setup links")
                    ),
                ))),
                Err(e) => set_message.set(Some((false, e.message()))),
            }
            set_version.update(|v| *v += 1);
        });
    };
    view! {
        <h3>"Open setup links"</h3>
        <Suspense fallback=|| view! { <p class="muted">"Loading setup links…"</p> }>
            {when_loaded(links, move |result| {
                match result {
                    Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                    Ok(list) => {
                        let open: Vec<_> = list.links.into_iter().filter(|l| l.state == "open").collect();
                        if open.is_empty() {
                            return view! { <p class="muted" id="no-open-setup-links">"No open setup links."</p> }.into_any();
                        }
                        let rows = open
                            .into_iter()
                            .map(|l| {
                                let id = l.id.to_string();
                                view! {
                                    <tr data-link-id=l.id.to_string()>
                                        <td>{format_ms(l.created_at)}</td>
                                        <td>{l.created_by}</td>
                                        <td>{format_ms(l.expires_at)}</td>
                                        <td>
                                            <button class="small" disabled=move || !hydrated.get() on:click=move |_| revoke(Some(id.clone()))>
                                                "Revoke"
                                            </button>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table id="open-setup-links">
                                <thead>
                                    <tr><th>"Created"</th><th>"By"</th><th>"Expires"</th><th></th></tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <button id="revoke-setup-links" disabled=move || !hydrated.get() on:click=move |_| revoke(None)>
                                "Revoke all open links"
                            </button>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
        <Notice notice=message />
    }
}
