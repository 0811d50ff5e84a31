//! The self-service setup page behind a one-time link (`/setup/<token>`): the steps in the
//! words of Okta's Admin Console, the two values to paste into Okta, the form (Okta domain,
//! Client ID, Client secret) with its "Test connection" report, the "Okta is connected" page,
//! and the problem pages of the flow.
//!
//! Rendered by the server into whole documents ([`super::document`]) without WASM: the form is
//! a plain `<form method="post">` to `/setup/<token>/test` (and `…/save` through its Save
//! button), so it works without JavaScript. The server answers each post with a redirect back
//! to the page at `#report`, the result region next to the buttons. The secret is never put
//! into the page.
//!
//! One small script, [`SETUP_SCRIPT`] (served by the server from its own origin, so the strict
//! CSP allows it without `'unsafe-inline'`), shows the Copy buttons of the two values to paste
//! into Okta and focuses the result region; without JavaScript the buttons stay hidden and the
//! values are plain selectable text.

use super::document;
use super::problem::{Problem, WayOn};
use crate::api::types::{ConnectionCheck, ConnectionReport};
use crate::ssr::connection::IssuerChange;
use crate::ssr::setup_links::{GONE_MESSAGE, MAX_ISSUER_INPUT, TEST_LIMIT, TEST_WINDOW_MS};
use leptos::prelude::*;
use leptos::tachys::html::attribute::custom::custom_attribute;

/// The setup page's script (copy buttons, focus of the result region), served by the server.
pub const SETUP_SCRIPT: &str = "/assets/setup.js";

/// The `id` of the result region the server's redirects point at (`/setup/<token>#report`).
pub const REPORT_ID: &str = "report";

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
    /// The org's short name: "Sign in now" starts its Okta sign-in (`/sso/start?org=…`).
    pub org_slug: String,
    pub issuer: String,
    pub client_id: String,
    /// The org had an owner already: the connection was replaced, nobody new becomes owner.
    pub had_owner: bool,
    /// The Okta org changed while members were keyed to the old one.
    pub issuer_change: Option<IssuerChange>,
    /// The optional "Provisioning" step (SCIM); `None` hides it.
    pub provisioning: Option<SetupProvisioning>,
    /// The optional "Universal Logout and Shared Signals" step; `None` hides it.
    pub signals: Option<SetupSignals>,
}

/// The "Okta is connected" page's optional step: where Okta's Universal Logout and Shared
/// Signals reach Tessera.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupSignals {
    /// Okta's "Global token revocation endpoint" (`{public_url}/oauth/global-token-revocation`).
    pub universal_logout_endpoint: String,
    /// The Shared Signals receiver's push endpoint (`{public_url}/ssf/events`).
    pub ssf_endpoint: String,
    /// The `aud` the org's Security Event Tokens carry (`{public_url}/ssf/orgs/{slug}`).
    pub ssf_audience: String,
}

/// The "Okta is connected" page's optional step: SCIM provisioning, with a token made on the
/// spot ([`crate::ssr::setup_links::create_scim_token`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupProvisioning {
    /// Where "Create SCIM token" posts: `/setup/<token>/scim-token`.
    pub action: String,
    /// Okta's "SCIM connector base URL" (`{public_url}/scim/v2`).
    pub base_url: String,
    /// The link was saved moments ago: the button is offered.
    pub can_create: bool,
    /// What the last click did, shown in the result region (`#report`).
    pub outcome: Option<ScimStep>,
}

/// What "Create SCIM token" did, as the next page shows it. Travels from the post to that page
/// in the setup page's sealed flash cookie, never in a URL; a token is shown once.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScimStep {
    /// A token, to show this once.
    Created {
        secret: String,
        hint: String,
        mode_switched: bool,
    },
    /// A token was shown already (a reload): only its last four characters.
    Shown { hint: String },
    /// Nothing was created, and why (e.g. two tokens are active already).
    Refused(String),
}

impl ScimStep {
    /// What a later load of the page may show of this step: a token never twice, a refusal once.
    pub fn after_shown(&self) -> Option<ScimStep> {
        match self {
            ScimStep::Created { hint, .. } | ScimStep::Shown { hint } => {
                Some(ScimStep::Shown { hint: hint.clone() })
            }
            ScimStep::Refused(_) => None,
        }
    }
}

/// The whole document of the setup page.
pub fn setup_document(page: SetupLinkPage, form: SetupForm) -> String {
    let title = format!("Connect {} to Okta", page.org_name);
    document::render(&title, document::SETUP, view! { <SetupPage page form /> })
}

/// The whole document of "Okta is connected" (with the setup script when an optional step
/// shows values to copy).
pub fn saved_document(saved: SetupSaved) -> String {
    let script = saved.provisioning.is_some() || saved.signals.is_some();
    document::render(
        "Okta is connected",
        document::NARROW,
        view! {
            <SetupDone saved />
            {script
                .then(|| {
                    view! {
                        <p class="visually-hidden" id="copy-status" role="status"></p>
                        <script src=SETUP_SCRIPT defer></script>
                    }
                })}
        },
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

/// The fix texts of `sso_check` speak to the SSO page's owner and the operator; here the
/// person fixes the values in the form below.
fn fix_for_setup_page(fix: &str) -> String {
    let mut s = fix
        .replace(
            "the Okta domain registered with Tessera",
            "the Okta domain you entered",
        )
        .replace(
            ", then use \"Rotate client secret\" in Tessera (owner), or ask the service operator.",
            ", and paste both into the form below.",
        )
        .replace(
            ", then use \"Rotate client secret\" in Tessera (owner).",
            ", and paste it into the form below.",
        )
        .replace(" (it must match the one shown here)", "");
    if let Some(i) = s.find(" The service operator changes it") {
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
        <p class="visually-hidden" id="copy-status" role="status"></p>
        <script src=SETUP_SCRIPT defer></script>
    }
}

/// A value to paste into Okta: selectable text, and a Copy button that the setup script shows
/// (hidden without JavaScript, where the text alone remains).
#[component]
fn CopyText(id: &'static str, value: String, what: &'static str) -> impl IntoView {
    view! {
        <span class="copy">
            <code class="code" id=id>{value}</code>
            <button
                type="button"
                class="small"
                data-copy=id
                data-copy-what=what
                id=format!("copy-{id}")
                hidden
            >
                "Copy"
            </button>
        </span>
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
                    <CopyText id="redirect-uri" value=redirect_uri what="Sign-in redirect URI" />
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
                    <CopyText
                        id="initiate-login-uri"
                        value=initiate_login_uri
                        what="Initiate login URI"
                    />
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
    // The result of the last step, next to the buttons that caused it: the server's redirect
    // after each post points here (`#report`), the region takes focus.
    let result = (error.is_some() || report.is_some()).then(|| {
        view! {
            <section
                class="result"
                id=REPORT_ID
                tabindex="-1"
                aria-label="Result of the last step"
            >
                {error
                    .map(|e| view! { <p class="notice error" id="form-error" role="alert">{e}</p> })}
                {report.map(|report| view! { <TestReport report /> })}
            </section>
        }
    });
    view! {
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
            {result}
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

/// The report of "Test connection": one line per check that ran, with what to fix in the form,
/// and one line for the checks that could not run.
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
                {report
                    .not_checked
                    .map(|n| {
                        view! {
                            <li
                                {custom_attribute("class", "check skipped")}
                                id="not-checked"
                                data-not-checked=n.names.join(" ")
                                data-because=n.because
                            >
                                {n.message}
                            </li>
                        }
                    })}
            </ul>
        </section>
    }
}

/// One check of the report: `<li class="check ok|failed" data-check="…">`.
#[component]
fn CheckLine(check: ConnectionCheck) -> impl IntoView {
    let ConnectionCheck {
        name,
        label,
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
    let label = format!("{mark} {}", if label.is_empty() { &name } else { &label });
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

/// "Okta is connected": what was saved, what happens next (people sign in from the Tessera
/// tile in their Okta dashboard, once assigned to the app in Okta) and the way on into Tessera.
#[component]
pub fn SetupDone(saved: SetupSaved) -> impl IntoView {
    let SetupSaved {
        org_name,
        org_slug,
        issuer,
        client_id,
        had_owner,
        issuer_change,
        provisioning,
        signals,
    } = saved;
    let org_for_step = org_name.clone();
    let org_for_signals = org_name.clone();
    let first_owner = !had_owner && issuer_change.as_ref().is_none_or(|c| c.members == 0);
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
        }
        .into_any(),
    };
    let sign_in = format!(
        "/sso/start?org={}",
        url::form_urlencoded::byte_serialize(org_slug.as_bytes()).collect::<String>()
    );
    view! {
        <section class="card" id="setup-done">
            <h1>"Okta is connected"</h1>
            {next}
            <h2>"What happens next"</h2>
            <ol id="next-steps">
                <li>
                    "In Okta, on the app's " <strong>"Assignments"</strong> " tab, assign the people or groups who should use Tessera ("
                    <strong>"Assign → Assign to People"</strong> " or "
                    <strong>"Assign to Groups"</strong>
                    "). Only people assigned to the app can sign in."
                </li>
                <li>
                    "They sign in from the " <strong>"Tessera"</strong>
                    {format!(
                        " tile in their Okta dashboard (My Apps){}",
                        if first_owner {
                            format!(
                                "; the first of them becomes the owner of {org_name}, everyone after joins as a member."
                            )
                        } else {
                            format!(" and are in {org_name} at once.")
                        },
                    )}
                </li>
            </ol>
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
            <p class="row" id="way-on">
                <a class="button" id="sign-in-now" href=sign_in>
                    {format!("Sign in to {org_name} now")}
                </a>
                <a href="/login" id="tessera-sign-in">
                    "Tessera's sign-in page"
                </a>
            </p>
            <p class="muted">
                {format!(
                    "This setup link is now used up. To change the connection later, ask the owner of {org_name} in Tessera for a new one.",
                )}
            </p>
        </section>
        {provisioning.map(|step| view! { <ProvisioningStep step org_name=org_for_step /> })}
        {signals.map(|step| view! { <SignalsStep step org_name=org_for_signals /> })}
    }
}

/// "Universal Logout and Shared Signals (optional)": where, in Okta, the endpoints go that let
/// Okta sign people out of Tessera.
#[component]
fn SignalsStep(step: SetupSignals, org_name: String) -> impl IntoView {
    let SetupSignals {
        universal_logout_endpoint,
        ssf_endpoint,
        ssf_audience,
    } = step;
    view! {
        <section class="card" id="setup-signals">
            <h2>"Universal Logout and Shared Signals (optional)"</h2>
            <p>
                "When you clear a person's sessions in Okta, or Okta's threat protection sees a stolen session, Okta can sign them out of Tessera too, within a second."
            </p>
            <h3>"Universal Logout"</h3>
            <ol class="okta-steps" id="setup-universal-logout-steps">
                <li>
                    "On the app's " <strong>"General"</strong> " tab, under "
                    <strong>"Logout"</strong> ", click " <strong>"Edit"</strong>
                    " and turn on " <strong>"Universal Logout"</strong> "."
                </li>
                <li>
                    "Global token revocation endpoint: "
                    <CopyText
                        id="universal-logout-endpoint"
                        value=universal_logout_endpoint
                        what="Global token revocation endpoint"
                    />
                </li>
                <li>
                    "Subject format: " <strong>"Issuer and Subject identifier"</strong> " (or "
                    <strong>"Email"</strong> "). Click " <strong>"Save"</strong> "."
                </li>
            </ol>
            <h3>"Shared Signals"</h3>
            <p>
                "To send session-revoked and credential-change events too, create an SSF stream in your Okta org (Okta's "
                <strong>"SSF Transmitter"</strong> " API) with " <strong>"push"</strong>
                " delivery to Tessera's receiver:"
            </p>
            <dl class="facts">
                <dt>"Receiver endpoint (push)"</dt>
                <dd>
                    <CopyText id="ssf-endpoint" value=ssf_endpoint what="receiver endpoint" />
                </dd>
                <dt>"Audience (aud)"</dt>
                <dd>
                    <CopyText id="ssf-audience" value=ssf_audience what="audience" />
                </dd>
            </dl>
            <p class="muted" id="setup-signals-note">
                {format!(
                    "Tessera acts on them while single sign-on is on and the owner of {org_name} has them turned on (they are by default; the SSO page in Tessera shows the last signal received).",
                )}
            </p>
        </section>
    }
}

/// "Provisioning (optional)": the SCIM connector base URL, "Create SCIM token" (a plain POST,
/// answered with a redirect back here at `#report`), and the token shown once with where it
/// goes in Okta.
#[component]
fn ProvisioningStep(step: SetupProvisioning, org_name: String) -> impl IntoView {
    let SetupProvisioning {
        action,
        base_url,
        can_create,
        outcome,
    } = step;
    let result = outcome.map(|outcome| {
        let body = match outcome {
            ScimStep::Created {
                secret,
                hint: _,
                mode_switched,
            } => view! {
                <div class="token-once" id="scim-token-created">
                    <h3>"Your SCIM token — copy it now"</h3>
                    <p>
                        <strong>"It is shown only this once"</strong>
                        " (Tessera keeps only a hash of it): paste it into Okta as described below."
                    </p>
                    <p>
                        <CopyText id="scim-token" value=secret what="SCIM token" />
                    </p>
                    {mode_switched
                        .then(|| {
                            view! {
                                <p class="notice ok" id="scim-mode-switched">
                                    {format!(
                                        "The provisioning mode of {org_name} moved from jit to both: Okta's SCIM requests are accepted from now on, and sign-in works as before.",
                                    )}
                                </p>
                            }
                        })}
                </div>
            }
            .into_any(),
            ScimStep::Shown { hint } => view! {
                <p class="notice" id="scim-token-shown">
                    {format!(
                        "A SCIM token (ending in …{hint}) was created and shown once; it is not shown again. If you did not copy it, the owner of {org_name} can revoke it and create another on the SSO page in Tessera.",
                    )}
                </p>
            }
            .into_any(),
            ScimStep::Refused(why) => view! {
                <p class="notice error" id="scim-token-error" role="alert">{why}</p>
            }
            .into_any(),
        };
        view! {
            <section class="result" id=REPORT_ID tabindex="-1" aria-label="Result of the last step">
                {body}
            </section>
        }
    });
    view! {
        <section class="card" id="setup-provisioning">
            <h2>"Provisioning (optional)"</h2>
            <p>
                "With SCIM provisioning Okta creates and updates people in Tessera, and they leave the moment Okta unassigns or deactivates them. Their roles can come from Okta groups (the owner maps them in Tessera)."
            </p>
            <dl class="facts">
                <dt>"SCIM connector base URL"</dt>
                <dd>
                    <CopyText id="scim-base-url" value=base_url.clone() what="SCIM connector base URL" />
                </dd>
            </dl>
            {result}
            {if can_create {
                view! {
                    <form method="post" action=action id="scim-token-form">
                        <button type="submit" class="primary" id="create-scim-token">
                            "Create SCIM token"
                        </button>
                    </form>
                    <p class="muted">"The token is shown once. At most two tokens are active at a time."</p>
                }
                .into_any()
            } else {
                view! {
                    <p class="muted" id="scim-step-closed">
                        {format!(
                            "Tokens can no longer be created here: the owner of {org_name} creates them on the SSO page in Tessera (Provisioning).",
                        )}
                    </p>
                }
                .into_any()
            }}
            <h3>"In the Okta Admin Console"</h3>
            <super::provisioning::OktaSteps base_url />
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
        let domain = "Check the Okta domain registered with Tessera: it must be your Okta org URL as shown in the Okta Admin Console (e.g. https://acme.okta.com, not the -admin URL). The service operator changes it, or you can send your Okta admin a setup link from the SSO page.";
        let f = fix_for_setup_page(domain);
        assert!(f.contains("the Okta domain you entered"));
        assert!(!f.contains("tessera sso set"));
        assert!(f.ends_with("Correct it in the form below."));
        let creds = "copy the Client ID (it must match the one shown here) and a current Client secret, then use \"Rotate client secret\" in Tessera (owner), or ask the service operator.";
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
    fn the_values_for_okta_have_copy_buttons_that_need_the_script() {
        let html = setup_document(page(), SetupForm::default());
        for (id, value) in [
            ("redirect-uri", "https://t.example/sso/callback"),
            ("initiate-login-uri", "https://t.example/sso/initiate"),
        ] {
            assert!(
                html.contains(&format!("<code id=\"{id}\" class=\"code\">{value}</code>")),
                "{html}"
            );
            let button = tag(&html, &format!("copy-{id}"));
            assert!(
                button.contains(&format!("data-copy=\"{id}\""))
                    && button.contains("hidden")
                    && button.contains("type=\"button\""),
                "{button}"
            );
        }
        // The only script is the server's file: no inline script for the CSP to allow.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(
            html.contains("<script src=\"/assets/setup.js\" defer"),
            "{html}"
        );
        assert!(!html.contains("id=\"report\""), "no result yet: {html}");
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
                    label: "Okta answers".into(),
                    ok: true,
                    message: "Okta answered.".into(),
                    fix: String::new(),
                },
                ConnectionCheck {
                    name: "client_credentials".into(),
                    label: "Client ID and Client secret".into(),
                    ok: false,
                    message: "Okta refused <them>.".into(),
                    fix: "copy the Client ID (it must match the one shown here) and a current Client secret, then use \"Rotate client secret\" in Tessera (owner), or ask the service operator.".into(),
                },
            ],
            not_checked: Some(crate::api::types::NotChecked {
                names: vec!["redirect_uri".into()],
                because: "client_credentials".into(),
                message: "Not checked because “Client ID and Client secret” failed: Sign-in redirect URI (it needs a valid Client ID).".into(),
            }),
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
        assert!(
            html.contains("<strong>✗ Client ID and Client secret</strong>"),
            "{html}"
        );
        // The checks that could not run: one line, not a failure each.
        let skipped = tag(&html, "not-checked");
        assert!(
            skipped.starts_with("<li class=\"check skipped\"")
                && skipped.contains("data-not-checked=\"redirect_uri\"")
                && skipped.contains("data-because=\"client_credentials\""),
            "{skipped}"
        );
        assert!(!html.contains("data-check=\"redirect_uri\""), "{html}");
        assert!(html.contains(
            "Not checked because “Client ID and Client secret” failed: Sign-in redirect URI (it needs a valid Client ID)."
        ));
        // The result sits in one focusable region, before the buttons.
        let region = tag(&html, "report");
        assert!(
            region.contains("tabindex=\"-1\"") && region.contains("aria-label="),
            "{region}"
        );
        let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap();
        assert!(at("report") < at("form-error") && at("form-error") < at("test-report"));
        assert!(at("test-report") < at("test-connection"));
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
            org_slug: "acme".into(),
            issuer: "https://acme.okta.com".into(),
            client_id: "0oa1".into(),
            had_owner,
            issuer_change: members.map(|members| IssuerChange {
                from: "https://old.okta.com".into(),
                to: "https://acme.okta.com".into(),
                members,
            }),
            provisioning: None,
            signals: None,
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
        // The next step in Okta's words, and the way on into Tessera.
        assert!(first.contains("id=\"next-steps\""), "{first}");
        assert!(first.contains("Only people assigned to the app can sign in."));
        assert!(first.contains(
            " tile in their Okta dashboard (My Apps); the first of them becomes the owner of acme Inc"
        ));
        assert!(tag(&first, "sign-in-now").contains("href=\"/sso/start?org=acme\""));
        assert!(tag(&first, "tessera-sign-in").contains("href=\"/login\""));
        assert!(first.contains("Sign in to acme Inc now"));
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
    fn the_done_page_offers_a_scim_token_and_shows_it_once() {
        let saved = |can_create: bool, outcome: Option<ScimStep>| SetupSaved {
            org_name: "acme <Inc>".into(),
            org_slug: "acme".into(),
            issuer: "https://acme.okta.com".into(),
            client_id: "0oa1".into(),
            had_owner: false,
            issuer_change: None,
            provisioning: Some(SetupProvisioning {
                action: "/setup/tok/scim-token".into(),
                base_url: "https://t.example/scim/v2".into(),
                can_create,
                outcome,
            }),
            signals: None,
        };
        let html = saved_document(saved(true, None));
        assert!(html.contains("Provisioning (optional)"), "{html}");
        assert!(
            html.contains(
                "<code id=\"scim-base-url\" class=\"code\">https://t.example/scim/v2</code>"
            ),
            "{html}"
        );
        assert!(tag(&html, "scim-token-form").contains("action=\"/setup/tok/scim-token\""));
        assert!(tag(&html, "scim-token-form").contains("method=\"post\""));
        assert!(!html.contains("id=\"report\""), "no result yet");
        // The steps in Okta's words; the page's one script, from the server.
        for text in [
            "Unique identifier field for users",
            "userName",
            "HTTP Header",
            "Create Users",
            "Update User Attributes",
            "Deactivate Users",
            "Push Groups",
        ] {
            assert!(html.contains(text), "lacks {text:?}");
        }
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains("<script src=\"/assets/setup.js\" defer"));

        let created = saved_document(saved(
            true,
            Some(ScimStep::Created {
                secret: "tscim_secret<x>".into(),
                hint: "x>".into(),
                mode_switched: true,
            }),
        ));
        let region = tag(&created, "report");
        assert!(region.contains("tabindex=\"-1\""), "{region}");
        assert!(
            created.contains("<code id=\"scim-token\" class=\"code\">tscim_secret&lt;x&gt;</code>")
        );
        assert!(created.contains("shown only this once"));
        assert!(created.contains("moved from jit to both"));
        assert!(tag(&created, "copy-scim-token").contains("hidden"));

        let shown = saved_document(saved(
            true,
            Some(ScimStep::Shown {
                hint: "abcd".into(),
            }),
        ));
        assert!(!shown.contains("tscim_"), "never twice");
        assert!(shown.contains("ending in …abcd"), "{shown}");

        let refused = saved_document(saved(true, Some(ScimStep::Refused("Two <active>.".into()))));
        assert!(tag(&refused, "scim-token-error").contains("role=\"alert\""));
        assert!(refused.contains("Two &lt;active&gt;."));

        let late = saved_document(saved(false, None));
        assert!(!late.contains("id=\"scim-token-form\""), "{late}");
        assert!(late.contains("id=\"scim-step-closed\""));
    }

    #[test]
    fn the_done_page_says_where_universal_logout_and_shared_signals_go() {
        let saved = |signals: Option<SetupSignals>| SetupSaved {
            org_name: "acme <Inc>".into(),
            org_slug: "acme".into(),
            issuer: "https://acme.okta.com".into(),
            client_id: "0oa1".into(),
            had_owner: true,
            issuer_change: None,
            provisioning: None,
            signals,
        };
        let html = saved_document(saved(Some(SetupSignals {
            universal_logout_endpoint: "https://t.example/oauth/global-token-revocation".into(),
            ssf_endpoint: "https://t.example/ssf/events".into(),
            ssf_audience: "https://t.example/ssf/orgs/acme".into(),
        })));
        assert!(
            html.contains("Universal Logout and Shared Signals (optional)"),
            "{html}"
        );
        for (id, value) in [
            (
                "universal-logout-endpoint",
                "https://t.example/oauth/global-token-revocation",
            ),
            ("ssf-endpoint", "https://t.example/ssf/events"),
            ("ssf-audience", "https://t.example/ssf/orgs/acme"),
        ] {
            assert!(
                html.contains(&format!("<code id=\"{id}\" class=\"code\">{value}</code>")),
                "{html}"
            );
            let button = tag(&html, &format!("copy-{id}"));
            assert!(
                button.contains(&format!("data-copy=\"{id}\"")) && button.contains("hidden"),
                "{button}"
            );
        }
        // Where it goes, in Okta's words.
        for text in [
            "Global token revocation endpoint",
            "Logout",
            "Issuer and Subject identifier",
            "SSF Transmitter",
        ] {
            assert!(html.contains(text), "lacks {text:?}");
        }
        assert!(html.contains("the owner of acme &lt;Inc&gt;"), "{html}");
        // The copy buttons need the page's one script.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        // Without the step: no section, no script.
        let without = saved_document(saved(None));
        assert!(!without.contains("id=\"setup-signals\""));
        assert_eq!(without.matches("<script").count(), 0, "{without}");
    }

    #[test]
    fn shown_steps_leave_no_token_and_no_refusal_behind() {
        let created = ScimStep::Created {
            secret: "s".into(),
            hint: "abcd".into(),
            mode_switched: false,
        };
        assert_eq!(
            created.after_shown(),
            Some(ScimStep::Shown {
                hint: "abcd".into()
            })
        );
        assert_eq!(ScimStep::Refused("no".into()).after_shown(), None);
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
