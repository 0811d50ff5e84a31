//! Tessera's Leptos application: pages, components and server functions, shared by the server
//! (rendering, `ssr`) and the browser (hydration, `hydrate`).

// The release hydrate build (opt-level z, LTO) computes the layout of the deepest view types
// past the default limit of 128.
#![recursion_limit = "256"]
// No unwrap, expect or panic on request paths; tests and proven spots allow them locally.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod model;
pub mod pages;
pub mod time_text;
pub mod validate;

#[cfg(feature = "ssr")]
pub mod ssr;

use api::{ApiError, JsonAnswer, Me};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

/// The HTML document around the app, rendered by the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <pages::head::HeadBasics />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let (hydrated, set_hydrated) = signal(false);
    provide_context(pages::Hydrated(hydrated));
    // Runs only in the browser, once hydration is done: controls come alive
    // ([`pages::hydrated`]) and end2end tests wait for this mark.
    Effect::new(move |_| {
        set_hydrated.set(true);
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="Tessera" />
        <Router>
            <Routes fallback=NotFound>
                <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async />
                <Route path=StaticSegment("login") view=LoginPage ssr=SsrMode::Async />
                <Route path=StaticSegment("members") view=pages::members::MembersPage ssr=SsrMode::Async />
                <Route path=StaticSegment("sso") view=pages::sso::SsoPage ssr=SsrMode::Async />
                <Route path=StaticSegment("activity") view=pages::activity::ActivityPage ssr=SsrMode::Async />
                <Route path=StaticSegment("audit") view=pages::audit::AuditPage ssr=SsrMode::Async />
                <Route path=StaticSegment("provisioning") view=pages::provisioning_log::ProvisioningLogPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// The signed-in member and org, as `GET /api/v1/me` answers them, for the layout of every
/// page. Nobody signed in is [`ApiError::Unauthenticated`] (the layout shows the sign-in card);
/// as an endpoint (`POST /api/whoami`) it answers 401 with the API's error JSON, while a page
/// rendering it keeps its own status.
#[server(endpoint = "whoami", output = JsonAnswer)]
pub async fn whoami() -> Result<Me, ApiError> {
    use crate::ssr::api_support::{answering, me, set_status};
    let result = me()
        .await
        .and_then(|me| me.ok_or(ApiError::Unauthenticated));
    if let Err(e) = &result
        && (answering(<Whoami as leptos::server_fn::ServerFn>::PATH)
            || *e != ApiError::Unauthenticated)
    {
        set_status(e);
    }
    result
}

#[component]
fn HomePage() -> impl IntoView {
    view! {
        <pages::PageTitle page="Home" />
        <pages::layout::Authed section=pages::layout::Section::Home>
            <Profile />
        </pages::layout::Authed>
    }
}

/// `/login`: the sign-in card; someone already signed in goes on into the app (to `?next=`
/// when it is a path of ours, else the start page). After signing out (`?signed_out=1`) it
/// says so, and that their Okta session goes on.
#[component]
fn LoginPage() -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| whoami());
    let query = leptos_router::hooks::use_query_map();
    let signed_out = move || query.read().get("signed_out").is_some();
    let next = move || {
        query
            .read()
            .get("next")
            // A browser drops tabs and line breaks from a URL: `/<TAB>/evil.example` is
            // `//evil.example`, another host.
            .filter(|n| {
                n.starts_with('/')
                    && !n.starts_with("//")
                    && !n.contains('\\')
                    && !n.chars().any(char::is_control)
            })
            .unwrap_or_else(|| "/".into())
    };
    view! {
        <pages::PageTitle page="Sign in" />
        <Suspense fallback=|| view! { <p class="page muted">"Loading…"</p> }>
            {pages::when_loaded(session, move |result| {
                match result {
                    Ok(_) => {
                        let to = next();
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect(&to);
                        #[cfg(feature = "hydrate")]
                        {
                            let navigate = leptos_router::hooks::use_navigate();
                            navigate(&to, Default::default());
                        }
                        view! {
                            <main class="page narrow">
                                <p>"You are signed in. " <a href=to>"Continue to Tessera"</a></p>
                            </main>
                        }
                            .into_any()
                    }
                    Err(_) => view! {
                        {signed_out().then(|| view! {
                            <div class="page narrow">
                                <p class="notice ok" role="status" id="signed-out">
                                    "You are signed out of Tessera. Your Okta session continues: the Tessera tile in your Okta dashboard signs you in again without a password."
                                </p>
                            </div>
                        })}
                        <SignInCard />
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

/// The sign-in form: the org slug leads into that org's Okta sign-in (`/sso/start`).
///
/// It carries `next`, where the person was going (a signed-out visitor of `/members?q=x` gets
/// this card in place; on `/login` it is the page's own `?next=`), so the sign-in lands there.
/// The server keeps it only when it is on Tessera's own origin.
#[component]
pub(crate) fn SignInCard() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let next = move || {
        let path = location.pathname.get();
        let next = if path == "/login" {
            location.query.get().get("next").unwrap_or_default()
        } else {
            let search = location.search.get();
            let search = search.trim_start_matches('?');
            if search.is_empty() {
                path
            } else {
                format!("{path}?{search}")
            }
        };
        (next.starts_with('/') && next != "/").then_some(next)
    };
    let (typed, set_typed) = signal(String::new());
    let label = move || {
        let s = typed.get();
        if s.is_empty() {
            "Continue".to_string()
        } else {
            format!("Continue to {s}")
        }
    };
    let hint = move || {
        let s = typed.get();
        (!s.is_empty())
            .then(|| validate::org_input(&s).err())
            .flatten()
            .unwrap_or_default()
    };
    view! {
        <main class="page narrow">
            <h1 class="brand">"Tessera"</h1>
            <section class="card">
                <h2>"Sign in with your organization"</h2>
                <p class="muted">
                    "Clicking the Tessera tile in your Okta dashboard signs you in directly. Or enter your organization's name (or its short name) here:"
                </p>
                <form method="get" action="/sso/start" class="stack">
                    <label for="org-slug">"Organization"</label>
                    <input
                        id="org-slug"
                        name="org"
                        type="text"
                        placeholder="Acme Inc or acme"
                        autocomplete="organization"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        maxlength="200"
                        on:input=move |ev| set_typed.set(event_target_value(&ev).trim().to_string())
                    />
                    <p class="field-hint" aria-live="polite">{hint}</p>
                    {move || next().map(|n| view! { <input type="hidden" name="next" value=n /> })}
                    <button id="continue" type="submit" class="primary">{label}</button>
                </form>
            </section>
        </main>
    }
}

/// The signed-in member's own profile, with links to what they may see.
#[component]
fn Profile() -> impl IntoView {
    let info = expect_context::<Me>();
    let display = if info.member.name.is_empty() {
        info.member.email.clone()
    } else {
        format!("{} <{}>", info.member.name, info.member.email)
    };
    let admin = info.member.role != model::Role::Member;
    view! {
        <section class="card">
            <h1>"Welcome"</h1>
            <p>
                "Signed in as "
                <strong id="signed-in-member">{display}</strong>
                " — "
                <span id="signed-in-role" class="badge">{info.member.role.as_str()}</span>
                " of "
                <span id="signed-in-org">{info.org.name.clone()}</span>
                " ("
                <span class="code">{info.org.slug.clone()}</span>
                ")"
            </p>
            <ul class="links">
                <li><a href="/members">"Members of your organization"</a></li>
                {admin.then(|| view! {
                    <li><a href="/sso">"Single sign-on settings and health"</a></li>
                    <li><a href="/activity">"Login activity"</a></li>
                    <li><a href="/audit">"Audit log"</a></li>
                })}
            </ul>
        </section>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <pages::PageTitle page="Page not found" />
        <pages::layout::Framed>
            <h1>"Page not found"</h1>
            <p class="advice">"Check the address, or go to the " <a href="/">"start page"</a> "."</p>
        </pages::layout::Framed>
    }
}
