//! The self-service setup page behind a one-time link (`tessera org setup-link`, or the owner's
//! `POST /api/v1/sso/setup-link`): the customer's Okta administrator, who is not signed in to
//! Tessera, follows the steps in the words of Okta's Admin Console, enters the Okta domain,
//! Client ID and Client Secret, runs "Test connection" and saves.
//!
//! HTTP only: the handlers parse the link and the form, call the domain
//! ([`app::ssr::setup_links`]) and render the Leptos components of [`app::pages::setup`] on the
//! server. The forms are plain posts and work without JavaScript.
//!
//! Post/redirect/get: every post that reaches the form's logic answers `303 See Other` to
//! `/setup/<token>#report`, the result region next to the buttons, so the result lands in view
//! and Back or a reload never re-posts. A test's report stays on the link (with its values);
//! what only this browser should see next (why nothing was done, with the values as typed, or
//! what a save connected, shown at `/setup/<token>/done`) travels in a short-lived flash cookie
//! sealed with the instance key to the link ([`Flash`]). Problem pages (gone, rate limited, not
//! the form, too large) answer the post directly. The secret is never echoed
//! into the page: after a test it stays on the link, sealed with the instance key together
//! with the issuer and Client ID it was entered with, until the link closes; an empty secret
//! field reuses it only for exactly those values. "Save" is accepted only with exactly the
//! values of the latest passing test, and a different Okta org than the one the org's
//! members sign in with needs the explicit confirmation checkbox. Events go to the org's audit
//! log, bounded per link (see [`app::ssr::setup_links`]).

use crate::pages::{Reader, html, problem_page, store_failure_page};
use crate::sso::{is_form, params};
use crate::state::AppState;
use app::model::Org;
use app::pages::problem::Problem;
use app::pages::setup::{
    self as view, MAX_CLIENT_ID, MAX_SECRET, REPORT_ID, SETUP_SCRIPT, ScimStep, SetupForm,
    SetupLinkPage, SetupProvisioning, SetupSaved, SetupSignals, domain_for_form,
};
use app::ssr::PublicUrl;
use app::ssr::connection::IssuerChange;
use app::ssr::membership::DomainError;
use app::ssr::rate_limit::{Budget, limited_message};
use app::ssr::setup_links::{
    self, KeptSecret, Lookup, SaveOutcome, SetupLink, TestSlot, link_audit,
};
use app::ssr::store::StoreError;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// Largest accepted form body.
pub const MAX_BODY: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup/{token}", get(open))
        .route("/setup/{token}/test", get(back_to_page).post(test))
        .route("/setup/{token}/save", get(back_to_page).post(save))
        .route("/setup/{token}/done", get(done))
        .route(
            "/setup/{token}/scim-token",
            get(back_to_done).post(create_scim_token),
        )
        .route(SETUP_SCRIPT, get(script))
}

/// The setup page's script: copy buttons and the focus of the result region.
const SCRIPT: &str = include_str!("../assets/setup.js");

/// `GET /assets/setup.js`.
async fn script() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        )],
        SCRIPT,
    )
        .into_response()
}

// ---- handlers --------------------------------------------------------------------------------
//
// Each answers `Result<Response, Response>`: the page, or the page that says why not.

/// `GET /setup/<token>`: the page with the link's latest test, or, right after a post that
/// did nothing, with why (the flash, shown once).
async fn open(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let token = token_of(path).ok_or_else(gone)?;
    let (link, org) = open_link(&state, &token).await?;
    // At most once an hour per link (and within its audit budget): reloading, or a thousand
    // anonymous requests, do not grow the org's audit log.
    state
        .store
        .note_setup_link_opened(&link)
        .await
        .map_err(store_failure)?;
    let flash = read_flash(&state, &link, &headers);
    let (mut form, show_change) = match &flash {
        Some(Flash::Refused {
            domain,
            client_id,
            error,
            can_save,
            issuer_change,
        }) => (
            SetupForm {
                domain: domain.clone(),
                client_id: client_id.clone(),
                secret_kept: link.pending_secret_enc.is_some(),
                can_save: *can_save,
                error: Some(error.clone()),
                ..SetupForm::default()
            },
            *issuer_change,
        ),
        _ => (
            SetupForm {
                report: link.last_report(),
                ..form_from_link(&link)
            },
            true,
        ),
    };
    if show_change && let Some(issuer) = &link.pending_issuer {
        form.issuer_change = issuer_change(&state, &org, issuer).await?;
    }
    let mut resp = setup_page(&state, StatusCode::OK, &token, &org, &link, form);
    if matches!(flash, Some(Flash::Refused { .. })) {
        append_cookie(&mut resp, clear_flash(&state));
    }
    Ok(resp)
}

/// `GET /setup/<token>/done`: "Okta is connected", for the browser that saved (its flash);
/// anyone else gets the page of a used link.
async fn done(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let token = token_of(path).ok_or_else(gone)?;
    let link = state
        .store
        .setup_link_by_hash(&setup_links::token_hash(&token))
        .await
        .map_err(store_failure)?
        .ok_or_else(gone)?;
    if link.used_at.is_none() {
        // Not saved (yet): the page itself says what to do, or that the link is gone.
        return Ok(no_store(Redirect::to(&setup_path(&token)).into_response()));
    }
    let Some(Flash::Saved {
        issuer,
        client_id,
        had_owner,
        change,
        scim,
    }) = read_flash(&state, &link, &headers)
    else {
        return Err(gone());
    };
    let org = match state.store.org_by_id(&link.org_id).await {
        Ok(Some(org)) => org,
        Ok(None) => return Err(gone()),
        Err(e) => return Err(store_failure(e)),
    };
    // A token is shown once, a refusal once: a reload shows only what remains.
    let after = scim.as_ref().and_then(ScimStep::after_shown);
    let rewrite = scim.is_some() && after != scim;
    let public = PublicUrl(state.config.public_url.clone());
    let signals = SetupSignals {
        universal_logout_endpoint: public.universal_logout_endpoint(),
        ssf_endpoint: public.ssf_endpoint(),
        ssf_audience: public.ssf_audience(&org.slug),
    };
    let saved = SetupSaved {
        org_name: org.name,
        org_slug: org.slug,
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        had_owner,
        issuer_change: change
            .clone()
            .map(|(from, to, members)| IssuerChange { from, to, members }),
        provisioning: Some(SetupProvisioning {
            action: format!("{}/scim-token", setup_path(&token)),
            base_url: app::ssr::scim::base_url(&public),
            can_create: link.just_saved(state.store.now_ms()),
            outcome: scim,
        }),
        signals: Some(signals),
    };
    let mut resp = html(StatusCode::OK, view::saved_document(saved));
    if rewrite {
        let shown = Flash::Saved {
            issuer,
            client_id,
            had_owner,
            change,
            scim: after,
        };
        append_cookie(&mut resp, set_flash(&state, &link, &shown));
    }
    Ok(resp)
}

/// `GET /setup/<token>/scim-token` (a reload of the post's address): back to "Okta is
/// connected".
async fn back_to_done(path: Result<Path<String>, PathRejection>) -> Response {
    match token_of(path) {
        Some(token) => {
            no_store(Redirect::to(&format!("{}/done", setup_path(&token))).into_response())
        }
        None => gone(),
    }
}

/// `POST /setup/<token>/scim-token`: "Create SCIM token" on "Okta is connected", for the
/// browser that saved (its flash), while the link is just saved
/// ([`SetupLink::just_saved`]); anyone else, or later, gets the page of a used link. The token
/// travels to the next page in the sealed flash, which shows it once (`303` to
/// `/setup/<token>/done#report`).
async fn create_scim_token(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let token = token_of(path).ok_or_else(gone)?;
    let link = state
        .store
        .setup_link_by_hash(&setup_links::token_hash(&token))
        .await
        .map_err(store_failure)?
        .ok_or_else(gone)?;
    if link.used_at.is_none() {
        // Not saved (yet): the page itself says what to do, or that the link is gone.
        return Ok(no_store(Redirect::to(&setup_path(&token)).into_response()));
    }
    let Some(Flash::Saved {
        issuer,
        client_id,
        had_owner,
        change,
        scim: _,
    }) = read_flash(&state, &link, &headers)
    else {
        return Err(gone());
    };
    if !link.just_saved(state.store.now_ms()) {
        return Err(gone());
    }
    read_form(&format!("{}/done", setup_path(&token)), &headers, body).await?;
    let org = match state.store.org_by_id(&link.org_id).await {
        Ok(Some(org)) => org,
        Ok(None) => return Err(gone()),
        Err(e) => return Err(store_failure(e)),
    };
    let step = match setup_links::create_scim_token(&state.store, &link, &org).await {
        Ok(new) => {
            tracing::info!(org = %org.slug, "SCIM token created with a setup link");
            ScimStep::Created {
                hint: new.token.hint,
                secret: new.secret,
                mode_switched: new.mode_switched,
            }
        }
        Err(DomainError::NotFound) => return Err(gone()),
        Err(DomainError::Store(e)) => return Err(store_failure(e)),
        Err(e @ DomainError::Conflict(_)) => ScimStep::Refused(format!(
            "{e} The owner of {} revokes tokens on the SSO page in Tessera. Nothing was created.",
            org.name
        )),
        Err(e) => ScimStep::Refused(format!("{e} Nothing was created.")),
    };
    let flash = Flash::Saved {
        issuer,
        client_id,
        had_owner,
        change,
        scim: Some(step),
    };
    let mut resp =
        no_store(Redirect::to(&format!("{}/done#{REPORT_ID}", setup_path(&token))).into_response());
    append_cookie(&mut resp, set_flash(&state, &link, &flash));
    Ok(resp)
}

/// `GET /setup/<token>/test` and `…/save` (a reload of a POST result): back to the page.
async fn back_to_page(path: Result<Path<String>, PathRejection>) -> Response {
    match token_of(path) {
        Some(token) => no_store(Redirect::to(&setup_path(&token)).into_response()),
        None => gone(),
    }
}

/// `POST /setup/<token>/test`.
async fn test(State(state): State<AppState>, sub: Submission) -> Result<Response, Response> {
    take_test_slots(&state, &sub).await?;
    let taken = setup_links::issuer_taken(&state.store, &sub.org.id, &sub.entered.issuer)
        .await
        .map_err(store_failure)?;
    if taken {
        return issuer_taken_at_test(&state, &sub).await;
    }
    let public = PublicUrl(state.config.public_url.clone());
    let outcome = setup_links::run_test(
        &state.store,
        &state.key,
        &public,
        &state.outbound,
        &sub.link,
        &sub.entered.issuer,
        &sub.entered.client_id,
        &sub.entered.secret,
    )
    .await
    .map_err(store_failure)?;
    if !outcome.kept {
        return Err(gone());
    }
    // The report is on the link now, with the values it was made with: the page shows it.
    Ok(sub.to_report(&state, None))
}

/// `POST /setup/<token>/save`.
async fn save(State(state): State<AppState>, sub: Submission) -> Result<Response, Response> {
    let Entered {
        issuer,
        client_id,
        secret,
    } = &sub.entered;
    let hash = setup_links::values_hash(&sub.link.id, issuer, client_id, secret);
    if sub.link.passed_hash.as_deref() != Some(hash.as_str()) {
        return Ok(not_tested(&state, &sub));
    }
    let sealed = state.key.seal(&sub.org.id, secret);
    let outcome = state
        .store
        .save_setup(
            &sub.link,
            issuer,
            client_id,
            &hash,
            &sealed,
            sub.confirms_issuer_change,
        )
        .await
        .map_err(store_failure)?;
    Ok(save_answer(&state, &sub, outcome))
}

// ---- the submitted form ----------------------------------------------------------------------

/// A setup form POST whose link is open and whose values passed validation: what `test` and
/// `save` both check first. As an extractor it answers the page that says why not: the link
/// gone (410), not the form (415), too large (413), or back to the form with the error (303
/// with the flash).
struct Submission {
    token: String,
    link: SetupLink,
    org: Org,
    entered: Entered,
    /// The person ticked "I understand: connect … to the new Okta org anyway".
    confirms_issuer_change: bool,
}

impl FromRequest<AppState> for Submission {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let path = Path::<String>::from_request_parts(&mut parts, state).await;
        let token = token_of(path).ok_or_else(gone)?;
        let (link, org) = open_link(state, &token).await?;
        let form = read_form(&setup_path(&token), &parts.headers, body).await?;
        match validate(state, &link, &form) {
            Ok(entered) => Ok(Submission {
                confirms_issuer_change: form_confirms_issuer_change(&form),
                token,
                link,
                org,
                entered,
            }),
            Err(error) => {
                let flash = Flash::Refused {
                    domain: shown(&form, "okta_domain", setup_links::MAX_ISSUER_INPUT),
                    client_id: shown(&form, "client_id", MAX_CLIENT_ID),
                    error,
                    can_save: false,
                    issuer_change: false,
                };
                Err(to_report(state, &token, &link, Some(&flash)))
            }
        }
    }
}

impl Submission {
    /// Back to this submission's page at its result region, with `flash` (or none).
    fn to_report(&self, state: &AppState, flash: Option<&Flash>) -> Response {
        to_report(state, &self.token, &self.link, flash)
    }

    /// Back to the page with the entered values (never the secret) and why nothing was done.
    fn refused(&self, state: &AppState, error: String, can_save: bool, change: bool) -> Response {
        let flash = Flash::Refused {
            domain: domain_for_form(&self.entered.issuer),
            client_id: self.entered.client_id.clone(),
            error,
            can_save,
            issuer_change: change,
        };
        self.to_report(state, Some(&flash))
    }
}

/// Did the person tick "I understand: connect … to the new Okta org anyway"?
fn form_confirms_issuer_change(form: &HashMap<String, String>) -> bool {
    form.get("confirm_issuer_change")
        .is_some_and(|v| matches!(v.trim(), "yes" | "on" | "true" | "1"))
}

fn token_of(path: Result<Path<String>, PathRejection>) -> Option<String> {
    path.ok()
        .map(|Path(t)| t)
        .filter(|t| setup_links::well_formed(t))
}

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

/// The form of a post whose page is `back` (where the problem pages lead).
async fn read_form(
    back: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<HashMap<String, String>, Response> {
    if !is_form(headers) {
        return Err(problem_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            view::not_the_form(back),
        ));
    }
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => Ok(params(&bytes)),
        Err(_) => Err(problem_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            view::form_too_large(back),
        )),
    }
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

// ---- steps of test and save ------------------------------------------------------------------

/// Takes one test from the link's budget, then one from the org's (shared with the SSO page
/// and the org's other links); the answer when either is spent or the link closed.
async fn take_test_slots(state: &AppState, sub: &Submission) -> Result<(), Response> {
    match state.store.take_setup_test_slot(&sub.link.id).await {
        Ok(TestSlot::Granted) => {}
        Ok(TestSlot::Limited { retry_after_ms }) => {
            return Err(rate_limited(
                &sub.token,
                retry_after_ms,
                &view::link_limit(),
            ));
        }
        Ok(TestSlot::Closed) => return Err(gone()),
        Err(e) => return Err(store_failure(e)),
    }
    match state.store.take_connection_test(&sub.org.id).await {
        Ok(Budget::Granted) => Ok(()),
        Ok(Budget::Limited { retry_after_ms }) => Err(rate_limited(
            &sub.token,
            retry_after_ms,
            &limited_message(retry_after_ms),
        )),
        Err(e) => Err(store_failure(e)),
    }
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

const ISSUER_TAKEN: &str = "This Okta org is already connected to another organization on Tessera, and one Okta org can be connected to only one. Check the Okta domain, or ask your Tessera contact.";

/// A test of an issuer another org is connected to: recorded as a failed test (the values and
/// the sealed secret kept for the form, no report), answered with the form and why.
async fn issuer_taken_at_test(state: &AppState, sub: &Submission) -> Result<Response, Response> {
    let (link, entered) = (&sub.link, &sub.entered);
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
    state
        .store
        .record_setup_test(
            &link.id,
            &entered.issuer,
            &entered.client_id,
            &sealed,
            None,
            None,
            &audit,
        )
        .await
        .map_err(store_failure)?;
    Ok(sub.refused(state, ISSUER_TAKEN.into(), false, false))
}

/// The answer to a save the store decided on: on to "Okta is connected", or back to the form
/// with why nothing was saved.
fn save_answer(state: &AppState, sub: &Submission, outcome: SaveOutcome) -> Response {
    let org = &sub.org;
    match outcome {
        SaveOutcome::Saved {
            connection,
            had_owner,
            issuer_change,
            ..
        } => {
            tracing::info!(org = %org.slug, issuer = %connection.issuer, "SSO connected with a setup link");
            let flash = Flash::Saved {
                issuer: connection.issuer,
                client_id: connection.client_id,
                had_owner,
                change: issuer_change.map(|c| (c.from, c.to, c.members)),
                scim: None,
            };
            let mut resp = no_store(
                Redirect::to(&format!("{}/done", setup_path(&sub.token))).into_response(),
            );
            append_cookie(&mut resp, set_flash(state, &sub.link, &flash));
            resp
        }
        SaveOutcome::NeedsIssuerConfirmation(_) => sub.refused(
            state,
            format!(
                "Tick the box below to confirm that {} should move to this Okta org, then click Save again. Nothing was saved.",
                org.name
            ),
            true,
            true,
        ),
        SaveOutcome::NotTested => not_tested(state, sub),
        SaveOutcome::IssuerTaken => sub.refused(
            state,
            format!("{ISSUER_TAKEN} Nothing was saved."),
            false,
            false,
        ),
        SaveOutcome::Closed => gone(),
    }
}

/// A save of values that have not passed a test: back to the form with why.
fn not_tested(state: &AppState, sub: &Submission) -> Response {
    sub.refused(
        state,
        "Test the connection first: Save works only after Test connection passed with exactly the values in the form. Nothing was saved.".into(),
        false,
        false,
    )
}

// ---- the flash cookie ------------------------------------------------------------------------

/// The cookie that carries a [`Flash`] from a post to the page it redirects to.
const FLASH_COOKIE: &str = "tessera_setup";
/// How long a flash lives (the redirect follows at once; "Okta is connected" may be reloaded).
const FLASH_SECONDS: u32 = 600;
/// Longest flash cookie value written or read (a browser keeps at least 4096 bytes a cookie).
const MAX_FLASH: usize = 3500;

/// What the page after a post shows that the link does not hold. Sealed with the instance key
/// to the link ([`flash_context`]): it cannot be forged, read or moved to another link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Flash {
    /// Nothing was done: the values as typed (never the secret) and why.
    Refused {
        domain: String,
        client_id: String,
        error: String,
        /// "Save" stays enabled (the values passed; only the confirmation was missing).
        can_save: bool,
        /// Show the warning about a different Okta org (for the link's tested values).
        issuer_change: bool,
    },
    /// The save connected these values ("Okta is connected").
    Saved {
        issuer: String,
        client_id: String,
        had_owner: bool,
        /// The issuer change it made: (from, to, members keyed to `from`).
        change: Option<(String, String, i64)>,
        /// What "Create SCIM token" last did (a token is carried to the one page that shows it).
        #[serde(default)]
        scim: Option<ScimStep>,
    },
}

fn flash_context(link: &SetupLink) -> String {
    format!("setup-flash:{}", link.id)
}

/// The `Set-Cookie` of `flash` for `link`. A flash that would be too large (values typed far
/// beyond any real Okta domain) is cut until it fits.
fn set_flash(state: &AppState, link: &SetupLink, flash: &Flash) -> Option<HeaderValue> {
    let seal = |f: &Flash| {
        serde_json::to_string(f)
            .ok()
            .map(|json| state.key.seal(&flash_context(link), &json))
    };
    let mut sealed = seal(flash)?;
    if sealed.len() > MAX_FLASH
        && let Flash::Refused {
            domain,
            client_id,
            error,
            can_save,
            issuer_change,
        } = flash
    {
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        sealed = seal(&Flash::Refused {
            domain: cut(domain, 60),
            client_id: cut(client_id, 60),
            error: cut(error, 300),
            can_save: *can_save,
            issuer_change: *issuer_change,
        })?;
    }
    if sealed.len() > MAX_FLASH {
        return None;
    }
    flash_cookie(state, &sealed, FLASH_SECONDS)
}

/// The `Set-Cookie` that drops the flash.
fn clear_flash(state: &AppState) -> Option<HeaderValue> {
    flash_cookie(state, "", 0)
}

fn flash_cookie(state: &AppState, value: &str, max_age: u32) -> Option<HeaderValue> {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/setup/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// The flash this browser carries for `link`, if one opens (anything else is ignored).
fn read_flash(state: &AppState, link: &SetupLink, headers: &HeaderMap) -> Option<Flash> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == FLASH_COOKIE && value.len() <= MAX_FLASH)
        .find_map(|(_, value)| {
            let json = state.key.open(&flash_context(link), value).ok()?;
            serde_json::from_str(&json).ok()
        })
}

fn append_cookie(resp: &mut Response, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

/// `303 See Other` to `/setup/<token>#report` with `flash` set, or any flash dropped (the
/// page then shows the link's latest test).
fn to_report(state: &AppState, token: &str, link: &SetupLink, flash: Option<&Flash>) -> Response {
    let mut resp =
        no_store(Redirect::to(&format!("{}#{REPORT_ID}", setup_path(token))).into_response());
    let cookie = match flash {
        Some(flash) => set_flash(state, link, flash),
        None => clear_flash(state),
    };
    append_cookie(&mut resp, cookie);
    resp
}

// ---- answers ---------------------------------------------------------------------------------

fn setup_path(token: &str) -> String {
    format!("/setup/{token}")
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Unknown, expired, used or revoked: one answer for all.
fn gone() -> Response {
    problem_page(StatusCode::GONE, view::link_gone())
}

fn store_failure(e: StoreError) -> Response {
    store_failure_page(&e, Reader::SetupLink)
}

/// 429 with `Retry-After` (whole seconds) and a way back to the page.
fn rate_limited(token: &str, retry_after_ms: i64, why: &str) -> Response {
    let problem: Problem = view::too_many_tests(&setup_path(token), why, retry_after_ms);
    let mut resp = problem_page(StatusCode::TOO_MANY_REQUESTS, problem);
    if let Ok(v) = HeaderValue::from_str(&((retry_after_ms + 999) / 1000).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The setup page of `link` with `form`.
fn setup_page(
    state: &AppState,
    status: StatusCode,
    token: &str,
    org: &Org,
    link: &SetupLink,
    form: SetupForm,
) -> Response {
    let public = PublicUrl(state.config.public_url.clone());
    let page = SetupLinkPage {
        org_name: org.name.clone(),
        path: setup_path(token),
        expires_at: link.expires_at,
        redirect_uri: public.redirect_uri(),
        initiate_login_uri: public.initiate_login_uri(),
        allow_http_issuers: state.config.allow_http_issuers,
    };
    html(status, view::setup_document(page, form))
}

/// Pre-filled from the link's latest test.
fn form_from_link(link: &SetupLink) -> SetupForm {
    SetupForm {
        domain: link
            .pending_issuer
            .as_deref()
            .map(domain_for_form)
            .unwrap_or_default(),
        client_id: link.pending_client_id.clone().unwrap_or_default(),
        secret_kept: link.pending_secret_enc.is_some(),
        can_save: link.passed_hash.is_some(),
        ..SetupForm::default()
    }
}
