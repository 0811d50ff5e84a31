//! Audit log: who did what to whom, when, with before and after. Owners and admins only.

use super::format_ms;
use super::layout::{Authed, Section};
use crate::api::audit_log;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <super::PageTitle page="Audit log" />
        <Authed section=Section::Audit>
            <Audit />
        </Authed>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    };
    let data = Resource::new(page, |p| audit_log(Some(p.to_string())));
    view! {
        <section class="card">
            <h1>"Audit log"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                        Ok(log) => {
                            let pages = ((log.total + i64::from(log.per_page) - 1) / i64::from(log.per_page.max(1))).max(1) as u32;
                            let prev = (log.page > 1).then(|| format!("/audit?page={}", log.page - 1));
                            let next = (log.page < pages).then(|| format!("/audit?page={}", log.page + 1));
                            let empty = log.entries.is_empty();
                            let rows = log
                                .entries
                                .into_iter()
                                .map(|e| {
                                    let change = match (e.before.is_empty(), e.after.is_empty()) {
                                        (true, true) => String::new(),
                                        (true, false) => e.after.clone(),
                                        (false, true) => e.before.clone(),
                                        (false, false) => format!("{} → {}", e.before, e.after),
                                    };
                                    view! {
                                        <tr data-action=e.action.clone()>
                                            <td data-label="When">{format_ms(e.at)}</td>
                                            <td data-label="Who">{e.actor_email.clone()}</td>
                                            <td data-label="Action"><span class="code">{e.action.clone()}</span></td>
                                            <td data-label="Whom">{e.target_email.clone()}</td>
                                            <td data-label="Change" class="code">{change}</td>
                                        </tr>
                                    }
                                })
                                .collect_view();
                            view! {
                                {empty.then(|| view! { <p class="muted">"No admin actions yet."</p> })}
                                <div class="table-wrap">
                                    <table id="audit-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"When"</th>
                                                <th scope="col">"Who"</th>
                                                <th scope="col">"Action"</th>
                                                <th scope="col">"Whom"</th>
                                                <th scope="col">"Change"</th>
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
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
