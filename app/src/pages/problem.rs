//! The problem page: what a person sees when a sign-in, a setup-link step or a request cannot
//! be completed. A heading, what happened, what to do about it, the stable reason code, and
//! optionally a way on ("Sign in again", "Back to the setup page"). Rendered by the server
//! into a whole document ([`super::document`]); it needs no JavaScript.

use super::document;
use leptos::prelude::*;

/// A link out of a problem page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WayOn {
    /// The link's `id`, for tests and scripts; `None` for none.
    pub id: Option<&'static str>,
    pub label: &'static str,
    /// A path on Tessera (e.g. `/login`), or the org's own Okta dashboard.
    pub href: String,
}

impl WayOn {
    /// "Sign in again", to `href` (the sign-in page).
    pub fn sign_in_again(href: &str) -> WayOn {
        WayOn {
            id: None,
            label: "Sign in again",
            href: href.to_string(),
        }
    }

    /// "Go to your Okta dashboard" (`id="okta-dashboard"`), to the org's Okta end-user
    /// dashboard `href` (where the Tessera tile is, or would be once assigned).
    pub fn okta_dashboard(href: &str) -> WayOn {
        WayOn {
            id: Some("okta-dashboard"),
            label: "Go to your Okta dashboard",
            href: href.to_string(),
        }
    }

    /// "Back to the setup page" (`id="back-to-setup"`), to the setup page at `href`.
    pub fn back_to_setup(href: &str) -> WayOn {
        WayOn {
            id: Some("back-to-setup"),
            label: "Back to the setup page",
            href: href.to_string(),
        }
    }
}

/// What a problem page says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The stable reason code (`data-reason` and the "Reason code" line), e.g. `rate_limited`.
    pub reason: String,
    /// The heading, also the document title.
    pub title: String,
    /// What happened, in one or two sentences.
    pub what: String,
    /// What the person can do about it.
    pub advice: String,
    pub way_on: Option<WayOn>,
}

impl Problem {
    /// The whole HTML document of this problem page.
    pub fn to_document(self) -> String {
        let (title, problem) = (self.title.clone(), self);
        document::render(&title, document::NARROW, view! { <ProblemCard problem /> })
    }
}

/// The card of a problem page: `<section class="card problem" data-reason="…">`.
#[component]
pub fn ProblemCard(problem: Problem) -> impl IntoView {
    let Problem {
        reason,
        title,
        what,
        advice,
        way_on,
    } = problem;
    let code = reason.clone();
    view! {
        <section class="card problem" data-reason=reason>
            <h1>{title}</h1>
            <p>{what}</p>
            <p class="advice">{advice}</p>
            {way_on
                .map(|w| {
                    view! {
                        <p>
                            <a class="button" id=w.id href=w.href>
                                {w.label}
                            </a>
                        </p>
                    }
                })}
            <p class="muted">"Reason code: " <span class="code">{code}</span></p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(way_on: Option<WayOn>) -> Problem {
        Problem {
            reason: "rate_limited".into(),
            title: "Too <many> tests".into(),
            what: "You ran \"Test\" & more.".into(),
            advice: "Wait.".into(),
            way_on,
        }
    }

    #[test]
    fn a_problem_page_is_a_whole_escaped_document() {
        let html = problem(Some(WayOn::back_to_setup("/setup/a\"b"))).to_document();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(
            html.contains("<title>Too &lt;many&gt; tests · Tessera</title>"),
            "{html}"
        );
        assert!(html.contains("href=\"/pkg/tessera.css\""), "{html}");
        assert!(html.contains("<main class=\"page narrow\">"), "{html}");
        assert!(html.contains("data-reason=\"rate_limited\""), "{html}");
        assert!(html.contains("<h1>Too &lt;many&gt; tests</h1>"), "{html}");
        assert!(html.contains("You ran \"Test\" &amp; more."), "{html}");
        assert!(
            html.contains("Reason code: <span class=\"code\">rate_limited</span>"),
            "{html}"
        );
        assert!(html.contains("id=\"back-to-setup\""), "{html}");
        assert!(html.contains("href=\"/setup/a&quot;b\""), "{html}");
    }

    #[test]
    fn sign_in_again_has_no_id() {
        let html = problem(Some(WayOn::sign_in_again("/login"))).to_document();
        assert!(html.contains("href=\"/login\""), "{html}");
        assert!(html.contains(">Sign in again</a>"), "{html}");
        assert!(!html.contains("back-to-setup"), "{html}");
        assert!(!problem(None).to_document().contains("class=\"button\""));
    }
}
