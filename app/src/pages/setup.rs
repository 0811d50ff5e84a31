//! The self-service setup page behind a one-time link (`/setup/<token>`): the steps in the
//! words of Okta's Admin Console, the two values to paste into Okta, the form (Okta domain,
//! Client ID, Client secret) with its "Test connection" report, the "Okta is connected" page,
//! and the problem pages of the flow.
//!
//! Rendered by the server into whole documents ([`super::document`]) without WASM: the form is
//! a plain `<form method="post">` to `/setup/<token>/test` (and `…/save` through its Save
//! button), so it works without JavaScript. The secret is never put into the page.

use super::document;
use super::problem::{Problem, WayOn};
use crate::api::types::{ConnectionCheck, ConnectionReport};
use crate::ssr::connection::IssuerChange;
use crate::ssr::setup_links::{GONE_MESSAGE, MAX_ISSUER_INPUT, TEST_LIMIT, TEST_WINDOW_MS};
use leptos::prelude::*;
use leptos::tachys::html::attribute::custom::custom_attribute;

/// Longest Client ID the form accepts (as `app::validate::client_id`).
pub const MAX_CLIENT_ID: usize = 255;
/// Longest Client secret the form accepts (as `app::validate::client_secret`).
pub const MAX_SECRET: usize = 1024;

/// What the form shows (never the secret).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupForm {
    /// The Okta domain as typed, or as [`domain_for_form`] shows a tested issuer.
    pub domain: String,
    pub client_id: String,
    /// A secret from an earlier test is kept on the link: the field may stay empty.
    pub secret_kept: bool,
    /// The latest test passed with the values shown: "Save" is enabled.
    pub can_save: bool,
    /// Why the last step did nothing (`id="form-error"`).
    pub error: Option<String>,
    pub report: Option<ConnectionReport>,
    /// The Okta org in the form differs from the one the org's members sign in with.
    pub issuer_change: Option<IssuerChange>,
}

/// The parts of the setup page that do not depend on the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLinkPage {
    pub org_name: String,
    /// `/setup/<token>`: the form posts to `{path}/test` and `{path}/save`.
    pub path: String,
    /// When the link expires, unix milliseconds.
    pub expires_at: i64,
    /// Okta's "Sign-in redirect URI" (`{public_url}/sso/callback`).
    pub redirect_uri: String,
    /// Okta's "Initiate login URI" (`{public_url}/sso/initiate`).
    pub initiate_login_uri: String,
    /// The server accepts `http://` issuers (`--allow-http-issuers`): the hint says so.
    pub allow_http_issuers: bool,
}

/// What a successful save connected, for the "Okta is connected" page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupSaved {
    pub org_name: String,
    pub issuer: String,
    pub client_id: String,
    /// The org had an owner already: the connection was replaced, nobody new becomes owner.
    pub had_owner: bool,
    /// The Okta org changed while members were keyed to the old one.
    pub issuer_change: Option<IssuerChange>,
}

/// The whole document of the setup page.
pub fn setup_document(page: SetupLinkPage, form: SetupForm) -> String {
    let title = format!("Connect {} to Okta", page.org_name);
    document::render(&title, document::SETUP, view! { <SetupPage page form /> })
}

/// The whole document of "Okta is connected".
pub fn saved_document(saved: SetupSaved) -> String {
    document::render(
        "Okta is connected",
        document::NARROW,
        view! { <SetupDone saved /> },
    )
}

// ---- problems --------------------------------------------------------------------------------

/// Unknown, expired, used or revoked: one answer for all (410).
pub fn link_gone() -> Problem {
    Problem {
        reason: "setup_link_invalid".into(),
        title: "This setup link cannot be used".into(),
        what: GONE_MESSAGE.into(),
        advice: "A setup link works once and only for a limited time. Whoever sent it to you (your Tessera contact, or your organization's owner in Tessera) can create a new one.".into(),
        way_on: None,
    }
}

/// Why a test was refused for its link's own budget.
pub fn link_limit() -> String {
    format!(
        "This setup link allows {TEST_LIMIT} connection tests per {} minutes; nothing was tested or changed.",
        TEST_WINDOW_MS / 60_000
    )
}

/// Too many connection tests (429): `why` names the budget that is spent.
pub fn too_many_tests(path: &str, why: &str, retry_after_ms: i64) -> Problem {
    let minutes = ((retry_after_ms + 59_999) / 60_000).max(1);
    Problem {
        reason: "rate_limited".into(),
        title: "Too many connection tests".into(),
        what: why.into(),
        advice: format!(
            "Wait {minutes} minute{s}, then test again. Meanwhile, compare the app's settings in Okta with the steps on the setup page.",
            s = if minutes == 1 { "" } else { "s" }
        ),
        way_on: Some(WayOn::back_to_setup(path)),
    }
}

/// A POST that is not the setup page's form (415).
pub fn not_the_form(path: &str) -> Problem {
    Problem {
        reason: "bad_request".into(),
        title: "Unsupported request".into(),
        what: "This step expects the form of the setup page; nothing was changed.".into(),
        advice: "Go back to the setup page and use its buttons.".into(),
        way_on: Some(WayOn::back_to_setup(path)),
    }
}

/// A form far larger than three values (413).
pub fn form_too_large(path: &str) -> Problem {
    Problem {
        reason: "too_large".into(),
        title: "The form is too large".into(),
        what: "What was sent is far larger than an Okta domain, a Client ID and a Client secret; nothing was changed.".into(),
        advice: "Go back, paste just the three values from Okta and try again.".into(),
        way_on: Some(WayOn::back_to_setup(path)),
    }
}

// ---- words -----------------------------------------------------------------------------------

/// `acme.okta.com` for a plain Okta org issuer, the issuer URL otherwise.
pub fn domain_for_form(issuer: &str) -> String {
    match issuer.strip_prefix("https://") {
        Some(host) if !host.contains('/') => host.to_string(),
        _ => issuer.to_string(),
    }
}

/// A check of "Test connection" in the words of the form.
fn check_label(name: &str) -> &str {
    match name {
        "discovery" => "Okta answers",
        "issuer" => "Okta domain (issuer)",
        "signing_keys" => "Signing keys (RS256)",
        "client_credentials" => "Client ID and Client secret",
        "redirect_uri" => "Sign-in redirect URI",
        other => other,
    }
}

/// The fix texts of `sso_check` speak to the SSO page's owner and the operator; here the
/// person fixes the values in the form below.
fn fix_for_setup_page(fix: &str) -> String {
    let mut s = fix
        .replace(
            "the Okta domain registered with Tessera",
            "the Okta domain you entered",
        )
        .replace(
            ", then use \"Rotate client secret\" in Tessera (owner), or ask the service operator to run `tessera sso set`.",
            ", and paste both into the form below.",
        )
        .replace(" (it must match the one shown here)", "");
    if let Some(i) = s.find(" The service operator changes it with") {
        s.truncate(i);
        s.push_str(" Correct it in the form below.");
    }
    s
}

/// `1 member`, `3 members`.
fn members(n: i64) -> String {
    if n == 1 {
        "1 member".to_string()
    } else {
        format!("{n} members")
    }
}

// ---- components ------------------------------------------------------------------------------
//
// Sentences that carry a value are formatted into one text node: the page reads (and is
// searched by tests) as one sentence, without markers between adjacent text nodes.

/// The setup page: the steps in Okta's words, the values to paste and the form.
#[component]
pub fn SetupPage(page: SetupLinkPage, form: SetupForm) -> impl IntoView {
    let org = page.org_name.clone();
    view! {
        <h1 id="setup-title">{format!("Connect {org} to Okta")}</h1>
        <p>
            "With this page you, the Okta administrator of " <strong>{org.clone()}</strong>
            ", connect your Okta org to Tessera yourself: create the app in Okta, test it here and save. Nobody needs to receive your Client secret."
        </p>
        <p class="muted" id="setup-expiry">
            {format!(
                "This link works once (saving uses it up) until {}.",
                super::format_ms(page.expires_at),
            )}
        </p>
        <StepCreate redirect_uri=page.redirect_uri.clone() />
        <StepLogin initiate_login_uri=page.initiate_login_uri.clone() />
        <StepAssign org_name=org.clone() />
        <section class="card" id="step-credentials">
            <h2>"4. Enter the credentials and test"</h2>
            <p>
                "On the app's " <strong>"General"</strong> " tab, under "
                <strong>"Client Credentials"</strong> ", copy the " <strong>"Client ID"</strong>
                " and the " <strong>"Client secret"</strong> "."
            </p>
            <CredentialsForm page form />
        </section>
    }
}

/// Step 1: the app integration, with the redirect URI to paste.
#[component]
fn StepCreate(redirect_uri: String) -> impl IntoView {
    view! {
        <section class="card" id="step-create">
            <h2>"1. Create the app integration in Okta"</h2>
            <ol>
                <li>
                    "Sign in to your Okta Admin Console and go to "
                    <strong>"Applications → Applications"</strong> ". Click "
                    <strong>"Create App Integration"</strong> "."
                </li>
                <li>
                    "Sign-in method: " <strong>"OIDC - OpenID Connect"</strong>
                    ". Application type: " <strong>"Web Application"</strong> ". Click "
                    <strong>"Next"</strong> "."
                </li>
                <li>
                    "App integration name: " <strong>"Tessera"</strong>
                    " (any name; it is the tile people see). Grant type: keep "
                    <strong>"Authorization Code"</strong> "."
                </li>
                <li>
                    "Sign-in redirect URIs: replace the example with "
                    <code class="code" id="redirect-uri">{redirect_uri}</code>
                </li>
                <li>"Sign-out redirect URIs: remove the example; Tessera does not use one."</li>
                <li>
                    "Assignments, Controlled access: choose who may use Tessera (you can change it later). Click "
                    <strong>"Save"</strong> "."
                </li>
            </ol>
        </section>
    }
}

/// Step 2: the LOGIN settings, with the initiate login URI to paste.
#[component]
fn StepLogin(initiate_login_uri: String) -> impl IntoView {
    view! {
        <section class="card" id="step-login">
            <h2>"2. Let people start from their Okta dashboard"</h2>
            <p>
                "On the app's " <strong>"General"</strong> " tab, under "
                <strong>"General Settings"</strong> ", click " <strong>"Edit"</strong> ". In the "
                <strong>"LOGIN"</strong> " section set:"
            </p>
            <dl class="facts">
                <dt>"Login initiated by"</dt>
                <dd>
                    <strong id="login-initiated-by">"Either Okta or App"</strong>
                </dd>
                <dt>"Application visibility"</dt>
                <dd>
                    "tick " <strong id="application-visibility">"Display application icon to users"</strong>
                </dd>
                <dt>"Login flow"</dt>
                <dd>
                    <strong id="login-flow">"Redirect to app to initiate login (OIDC Compliant)"</strong>
                    " (not \"Send ID Token directly to app (Okta Simplified)\")"
                </dd>
                <dt>"Initiate login URI"</dt>
                <dd>
                    <code class="code" id="initiate-login-uri">{initiate_login_uri}</code>
                </dd>
            </dl>
            <p>"Click " <strong>"Save"</strong> "."</p>
        </section>
    }
}

/// Step 3: assignments; the first person to sign in becomes the owner.
#[component]
fn StepAssign(org_name: String) -> impl IntoView {
    view! {
        <section class="card" id="step-assign">
            <h2>"3. Assign people"</h2>
            <p>
                "On the app's " <strong>"Assignments"</strong> " tab click "
                <strong>"Assign → Assign to People"</strong> " or "
                <strong>"Assign to Groups"</strong>
                {format!(
                    " and add everyone who should use Tessera. Include yourself to try it: the first person who signs in becomes the owner of {org_name} in Tessera.",
                )}
            </p>
        </section>
    }
}

/// Step 4's form: a plain POST to `{path}/test`; Save posts the same fields to `{path}/save`.
#[component]
fn CredentialsForm(page: SetupLinkPage, form: SetupForm) -> impl IntoView {
    let SetupForm {
        domain,
        client_id,
        secret_kept,
        can_save,
        error,
        report,
        issuer_change,
    } = form;
    let domain_hint = if page.allow_http_issuers {
        "Your Okta org's address without \"-admin\", e.g. acme.okta.com, or a full issuer URL (this server also accepts http:// issuers for local development)."
    } else {
        "Your Okta org's address without \"-admin\", e.g. acme.okta.com, or a full issuer URL such as https://acme.okta.com."
    };
    let secret_hint = if secret_kept {
        "Leave empty to reuse the Client secret of your last test (only with the same Okta domain and Client ID)."
    } else {
        "Okta shows it once under Client Credentials → Client secrets: copy it with the copy icon."
    };
    let save_note = if can_save {
        "The test passed: Save stores the connection and turns single sign-on on."
    } else {
        "Save becomes available once Test connection passes with these values."
    };
    // A refused save with the warning shown: the warning is what to act on.
    let highlight = error.is_some();
    let org_name = page.org_name;
    view! {
        {error.map(|e| view! { <p class="notice error" id="form-error" role="alert">{e}</p> })}
        <form
            method="post"
            action=format!("{}/test", page.path)
            id="setup-form"
            class="stack"
            autocomplete="off"
        >
            <label for="okta-domain">"Okta domain"</label>
            <input
                type="text"
                id="okta-domain"
                name="okta_domain"
                value=domain
                placeholder="acme.okta.com"
                maxlength=MAX_ISSUER_INPUT
                required
                spellcheck="false"
            />
            <p class="muted">{domain_hint}</p>
            <label for="client-id">"Client ID"</label>
            <input
                type="text"
                id="client-id"
                name="client_id"
                value=client_id
                placeholder="0oa1b2c3d4e5f6g7h8i9"
                maxlength=MAX_CLIENT_ID
                required
                spellcheck="false"
            />
            <label for="client-secret">"Client secret"</label>
            <input
                type="password"
                id="client-secret"
                name="client_secret"
                value=""
                maxlength=MAX_SECRET
                autocomplete="new-password"
                required=!secret_kept
            />
            <p class="muted" id="client-secret-hint">{secret_hint}</p>
            {report.map(|report| view! { <TestReport report /> })}
            {issuer_change
                .map(|change| view! { <IssuerChangeWarning org_name change highlight /> })}
            <div class="row">
                <button
                    type="submit"
                    class=(!can_save).then_some("primary")
                    id="test-connection"
                >
                    "Test connection"
                </button>
                <button
                    type="submit"
                    class=can_save.then_some("primary")
                    id="save"
                    formaction=format!("{}/save", page.path)
                    disabled=!can_save
                >
                    "Save"
                </button>
            </div>
            <p class="muted" id="save-note">{save_note}</p>
        </form>
    }
}

/// The report of "Test connection": one line per check, with what to fix in the form.
#[component]
pub fn TestReport(report: ConnectionReport) -> impl IntoView {
    let (class, head) = if report.ok {
        (
            "report ok",
            "All checks passed: click Save to connect Okta.",
        )
    } else {
        (
            "report failed",
            "The connection test failed: fix what is marked below, then test again.",
        )
    };
    view! {
        <section class=class id="test-report" data-ok=report.ok.to_string() aria-live="polite">
            <h3>{head}</h3>
            <ul class="checks">
                {report.checks.into_iter().map(|check| view! { <CheckLine check /> }).collect_view()}
            </ul>
        </section>
    }
}

/// One check of the report: `<li class="check ok|failed" data-check="…">`.
#[component]
fn CheckLine(check: ConnectionCheck) -> impl IntoView {
    let ConnectionCheck {
        name,
        ok,
        message,
        fix,
    } = check;
    let (class, mark) = if ok {
        ("check ok", "✓")
    } else {
        ("check failed", "✗")
    };
    let fix = (!ok && !fix.is_empty()).then(|| fix_for_setup_page(&fix));
    let label = format!("{mark} {}", check_label(&name));
    // `class` as the first attribute, written as a plain one: the report is read as
    // `<li class="check …" data-check="…">`, while Leptos writes `class=` after the others.
    view! {
        <li {custom_attribute("class", class)} data-check=name>
            <strong>{label}</strong>
            {format!(" {message}")}
            {fix.map(|fix| view! { <p class="advice">{fix}</p> })}
        </li>
    }
}

/// The warning and confirmation checkbox shown when the form's Okta org is not the one the
/// org's members are keyed to; `highlight` after a save that needed the confirmation.
#[component]
pub fn IssuerChangeWarning(
    org_name: String,
    change: IssuerChange,
    highlight: bool,
) -> impl IntoView {
    let from = domain_for_form(&change.from);
    let to = domain_for_form(&change.to);
    view! {
        <section
            class=if highlight { "notice error" } else { "notice" }
            id="issuer-change-warning"
            data-members=change.members
            role="alert"
        >
            <p>
                <strong>
                    {format!("This is a different Okta org than the one {org_name} uses now ({from}).")}
                </strong>
                {format!(
                    " {} of {org_name} are known by their identity in that Okta org. After saving, their next sign-in creates a new, separate member instead (the owner included, who then can no longer manage {org_name}), until your Tessera contact moves the existing members over to the new Okta org.",
                    members(change.members),
                )}
            </p>
            <label class="check">
                <input
                    type="checkbox"
                    id="confirm-issuer-change"
                    name="confirm_issuer_change"
                    value="yes"
                />
                {format!(" I understand: connect {org_name} to the new Okta org ({to}) anyway.")}
            </label>
        </section>
    }
}

/// "Okta is connected": what was saved and what happens next.
#[component]
pub fn SetupDone(saved: SetupSaved) -> impl IntoView {
    let SetupSaved {
        org_name,
        issuer,
        client_id,
        had_owner,
        issuer_change,
    } = saved;
    let next = match issuer_change.filter(|c| c.members > 0) {
        Some(c) => view! {
            <p class="notice error" id="setup-next" data-members=c.members>
                {format!(
                    "Single sign-on for {org_name} now uses this Okta org. The {} existing member(s), who signed in through {}, are not recognised until your Tessera contact moves them to the new Okta org: ask them to do it now, before people sign in.",
                    c.members,
                    domain_for_form(&c.from),
                )}
            </p>
        }
        .into_any(),
        None if had_owner => view! {
            <p class="notice ok" id="setup-next">
                {format!(
                    "Single sign-on for {org_name} is updated: it now uses this Okta app. Members sign in from its tile in their Okta dashboard, as before.",
                )}
            </p>
        }
        .into_any(),
        None => view! {
            <p class="notice ok" id="setup-next">
                {format!(
                    "Click the app's tile in your Okta dashboard now: the first person to sign in becomes the owner of {org_name} in Tessera.",
                )}
            </p>
            <p>
                {format!(
                    "Everyone else you assigned to the app signs in the same way and joins {org_name} as a member.",
                )}
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="card" id="setup-done">
            <h1>"Okta is connected"</h1>
            {next}
            <dl class="facts">
                <dt>"Okta domain"</dt>
                <dd>
                    <span class="code">{issuer}</span>
                </dd>
                <dt>"Client ID"</dt>
                <dd>
                    <span class="code">{client_id}</span>
                </dd>
                <dt>"Single sign-on"</dt>
                <dd>
                    <span class="status enabled">"enabled"</span>
                </dd>
            </dl>
            <p class="muted">
                {format!(
                    "This setup link is now used up. To change the connection later, ask the owner of {org_name} in Tessera for a new one.",
                )}
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> SetupLinkPage {
        SetupLinkPage {
            org_name: "Globex <Corp>".into(),
            path: "/setup/tok".into(),
            expires_at: 1_795_730_703_639,
            redirect_uri: "https://t.example/sso/callback".into(),
            initiate_login_uri: "https://t.example/sso/initiate".into(),
            allow_http_issuers: false,
        }
    }

    /// The attributes of the element with `id`, up to the end of its start tag.
    fn tag<'a>(html: &'a str, id: &str) -> &'a str {
        let needle = format!("id=\"{id}\"");
        let start = html.find(&needle).expect("the element");
        let start = html[..start].rfind('<').expect("its start tag");
        let end = start + html[start..].find('>').expect("end of tag");
        &html[start..=end]
    }

    #[test]
    fn fix_texts_point_at_the_form() {
        let domain = "Check the Okta domain registered with Tessera: it must be your Okta org URL as shown in the Okta Admin Console (e.g. https://acme.okta.com, not the -admin URL). The service operator changes it with `tessera sso set <org> --okta-domain ...`.";
        let f = fix_for_setup_page(domain);
        assert!(f.contains("the Okta domain you entered"));
        assert!(!f.contains("tessera sso set"));
        assert!(f.ends_with("Correct it in the form below."));
        let creds = "copy the Client ID (it must match the one shown here) and a current Client secret, then use \"Rotate client secret\" in Tessera (owner), or ask the service operator to run `tessera sso set`.";
        let f = fix_for_setup_page(creds);
        assert!(!f.contains("tessera sso set") && !f.contains("Rotate"));
        assert!(f.ends_with("paste both into the form below."));
    }

    #[test]
    fn domains_for_the_form() {
        assert_eq!(domain_for_form("https://acme.okta.com"), "acme.okta.com");
        assert_eq!(
            domain_for_form("https://acme.okta.com/oauth2/default"),
            "https://acme.okta.com/oauth2/default"
        );
        assert_eq!(
            domain_for_form("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000"
        );
    }

    #[test]
    fn a_fresh_form_waits_for_a_test() {
        let html = setup_document(page(), SetupForm::default());
        assert!(html.contains("<title>Connect Globex &lt;Corp&gt; to Okta · Tessera</title>"));
        assert!(html.contains("<main class=\"page setup\">"), "{html}");
        assert!(html.contains("action=\"/setup/tok/test\""), "{html}");
        assert!(html.contains("until 2026-11-26 22:05 UTC."), "{html}");
        let save = tag(&html, "save");
        assert!(save.contains("formaction=\"/setup/tok/save\""), "{save}");
        assert!(save.contains("disabled"), "{save}");
        assert!(tag(&html, "test-connection").contains("class=\"primary\""));
        assert!(tag(&html, "client-secret").contains("required"));
        assert!(!html.contains("id=\"form-error\""));
        assert!(!html.contains("id=\"test-report\""));
    }

    #[test]
    fn a_passed_test_enables_save_and_escapes_what_was_typed() {
        let report = ConnectionReport {
            ok: false,
            checks: vec![
                ConnectionCheck {
                    name: "discovery".into(),
                    ok: true,
                    message: "Okta answered.".into(),
                    fix: String::new(),
                },
                ConnectionCheck {
                    name: "client_credentials".into(),
                    ok: false,
                    message: "Okta refused <them>.".into(),
                    fix: "copy the Client ID (it must match the one shown here) and a current Client secret, then use \"Rotate client secret\" in Tessera (owner), or ask the service operator to run `tessera sso set`.".into(),
                },
            ],
        };
        let form = SetupForm {
            domain: "<script>\"x\"".into(),
            client_id: "tessera-globex".into(),
            secret_kept: true,
            can_save: true,
            error: Some("Nothing <was> saved.".into()),
            report: Some(report),
            issuer_change: Some(IssuerChange {
                from: "https://old.okta.com".into(),
                to: "https://new.okta.com".into(),
                members: 1,
            }),
        };
        let html = setup_document(page(), form);
        assert!(!tag(&html, "save").contains("disabled"), "{html}");
        assert!(!tag(&html, "client-secret").contains("required"));
        assert!(
            html.contains("value=\"&lt;script&gt;&quot;x&quot;\""),
            "{html}"
        );
        assert!(html.contains("Nothing &lt;was&gt; saved."), "{html}");
        assert!(html.contains("data-ok=\"false\""), "{html}");
        assert!(
            html.contains("<li class=\"check ok\" data-check=\"discovery\">"),
            "{html}"
        );
        assert!(
            html.contains("<li class=\"check failed\" data-check=\"client_credentials\">"),
            "{html}"
        );
        assert!(html.contains("paste both into the form below"), "{html}");
        assert!(html.contains("Okta refused &lt;them&gt;."), "{html}");
        assert!(html.contains("Leave empty to reuse"), "{html}");
        let warning = tag(&html, "issuer-change-warning");
        assert!(warning.contains("class=\"notice error\""), "{warning}");
        assert!(warning.contains("data-members=\"1\""), "{warning}");
        for text in [
            "This is a different Okta org than the one Globex &lt;Corp&gt; uses now (old.okta.com).",
            "1 member of Globex &lt;Corp&gt; are known",
            "name=\"confirm_issuer_change\"",
            "I understand: connect Globex &lt;Corp&gt; to the new Okta org (new.okta.com) anyway.",
        ] {
            assert!(html.contains(text), "lacks {text:?}: {html}");
        }
    }

    #[test]
    fn the_done_page_says_what_happens_next() {
        let saved = |had_owner: bool, members: Option<i64>| SetupSaved {
            org_name: "acme Inc".into(),
            issuer: "https://acme.okta.com".into(),
            client_id: "0oa1".into(),
            had_owner,
            issuer_change: members.map(|members| IssuerChange {
                from: "https://old.okta.com".into(),
                to: "https://acme.okta.com".into(),
                members,
            }),
        };
        let first = saved_document(saved(false, None));
        assert!(first.contains("<title>Okta is connected · Tessera</title>"));
        assert!(first.contains("id=\"setup-done\""));
        assert!(
            first.contains(
                "Click the app's tile in your Okta dashboard now: the first person to sign in becomes the owner"
            ),
            "{first}"
        );
        let updated = saved_document(saved(true, Some(0)));
        assert!(
            updated.contains("Single sign-on for acme Inc is updated"),
            "{updated}"
        );
        assert!(!updated.contains("becomes the owner"));
        let moved = saved_document(saved(true, Some(3)));
        assert!(moved.contains("data-members=\"3\""), "{moved}");
        assert!(moved.contains("are not recognised until your Tessera contact moves them"));
    }

    #[test]
    fn too_many_tests_rounds_up_to_minutes() {
        let p = too_many_tests("/setup/tok", &link_limit(), 61_000);
        assert_eq!(p.reason, "rate_limited");
        assert!(
            p.what.contains("10 connection tests per 10 minutes"),
            "{}",
            p.what
        );
        assert!(p.advice.starts_with("Wait 2 minutes,"), "{}", p.advice);
        assert_eq!(p.way_on, Some(WayOn::back_to_setup("/setup/tok")));
        assert!(
            too_many_tests("/s", "x", 1)
                .advice
                .starts_with("Wait 1 minute,")
        );
    }
}
