//! Login activity: recent attempts with reason codes and advice, a filter by outcome, a
//! per-day chart of successes and failures, and the security signals Okta sent (Universal
//! Logout, Shared Signals) with what Tessera did about each. Owners and admins only.

use super::layout::{Authed, Section};
use super::signals::{signal_outcome, signal_who};
use super::{format_ms, when_loaded};
use crate::api::{DailyCount, SecurityEventView, login_attempts};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ActivityPage() -> impl IntoView {
    view! {
        <super::PageTitle page="Login activity" />
        <Authed section=Section::Activity>
            <Activity />
        </Authed>
    }
}

#[component]
fn Activity() -> impl IntoView {
    let query = use_query_map();
    let outcome = move || {
        query
            .read()
            .get("outcome")
            .filter(|o| o == "success" || o == "failure")
    };
    let data = Resource::new(outcome, login_attempts);
    let filter = move |value: Option<&'static str>, label: &'static str| {
        let href = value.map_or("/activity".to_string(), |v| {
            format!("/activity?outcome={v}")
        });
        view! {
            <a href=href class="chip" aria-current=move || (outcome().as_deref() == value).then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <section class="card">
            <h1>"Login activity"</h1>
            <nav class="chips" aria-label="Filter by outcome">
                {filter(None, "All")}
                {filter(Some("success"), "Successes")}
                {filter(Some("failure"), "Failures")}
            </nav>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {when_loaded(data, move |result| {
                    match result {
                        Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                        Ok(activity) => {
                            let rows = activity
                                .attempts
                                .into_iter()
                                .map(|a| {
                                    let who = a.email.clone().filter(|e| !e.is_empty()).or(a.subject.clone()).unwrap_or_else(|| "—".into());
                                    view! {
                                        <tr class=format!("attempt {}", a.outcome) data-reason=a.reason.clone()>
                                            <td data-label="When">{format_ms(a.at)}</td>
                                            <td data-label="Outcome"><span class=format!("status {}", a.outcome)>{a.outcome.clone()}</span></td>
                                            <td data-label="Who">{who}</td>
                                            <td data-label="Reason"><span class="code">{a.reason.clone()}</span>" "<span class="muted">{a.detail.clone()}</span></td>
                                            <td data-label="What to do" class="advice-cell">{a.advice.clone()}</td>
                                        </tr>
                                    }
                                })
                                .collect_view();
                            let signals = activity.security_events;
                            view! {
                                <Chart days=activity.daily />
                                <div class="table-wrap">
                                    <table id="attempts-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"When"</th>
                                                <th scope="col">"Outcome"</th>
                                                <th scope="col">"Who"</th>
                                                <th scope="col">"Reason"</th>
                                                <th scope="col">"What to do"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                </div>
                                <SecuritySignals events=signals />
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// "Security signals from Okta": the latest Universal Logout requests and Shared Signals
/// events, newest first, each with who it named and what Tessera did. Not filtered by the
/// outcome chips, which are about sign-ins.
#[component]
fn SecuritySignals(events: Vec<SecurityEventView>) -> impl IntoView {
    let body = if events.is_empty() {
        view! {
            <p class="muted" id="no-security-events">
                "No security signals from Okta yet. When Okta's Universal Logout or Shared Signals reach Tessera (set them up on the "
                <a href="/sso#signals">"SSO page"</a>
                "), each shows here with what Tessera did."
            </p>
        }
        .into_any()
    } else {
        let rows = events
            .into_iter()
            .map(|e| {
                let who = signal_who(&e);
                let did = signal_outcome(&e);
                view! {
                    <tr
                        data-channel=e.channel.clone()
                        data-event-type=e.event_type.clone()
                        data-outcome=e.outcome.clone()
                    >
                        <td data-label="When" class="when">{format_ms(e.at)}</td>
                        <td data-label="Event">{e.event.clone()}</td>
                        <td data-label="Who" class="who">{who}</td>
                        <td data-label="What Tessera did">{did}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table id="security-events-table">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Event"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"What Tessera did"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <h2 id="security-events">"Security signals from Okta"</h2>
        <p class="muted">
            "Universal Logout requests and Shared Signals events Okta sent for your organization, newest first."
        </p>
        {body}
    }
}

/// Successes and failures per day as an inline SVG bar chart.
#[component]
fn Chart(days: Vec<DailyCount>) -> impl IntoView {
    let max = days
        .iter()
        .map(|d| d.success.max(d.failure))
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, pad) = (28.0_f64, 120.0_f64, 18.0_f64);
    let width = (days.len() as f64 * w).max(w);
    let summary = format!(
        "{} successes and {} failures in the last {} days",
        days.iter().map(|d| d.success).sum::<i64>(),
        days.iter().map(|d| d.failure).sum::<i64>(),
        days.len()
    );
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let x = i as f64 * w;
            let sh = d.success as f64 / max as f64 * (h - pad);
            let fh = d.failure as f64 / max as f64 * (h - pad);
            let label = d.day.get(5..).unwrap_or(&d.day).to_string();
            view! {
                <g>
                    <title>{format!("{}: {} successes, {} failures", d.day, d.success, d.failure)}</title>
                    <rect class="bar-success" x=x + 4.0 y=h - pad - sh width=9 height=sh />
                    <rect class="bar-failure" x=x + 14.0 y=h - pad - fh width=9 height=fh />
                    <text x=x + 14.0 y=h - 4.0 text-anchor="middle" class="axis">{label}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {width} {h}") role="img" aria-label=summary.clone() preserveAspectRatio="xMinYMid meet">
                {bars}
            </svg>
            <figcaption class="muted">
                <span class="legend success">"■ successes"</span>
                " "
                <span class="legend failure">"■ failures"</span>
                " — "
                {summary}
            </figcaption>
        </figure>
    }
}
