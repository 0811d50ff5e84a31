//! The frame of every signed-in page: header with org, member and sign-out, and navigation.
//! A signed-out visitor gets the sign-in card instead.

use super::when_loaded;
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
    Provisioning,
    /// A page outside the sections (e.g. "not found").
    Other,
}

/// Who is signed in, as the page knows it: set when the page loads, refreshed after an action
/// that changes the signed-in member (a transfer of ownership), and cleared when any answer
/// says nobody is signed in any more, so the header never shows a session that has ended.
#[derive(Clone, Copy, Debug)]
pub struct SessionState(pub RwSignal<Option<Me>>);

impl SessionState {
    /// The page's session state (`None` outside [`Authed`]).
    pub fn get() -> Option<SessionState> {
        use_context::<SessionState>()
    }

    /// Notes an action's error: [`ApiError::Unauthenticated`] ends the page's session, which
    /// then shows the sign-in card saying so.
    pub fn note(&self, e: &ApiError) {
        if *e == ApiError::Unauthenticated {
            self.0.set(None);
        }
    }

    /// Asks the server again who is signed in, and shows it.
    pub fn refresh(&self) {
        let state = self.0;
        leptos::task::spawn_local(async move {
            state.set(crate::whoami().await.ok());
        });
    }
}

/// Loads who is signed in ([`Me`], as `GET /api/v1/me` answers); renders `children` with it in
/// context, or the sign-in card.
#[component]
pub fn Authed(section: Section, children: ChildrenFn) -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| crate::whoami());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="page muted">"Loading…"</p> }>
            {when_loaded(session, move |result| {
                match result {
                    Ok(info) => {
                        provide_context(info.clone());
                        let state = SessionState(RwSignal::new(Some(info)));
                        provide_context(state);
                        view! {
                            <Show
                                when=move || state.0.with(Option::is_some)
                                fallback=|| view! { <SessionEnded /> }
                            >
                                <Header state section />
                                <main class="page">{children.read_value()()}</main>
                            </Show>
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

/// The frame of a page anyone may see (e.g. "not found"): with the header when someone is
/// signed in, bare otherwise.
#[component]
pub fn Framed(children: ChildrenFn) -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| crate::whoami());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="page muted">"Loading…"</p> }>
            {when_loaded(session, move |result| {
                let header = result.ok().map(|info| {
                    let state = SessionState(RwSignal::new(Some(info)));
                    view! { <Header state section=Section::Other /> }
                });
                view! {
                    {header}
                    <main class="page narrow">{children.read_value()()}</main>
                }
                    .into_any()
            })}
        </Suspense>
    }
}

/// What a page shows once an action found the session gone (signed out elsewhere, expired,
/// deactivated): the sign-in card, with why.
#[component]
fn SessionEnded() -> impl IntoView {
    view! {
        <p class="page narrow notice error" role="alert" id="session-ended">
            "Your session has ended: sign in again to continue."
        </p>
        <crate::SignInCard />
    }
}

#[component]
fn Header(state: SessionState, section: Section) -> impl IntoView {
    let Some(info) = state.0.get_untracked() else {
        return ().into_any();
    };
    let admin = may_org(&info.member, OrgAction::ViewSso).is_ok();
    let who = if info.member.name.is_empty() {
        info.member.email.clone()
    } else {
        info.member.name.clone()
    };
    let role = move || {
        state
            .0
            .with(|s| s.as_ref().map(|m| m.member.role.as_str()).unwrap_or(""))
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
                {admin.then(|| link(Section::Provisioning, "/provisioning", "Provisioning log"))}
            </nav>
            <span class="who">
                <span id="header-member">{who}</span>
                " "
                <span class="badge" id="header-role">{role}</span>
            </span>
            <form method="post" action="/logout" class="signout">
                <button type="submit" id="sign-out">
                    "Sign out"
                </button>
            </form>
        </header>
    }
    .into_any()
}

/// An inline message after an action, placed next to the control that asked: success or
/// error, announced to screen readers, and focused (so it scrolls into view) when it appears.
#[component]
pub fn Notice(notice: ReadSignal<Option<(bool, String)>>) -> impl IntoView {
    let node = NodeRef::<leptos::html::P>::new();
    Effect::new(move |_| {
        if notice.get().is_some()
            && let Some(p) = node.get()
        {
            let _ = p.focus();
        }
    });
    move || {
        notice.get().map(|(ok, text)| {
            view! {
                <p
                    node_ref=node
                    tabindex="-1"
                    class=if ok { "notice ok" } else { "notice error" }
                    role="status"
                    aria-live="polite"
                >
                    {text}
                </p>
            }
        })
    }
}

/// A keyboard-accessible confirmation dialog: focus lands on Cancel and stays inside (Tab and
/// Shift+Tab cycle its two buttons), Escape cancels, and on closing focus returns to the
/// control that was focused when it opened.
#[component]
pub fn ConfirmDialog(
    /// Title, explanation and confirm label; `None` hides the dialog.
    open: Signal<Option<(String, String, String)>>,
    on_cancel: Callback<()>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    // The element to give focus back to. Browser only: a DOM element must not be created, kept
    // or dropped on the server's threads (and effects do not run there anyway).
    #[cfg(feature = "hydrate")]
    let opener = StoredValue::new_local(None::<leptos::web_sys::HtmlElement>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |was_open: Option<bool>| {
        use leptos::wasm_bindgen::JsCast as _;
        let is_open = open.get().is_some();
        if is_open && was_open != Some(true) {
            let active = document()
                .active_element()
                .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok());
            opener.set_value(active);
        }
        if is_open && let Some(b) = cancel_ref.get() {
            let _ = b.focus();
        }
        if !is_open
            && was_open == Some(true)
            && let Some(el) = opener.get_value()
        {
            let _ = el.focus();
        }
        is_open
    });
    let trap = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            on_cancel.run(());
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        let (Some(cancel), Some(confirm)) = (cancel_ref.get(), confirm_ref.get()) else {
            return;
        };
        let active = document().active_element();
        let on = |b: &leptos::web_sys::HtmlButtonElement| {
            active.as_ref().is_some_and(|a| {
                let a: &leptos::web_sys::Node = a;
                let b: &leptos::web_sys::Node = b;
                a.is_same_node(Some(b))
            })
        };
        let to = if ev.shift_key() && on(&cancel) {
            Some(confirm)
        } else if !ev.shift_key() && on(&confirm) {
            Some(cancel)
        } else {
            None
        };
        if let Some(to) = to {
            ev.prevent_default();
            let _ = to.focus();
        }
    };
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
                        on:keydown=trap
                    >
                        <h2 id="dialog-title">{title}</h2>
                        <p id="dialog-body">{body}</p>
                        <div class="dialog-actions">
                            <button node_ref=cancel_ref on:click=move |_| on_cancel.run(())>
                                "Cancel"
                            </button>
                            <button node_ref=confirm_ref class="danger" id="dialog-confirm" on:click=move |_| on_confirm.run(())>
                                {confirm}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}

/// A value with a copy-to-clipboard button (the value stays selectable without JavaScript).
#[component]
pub(super) fn CopyValue(id: &'static str, value: String) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let hydrated = super::hydrated();
    let text = value.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let clipboard = window().navigator().clipboard();
            let _ = clipboard.write_text(&text);
            set_copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = &text;
            set_copied.set(false);
        }
    };
    view! {
        <span class="copy">
            <span class="code" id=id>{value}</span>
            <button class="small" on:click=copy aria-label="Copy to clipboard" disabled=move || !hydrated.get()>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </span>
    }
}
