//! The frame of every signed-in page: header with org, member and sign-out, and navigation.
//! A signed-out visitor gets the sign-in card instead.

use crate::api::permissions::{OrgAction, may_org};
use crate::api::{ApiError, Me};
use leptos::prelude::*;

/// Which page is shown, for the navigation's `aria-current`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Members,
    Sso,
    Activity,
    Audit,
}

/// Loads who is signed in ([`Me`], as `GET /api/v1/me` answers); renders `children` with it in
/// context, or the sign-in card.
#[component]
pub fn Authed(section: Section, children: ChildrenFn) -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| crate::whoami());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="page muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(info) => {
                        provide_context(info.clone());
                        view! {
                            <Header info=info.clone() section />
                            <main class="page">{children.read_value()()}</main>
                        }
                            .into_any()
                    }
                    Err(ApiError::Unauthenticated) => view! { <crate::SignInCard /> }.into_any(),
                    Err(e) => {
                        view! {
                            <main class="page narrow">
                                <p class="error" role="alert">
                                    "Tessera could not load your session: " {e.message()}
                                </p>
                            </main>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Header(info: Me, section: Section) -> impl IntoView {
    let admin = may_org(&info.member, OrgAction::ViewSso).is_ok();
    let who = if info.member.name.is_empty() {
        info.member.email.clone()
    } else {
        info.member.name.clone()
    };
    let link = move |target: Section, href: &'static str, label: &'static str| {
        view! {
            <a href=href aria-current=move || (section == target).then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "Tessera"
            </a>
            <span class="org" id="org-name">
                {info.org.name.clone()}
            </span>
            <nav class="nav" aria-label="Sections">
                {link(Section::Members, "/members", "Members")}
                {admin.then(|| link(Section::Sso, "/sso", "SSO"))}
                {admin.then(|| link(Section::Activity, "/activity", "Login activity"))}
                {admin.then(|| link(Section::Audit, "/audit", "Audit log"))}
            </nav>
            <span class="who">
                <span id="header-member">{who}</span>
                " "
                <span class="badge">{info.member.role.as_str()}</span>
            </span>
            <form method="post" action="/logout" class="signout">
                <button type="submit" id="sign-out">
                    "Sign out"
                </button>
            </form>
        </header>
    }
}

/// An inline message after an action: success or error, announced to screen readers.
#[component]
pub fn Notice(notice: ReadSignal<Option<(bool, String)>>) -> impl IntoView {
    move || {
        notice.get().map(|(ok, text)| {
            view! {
                <p class=if ok { "notice ok" } else { "notice error" } role="status" aria-live="polite">
                    {text}
                </p>
            }
        })
    }
}

/// A keyboard-accessible confirmation dialog: focus lands on Cancel, Escape cancels.
#[component]
pub fn ConfirmDialog(
    /// Title, explanation and confirm label; `None` hides the dialog.
    open: Signal<Option<(String, String, String)>>,
    on_cancel: Callback<()>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if open.get().is_some()
            && let Some(b) = cancel_ref.get()
        {
            let _ = b.focus();
        }
    });
    move || {
        open.get().map(|(title, body, confirm)| {
            view! {
                <div class="dialog-backdrop">
                    <div
                        class="dialog"
                        role="alertdialog"
                        aria-modal="true"
                        aria-labelledby="dialog-title"
                        aria-describedby="dialog-body"
                        on:keydown=move |ev| {
                            if ev.key() == "Escape" {
                                on_cancel.run(());
                            }
                        }
                    >
                        <h2 id="dialog-title">{title}</h2>
                        <p id="dialog-body">{body}</p>
                        <div class="dialog-actions">
                            <button node_ref=cancel_ref on:click=move |_| on_cancel.run(())>
                                "Cancel"
                            </button>
                            <button class="danger" id="dialog-confirm" on:click=move |_| on_confirm.run(())>
                                {confirm}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}
