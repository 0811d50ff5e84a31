//! The SSO page's "Universal Logout and Shared Signals" section: the org's two switches (the
//! owner turns them on and off; admins see them), what to paste into Okta with where it goes in
//! the Okta Admin Console, and the latest signal Okta sent. Both act only while single sign-on
//! is on.
//!
//! As on the rest of the page, the result of "Save" shows next to it and takes focus
//! ([`Notice`]), the controls wait for hydration, and what the server renders is the saved
//! state.

use super::layout::{CopyValue, Notice, SessionState};
use super::{format_ms, hydrated};
use crate::api::signal_text::outcome_text;
use crate::api::{SecurityEventView, SignalsView, update_signal_switches};
use leptos::prelude::*;

/// Who a signal was about, as the pages show it: the member's email, else the subject as Okta
/// named it.
pub fn signal_who(e: &SecurityEventView) -> String {
    if !e.member_email.trim().is_empty() {
        e.member_email.clone()
    } else if !e.subject.trim().is_empty() {
        e.subject.clone()
    } else {
        "—".into()
    }
}

/// What Tessera did about a signal, in words.
pub fn signal_outcome(e: &SecurityEventView) -> String {
    outcome_text(&e.outcome, e.sessions_ended)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// The section (`id="signals"`), for owners and admins.
#[component]
pub fn SignalsSection(
    signals: SignalsView,
    /// The org has an Okta connection: the switches need one.
    configured: bool,
    /// Single sign-on is on: the signals act only then.
    sso_enabled: bool,
    /// The owner: the switches may be changed.
    can_edit: bool,
    set_version: WriteSignal<u32>,
    /// Kept by the page, so "Save"'s result survives the reload it causes.
    notice: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let state = if !configured {
        view! {
            <p class="notice error" id="signals-not-connected">
                "Connect your Okta for sign-in first (above): these signals come from the same Okta org."
            </p>
        }
        .into_any()
    } else if !sso_enabled {
        view! {
            <p class="notice error" id="signals-sso-off">
                "Single sign-on is off, so Tessera refuses Okta's signals until it is on again. The switches below take effect then."
            </p>
        }
        .into_any()
    } else {
        view! {
            <p class="muted" id="signals-sso-on">
                "They act only while single sign-on is on (it is now)."
            </p>
        }
        .into_any()
    };
    let switches = if can_edit {
        view! {
            <Switches
                universal_logout=signals.universal_logout
                shared_signals=signals.shared_signals
                configured
                set_version
                notice
            />
        }
        .into_any()
    } else {
        view! {
            <dl class="facts" id="signals-switches">
                <dt>"Universal Logout"</dt>
                <dd>
                    <span class=format!("status {}", if signals.universal_logout { "enabled" } else { "disabled" }) id="universal-logout-state">
                        {on_off(signals.universal_logout)}
                    </span>
                </dd>
                <dt>"Shared Signals"</dt>
                <dd>
                    <span class=format!("status {}", if signals.shared_signals { "enabled" } else { "disabled" }) id="shared-signals-state">
                        {on_off(signals.shared_signals)}
                    </span>
                </dd>
            </dl>
            <p class="muted">"Only the owner turns them on or off."</p>
        }
        .into_any()
    };
    let SignalsView {
        universal_logout_endpoint,
        ssf_endpoint,
        ssf_audience,
        last,
        ..
    } = signals;
    view! {
        <section class="card" id="signals" aria-labelledby="signals-title">
            <h2 id="signals-title">"Universal Logout and Shared Signals"</h2>
            <p class="muted">
                "When Okta ends a person's sessions (an Okta admin clicks “Clear user sessions”, or Okta's threat protection sees a stolen session), Tessera signs them out everywhere too, within a second. With Shared Signals Okta also tells Tessera when a person's credentials change or their account is disabled or enabled again."
            </p>
            {state}
            {switches}
            <h3>"Universal Logout"</h3>
            <p class="muted">
                "Okta calls Tessera's global token revocation endpoint with a request it signs: every Tessera session of that person ends. They stay a member and can sign in again when Okta lets them."
            </p>
            <dl class="facts">
                <dt>"Global token revocation endpoint"</dt>
                <dd>
                    <CopyValue id="universal-logout-endpoint" value=universal_logout_endpoint />
                </dd>
                <dt>"Subject format"</dt>
                <dd id="universal-logout-subject-format">
                    <strong>"Issuer and Subject identifier"</strong>
                    " (recommended: the same Okta user ID people sign in with) or "
                    <strong>"Email"</strong>
                    " (matched in any case)"
                </dd>
            </dl>
            <ol class="okta-steps" id="okta-universal-logout-steps">
                <li>
                    "In the Okta Admin Console: " <strong>"Applications → Applications"</strong>
                    " → the Tessera app → " <strong>"General"</strong> " tab → "
                    <strong>"Logout"</strong> " → " <strong>"Edit"</strong> "."
                </li>
                <li>
                    "Turn on " <strong>"Universal Logout"</strong> ", paste the "
                    <strong>"Global token revocation endpoint"</strong> " above, choose the "
                    <strong>"Subject format"</strong> " and " <strong>"Save"</strong> "."
                </li>
                <li>
                    "To try it: " <strong>"Directory → People"</strong> " → a person → "
                    <strong>"More Actions → Clear user sessions"</strong> ", include "
                    <strong>"Logout enabled apps"</strong> ", then " <strong>"Clear and revoke"</strong>
                    ". Their open Tessera pages stop working at once."
                </li>
            </ol>
            <h3>"Shared Signals"</h3>
            <p class="muted">
                "Tessera receives Okta's Security Event Tokens pushed to its receiver. Session revoked and credential change (CAEP): the person is signed out everywhere. Account disabled (RISC): they are deactivated; account enabled: reactivated, when Okta had deactivated them. Other events are recorded only."
            </p>
            <dl class="facts">
                <dt>"Receiver endpoint (push)"</dt>
                <dd>
                    <CopyValue id="ssf-endpoint" value=ssf_endpoint />
                </dd>
                <dt>"Audience (aud)"</dt>
                <dd>
                    <CopyValue id="ssf-audience" value=ssf_audience />
                </dd>
            </dl>
            <ol class="okta-steps" id="okta-ssf-steps">
                <li>
                    "Create an SSF stream in your Okta org (Okta's " <strong>"SSF Transmitter"</strong>
                    " API) with " <strong>"push"</strong> " delivery ("
                    <span class="code">"urn:ietf:rfc:8935"</span>
                    ") to the " <strong>"Receiver endpoint"</strong> " above."
                </li>
                <li>
                    "Request the events " <strong>"Session Revoked"</strong> " and "
                    <strong>"Credential Change"</strong>
                    " (and, where offered, Account Disabled and Account Enabled). Tessera takes tokens whose audience is the "
                    <strong>"Audience"</strong>
                    " above, or the receiver itself when the transmitter sets the audience on its own (Okta does): then they must be signed by your Okta org."
                </li>
                <li>
                    "Send the stream's verification event: it shows below as the last signal (“Stream verified”)."
                </li>
            </ol>
            <h3>"Last signal received"</h3>
            <LastSignal last />
            <p>
                <a href="/activity#security-events" id="security-events-link">"All security signals from Okta →"</a>
            </p>
        </section>
    }
}

/// The latest signal, or that none came yet.
#[component]
fn LastSignal(last: Option<SecurityEventView>) -> impl IntoView {
    match last {
        None => view! {
            <p class="muted" id="last-signal" data-state="none">"No signal received yet."</p>
        }
        .into_any(),
        Some(e) => {
            let who = signal_who(&e);
            let did = signal_outcome(&e);
            view! {
                <dl
                    class="facts"
                    id="last-signal"
                    data-state="received"
                    data-event-type=e.event_type.clone()
                    data-outcome=e.outcome.clone()
                >
                    <dt>"Event"</dt>
                    <dd id="last-signal-event">{e.event.clone()}</dd>
                    <dt>"When"</dt>
                    <dd>{format_ms(e.at)}</dd>
                    <dt>"Who"</dt>
                    <dd>{who}</dd>
                    <dt>"What Tessera did"</dt>
                    <dd id="last-signal-outcome">{did}</dd>
                </dl>
            }
            .into_any()
        }
    }
}

/// The two switches, for the owner.
#[component]
fn Switches(
    universal_logout: bool,
    shared_signals: bool,
    configured: bool,
    set_version: WriteSignal<u32>,
    notice: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let (ul, set_ul) = signal(universal_logout);
    let (ss, set_ss) = signal(shared_signals);
    let (busy, set_busy) = signal(false);
    let hydrated = hydrated();
    let session = SessionState::get();
    let (notice_read, set_notice) = notice.split();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        let (u, s) = (ul.get_untracked(), ss.get_untracked());
        leptos::task::spawn_local(async move {
            match update_signal_switches(Some(u), Some(s)).await {
                Ok(v) => {
                    set_notice.set(Some((
                        true,
                        format!(
                            "Saved: Universal Logout is {}, Shared Signals {}.",
                            on_off(v.signals.universal_logout),
                            on_off(v.signals.shared_signals)
                        ),
                    )));
                    set_version.update(|v| *v += 1);
                }
                Err(e) => {
                    if let Some(s) = session {
                        s.note(&e);
                    }
                    set_notice.set(Some((false, e.message())));
                }
            }
            set_busy.set(false);
        });
    };
    view! {
        <form class="stack" id="signals-form" on:submit=save>
            <fieldset class="modes">
                <legend>"Okta may sign people out of Tessera"</legend>
                <label class="check">
                    <input
                        type="checkbox"
                        id="signals-universal-logout"
                        checked=universal_logout
                        prop:checked=ul
                        disabled=move || !hydrated.get() || !configured
                        on:change=move |ev| set_ul.set(event_target_checked(&ev))
                    />
                    " Universal Logout: end a person's sessions when Okta asks"
                </label>
                <label class="check">
                    <input
                        type="checkbox"
                        id="signals-shared-signals"
                        checked=shared_signals
                        prop:checked=ss
                        disabled=move || !hydrated.get() || !configured
                        on:change=move |ev| set_ss.set(event_target_checked(&ev))
                    />
                    " Shared Signals: act on Okta's security events"
                </label>
            </fieldset>
            <div class="row">
                <button
                    type="submit"
                    class="primary"
                    id="save-signals"
                    disabled=move || !hydrated.get() || busy.get() || !configured
                >
                    {move || if busy.get() { "Saving…" } else { "Save" }}
                </button>
            </div>
            <Notice notice=notice_read />
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(email: &str, subject: &str) -> SecurityEventView {
        SecurityEventView {
            at: 0,
            channel: "universal_logout".into(),
            event_type: "global-token-revocation".into(),
            event: "Universal Logout".into(),
            subject: subject.into(),
            member_id: None,
            member_email: email.into(),
            outcome: "signed_out".into(),
            sessions_ended: 2,
        }
    }

    /// The section as the server renders it.
    #[cfg(feature = "ssr")]
    fn html(signals: SignalsView, configured: bool, sso_enabled: bool, can_edit: bool) -> String {
        Owner::new().with(move || {
            let (_, set_version) = signal(0u32);
            let notice = RwSignal::new(None);
            view! { <SignalsSection signals configured sso_enabled can_edit set_version notice /> }
                .to_html()
        })
    }

    #[cfg(feature = "ssr")]
    fn view_of(universal_logout: bool, last: Option<SecurityEventView>) -> SignalsView {
        SignalsView {
            universal_logout,
            shared_signals: true,
            universal_logout_endpoint: "https://t.example/oauth/global-token-revocation".into(),
            ssf_endpoint: "https://t.example/ssf/events".into(),
            ssf_audience: "https://t.example/ssf/orgs/acme".into(),
            last,
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_owner_gets_switches_and_everyone_the_values_for_okta() {
        let owner = html(view_of(false, None), true, true, true);
        for text in [
            "id=\"signals-form\"",
            "id=\"signals-universal-logout\"",
            "id=\"signals-shared-signals\"",
            "id=\"save-signals\"",
            ">https://t.example/oauth/global-token-revocation<",
            ">https://t.example/ssf/events<",
            ">https://t.example/ssf/orgs/acme<",
            "Global token revocation endpoint",
            "Issuer and Subject identifier",
            "No signal received yet.",
            "only while single sign-on is on",
        ] {
            assert!(owner.contains(text), "lacks {text:?}: {owner}");
        }
        // Until the page hydrates, the switches show the saved state and wait.
        let ul = &owner[owner.find("id=\"signals-universal-logout\"").unwrap()..];
        let ul = &ul[..ul.find('>').unwrap()];
        assert!(!ul.contains("checked") && ul.contains("disabled"), "{ul}");
        let ss = &owner[owner.find("id=\"signals-shared-signals\"").unwrap()..];
        let ss = &ss[..ss.find('>').unwrap()];
        assert!(ss.contains("checked"), "{ss}");

        let admin = html(view_of(true, None), true, true, false);
        assert!(!admin.contains("signals-form"), "{admin}");
        assert!(
            admin.contains("id=\"universal-logout-state\" class=\"status enabled\">on<"),
            "{admin}"
        );
        assert!(admin.contains("Only the owner turns them on or off."));
        assert!(admin.contains(">https://t.example/ssf/orgs/acme<"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_section_says_when_the_signals_cannot_act_and_what_came_last() {
        let off = html(view_of(true, None), true, false, true);
        assert!(off.contains("id=\"signals-sso-off\""), "{off}");
        let none = html(view_of(true, None), false, false, true);
        assert!(none.contains("id=\"signals-not-connected\""), "{none}");
        let save = &none[none.find("id=\"save-signals\"").unwrap()..];
        assert!(save[..save.find('>').unwrap()].contains("disabled"));
        let mut last = event("", "<x>@example.com");
        last.outcome = "no_member".into();
        let seen = html(view_of(true, Some(last)), true, true, true);
        assert!(seen.contains("data-state=\"received\""), "{seen}");
        assert!(seen.contains(">Universal Logout<"), "{seen}");
        assert!(seen.contains(">No such member<"), "{seen}");
        // What came from outside is text.
        assert!(seen.contains("&lt;x&gt;@example.com"), "{seen}");
    }

    #[test]
    fn signals_name_who_and_what() {
        assert_eq!(
            signal_who(&event(
                "bob@example.com",
                "00u2bob at https://acme.okta.com"
            )),
            "bob@example.com"
        );
        assert_eq!(
            signal_who(&event("", "00u9 at https://acme.okta.com")),
            "00u9 at https://acme.okta.com"
        );
        assert_eq!(signal_who(&event(" ", "")), "—");
        assert_eq!(
            signal_outcome(&event("", "")),
            "Signed out (2 sessions ended)"
        );
    }
}
