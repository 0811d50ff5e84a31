//! Provisioning log: every SCIM request the org's Okta sent, newest first, with when (relative,
//! the exact UTC time on hover), the request, its status (and SCIM error type), what changed,
//! whom it was about and how long it took. Paging is plain links, so the page works without
//! JavaScript. Owners and admins only; tokens are never recorded.

use super::layout::{Authed, Section};
use super::{Moment, PageTitle, plural, when_loaded};
use crate::api::types::ScimRequestView;
use crate::api::{ProvisioningLogPage as LogPage, provisioning_log};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ProvisioningLogPage() -> impl IntoView {
    view! {
        <PageTitle page="Provisioning log" />
        <Authed section=Section::Provisioning>
            <ProvisioningLog />
        </Authed>
    }
}

/// `/provisioning?page={page}`.
fn page_href(page: u32) -> String {
    format!("/provisioning?page={page}")
}

#[component]
fn ProvisioningLog() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
            .min(1_000_000)
    };
    let data = Resource::new(page, |page| provisioning_log(Some(page.to_string())));
    view! {
        <section class="card">
            <h1>"Provisioning log"</h1>
            <p class="muted">
                "The SCIM requests your Okta sent to Tessera: people it created, updated or deactivated, and the groups it pushed. Tokens are never recorded."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {when_loaded(data, move |result| {
                    match result {
                        Err(e) => {
                            view! { <p class="error" role="alert" id="provisioning-error">{e.message()}</p> }
                                .into_any()
                        }
                        Ok(log) if log.total == 0 => view! { <NoRequests /> }.into_any(),
                        Ok(log) => view! { <Requests log /> }.into_any(),
                    }
                })}
            </Suspense>
            <p>
                <a href="/sso#provisioning">"Provisioning settings on the SSO page →"</a>
            </p>
        </section>
    }
}

/// Nothing from Okta yet: how to connect it.
#[component]
fn NoRequests() -> impl IntoView {
    view! {
        <div id="provisioning-empty">
            <p>
                <strong>"Okta has sent no SCIM requests yet."</strong>
            </p>
            <p>
                "To connect Okta's provisioning, the owner creates a SCIM token in the "
                <a href="/sso#provisioning">"Provisioning section of the SSO page"</a>
                ", which also says what to paste where in the Okta Admin Console (the app's Provisioning tab). Okta's requests then show here."
            </p>
        </div>
    }
}

/// A page of requests with its range and the links to the pages around it.
#[component]
fn Requests(log: LogPage) -> impl IntoView {
    let per_page = i64::from(log.per_page.max(1));
    let pages = ((log.total + per_page - 1) / per_page).max(1) as u32;
    let prev = (log.page > 1).then(|| page_href(log.page - 1));
    let next = (log.page < pages).then(|| page_href(log.page + 1));
    let first = i64::from(log.page.saturating_sub(1)) * per_page + 1;
    let last = first + log.entries.len() as i64 - 1;
    let range = if log.total <= per_page {
        plural(log.total, "request", "requests")
    } else {
        format!("{first}–{last} of {} requests", log.total)
    };
    let now = log.now;
    let rows = log
        .entries
        .into_iter()
        .map(|e| view! { <Request e now /> })
        .collect_view();
    view! {
        <p class="counts" id="provisioning-range">{range}</p>
        <div class="table-wrap">
            <table id="provisioning-table">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Request"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"What changed"</th>
                        <th scope="col">"About"</th>
                        <th scope="col">"Duration"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <a href=href rel="prev">"← Newer"</a> })}
            {next.map(|href| view! { <a href=href rel="next">"Older →"</a> })}
        </nav>
    }
}

/// One request. Every value is text.
#[component]
fn Request(e: ScimRequestView, now: i64) -> impl IntoView {
    let ok = e.status < 400;
    let status = if e.scim_type.is_empty() {
        e.status.to_string()
    } else {
        format!("{} {}", e.status, e.scim_type)
    };
    view! {
        <tr data-status=e.status.to_string()>
            <td data-label="When" class="when">
                <Moment ms=e.at now />
            </td>
            <td data-label="Request" class="request">
                <span class="code">{format!("{} {}", e.method, e.path)}</span>
            </td>
            <td data-label="Status">
                <span class=if ok { "status success" } else { "status failure" }>{status}</span>
            </td>
            <td data-label="What changed" class="sentence">
                {if e.summary.is_empty() { "—".to_string() } else { e.summary.clone() }}
            </td>
            <td data-label="About" class="sentence">
                {if e.about.is_empty() { "—".to_string() } else { e.about.clone() }}
            </td>
            <td data-label="Duration" class="duration">{format!("{} ms", e.duration_ms)}</td>
        </tr>
    }
}
