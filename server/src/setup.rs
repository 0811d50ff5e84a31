//! The self-service setup page behind a one-time link (`tessera org setup-link`, or the owner's
//! `POST /api/v1/sso/setup-link`): the customer's Okta administrator, who is not signed in to
//! Tessera, follows the steps in the words of Okta's Admin Console, enters the Okta domain,
//! Client ID and Client Secret, runs "Test connection" and saves.
//!
//! Plain server-rendered HTML: the forms work without JavaScript. The secret is never echoed
//! into the page: after a test it stays on the link, sealed with the instance key together
//! with the issuer and Client ID it was entered with, until the link closes; an empty secret
//! field reuses it only for exactly those values. "Save" is accepted only with exactly the
//! values of the latest passing test, and a different Okta org than the one the org's
//! members sign in with needs the explicit confirmation checkbox. Events go to the org's audit
//! log, bounded per link (see [`app::ssr::setup_links`]).

use crate::pages::{escape, page, page_in};
use crate::sso::{is_form, params};
use crate::state::AppState;
use app::api::ConnectionReport;
use app::model::Org;
use app::ssr::PublicUrl;
use app::ssr::connection::IssuerChange;
use app::ssr::rate_limit::{Budget, limited_message};
use app::ssr::setup_links::{
    self, GONE_MESSAGE, KeptSecret, Lookup, SaveOutcome, SetupLink, TEST_LIMIT, TEST_WINDOW_MS,
    TestSlot, link_audit,
};
use app::ssr::store::StoreError;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::HashMap;

/// Largest accepted form body.
pub const MAX_BODY: usize = 16 * 1024;
/// Longest Client ID and Client Secret accepted (as in `app::validate`).
const MAX_CLIENT_ID: usize = 255;
const MAX_SECRET: usize = 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup/{token}", get(open))
        .route("/setup/{token}/test", get(back_to_page).post(test))
        .route("/setup/{token}/save", get(back_to_page).post(save))
}

// ---- pages -----------------------------------------------------------------------------------

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A problem page of the setup flow, optionally with a way back to the setup page.
fn setup_problem(
    status: StatusCode,
    reason: &str,
    title: &str,
    what: &str,
    advice: &str,
    back: Option<&str>,
) -> Response {
    let back = back
        .map(|href| {
            format!(
                "<p><a class=\"button\" id=\"back-to-setup\" href=\"{}\">Back to the setup page</a></p>",
                escape(href)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<section class=\"card problem\" data-reason=\"{reason}\"><h1>{title}</h1><p>{what}</p>\
         <p class=\"advice\">{advice}</p>{back}<p class=\"muted\">Reason code: <span class=\"code\">{reason}</span></p></section>",
        reason = escape(reason),
        title = escape(title),
        what = escape(what),
        advice = escape(advice),
    );
    page(status, title, &body)
}

/// Unknown, expired, used or revoked: one answer for all.
fn gone() -> Response {
    setup_problem(
        StatusCode::GONE,
        "setup_link_invalid",
        "This setup link cannot be used",
        GONE_MESSAGE,
        "A setup link works once and only for a limited time. Whoever sent it to you (your Tessera contact, or your organization's owner in Tessera) can create a new one.",
        None,
    )
}

fn store_failure(e: StoreError) -> Response {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "setup page: database unavailable");
        setup_problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Tessera is temporarily unavailable",
            "Tessera cannot reach its database right now; nothing was changed.",
            "Wait a moment and try again. If this persists, contact your Tessera contact.",
            None,
        )
    } else {
        tracing::error!(error = %e, "setup page: store error");
        setup_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong",
            "Tessera could not complete this step.",
            "Try again. If this persists, contact your Tessera contact.",
            None,
        )
    }
}

fn setup_path(token: &str) -> String {
    format!("/setup/{token}")
}

/// `2026-11-29 22:05 UTC`.
fn when(ms: i64) -> String {
    let t = crate::cli::format_time(ms);
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => t,
    }
}

/// What the form shows (never the secret).
#[derive(Default)]
struct FormView {
    domain: String,
    client_id: String,
    /// A secret from an earlier test is kept on the link: the field may stay empty.
    secret_kept: bool,
    /// The latest test passed with the values shown: "Save" is enabled.
    can_save: bool,
    error: Option<String>,
    report: Option<ConnectionReport>,
    /// The Okta org in the form differs from the one the org's members sign in with.
    issuer_change: Option<IssuerChange>,
}

impl FormView {
    /// Pre-filled from the link's latest test.
    fn from_link(link: &SetupLink) -> FormView {
        FormView {
            domain: link
                .pending_issuer
                .as_deref()
                .map(domain_for_form)
                .unwrap_or_default(),
            client_id: link.pending_client_id.clone().unwrap_or_default(),
            secret_kept: link.pending_secret_enc.is_some(),
            can_save: link.passed_hash.is_some(),
            ..FormView::default()
        }
    }
}

/// The warning and confirmation checkbox shown when the form's Okta org is not the one the
/// org's members are keyed to.
fn issuer_change_html(org: &Org, change: &IssuerChange, highlight: bool) -> String {
    let members = if change.members == 1 {
        "1 member".to_string()
    } else {
        format!("{} members", change.members)
    };
    format!(
        "<section class=\"notice{cls}\" id=\"issuer-change-warning\" data-members=\"{n}\" role=\"alert\">\
         <p><strong>This is a different Okta org than the one {org} uses now ({from}).</strong> \
         {members} of {org} are known by their identity in that Okta org. After saving, their next sign-in \
         creates a new, separate member instead (the owner included, who then can no longer manage {org}), \
         until your Tessera contact moves the existing members over to the new Okta org.</p>\
         <label class=\"check\"><input type=\"checkbox\" id=\"confirm-issuer-change\" name=\"confirm_issuer_change\" value=\"yes\"> \
         I understand: connect {org} to the new Okta org ({to}) anyway.</label></section>",
        cls = if highlight { " error" } else { "" },
        n = change.members,
        org = escape(&org.name),
        from = escape(&domain_for_form(&change.from)),
        to = escape(&domain_for_form(&change.to)),
    )
}

/// `acme.okta.com` for a plain Okta org issuer, the issuer URL otherwise.
fn domain_for_form(issuer: &str) -> String {
    match issuer.strip_prefix("https://") {
        Some(host) if !host.contains('/') => host.to_string(),
        _ => issuer.to_string(),
    }
}

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

fn report_html(report: &ConnectionReport) -> String {
    let mut out = format!(
        "<section class=\"report {cls}\" id=\"test-report\" data-ok=\"{ok}\" aria-live=\"polite\"><h3>{head}</h3><ul class=\"checks\">",
        cls = if report.ok { "ok" } else { "failed" },
        ok = report.ok,
        head = if report.ok {
            "All checks passed: click Save to connect Okta."
        } else {
            "The connection test failed: fix what is marked below, then test again."
        },
    );
    for c in &report.checks {
        out.push_str(&format!(
            "<li class=\"check {cls}\" data-check=\"{name}\"><strong>{mark} {label}</strong> {message}{fix}</li>",
            cls = if c.ok { "ok" } else { "failed" },
            name = escape(&c.name),
            mark = if c.ok { "✓" } else { "✗" },
            label = escape(check_label(&c.name)),
            message = escape(&c.message),
            fix = if c.ok || c.fix.is_empty() {
                String::new()
            } else {
                format!(
                    "<p class=\"advice\">{}</p>",
                    escape(&fix_for_setup_page(&c.fix))
                )
            },
        ));
    }
    out.push_str("</ul></section>");
    out
}

/// The setup page: the steps in Okta's words, the values to paste and the form.
fn setup_page(
    state: &AppState,
    status: StatusCode,
    token: &str,
    org: &Org,
    link: &SetupLink,
    form: &FormView,
) -> Response {
    let public = PublicUrl(state.config.public_url.clone());
    let redirect_uri = escape(&public.redirect_uri());
    let initiate_uri = escape(&public.initiate_login_uri());
    let org_name = escape(&org.name);
    let base = escape(&setup_path(token));
    let error = form
        .error
        .as_deref()
        .map(|e| {
            format!(
                "<p class=\"notice error\" id=\"form-error\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    let report = form.report.as_ref().map(report_html).unwrap_or_default();
    let issuer_change = form
        .issuer_change
        .as_ref()
        .map(|c| issuer_change_html(org, c, form.error.is_some()))
        .unwrap_or_default();
    let secret_hint = if form.secret_kept {
        "Leave empty to reuse the Client secret of your last test (only with the same Okta domain and Client ID)."
    } else {
        "Okta shows it once under Client Credentials → Client secrets: copy it with the copy icon."
    };
    let domain_hint = if state.config.allow_http_issuers {
        "Your Okta org's address without \"-admin\", e.g. acme.okta.com, or a full issuer URL (this server also accepts http:// issuers for local development)."
    } else {
        "Your Okta org's address without \"-admin\", e.g. acme.okta.com, or a full issuer URL such as https://acme.okta.com."
    };
    let save_disabled = if form.can_save { "" } else { " disabled" };
    let save_note = if form.can_save {
        "The test passed: Save stores the connection and turns single sign-on on."
    } else {
        "Save becomes available once Test connection passes with these values."
    };
    let body = format!(
        r#"<div style="max-width: 760px">
<h1 id="setup-title">Connect {org_name} to Okta</h1>
<p>With this page you, the Okta administrator of <strong>{org_name}</strong>, connect your Okta org to Tessera
yourself: create the app in Okta, test it here and save. Nobody needs to receive your Client secret.</p>
<p class="muted" id="setup-expiry">This link works once (saving uses it up) until {expires}.</p>

<section class="card" id="step-create">
<h2>1. Create the app integration in Okta</h2>
<ol>
<li>Sign in to your Okta Admin Console and go to <strong>Applications → Applications</strong>. Click <strong>Create App Integration</strong>.</li>
<li>Sign-in method: <strong>OIDC - OpenID Connect</strong>. Application type: <strong>Web Application</strong>. Click <strong>Next</strong>.</li>
<li>App integration name: <strong>Tessera</strong> (any name; it is the tile people see). Grant type: keep <strong>Authorization Code</strong>.</li>
<li>Sign-in redirect URIs: replace the example with <code class="code" id="redirect-uri">{redirect_uri}</code></li>
<li>Sign-out redirect URIs: remove the example; Tessera does not use one.</li>
<li>Assignments, Controlled access: choose who may use Tessera (you can change it later). Click <strong>Save</strong>.</li>
</ol>
</section>

<section class="card" id="step-login">
<h2>2. Let people start from their Okta dashboard</h2>
<p>On the app's <strong>General</strong> tab, under <strong>General Settings</strong>, click <strong>Edit</strong>. In the <strong>LOGIN</strong> section set:</p>
<dl class="facts">
<dt>Login initiated by</dt><dd><strong id="login-initiated-by">Either Okta or App</strong></dd>
<dt>Application visibility</dt><dd>tick <strong id="application-visibility">Display application icon to users</strong></dd>
<dt>Login flow</dt><dd><strong id="login-flow">Redirect to app to initiate login (OIDC Compliant)</strong> (not "Send ID Token directly to app (Okta Simplified)")</dd>
<dt>Initiate login URI</dt><dd><code class="code" id="initiate-login-uri">{initiate_uri}</code></dd>
</dl>
<p>Click <strong>Save</strong>.</p>
</section>

<section class="card" id="step-assign">
<h2>3. Assign people</h2>
<p>On the app's <strong>Assignments</strong> tab click <strong>Assign → Assign to People</strong> or <strong>Assign to Groups</strong>
and add everyone who should use Tessera. Include yourself to try it: the first person who signs in becomes the owner of {org_name} in Tessera.</p>
</section>

<section class="card" id="step-credentials">
<h2>4. Enter the credentials and test</h2>
<p>On the app's <strong>General</strong> tab, under <strong>Client Credentials</strong>, copy the <strong>Client ID</strong> and the <strong>Client secret</strong>.</p>
{error}
<form method="post" action="{base}/test" id="setup-form" class="stack" autocomplete="off">
<label for="okta-domain">Okta domain</label>
<input type="text" id="okta-domain" name="okta_domain" value="{domain}" placeholder="acme.okta.com" maxlength="{max_domain}" required spellcheck="false">
<p class="muted">{domain_hint}</p>
<label for="client-id">Client ID</label>
<input type="text" id="client-id" name="client_id" value="{client_id}" placeholder="0oa1b2c3d4e5f6g7h8i9" maxlength="{max_client_id}" required spellcheck="false">
<label for="client-secret">Client secret</label>
<input type="password" id="client-secret" name="client_secret" value="" maxlength="{max_secret}" autocomplete="new-password"{secret_required}>
<p class="muted" id="client-secret-hint">{secret_hint}</p>
{report}
{issuer_change}
<div class="row">
<button type="submit" class="{test_class}" id="test-connection">Test connection</button>
<button type="submit" class="{save_class}" id="save" formaction="{base}/save"{save_disabled}>Save</button>
</div>
<p class="muted" id="save-note">{save_note}</p>
</form>
</section>
</div>"#,
        expires = escape(&when(link.expires_at)),
        domain = escape(&form.domain),
        client_id = escape(&form.client_id),
        max_domain = setup_links::MAX_ISSUER_INPUT,
        max_client_id = MAX_CLIENT_ID,
        max_secret = MAX_SECRET,
        secret_required = if form.secret_kept { "" } else { " required" },
        test_class = if form.can_save { "" } else { "primary" },
        save_class = if form.can_save { "primary" } else { "" },
    );
    page_in(
        status,
        &format!("Connect {} to Okta", org.name),
        "page setup",
        &body,
    )
}

fn done_page(
    org: &Org,
    issuer: &str,
    client_id: &str,
    had_owner: bool,
    change: Option<&IssuerChange>,
) -> Response {
    let org_name = escape(&org.name);
    let next = if let Some(c) = change.filter(|c| c.members > 0) {
        format!(
            "<p class=\"notice error\" id=\"setup-next\" data-members=\"{n}\">Single sign-on for {org_name} now uses this Okta org. \
             The {n} existing member(s), who signed in through {from}, are not recognised until your Tessera contact moves them \
             to the new Okta org: ask them to do it now, before people sign in.</p>",
            n = c.members,
            from = escape(&domain_for_form(&c.from)),
        )
    } else if had_owner {
        format!(
            "<p class=\"notice ok\" id=\"setup-next\">Single sign-on for {org_name} is updated: it now uses this Okta app. Members sign in from its tile in their Okta dashboard, as before.</p>"
        )
    } else {
        format!(
            "<p class=\"notice ok\" id=\"setup-next\">Click the app's tile in your Okta dashboard now: the first person to sign in becomes the owner of {org_name} in Tessera.</p>\
             <p>Everyone else you assigned to the app signs in the same way and joins {org_name} as a member.</p>"
        )
    };
    let body = format!(
        "<section class=\"card\" id=\"setup-done\"><h1>Okta is connected</h1>{next}\
         <dl class=\"facts\"><dt>Okta domain</dt><dd><span class=\"code\">{issuer}</span></dd>\
         <dt>Client ID</dt><dd><span class=\"code\">{client_id}</span></dd>\
         <dt>Single sign-on</dt><dd><span class=\"status enabled\">enabled</span></dd></dl>\
         <p class=\"muted\">This setup link is now used up. To change the connection later, ask the owner of {org_name} in Tessera for a new one.</p></section>",
        issuer = escape(issuer),
        client_id = escape(client_id),
    );
    page(StatusCode::OK, "Okta is connected", &body)
}

fn link_limit() -> String {
    format!(
        "This setup link allows {TEST_LIMIT} connection tests per {} minutes; nothing was tested or changed.",
        TEST_WINDOW_MS / 60_000
    )
}

fn rate_limited(token: &str, retry_after_ms: i64, why: &str) -> Response {
    let minutes = ((retry_after_ms + 59_999) / 60_000).max(1);
    let mut resp = setup_problem(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many connection tests",
        why,
        &format!(
            "Wait {minutes} minute{s}, then test again. Meanwhile, compare the app's settings in Okta with the steps on the setup page.",
            s = if minutes == 1 { "" } else { "s" }
        ),
        Some(&setup_path(token)),
    );
    if let Ok(v) = HeaderValue::from_str(&((retry_after_ms + 999) / 1000).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

// ---- input -----------------------------------------------------------------------------------

async fn read_form(
    token: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<HashMap<String, String>, Response> {
    if !is_form(headers) {
        return Err(setup_problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "Unsupported request",
            "This step expects the form of the setup page; nothing was changed.",
            "Go back to the setup page and use its buttons.",
            Some(&setup_path(token)),
        ));
    }
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => Ok(params(&bytes)),
        Err(_) => Err(setup_problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The form is too large",
            "What was sent is far larger than an Okta domain, a Client ID and a Client secret; nothing was changed.",
            "Go back, paste just the three values from Okta and try again.",
            Some(&setup_path(token)),
        )),
    }
}

/// The values typed into the form, for showing again (shortened, never the secret).
fn shown(p: &HashMap<String, String>, name: &str, max: usize) -> String {
    p.get(name)
        .map(|v| {
            v.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(max)
                .collect()
        })
        .unwrap_or_default()
}

/// An empty secret field with another Okta domain or Client ID than the kept secret's.
const SECRET_AGAIN: &str = "You changed the Okta domain or the Client ID since the last test: paste the Client secret again. Tessera reuses a Client secret only with the Okta domain and Client ID it was entered with. Nothing was tested or saved.";

/// Validated form values.
struct Entered {
    issuer: String,
    client_id: String,
    secret: String,
}

/// Checks the form; the secret may be left empty when one is kept from the latest test.
fn validate(
    state: &AppState,
    link: &SetupLink,
    p: &HashMap<String, String>,
) -> Result<Entered, String> {
    let raw_domain = p.get("okta_domain").map(String::as_str).unwrap_or("");
    let issuer = setup_links::issuer_from_input(raw_domain, state.config.allow_http_issuers)?;
    let client_id = p.get("client_id").map(|s| s.trim()).unwrap_or("");
    if client_id.is_empty() {
        return Err(
            "Enter the Client ID: in Okta, the app's General tab → Client Credentials.".into(),
        );
    }
    if client_id.len() > MAX_CLIENT_ID || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("That is not a Client ID: copy it again from the app's General tab → Client Credentials (visible characters, no spaces, at most 255).".into());
    }
    let typed = p.get("client_secret").map(|s| s.trim()).unwrap_or("");
    let secret = if typed.is_empty() {
        // A kept secret is used only for exactly the issuer and Client ID it was entered with:
        // it must never reach another host, or another client.
        match setup_links::kept_secret_for(&state.key, link, &issuer, client_id) {
            KeptSecret::Usable(secret) => secret,
            KeptSecret::OtherValues => return Err(SECRET_AGAIN.into()),
            KeptSecret::Missing => return Err(
                "Paste the Client secret: in Okta, the app's General tab → Client Credentials → Client secrets.".into(),
            ),
        }
    } else {
        if typed.len() > MAX_SECRET || typed.chars().any(char::is_control) {
            return Err("That is not a Client secret: copy it again from Okta with the copy icon (one line, at most 1024 characters).".into());
        }
        typed.to_string()
    };
    Ok(Entered {
        issuer,
        client_id: client_id.to_string(),
        secret,
    })
}

// ---- handlers --------------------------------------------------------------------------------

/// The open link of `token` with its org, or the page to answer with.
async fn open_link(state: &AppState, token: &str) -> Result<(SetupLink, Org), Response> {
    let link = match state.store.setup_link_by_token(token).await {
        Ok(Lookup::Open(link)) => link,
        Ok(Lookup::Expired(link)) => {
            // Written once per link, however often it is requested.
            if let Err(e) = state.store.note_setup_link_expired(&link).await {
                tracing::warn!(error = %e, "could not record an expired setup link");
            }
            return Err(gone());
        }
        Ok(Lookup::Closed) => return Err(gone()),
        Err(e) => return Err(store_failure(e)),
    };
    match state.store.org_by_id(&link.org_id).await {
        Ok(Some(org)) => Ok((link, org)),
        Ok(None) => Err(gone()),
        Err(e) => Err(store_failure(e)),
    }
}

fn token_of(path: Result<Path<String>, PathRejection>) -> Option<String> {
    path.ok()
        .map(|Path(t)| t)
        .filter(|t| setup_links::well_formed(t))
}

async fn back_to_page(path: Result<Path<String>, PathRejection>) -> Response {
    match token_of(path) {
        Some(token) => no_store(Redirect::to(&setup_path(&token)).into_response()),
        None => gone(),
    }
}

/// `GET /setup/<token>`.
async fn open(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(token) = token_of(path) else {
        return gone();
    };
    let (link, org) = match open_link(&state, &token).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    // At most once an hour per link (and within its audit budget): reloading, or a thousand
    // anonymous requests, do not grow the org's audit log.
    if let Err(e) = state.store.note_setup_link_opened(&link).await {
        return store_failure(e);
    }
    let mut form = FormView::from_link(&link);
    if let Some(issuer) = &link.pending_issuer {
        form.issuer_change = match issuer_change(&state, &org, issuer).await {
            Ok(c) => c,
            Err(resp) => return resp,
        };
    }
    setup_page(&state, StatusCode::OK, &token, &org, &link, &form)
}

/// What saving `issuer` would do to the org's members (see [`app::ssr::store::Store::issuer_change`]).
async fn issuer_change(
    state: &AppState,
    org: &Org,
    issuer: &str,
) -> Result<Option<IssuerChange>, Response> {
    state
        .store
        .issuer_change(&org.id, issuer)
        .await
        .map_err(store_failure)
}

/// The form as typed, to show again with `error`.
fn form_with_error(link: &SetupLink, p: &HashMap<String, String>, error: String) -> FormView {
    FormView {
        domain: shown(p, "okta_domain", setup_links::MAX_ISSUER_INPUT),
        client_id: shown(p, "client_id", MAX_CLIENT_ID),
        secret_kept: link.pending_secret_enc.is_some(),
        can_save: false,
        error: Some(error),
        report: None,
        issuer_change: None,
    }
}

const ISSUER_TAKEN: &str = "This Okta org is already connected to another organization on Tessera, and one Okta org can be connected to only one. Check the Okta domain, or ask your Tessera contact.";

/// A setup form POST whose link is open and whose values passed validation.
struct Submission {
    token: String,
    link: SetupLink,
    org: Org,
    entered: Entered,
    /// The whole form (e.g. the issuer-change confirmation).
    form: HashMap<String, String>,
}

/// Did the person tick "I understand: connect … to the new Okta org anyway"?
fn form_confirms_issuer_change(form: &HashMap<String, String>) -> bool {
    form.get("confirm_issuer_change")
        .is_some_and(|v| matches!(v.trim(), "yes" | "on" | "true" | "1"))
}

/// What `test` and `save` both check first: the link, the form and the entered values.
async fn submission(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Submission, Response> {
    let token = token_of(path).ok_or_else(gone)?;
    let (link, org) = open_link(state, &token).await?;
    let form = read_form(&token, headers, body).await?;
    match validate(state, &link, &form) {
        Ok(entered) => Ok(Submission {
            token,
            link,
            org,
            entered,
            form,
        }),
        Err(msg) => {
            let shown = form_with_error(&link, &form, msg);
            Err(setup_page(
                state,
                StatusCode::BAD_REQUEST,
                &token,
                &org,
                &link,
                &shown,
            ))
        }
    }
}

/// `POST /setup/<token>/test`.
async fn test(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Submission {
        token,
        link,
        org,
        entered,
        ..
    } = match submission(&state, path, &headers, body).await {
        Ok(sub) => sub,
        Err(resp) => return resp,
    };
    if let Err(resp) = take_test_slots(&state, &token, &link, &org).await {
        return resp;
    }
    let form_values = FormView {
        domain: domain_for_form(&entered.issuer),
        client_id: entered.client_id.clone(),
        secret_kept: true,
        ..FormView::default()
    };
    match setup_links::issuer_taken(&state.store, &org.id, &entered.issuer).await {
        Ok(false) => {}
        Ok(true) => {
            return issuer_taken_at_test(&state, &token, &org, &link, &entered, form_values).await;
        }
        Err(e) => return store_failure(e),
    }
    let public = PublicUrl(state.config.public_url.clone());
    let outcome = match setup_links::run_test(
        &state.store,
        &state.key,
        &public,
        &state.outbound,
        &link,
        &entered.issuer,
        &entered.client_id,
        &entered.secret,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return store_failure(e),
    };
    if !outcome.kept {
        return gone();
    }
    let change = match issuer_change(&state, &org, &entered.issuer).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let form = FormView {
        can_save: outcome.report.ok,
        report: Some(outcome.report),
        issuer_change: change,
        ..form_values
    };
    setup_page(&state, StatusCode::OK, &token, &org, &link, &form)
}

/// Takes one test from the link's budget, then one from the org's (shared with the SSO page
/// and the org's other links); the answer when either is spent or the link closed.
async fn take_test_slots(
    state: &AppState,
    token: &str,
    link: &SetupLink,
    org: &Org,
) -> Result<(), Response> {
    match state.store.take_setup_test_slot(&link.id).await {
        Ok(TestSlot::Granted) => {}
        Ok(TestSlot::Limited { retry_after_ms }) => {
            return Err(rate_limited(token, retry_after_ms, &link_limit()));
        }
        Ok(TestSlot::Closed) => return Err(gone()),
        Err(e) => return Err(store_failure(e)),
    }
    match state.store.take_connection_test(&org.id).await {
        Ok(Budget::Granted) => Ok(()),
        Ok(Budget::Limited { retry_after_ms }) => Err(rate_limited(
            token,
            retry_after_ms,
            &limited_message(retry_after_ms),
        )),
        Err(e) => Err(store_failure(e)),
    }
}

/// A test of an issuer another org is connected to: recorded as a failed test (the values and
/// the sealed secret kept for the form), answered 409 with the form and why.
async fn issuer_taken_at_test(
    state: &AppState,
    token: &str,
    org: &Org,
    link: &SetupLink,
    entered: &Entered,
    form_values: FormView,
) -> Response {
    let audit = link_audit(
        link,
        "setup_link_test_failed",
        json!({"link_id": link.id, "issuer": entered.issuer, "client_id": entered.client_id, "failed": ["issuer_in_use"]}),
    );
    let sealed = setup_links::seal_kept_secret(
        &state.key,
        &link.id,
        &entered.issuer,
        &entered.client_id,
        &entered.secret,
    );
    if let Err(e) = state
        .store
        .record_setup_test(
            &link.id,
            &entered.issuer,
            &entered.client_id,
            &sealed,
            None,
            &audit,
        )
        .await
    {
        return store_failure(e);
    }
    let form = FormView {
        error: Some(ISSUER_TAKEN.into()),
        ..form_values
    };
    setup_page(state, StatusCode::CONFLICT, token, org, link, &form)
}

/// `POST /setup/<token>/save`.
async fn save(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Submission {
        token,
        link,
        org,
        entered,
        form,
    } = match submission(&state, path, &headers, body).await {
        Ok(sub) => sub,
        Err(resp) => return resp,
    };
    let confirmed = form_confirms_issuer_change(&form);
    let hash = setup_links::values_hash(
        &link.id,
        &entered.issuer,
        &entered.client_id,
        &entered.secret,
    );
    if link.passed_hash.as_deref() != Some(hash.as_str()) {
        return not_tested(&state, &token, &org, &link, &entered);
    }
    let sealed = state.key.seal(&org.id, &entered.secret);
    let saved = state
        .store
        .save_setup(
            &link,
            &entered.issuer,
            &entered.client_id,
            &hash,
            &sealed,
            confirmed,
        )
        .await;
    match saved {
        Ok(outcome) => save_answer(&state, &token, &org, &link, &entered, outcome),
        Err(e) => store_failure(e),
    }
}

/// The answer to a save the store decided on: the done page, or the form again with why
/// nothing was saved.
fn save_answer(
    state: &AppState,
    token: &str,
    org: &Org,
    link: &SetupLink,
    entered: &Entered,
    outcome: SaveOutcome,
) -> Response {
    match outcome {
        SaveOutcome::Saved {
            connection,
            had_owner,
            issuer_change,
            ..
        } => {
            tracing::info!(org = %org.slug, issuer = %connection.issuer, "SSO connected with a setup link");
            done_page(
                org,
                &connection.issuer,
                &connection.client_id,
                had_owner,
                issuer_change.as_ref(),
            )
        }
        SaveOutcome::NeedsIssuerConfirmation(change) => {
            let form = FormView {
                domain: domain_for_form(&entered.issuer),
                client_id: entered.client_id.clone(),
                secret_kept: link.pending_secret_enc.is_some(),
                can_save: true,
                error: Some(format!(
                    "Tick the box below to confirm that {} should move to this Okta org, then click Save again. Nothing was saved.",
                    org.name
                )),
                report: None,
                issuer_change: Some(change),
            };
            setup_page(state, StatusCode::CONFLICT, token, org, link, &form)
        }
        SaveOutcome::NotTested => not_tested(state, token, org, link, entered),
        SaveOutcome::IssuerTaken => {
            let form = FormView {
                domain: domain_for_form(&entered.issuer),
                client_id: entered.client_id.clone(),
                secret_kept: link.pending_secret_enc.is_some(),
                error: Some(format!("{ISSUER_TAKEN} Nothing was saved.")),
                ..FormView::default()
            };
            setup_page(state, StatusCode::CONFLICT, token, org, link, &form)
        }
        SaveOutcome::Closed => gone(),
    }
}

/// A save of values that have not passed a test: 409 with the form and why.
fn not_tested(
    state: &AppState,
    token: &str,
    org: &Org,
    link: &SetupLink,
    entered: &Entered,
) -> Response {
    let form = FormView {
        domain: domain_for_form(&entered.issuer),
        client_id: entered.client_id.clone(),
        secret_kept: link.pending_secret_enc.is_some(),
        can_save: false,
        error: Some("Test the connection first: Save works only after Test connection passed with exactly the values in the form. Nothing was saved.".into()),
        report: None,
        issuer_change: None,
    };
    setup_page(state, StatusCode::CONFLICT, token, org, link, &form)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
