//! Audit log: what happened in the org, newest first, each entry as a sentence ("alice@… made
//! bob@… an admin") with when (relative, the exact UTC time on hover) and its details (before
//! and after, ids) folded away. Filters by who, action and dates are a plain GET form, so the
//! page works without JavaScript; paging and the CSV/JSON export links keep them. Owners and
//! admins only.

use super::layout::{Authed, Section};
use super::{Moment, encode_query, plural, when_loaded};
use crate::api::audit_text::{self, ActionGroup, AuditAction};
use crate::api::{AuditView, audit_log};
use crate::time_text::format_ms_exact;
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

/// The log's filters as the page's query has them (checked by the server).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filters {
    who: String,
    action: String,
    from: String,
    to: String,
}

impl Filters {
    /// `who=…&action=…` of the filters that are set (empty when none is).
    fn query(&self) -> String {
        [
            ("who", &self.who),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_query(v)))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn any(&self) -> bool {
        *self != Filters::default()
    }

    /// The log's page `page` with these filters.
    fn page_href(&self, page: u32) -> String {
        let q = self.query();
        if q.is_empty() {
            format!("/audit?page={page}")
        } else {
            format!("/audit?{q}&page={page}")
        }
    }

    /// The export of the entries these filters select.
    fn export_href(&self, format: &str) -> String {
        let q = self.query();
        if q.is_empty() {
            format!("/api/v1/audit/export?format={format}")
        } else {
            format!("/api/v1/audit/export?format={format}&{q}")
        }
    }
}

#[component]
fn Audit() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        Filters {
            who: get("who"),
            action: get("action"),
            from: get("from"),
            to: get("to"),
        }
    };
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
            .min(1_000_000)
    };
    let data = Resource::new(
        move || (page(), filters()),
        |(page, f)| {
            audit_log(
                Some(page.to_string()),
                Some(f.who),
                Some(f.action),
                Some(f.from),
                Some(f.to),
            )
        },
    );
    let who = move || filters().who;
    let from = move || filters().from;
    let to = move || filters().to;
    let groups = ActionGroup::ALL
        .into_iter()
        .map(|group| {
            let options = AuditAction::ALL
                .into_iter()
                .filter(|a| a.group() == group)
                .map(|a| {
                    view! {
                        <option value=a.code() selected=move || filters().action == a.code()>
                            {a.label()}
                        </option>
                    }
                })
                .collect_view();
            view! { <optgroup label=group.label()>{options}</optgroup> }
        })
        .collect_view();
    view! {
        <section class="card">
            <div class="row-between">
                <h1>"Audit log"</h1>
                <p class="exports">
                    <a id="audit-export-csv" href=move || filters().export_href("csv") download>"Export CSV"</a>
                    <a id="audit-export-json" href=move || filters().export_href("json") download>"Export JSON"</a>
                </p>
            </div>
            <form method="get" action="/audit" class="filters" role="search" id="audit-filters">
                <div class="field">
                    <label for="audit-who">"Who"</label>
                    <input
                        id="audit-who"
                        type="search"
                        name="who"
                        maxlength="200"
                        placeholder="Email, operator, Okta…"
                        prop:value=who
                        value=who
                    />
                </div>
                <div class="field">
                    <label for="audit-action">"Action"</label>
                    <select id="audit-action" name="action">
                        <option value="" selected=move || filters().action.is_empty()>"Any action"</option>
                        {groups}
                    </select>
                </div>
                <div class="field">
                    <label for="audit-from">"From (UTC)"</label>
                    <input id="audit-from" type="date" name="from" prop:value=from value=from />
                </div>
                <div class="field">
                    <label for="audit-to">"To (UTC)"</label>
                    <input id="audit-to" type="date" name="to" prop:value=to value=to />
                </div>
                <div class="field actions">
                    <button type="submit" class="primary">"Filter"</button>
                    {move || filters().any().then(|| view! { <a href="/audit" id="audit-clear">"Clear filters"</a> })}
                </div>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {when_loaded(data, move |result| {
                    let f = filters();
                    match result {
                        Err(e) => view! { <p class="error" role="alert" id="audit-error">{e.message()}</p> }.into_any(),
                        Ok(log) => {
                            let per_page = i64::from(log.per_page.max(1));
                            let pages = ((log.total + per_page - 1) / per_page).max(1) as u32;
                            let prev = (log.page > 1).then(|| f.page_href(log.page - 1));
                            let next = (log.page < pages).then(|| f.page_href(log.page + 1));
                            let first = i64::from(log.page.saturating_sub(1)) * per_page + 1;
                            let last = first + log.entries.len() as i64 - 1;
                            let range = match (log.total, f.any()) {
                                (0, true) => "No entries match these filters.".to_string(),
                                (0, false) => "No admin actions yet.".to_string(),
                                (total, _) if total <= per_page => plural(total, "entry", "entries"),
                                (total, _) => format!("{first}–{last} of {total} entries"),
                            };
                            let now = log.now;
                            let rows = log
                                .entries
                                .into_iter()
                                .map(|e| view! { <Entry e now /> })
                                .collect_view();
                            view! {
                                <p class="counts" id="audit-range">{range}</p>
                                <div class="table-wrap">
                                    <table id="audit-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"When"</th>
                                                <th scope="col">"What happened"</th>
                                                <th scope="col">"Details"</th>
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

/// One entry: when, the sentence, and the details folded away. Every value is text.
#[component]
fn Entry(e: AuditView, now: i64) -> impl IntoView {
    let details = audit_text::details(&e)
        .into_iter()
        .map(|d| {
            let value = match (d.before, d.after) {
                (Some(b), Some(a)) if b == a => b,
                (Some(b), Some(a)) => format!("{b} → {a}"),
                (Some(b), None) => format!("{b} (before)"),
                (None, Some(a)) => a,
                (None, None) => String::new(),
            };
            view! {
                <dt>{d.label}</dt>
                <dd>{value}</dd>
            }
        })
        .collect_view();
    let actor = match &e.actor_id {
        Some(id) => format!("{} ({id})", e.actor_email),
        None => e.actor_email.clone(),
    };
    let target = match (&e.target_id, e.target_email.is_empty()) {
        (Some(id), false) => Some(format!("{} ({id})", e.target_email)),
        (Some(id), true) => Some(id.to_string()),
        (None, false) => Some(e.target_email.clone()),
        (None, true) => None,
    };
    view! {
        <tr data-action=e.action.clone()>
            <td data-label="When" class="when">
                <Moment ms=e.at now />
            </td>
            <td data-label="What happened" class="sentence">{e.sentence.clone()}</td>
            <td data-label="Details">
                <details class="audit-details">
                    <summary>"Details"</summary>
                    <dl class="facts">
                        {details}
                        <dt>"Action"</dt>
                        <dd><span class="code">{e.action.clone()}</span></dd>
                        <dt>"Recorded actor"</dt>
                        <dd>{actor}</dd>
                        {target.map(|t| view! { <dt>"Member"</dt><dd>{t}</dd> })}
                        <dt>"Time (UTC)"</dt>
                        <dd>{format_ms_exact(e.at)}</dd>
                        <dt>"Entry id"</dt>
                        <dd class="muted">{e.id.clone()}</dd>
                    </dl>
                </details>
            </td>
        </tr>
    }
}
