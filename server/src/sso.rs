//! Sign-in over Okta: third-party initiated login (OIDC Core §4), Tessera's own login page,
//! the callback with just-in-time provisioning, sign-out and the session API.

use crate::oidc::{ClientConfig, OidcError};
use crate::pages::problem;
use crate::state::AppState;
use app::model::{Org, SsoConnection};
use app::ssr::auth::{self, ABSOLUTE_EXPIRY_KEY, MEMBER_KEY, ORG_KEY};
use app::ssr::issuer;
use app::ssr::login::{LoginAttempt, LoginFlow, Outcome};
use app::ssr::store::StoreError;
use app::validate::bounded;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use tower_sessions::Session;

/// How long a started sign-in may take before its state expires.
const FLOW_TTL_MS: i64 = 10 * 60 * 1000;

/// The browser-binding cookie (login CSRF defence): a random value set by `/sso/initiate` and
/// `/sso/start`, whose SHA-256 is stored with each flow; the callback completes a flow only for
/// the browser presenting it. One per browser (reused while it lives), so two tabs signing in
/// at once both complete. `HttpOnly`, `SameSite=Lax` (sent on Okta's top-level redirect back),
/// `Path=/sso`, `Secure` with an https public URL, and as short-lived as a flow.
pub const FLOW_COOKIE: &str = "tessera_flow";
/// Length of a binding value: 32 random bytes, URL-safe base64 without padding.
const FLOW_COOKIE_CHARS: usize = 43;
/// Longest `state` Tessera could have issued (it issues 22 characters).
const MAX_STATE_CHARS: usize = 128;
/// Longest `target_link_uri`/`next` kept.
const MAX_TARGET_CHARS: usize = 2048;
/// Longest `login_hint` passed on to Okta.
const MAX_LOGIN_HINT_CHARS: usize = 256;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/initiate", get(initiate_get).post(initiate_post))
        .route("/sso/start", get(start))
        .route("/sso/callback", get(callback_get).post(callback_post))
        .route("/logout", post(logout))
        .route("/api/v1/session", get(session_info))
}

/// Query or form parameters; the first value of a repeated name wins.
pub(crate) fn params(raw: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

fn param<'a>(p: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    p.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// A sign-in that did not work: what is recorded and what the person sees.
struct Failure {
    status: StatusCode,
    reason: &'static str,
    detail: String,
    title: &'static str,
    what: String,
    advice: String,
    retry: bool,
}

impl Failure {
    fn new(
        status: StatusCode,
        reason: &'static str,
        title: &'static str,
        what: impl Into<String>,
        advice: impl Into<String>,
    ) -> Self {
        Failure {
            status,
            reason,
            detail: String::new(),
            title,
            what: what.into(),
            advice: advice.into(),
            retry: false,
        }
    }

    fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = d.into();
        self
    }

    fn retry(mut self) -> Self {
        self.retry = true;
        self
    }

    fn page(&self) -> Response {
        problem(
            self.status,
            self.reason,
            self.title,
            &self.what,
            &self.advice,
            self.retry.then_some("/login"),
        )
    }

    fn store(e: StoreError) -> Failure {
        let (status, reason) = crate::pages::store_failure_status(&e);
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                tracing::error!(error = %e, "store failure during sign-in");
                Failure::new(
                    status,
                    reason,
                    "Tessera is temporarily unavailable",
                    "Tessera cannot reach its database right now.",
                    "Wait a moment and try again. If this persists, contact the service operator.",
                )
                .retry()
            }
            StatusCode::BAD_REQUEST => {
                tracing::info!(error = %e, "the database refused a value of this sign-in");
                Failure::new(
                    status,
                    reason,
                    "This sign-in could not be completed",
                    "The sign-in carried a value Tessera cannot accept (for example a control character).",
                    START_AGAIN,
                )
                .retry()
            }
            _ => {
                tracing::error!(error = %e, "store failure during sign-in");
                Failure::new(
                    status,
                    reason,
                    "Something went wrong",
                    "Tessera could not complete the sign-in.",
                    "Try again. If this persists, contact the service operator.",
                )
                .retry()
            }
        }
    }

    fn oidc(e: OidcError) -> Failure {
        match e {
            OidcError::Unreachable(d) => Failure::new(
                StatusCode::BAD_GATEWAY,
                "idp_unreachable",
                "Okta did not answer",
                "Tessera could not reach your organization's Okta in time.",
                "Try again in a minute. If it keeps failing, your Okta administrator or the service operator should check that the Okta domain is correct and reachable.",
            )
            .detail(d)
            .retry(),
            OidcError::Discovery(d) => Failure::new(
                StatusCode::BAD_GATEWAY,
                "idp_misconfigured",
                "The Okta connection is misconfigured",
                "Your organization's Okta answered with an unexpected configuration.",
                "Ask your Okta administrator to check the Okta domain registered with Tessera (it must be the Okta org URL, e.g. https://acme.okta.com).",
            )
            .detail(d),
            OidcError::TokenExchange(d) => Failure::new(
                StatusCode::BAD_GATEWAY,
                "token_exchange_failed",
                "Okta refused the sign-in",
                "Okta did not accept Tessera's request to complete your sign-in.",
                "Try signing in again. If it keeps failing, your Okta administrator should check the app's Client ID and Client Secret registered with Tessera.",
            )
            .detail(d)
            .retry(),
            OidcError::TokenInvalid(d) => Failure::new(
                StatusCode::UNAUTHORIZED,
                "token_invalid",
                "The sign-in could not be verified",
                "The identity token from Okta failed verification, so Tessera did not sign you in.",
                "Try signing in again. If it keeps failing, tell your Okta administrator the reason code below.",
            )
            .detail(d)
            .retry(),
            OidcError::UserInfo(d) => Failure::new(
                StatusCode::UNAUTHORIZED,
                "userinfo_invalid",
                "The sign-in could not be verified",
                "Okta's profile answer did not match the identity token, so Tessera did not sign you in.",
                "Try signing in again. If it keeps failing, tell your Okta administrator the reason code below.",
            )
            .detail(d)
            .retry(),
        }
    }
}

/// What to do after a sign-in that cannot go on.
const START_AGAIN: &str = "Start again from the Tessera tile in your Okta dashboard.";
const START_AGAIN_OR_LOG_IN: &str = "Start again from the Tessera tile in your Okta dashboard, or sign in from Tessera's login page.";

/// Records the attempt (and one structured log line), then renders the failure page.
async fn fail(state: &AppState, org: Option<&Org>, issuer: Option<&str>, f: Failure) -> Response {
    let mut attempt = LoginAttempt::new(
        state.store.now_ms(),
        org.map(|o| o.id.as_str()),
        Outcome::Failure,
        f.reason,
        &f.detail,
    );
    attempt.issuer = issuer.map(str::to_string);
    record(state, org, &attempt).await;
    f.page()
}

/// One structured log line (target `tessera::login`), the `tessera_login_attempts_total`
/// counter, and the stored attempt (`tessera org events`).
async fn record(state: &AppState, org: Option<&Org>, attempt: &LoginAttempt) {
    let success = attempt.outcome == Outcome::Success;
    tracing::info!(
        target: "tessera::login",
        outcome = if success { "success" } else { "failure" },
        reason = %attempt.reason,
        org = org.map_or("-", |o| o.slug.as_str()),
        org_id = attempt.org_id.as_deref().unwrap_or("-"),
        issuer = attempt.issuer.as_deref().unwrap_or("-"),
        subject = attempt.subject.as_deref().unwrap_or("-"),
        detail = %attempt.detail,
        "login attempt"
    );
    state.metrics.login_attempt(success, &attempt.reason);
    // With the database gone, writing the attempt would only wait out the pool's acquire
    // timeout a second time before the person sees the page: the log line and metric suffice.
    if attempt.reason == "service_unavailable" {
        return;
    }
    if let Err(e) = state.store.record_login_attempt(attempt).await {
        tracing::warn!(error = %e, "could not record login attempt");
    }
}

// ---- initiate (IdP-initiated, OIDC Core §4) -------------------------------------------------

async fn initiate_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    initiate(state, &headers, q.unwrap_or_default().as_bytes()).await
}

async fn initiate_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_form(&headers) {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "Unsupported request",
            "The sign-in request must be a form submission.",
            START_AGAIN,
            Some("/login"),
        );
    }
    initiate(state, &headers, &body).await
}

/// True for an `application/x-www-form-urlencoded` body.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A third-party initiated login request (OpenID Connect Core §4), from a query or a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitiateRequest {
    /// Okta "Simplified" mode posted an unsolicited ID token.
    SimplifiedMode,
    MissingIss,
    InvalidIss(String),
    Login {
        /// Normalized issuer.
        issuer: String,
        login_hint: Option<String>,
        /// A path on Tessera's own origin; other targets are dropped.
        target: Option<String>,
    },
}

/// Parses `iss`, `login_hint` and `target_link_uri`; never fails on any input.
pub fn parse_initiate(raw: &[u8], public_url: &str) -> InitiateRequest {
    let p = params(raw);
    if param(&p, "id_token").is_some() {
        return InitiateRequest::SimplifiedMode;
    }
    let Some(iss) = param(&p, "iss") else {
        return InitiateRequest::MissingIss;
    };
    // `normalize` refuses control characters and anything over 512 characters, so neither a
    // NUL nor a 2 MB `iss` reaches the database, a log line or the page whole.
    match issuer::normalize(iss, true) {
        Err(_) => InitiateRequest::InvalidIss(bounded(iss, 200)),
        Ok(issuer) => InitiateRequest::Login {
            issuer,
            login_hint: login_hint(&p),
            target: param(&p, "target_link_uri").and_then(|t| same_origin_target(public_url, t)),
        },
    }
}

/// `login_hint`, bounded and without control characters; dropped when nothing is left.
fn login_hint(p: &HashMap<String, String>) -> Option<String> {
    param(p, "login_hint")
        .map(|h| bounded(h, MAX_LOGIN_HINT_CHARS))
        .filter(|h| !h.trim().is_empty())
}

async fn initiate(state: AppState, headers: &HeaderMap, raw: &[u8]) -> Response {
    let (normalized, login_hint, target) = match parse_initiate(raw, &state.config.public_url) {
        InitiateRequest::Login {
            issuer,
            login_hint,
            target,
        } => (issuer, login_hint, target),
        InitiateRequest::SimplifiedMode => return simplified_mode(&state, None).await,
        InitiateRequest::MissingIss => {
            return fail(
                &state,
                None,
                None,
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "iss_missing",
                    "This sign-in link is incomplete",
                    "The request did not say which Okta organization it came from (the iss parameter is missing).",
                    START_AGAIN_OR_LOG_IN,
                )
                .retry(),
            )
            .await;
        }
        InitiateRequest::InvalidIss(iss) => {
            return fail(
                &state,
                None,
                None,
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "iss_invalid",
                    "This sign-in link is not valid",
                    "The iss parameter is not a valid issuer URL.",
                    START_AGAIN_OR_LOG_IN,
                )
                .detail(iss)
                .retry(),
            )
            .await;
        }
    };
    let found = match state.store.org_with_sso_by_issuer(&normalized).await {
        Ok(f) => f,
        Err(e) => return fail(&state, None, Some(&normalized), Failure::store(e)).await,
    };
    let Some((org, Some((sso, sealed)))) = found else {
        return fail(
            &state,
            None,
            Some(&normalized),
            Failure::new(
                StatusCode::NOT_FOUND,
                "unknown_issuer",
                "This Okta organization is not connected",
                format!("No Tessera organization is connected to the Okta organization {normalized}."),
                "Ask your Okta administrator to finish setting up single sign-on with Tessera, or contact the service operator.",
            )
            .detail(normalized.clone()),
        )
        .await;
    };
    begin(
        &state,
        headers,
        &org,
        &sso,
        &sealed,
        login_hint.as_deref(),
        target,
    )
    .await
}

/// Okta "Simplified" mode posts an unsolicited ID token; OIN requires the OIDC-compliant mode.
async fn simplified_mode(state: &AppState, org: Option<&Org>) -> Response {
    fail(
        state,
        org,
        None,
        Failure::new(
            StatusCode::BAD_REQUEST,
            "okta_simplified_mode",
            "The Okta app uses the wrong login mode",
            "Okta sent a sign-in in \"Okta Simplified\" mode, which Tessera does not accept.",
            "Ask your Okta administrator to open the Tessera app in Okta (General -> Login) and set \"Login initiated by: Either Okta or App\" with \"Redirect to app to initiate login (OIDC Compliant)\".",
        ),
    )
    .await
}

/// Keeps a `target_link_uri` only when it points at Tessera itself (never an open redirect).
pub fn same_origin_target(public_url: &str, target: &str) -> Option<String> {
    if target.chars().count() > MAX_TARGET_CHARS || target.chars().any(char::is_control) {
        return None;
    }
    let base = url::Url::parse(public_url).ok()?;
    let t = base.join(target).ok()?;
    // The path is checked too: `.//evil.example` joins to the path `//evil.example`, which a
    // browser would read as another host (found by the callback_params fuzz target).
    if t.origin() != base.origin()
        || target.starts_with("//")
        || target.contains('\\')
        || t.path().starts_with("//")
    {
        tracing::info!(
            target = %bounded(target, 200),
            "ignoring target_link_uri outside Tessera's origin"
        );
        return None;
    }
    let mut out = t.path().to_string();
    if let Some(q) = t.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

// ---- the browser-binding cookie ------------------------------------------------------------

/// This browser's binding value, when it presents a well-formed one.
fn flow_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            *name == FLOW_COOKIE
                && value.len() == FLOW_COOKIE_CHARS
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(|(_, value)| value.to_string())
}

/// SHA-256 of a binding value, lowercase hex: what a flow stores.
fn binding_hash(value: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Set-Cookie` value that (re)sets the binding for the length of a flow.
fn binding_set_cookie(value: &str, secure: bool) -> Option<header::HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    header::HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/sso; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        FLOW_TTL_MS / 1000
    ))
    .ok()
}

// ---- start (SP-initiated, from Tessera's login page) --------------------------------------

async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q.unwrap_or_default().as_bytes());
    let raw = param(&p, "org").unwrap_or_default().to_lowercase();
    // The typed value is not quoted back: a crafted link must not put its words on our page.
    if app::validate::slug(&raw).is_err() {
        return problem(
            StatusCode::BAD_REQUEST,
            "org_invalid",
            "Check the organization name",
            &format!(
                "That is not an organization name: names are 1 to {} lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
                app::validate::MAX_SLUG_LEN
            ),
            "Enter your organization's short name as given by your administrator, e.g. acme.",
            Some("/login"),
        );
    }
    let (org, sso) = match state.store.org_with_sso_by_slug(&raw).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "org_unknown",
                "Organization not found",
                &format!("There is no organization named \"{raw}\" on Tessera."),
                "Check the spelling, or click the Tessera tile in your Okta dashboard instead.",
                Some("/login"),
            );
        }
        Err(e) => return fail(&state, None, None, Failure::store(e)).await,
    };
    let Some((sso, sealed)) = sso else {
        return fail(
            &state,
            Some(&org),
            None,
            sso_disabled_failure(&org, "no Okta connection registered"),
        )
        .await;
    };
    let target = param(&p, "target_link_uri")
        .or(param(&p, "next"))
        .and_then(|t| same_origin_target(&state.config.public_url, t));
    let login_hint = login_hint(&p);
    begin(
        &state,
        &headers,
        &org,
        &sso,
        &sealed,
        login_hint.as_deref(),
        target,
    )
    .await
}

fn sso_disabled_failure(org: &Org, detail: &str) -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "sso_disabled",
        "Single sign-on is turned off",
        format!("Single sign-on is not enabled for {}.", org.name),
        "Ask your organization's Tessera owner or the service operator to enable SSO.",
    )
    .detail(detail)
}

/// Starts the authorization-code flow: saves state, nonce, PKCE verifier and the browser
/// binding, sets the binding cookie (reusing the browser's own) and redirects to Okta.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    org: &Org,
    sso: &SsoConnection,
    sealed_secret: &str,
    login_hint: Option<&str>,
    target: Option<String>,
) -> Response {
    if !sso.enabled {
        return fail(
            state,
            Some(org),
            Some(&sso.issuer),
            sso_disabled_failure(org, "SSO disabled"),
        )
        .await;
    }
    let secret = match client_secret(state, org, sealed_secret) {
        Ok(s) => s,
        Err(f) => return fail(state, Some(org), Some(&sso.issuer), f).await,
    };
    let redirect_uri = state.config.redirect_uri();
    let client = ClientConfig {
        issuer: &sso.issuer,
        client_id: &sso.client_id,
        client_secret: &secret,
        redirect_uri: &redirect_uri,
    };
    let request = match state.oidc.authorization_request(&client, login_hint).await {
        Ok(r) => r,
        Err(e) => return fail(state, Some(org), Some(&sso.issuer), Failure::oidc(e)).await,
    };
    let binding = flow_cookie(headers).unwrap_or_else(|| {
        openidconnect::CsrfToken::new_random_len(32)
            .secret()
            .clone()
    });
    let flow = LoginFlow {
        state: request.state,
        org_id: org.id.clone(),
        nonce: request.nonce,
        pkce_verifier: request.pkce_verifier,
        target,
        browser_hash: binding_hash(&binding),
        expires_at: state.store.now_ms() + FLOW_TTL_MS,
    };
    match state.store.save_login_flow(&flow).await {
        Ok(true) => {}
        Ok(false) => {
            return fail(state, Some(org), Some(&sso.issuer), too_many_pending(org)).await;
        }
        Err(e) => return fail(state, Some(org), Some(&sso.issuer), Failure::store(e)).await,
    }
    let mut resp = Redirect::to(&request.url).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if let Some(cookie) = binding_set_cookie(&binding, state.config.secure_cookies()) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    resp
}

/// The org has [`app::ssr::login::MAX_PENDING_FLOWS_PER_ORG`] sign-ins in progress (someone
/// may be starting sign-ins in bulk): nothing is stored and Okta is not visited.
fn too_many_pending(org: &Org) -> Failure {
    Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_signins",
        "Too many sign-ins in progress",
        format!(
            "{} has too many sign-ins started and not finished right now, so Tessera did not start another.",
            org.name
        ),
        "Try again in a few minutes. If this persists, contact the service operator.",
    )
    .detail(format!(
        "{} unfinished sign-ins pending",
        app::ssr::login::MAX_PENDING_FLOWS_PER_ORG
    ))
    .retry()
}

fn client_secret(state: &AppState, org: &Org, sealed: &str) -> Result<String, Failure> {
    state.key.open(&org.id, sealed).map_err(|e| {
        tracing::error!(org = %org.slug, error = %e, "cannot decrypt the client secret");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "secret_unreadable",
            "Single sign-on is misconfigured",
            "Tessera cannot read this organization's Okta client secret.",
            "The service operator must check Tessera's secret key file, or register the client secret again (tessera sso set).",
        )
    })
}

// ---- callback -------------------------------------------------------------------------------

async fn callback_get(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q.unwrap_or_default().as_bytes());
    let (metrics, started) = (state.metrics.clone(), std::time::Instant::now());
    let resp = callback(state, session, &headers, p).await;
    metrics.callback_finished(started.elapsed());
    resp
}

/// Okta's "Simplified" mode form-posts an ID token here; anything else posted is refused.
async fn callback_post(State(state): State<AppState>, body: Bytes) -> Response {
    let p = params(&body);
    if p.contains_key("id_token") {
        return simplified_mode(&state, None).await;
    }
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "bad_request",
        "Unsupported request",
        "Okta must redirect here with GET.",
        START_AGAIN,
        Some("/login"),
    )
}

/// A `state` Tessera could have issued: short, URL-safe characters only. Anything else (a NUL,
/// a megabyte) is unknown without asking the database, so both databases answer alike.
fn well_formed_state(state: &str) -> bool {
    state.len() <= MAX_STATE_CHARS
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

async fn callback(
    state: AppState,
    session: Session,
    headers: &HeaderMap,
    p: HashMap<String, String>,
) -> Response {
    let state_param = param(&p, "state");
    if state_param.is_none() && param(&p, "id_token").is_some() {
        return simplified_mode(&state, None).await;
    }
    let known = state_param.filter(|s| well_formed_state(s));
    let flow = match take_flow(&state, headers, known).await {
        Ok(f) => f,
        Err(f) => return fail(&state, None, None, f).await,
    };
    let Some(flow) = flow else {
        return unbound_callback(&state, &session, &p, state_param, known).await;
    };
    let (org, sso, sealed) = match load_org(&state, &flow.org_id).await {
        Ok(v) => v,
        Err(f) => return fail(&state, None, None, f).await,
    };
    let identity = match identify(&state, &p, &org, &sso, &sealed, &flow).await {
        Ok(i) => i,
        Err(f) => return fail(&state, Some(&org), Some(sso.issuer.as_str()), f).await,
    };
    sign_in(&state, &session, &org, &sso, &identity, flow.target).await
}

/// The flow `state` names, taken from the store only for the browser that started it (login
/// CSRF): a callback opened elsewhere consumes nothing. `None` when there is no such flow.
async fn take_flow(
    state: &AppState,
    headers: &HeaderMap,
    known: Option<&str>,
) -> Result<Option<LoginFlow>, Failure> {
    match (known, flow_cookie(headers)) {
        (Some(s), Some(binding)) => state
            .store
            .take_login_flow(s, &binding_hash(&binding))
            .await
            .map_err(Failure::store),
        _ => Ok(None),
    }
}

/// Checks Okta's answer to `flow` and completes the code flow: the identity Okta vouches for.
async fn identify(
    state: &AppState,
    p: &HashMap<String, String>,
    org: &Org,
    sso: &SsoConnection,
    sealed: &str,
    flow: &LoginFlow,
) -> Result<crate::oidc::Identity, Failure> {
    let code = authorization_code(p, org, sso)?;
    let secret = client_secret(state, org, sealed)?;
    let redirect_uri = state.config.redirect_uri();
    let client = ClientConfig {
        issuer: &sso.issuer,
        client_id: &sso.client_id,
        client_secret: &secret,
        redirect_uri: &redirect_uri,
    };
    state
        .oidc
        .complete(&client, code, &flow.nonce, &flow.pkce_verifier)
        .await
        .map_err(Failure::oidc)
}

/// The authorization code of Okta's answer, or why there is none to redeem: Okta reported an
/// error, the answer names another issuer, SSO was turned off meanwhile, or no code came.
fn authorization_code<'a>(
    p: &'a HashMap<String, String>,
    org: &Org,
    sso: &SsoConnection,
) -> Result<&'a str, Failure> {
    if let Some(error) = param(p, "error") {
        let description = param(p, "error_description").unwrap_or_default();
        return Err(idp_error(error, description));
    }
    // RFC 9207: when the IdP names itself, it must be the issuer this flow was sent to.
    if let Some(returned) = param(p, "iss")
        && !issuer::same_key(returned, &sso.issuer)
    {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "issuer_mismatch",
            "The sign-in came back from the wrong place",
            "The response names a different Okta organization than the one the sign-in was sent to.",
            START_AGAIN,
        )
        .detail(format!("iss parameter {} differs from {}", bounded(returned, 200), sso.issuer))
        .retry());
    }
    if !sso.enabled {
        return Err(sso_disabled_failure(org, "SSO disabled during sign-in"));
    }
    param(p, "code").ok_or_else(|| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "code_missing",
            "The sign-in response is incomplete",
            "Okta's answer did not contain an authorization code.",
            START_AGAIN,
        )
        .retry()
    })
}

/// Provisions the member `identity` names, starts their session, records the attempt and
/// sends the browser on to `target` (`/` when none).
async fn sign_in(
    state: &AppState,
    session: &Session,
    org: &Org,
    sso: &SsoConnection,
    identity: &crate::oidc::Identity,
    target: Option<String>,
) -> Response {
    let (org_ref, iss) = (Some(org), Some(sso.issuer.as_str()));
    let mut attempt = LoginAttempt::new(
        state.store.now_ms(),
        Some(&org.id),
        Outcome::Success,
        "success",
        "",
    );
    attempt.issuer = Some(sso.issuer.clone());
    attempt.subject = Some(identity.subject.clone());
    attempt.email = Some(identity.email.clone());
    let member = match crate::jit::provision_member(&state.store, org, sso, identity).await {
        Ok(m) => m,
        Err(crate::jit::Refusal::Store(e)) => {
            return fail(state, org_ref, iss, Failure::store(e)).await;
        }
        Err(refusal) => {
            let f = refusal.failure(org);
            attempt.outcome = Outcome::Failure;
            attempt.reason = f.reason.to_string();
            attempt.detail = f.detail.clone();
            record(state, org_ref, &attempt).await;
            return f.page();
        }
    };
    if let Err(f) = start_session(state, session, &member.id, &org.id).await {
        return fail(state, org_ref, iss, f).await;
    }
    attempt.member_id = Some(member.id.clone());
    record(state, org_ref, &attempt).await;
    let to = target.unwrap_or_else(|| "/".to_string());
    let mut resp = Redirect::to(&to).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// Signs `member_id` in: a fresh session id (a session id planted before login is worthless)
/// carrying the member, the org and the absolute deadline.
async fn start_session(
    state: &AppState,
    session: &Session,
    member_id: &str,
    org_id: &str,
) -> Result<(), Failure> {
    let deadline = state.store.now_ms() + state.config.session_absolute_timeout.as_millis() as i64;
    let stored = async {
        session.cycle_id().await?;
        session.insert(MEMBER_KEY, member_id).await?;
        session.insert(ORG_KEY, org_id).await?;
        session.insert(ABSOLUTE_EXPIRY_KEY, deadline).await?;
        session.save().await
    }
    .await;
    stored.map_err(|e| {
        tracing::error!(error = %e, "could not store the session");
        Failure::store(StoreError::Unavailable(e.to_string()))
    })
}

fn state_failure(detail: &str) -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "state_missing_or_expired",
        "This sign-in has expired",
        "The sign-in link was already used, is older than 10 minutes, or came from a bookmark or the back button.",
        "Start a fresh sign-in: click the Tessera tile in your Okta dashboard, or use the button below.",
    )
    .detail(detail)
    .retry()
}

/// A callback this browser cannot complete: no state, an unknown, used, expired or malformed
/// one, or a flow another browser started. Nothing here touches an org: no flow is consumed,
/// no org's Okta is called and no org's login activity grows (the attempt is recorded without
/// an org, with Tessera's own words only).
async fn unbound_callback(
    state: &AppState,
    session: &Session,
    p: &HashMap<String, String>,
    state_param: Option<&str>,
    known: Option<&str>,
) -> Response {
    // Okta's error redirect, with no usable state: the error code is from a fixed list and the
    // advice is ours; the unauthenticated description is neither shown nor stored.
    if let Some(error) = param(p, "error") {
        return fail(state, None, None, unverified_idp_error(error)).await;
    }
    if let Some(s) = known {
        match state.store.login_flow_pending(s).await {
            Ok(true) => return fail(state, None, None, browser_mismatch()).await,
            Ok(false) => {}
            Err(e) => return fail(state, None, None, Failure::store(e)).await,
        }
    }
    // Back to Okta after signing in: a fresh code with a used state. The session is valid,
    // so go into the app instead of saying the sign-in expired.
    if let Ok(Some(_)) = auth::current(session, &state.store).await {
        let mut resp = Redirect::to("/").into_response();
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        return resp;
    }
    let detail = match (state_param, known) {
        (None, _) => "no state parameter",
        (Some(_), None) => "malformed state parameter",
        (Some(_), Some(_)) => "unknown, used or expired state",
    };
    fail(state, None, None, state_failure(detail)).await
}

/// A callback for a flow started in another browser: refused (login CSRF), session untouched.
fn browser_mismatch() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "browser_mismatch",
        "This sign-in was started in another browser",
        "The sign-in link you opened belongs to a sign-in that was started in a different browser (or its cookies were cleared), so Tessera did not sign you in. If someone sent you this link, close this page.",
        "To sign in, click the Tessera tile in your Okta dashboard in this browser, or use the button below.",
    )
    .detail("state bound to another browser")
    .retry()
}

/// The OAuth 2.0 / OpenID Connect error codes an authorization endpoint may return
/// (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6), each with Tessera's own explanation.
/// `None` for anything else.
fn oauth_error_advice(error: &str) -> Option<(&'static str, &'static str, &'static str)> {
    const ASSIGN: &str = "Ask your Okta administrator to assign you (or a group you belong to) to the Tessera app: in the Okta Admin Console, Applications -> Tessera -> Assignments.";
    const APP_SETTINGS: &str = "Ask your Okta administrator to check the Tessera app in Okta (General -> Login): the sign-in redirect URI, \"Authorization Code\" as grant type and \"Either Okta or App\" as login initiator.";
    Some(match error {
        "access_denied" => (
            "access_denied",
            "Okta refused the sign-in (access_denied). Usually this means your Okta account is not assigned to the Tessera app, or an Okta policy denies it.",
            ASSIGN,
        ),
        "login_required"
        | "interaction_required"
        | "consent_required"
        | "account_selection_required" => (
            "login_required",
            "Okta needs you to sign in there first.",
            "Sign in to your Okta dashboard, then click the Tessera tile.",
        ),
        "invalid_request"
        | "unauthorized_client"
        | "unsupported_response_type"
        | "invalid_scope"
        | "invalid_request_uri"
        | "invalid_request_object"
        | "request_not_supported"
        | "request_uri_not_supported"
        | "registration_not_supported" => (
            "invalid_request",
            "Okta refused Tessera's sign-in request: the Tessera app in Okta is not set up as Tessera expects.",
            APP_SETTINGS,
        ),
        "server_error" | "temporarily_unavailable" => (
            "server_error",
            "Okta had a problem and could not sign you in.",
            "Try again in a few minutes from your Okta dashboard.",
        ),
        _ => return None,
    })
}

/// Okta's error redirect without a state Tessera can verify: the code is looked up in a fixed
/// list, the advice is Tessera's, and nothing from the request is quoted.
fn unverified_idp_error(error: &str) -> Failure {
    let code = oauth_error_advice(error).map(|(code, _, _)| code);
    let (what, advice) = match oauth_error_advice(error) {
        Some((_, what, advice)) => (what, advice),
        None => (
            "Okta sent back an error instead of a sign-in.",
            "Try again from the Tessera tile in your Okta dashboard. If it keeps failing, tell your Okta administrator the time and the reason code below.",
        ),
    };
    let title = if code == Some("access_denied") {
        "Okta refused the sign-in"
    } else {
        "Okta did not sign you in"
    };
    Failure::new(StatusCode::FORBIDDEN, "idp_error", title, what, advice)
        .detail(format!(
            "{} (callback without a valid sign-in state)",
            code.unwrap_or("unrecognized error code")
        ))
        .retry()
}

/// Okta's error redirect for a flow this browser started (the state is verified and bound).
fn idp_error(error: &str, description: &str) -> Failure {
    let (error, description) = (bounded(error, 100), bounded(description, 300));
    let (error, description) = (error.as_str(), description.as_str());
    let detail = format!("{error}: {description}");
    let not_assigned =
        error == "access_denied" && description.to_lowercase().contains("not assigned");
    if not_assigned {
        Failure::new(
            StatusCode::FORBIDDEN,
            "idp_error",
            "You are not assigned to this application in Okta",
            "Okta says your account is not assigned to the Tessera app.",
            "Ask your Okta administrator to assign you (or a group you belong to) to the app: in the Okta Admin Console, Applications -> Tessera -> Assignments.",
        )
        .detail(detail)
    } else {
        Failure::new(
            StatusCode::FORBIDDEN,
            "idp_error",
            "Okta did not sign you in",
            format!("Okta answered: {}", if description.is_empty() { error } else { description }),
            "Try again from your Okta dashboard. If it keeps failing, send this page's reason to your Okta administrator.",
        )
        .detail(detail)
        .retry()
    }
}

/// The flow's org, its connection and the connection's sealed client secret.
async fn load_org(state: &AppState, org_id: &str) -> Result<(Org, SsoConnection, String), Failure> {
    let found = state
        .store
        .org_with_sso(org_id)
        .await
        .map_err(Failure::store)?;
    let (org, sso) = found.ok_or_else(|| state_failure("org of the flow no longer exists"))?;
    let (sso, sealed) =
        sso.ok_or_else(|| sso_disabled_failure(&org, "connection removed during sign-in"))?;
    Ok((org, sso, sealed))
}

// ---- session and sign-out -------------------------------------------------------------------

async fn logout(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "could not delete the session");
    }
    Redirect::to("/login").into_response()
}

async fn session_info(State(state): State<AppState>, session: Session) -> Response {
    match auth::current(&session, &state.store).await {
        Ok(Some(info)) => Json(info).into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "unauthenticated", "message": "Sign in first: click the Tessera tile in your Okta dashboard."})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"error": "unavailable", "message": "Try again shortly."})),
            )
                .into_response()
        }
    }
}

impl crate::jit::Refusal {
    fn failure(&self, org: &Org) -> Failure {
        match self {
            crate::jit::Refusal::Deactivated => Failure::new(
                StatusCode::FORBIDDEN,
                "member_deactivated",
                "Your access has been turned off",
                format!("Your membership in {} is deactivated.", org.name),
                "Ask an owner or admin of your organization in Tessera to reactivate you.",
            ),
            crate::jit::Refusal::JitDisabled => Failure::new(
                StatusCode::FORBIDDEN,
                "jit_disabled",
                "You are not a member yet",
                format!("{} admits only people who are already members.", org.name),
                "Ask an owner or admin of your organization in Tessera to add you.",
            ),
            crate::jit::Refusal::Store(_) => Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Tessera is temporarily unavailable",
                "Tessera cannot reach its database right now.",
                "Wait a moment and try again.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_on_our_origin() {
        let base = "http://127.0.0.1:3000";
        assert_eq!(
            same_origin_target(base, "/members?x=1").as_deref(),
            Some("/members?x=1")
        );
        assert_eq!(
            same_origin_target(base, "http://127.0.0.1:3000/a").as_deref(),
            Some("/a")
        );
        assert_eq!(same_origin_target(base, "https://evil.example/"), None);
        assert_eq!(same_origin_target(base, "//evil.example/"), None);
        assert_eq!(same_origin_target(base, "/\\evil.example"), None);
        assert_eq!(same_origin_target(base, "http://127.0.0.1:3001/"), None);
        // Fuzz regression (fuzz/artifacts/callback_params/crash-03e8cf32…): `.//` must not
        // become the scheme-relative `//evil.example`.
        assert_eq!(same_origin_target(base, ".//"), None);
        assert_eq!(same_origin_target(base, ".//evil.example/x"), None);
        assert_eq!(same_origin_target(base, "/a//b").as_deref(), Some("/a//b"));
    }

    #[test]
    fn initiate_requests_are_parsed_defensively() {
        let base = "https://sso.example.com";
        assert_eq!(
            parse_initiate(
                b"iss=HTTPS%3A%2F%2FAcme.okta.com%2F&login_hint=a%40b.c&target_link_uri=%2Fmembers",
                base
            ),
            InitiateRequest::Login {
                issuer: "https://acme.okta.com".into(),
                login_hint: Some("a@b.c".into()),
                target: Some("/members".into()),
            }
        );
        assert_eq!(parse_initiate(b"", base), InitiateRequest::MissingIss);
        assert_eq!(
            parse_initiate(b"iss=%20", base),
            InitiateRequest::MissingIss
        );
        assert!(matches!(
            parse_initiate(b"iss=javascript:alert(1)", base),
            InitiateRequest::InvalidIss(_)
        ));
        assert_eq!(
            parse_initiate(b"id_token=x.y.z", base),
            InitiateRequest::SimplifiedMode
        );
        assert_eq!(
            parse_initiate(
                b"iss=https://a.okta.com&target_link_uri=https://evil.example/",
                base
            ),
            InitiateRequest::Login {
                issuer: "https://a.okta.com".into(),
                login_hint: None,
                target: None
            }
        );
        // Arbitrary bytes never panic.
        let _ = parse_initiate(&[0xff, b'=', 0xfe, b'&', b'%', b'z'], base);
    }

    #[test]
    fn repeated_params_keep_the_first() {
        let p = params(b"iss=a&iss=b&x=%20y");
        assert_eq!(p["iss"], "a");
        assert_eq!(param(&p, "x"), Some("y"));
    }

    #[test]
    fn okta_errors_without_state_use_fixed_words_only() {
        let f = unverified_idp_error("access_denied");
        assert_eq!(f.reason, "idp_error");
        assert!(f.title.contains("refused"));
        assert!(f.advice.contains("Assignments"));
        assert!(f.detail.starts_with("access_denied"));
        for code in ["login_required", "invalid_scope", "temporarily_unavailable"] {
            assert!(oauth_error_advice(code).is_some(), "{code}");
        }
        // Unknown codes are not echoed anywhere.
        let f = unverified_idp_error("<b>pwned</b>\u{1b}[2J");
        let all = format!("{}{}{}{}", f.title, f.what, f.advice, f.detail);
        assert!(!all.contains("pwned"), "{all}");
        assert!(f.detail.contains("unrecognized"));
    }

    #[test]
    fn only_states_we_could_have_issued_are_looked_up() {
        assert!(well_formed_state("q8Zt3l0-Vd2_fGx9hYk1Ab"));
        for bad in [
            "a\u{0}b",
            "a b",
            "a%00b",
            "\u{1b}[2J",
            "é",
            &"s".repeat(129),
        ] {
            assert!(!well_formed_state(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_binding_cookie_is_read_only_when_well_formed() {
        let good = "A".repeat(FLOW_COOKIE_CHARS);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("tessera_session=x; {FLOW_COOKIE}={good}")
                .parse()
                .unwrap(),
        );
        assert_eq!(flow_cookie(&h).as_deref(), Some(good.as_str()));
        for bad in ["short", &format!("{good}A"), &"A;".repeat(22)] {
            let mut h = HeaderMap::new();
            h.insert(
                header::COOKIE,
                format!("{FLOW_COOKIE}={bad}").parse().unwrap(),
            );
            assert_eq!(flow_cookie(&h), None, "{bad}");
        }
        assert_eq!(binding_hash("x").len(), 64);
        assert_ne!(binding_hash("x"), binding_hash("y"));
        let set = binding_set_cookie(&good, true).unwrap();
        let set = set.to_str().unwrap();
        for attr in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/sso",
            "Max-Age=600",
            "Secure",
        ] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(
            !binding_set_cookie(&good, false)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }

    #[test]
    fn unassigned_users_get_specific_advice() {
        let f = idp_error(
            "access_denied",
            "User is not assigned to the client application.",
        );
        assert!(f.title.contains("not assigned"));
        assert!(f.advice.contains("Assignments"));
        assert_eq!(f.reason, "idp_error");
    }
}
