//! The sign-in use case over an org's Okta (OpenID Connect authorization code flow with PKCE),
//! with no HTTP in it: [`begin`] starts a sign-in and [`complete`] finishes one, and every
//! sign-in that ends — well or not — is one login attempt, logged, counted and stored
//! ([`LoginReason`] says why).
//!
//! The IdP is reached through [`IdentityProvider`] (implemented by the server's OIDC client),
//! so this module knows neither the OpenID Connect library nor the web framework. The HTTP
//! handlers parse and bound the request, read and set the browser-binding cookie, call these
//! functions and turn the result into a redirect or a problem page.
//!
//! Login CSRF: a flow is stored with the hash of the starting browser's binding cookie, and is
//! taken only by a callback presenting the same one, so a callback opened in another browser
//! changes nothing.

use super::auth;
use super::crypto::SecretKey;
use super::issuer;
use super::login::{FlowTier, LoginAttempt, LoginFlow, MAX_PENDING_FLOWS_PER_ORG, Outcome};
use super::membership::{self, Actor, Identity, ProvisionError, Via};
use super::store::{OrgWithSso, Store, StoreError};
use crate::api::login_reason::{Explanation, Facts, LoginReason, OktaError};
use crate::model::OrgId;
use crate::model::{Member, Org, SsoConnection};
use crate::validate::bounded;
use std::future::Future;
use tower_sessions::Session;

/// How long a started sign-in may take before its state expires (10 minutes).
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;

// ---- the IdP -----------------------------------------------------------------------------------

/// The registered connection of one org, with its decrypted secret.
pub struct ClientConfig<'a> {
    /// The issuer as registered (published form).
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    /// Tessera's sign-in redirect URI (`{public_url}/sso/callback`).
    pub redirect_uri: &'a str,
}

/// What the browser is sent to, and what must be remembered for the callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRequest {
    /// The IdP's authorization endpoint with the request's parameters.
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Why talking to the IdP failed; the text (bounded by the IdP client) becomes the attempt's
/// detail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdpError {
    /// The IdP could not be reached or timed out (`idp_unreachable`).
    #[error("{0}")]
    Unreachable(String),
    /// The IdP's configuration is wrong: discovery failed validation, an answer was too large
    /// or came from a refused destination (`idp_misconfigured`).
    #[error("{0}")]
    Misconfigured(String),
    /// The token endpoint refused the code or the client credentials (`token_exchange_failed`).
    #[error("{0}")]
    TokenExchange(String),
    /// The ID token failed a check; the text says which (`token_invalid`).
    #[error("{0}")]
    TokenInvalid(String),
    /// /userinfo failed or disagreed with the ID token (`userinfo_invalid`).
    #[error("{0}")]
    UserInfo(String),
}

impl IdpError {
    fn failure(self) -> LoginFailure {
        let (reason, detail) = match self {
            IdpError::Unreachable(d) => (LoginReason::IdpUnreachable, d),
            IdpError::Misconfigured(d) => (LoginReason::IdpMisconfigured, d),
            IdpError::TokenExchange(d) => (LoginReason::TokenExchangeFailed, d),
            IdpError::TokenInvalid(d) => (LoginReason::TokenInvalid, d),
            IdpError::UserInfo(d) => (LoginReason::UserinfoInvalid, d),
        };
        LoginFailure::new(reason).detail(detail)
    }
}

/// An org's OpenID provider, as the sign-in uses it.
pub trait IdentityProvider: Sync {
    /// The authorization request (code flow, scopes `openid email profile`, fresh state and
    /// nonce, PKCE S256), passing `login_hint` on.
    fn authorization_request(
        &self,
        client: &ClientConfig<'_>,
        login_hint: Option<&str>,
    ) -> impl Future<Output = Result<AuthRequest, IdpError>> + Send;

    /// Redeems `code` and verifies the ID token against `nonce` and the client: the person
    /// the IdP vouches for.
    fn complete(
        &self,
        client: &ClientConfig<'_>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> impl Future<Output = Result<Identity, IdpError>> + Send;
}

// ---- what a sign-in needs and how it ends ------------------------------------------------------

/// Counts login attempts (the server's `tessera_login_attempts_total`).
pub trait CountAttempts: Sync {
    /// One attempt, by outcome (true: success) and reason.
    fn attempt(&self, success: bool, reason: LoginReason);
}

/// What a sign-in needs from the server.
pub struct SignIn<'a, P> {
    pub store: &'a Store,
    /// Opens the org's sealed client secret.
    pub key: &'a SecretKey,
    pub idp: &'a P,
    /// Tessera's sign-in redirect URI (`{public_url}/sso/callback`).
    pub redirect_uri: String,
    /// The longest a session lasts, however active (`--session-absolute-timeout`), in ms.
    pub session_lifetime_ms: i64,
    pub counter: &'a dyn CountAttempts,
}

/// A sign-in that did not work: what was recorded and what the person is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFailure {
    pub reason: LoginReason,
    /// The attempt's detail: Tessera's words, values from outside bounded.
    pub detail: String,
    /// The org's display name, when the sign-in got as far as an org.
    pub org_name: Option<String>,
    /// The end-user dashboard of the org's Okta (`{issuer origin}/app/UserHome`), when the
    /// sign-in got as far as an org with a connection: a way on from a page that cannot
    /// suggest signing in again.
    pub okta_dashboard: Option<Box<str>>,
    said: Said,
}

/// What the request said that the person's words may mention.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Said {
    Nothing,
    /// Something Tessera does not know: an issuer, an org name.
    Named(String),
    /// Okta's error redirect: `error` and, with a verified state, `error_description`.
    Okta {
        error: String,
        description: Option<String>,
    },
}

impl LoginFailure {
    pub fn new(reason: LoginReason) -> Self {
        LoginFailure {
            reason,
            detail: String::new(),
            org_name: None,
            okta_dashboard: None,
            said: Said::Nothing,
        }
    }

    /// The same failure with `detail` (Tessera's words; values from outside bounded).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    fn of(mut self, org: &Org) -> Self {
        self.org_name = Some(org.name.clone());
        self
    }

    fn naming(mut self, named: &str) -> Self {
        self.said = Said::Named(named.to_string());
        self
    }

    /// The HTTP status of the problem page.
    pub fn status(&self) -> u16 {
        self.reason.status()
    }

    /// What the problem page says.
    pub fn explain(&self) -> Explanation {
        let (named, okta) = match &self.said {
            Said::Nothing => (None, None),
            Said::Named(named) => (Some(named.as_str()), None),
            Said::Okta { error, description } => (
                None,
                Some(OktaError {
                    error,
                    description: description.as_deref(),
                }),
            ),
        };
        self.reason.explain(&Facts {
            org_name: self.org_name.as_deref(),
            named,
            okta,
        })
    }

    /// A store failure: the database unreachable is `service_unavailable` (503), a value it
    /// refuses `bad_request` (400), the org deleted meanwhile `state_missing_or_expired`,
    /// anything else `internal_error` (500).
    fn store(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::error!(error = %e, "store failure during sign-in");
            LoginFailure::new(LoginReason::ServiceUnavailable)
        } else if e.is_bad_input() {
            tracing::info!(error = %e, "the database refused a value of this sign-in");
            LoginFailure::new(LoginReason::BadRequest)
        } else if e.is_gone() {
            tracing::info!(error = %e, "the org of this sign-in was deleted meanwhile");
            LoginFailure::state("org deleted during sign-in")
        } else {
            tracing::error!(error = %e, "store failure during sign-in");
            LoginFailure::new(LoginReason::InternalError)
        }
    }

    fn sso_disabled(org: &Org, detail: &str) -> Self {
        LoginFailure::new(LoginReason::SsoDisabled)
            .of(org)
            .detail(detail)
    }

    fn state(detail: &str) -> Self {
        LoginFailure::new(LoginReason::StateMissingOrExpired).detail(detail)
    }

    /// Okta's error redirect for a flow this browser started (the state is verified).
    fn idp_error(error: &str, description: &str) -> Self {
        let (error, description) = (bounded(error, 100), bounded(description, 300));
        let mut f =
            LoginFailure::new(LoginReason::IdpError).detail(format!("{error}: {description}"));
        f.said = Said::Okta {
            error,
            description: Some(description),
        };
        f
    }

    /// Okta's error redirect without a state Tessera can verify: the code is looked up in a
    /// fixed list, and nothing from the request is quoted or stored.
    fn unverified_idp_error(error: &str) -> Self {
        let code = crate::api::login_reason::oauth_error_advice(error).map(|(code, _, _)| code);
        let mut f = LoginFailure::new(LoginReason::IdpError).detail(format!(
            "{} (callback without a valid sign-in state)",
            code.unwrap_or("unrecognized error code")
        ));
        f.said = Said::Okta {
            error: code.unwrap_or("unrecognized").to_string(),
            description: None,
        };
        f
    }
}

/// A completed sign-in: the member, their org and where to go (a path on Tessera's origin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub member: Member,
    pub org: Org,
    pub target: Option<String>,
    /// The org now knows the browser that completed the sign-in (its binding cookie): its next
    /// sign-ins are [`FlowTier::Known`] for [`super::login::KNOWN_BROWSER_TTL_MS`], so the
    /// cookie should live that long.
    pub browser_known: bool,
}

/// A started sign-in: where to send the browser, and how its flow was saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    /// The IdP's authorization endpoint with the request's parameters.
    pub authorize_url: String,
    /// [`FlowTier::Known`] when the org knows this browser: its binding cookie should then keep
    /// living as long as that ([`super::login::KNOWN_BROWSER_TTL_MS`]), not just for the flow.
    pub tier: FlowTier,
}

// ---- recording -------------------------------------------------------------------------------

/// One structured log line (target `tessera::login`), the count, and the stored attempt
/// (`tessera org events`, the activity page).
async fn record<P>(cx: &SignIn<'_, P>, org: Option<&Org>, attempt: &LoginAttempt) {
    // With the database gone, writing the attempt would only wait out the pool's acquire
    // timeout a second time before the person sees the page: the log line and count suffice.
    announce(cx, org, attempt);
    if attempt.reason != LoginReason::ServiceUnavailable
        && let Err(e) = cx.store.record_login_attempt(attempt).await
    {
        tracing::warn!(error = %e, "could not record login attempt");
    }
}

/// The log line and the count of `attempt` (written to the store by [`record`], or with the
/// sign-in's browser by [`Store::record_sign_in`]).
fn announce<P>(cx: &SignIn<'_, P>, org: Option<&Org>, attempt: &LoginAttempt) {
    let success = attempt.outcome == Outcome::Success;
    tracing::info!(
        target: "tessera::login",
        outcome = if success { "success" } else { "failure" },
        reason = %attempt.reason,
        org = org.map_or("-", |o| o.slug.as_str()),
        org_id = attempt.org_id.as_ref().map_or("-", OrgId::as_str),
        issuer = attempt.issuer.as_deref().unwrap_or("-"),
        subject = attempt.subject.as_deref().unwrap_or("-"),
        detail = %attempt.detail,
        "login attempt"
    );
    cx.counter.attempt(success, attempt.reason);
}

/// Records `f` as a failed attempt (of `org`, through `issuer`, when known) and hands it back.
async fn fail<P>(
    cx: &SignIn<'_, P>,
    org: Option<&Org>,
    issuer: Option<&str>,
    mut f: LoginFailure,
) -> LoginFailure {
    // Only an org's own connection names a dashboard: an issuer nobody connected is a
    // stranger's text.
    if org.is_some() {
        f.okta_dashboard = issuer.and_then(okta_dashboard).map(String::into_boxed_str);
    }
    let mut attempt = LoginAttempt::new(
        cx.store.now_ms(),
        org.map(|o| &o.id),
        Outcome::Failure,
        f.reason,
        &f.detail,
    );
    attempt.issuer = issuer.map(str::to_string);
    record(cx, org, &attempt).await;
    f
}

/// Okta's end-user dashboard for an org's `issuer`: its origin and `/app/UserHome`.
fn okta_dashboard(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    matches!(url.scheme(), "https" | "http")
        .then(|| format!("{}/app/UserHome", url.origin().ascii_serialization()))
}

/// Records a sign-in the request itself already ruled out (a malformed initiate request, Okta
/// "Simplified" mode), naming no org, and hands it back.
pub async fn refuse<P>(cx: &SignIn<'_, P>, f: LoginFailure) -> LoginFailure {
    fail(cx, None, None, f).await
}

// ---- begin -----------------------------------------------------------------------------------

/// How a sign-in names its org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrgNamed {
    /// By its Okta issuer, normalized: Okta's tile (third-party initiated login, OpenID
    /// Connect Core §4).
    Issuer(String),
    /// As a person typed it on Tessera's login page, checked by [`crate::validate::org_input`]:
    /// its short name (slug, any case) or its display name (any case).
    Typed(String),
}

/// A sign-in to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Begin {
    pub org: OrgNamed,
    /// Passed on to Okta, bounded and without control characters.
    pub login_hint: Option<String>,
    /// Where to land afterwards: a path on Tessera's own origin.
    pub target: Option<String>,
    /// SHA-256 (lowercase hex) of this browser's binding cookie.
    pub browser_hash: String,
    /// The binding cookie was made for this request (the browser sent none): no flow is bound
    /// to it and no org knows it, so the store need not look.
    pub new_browser: bool,
}

/// Starts a sign-in: finds the org and its enabled connection, asks the IdP for the
/// authorization request and saves the flow (state, nonce, PKCE verifier, target, browser
/// hash) in its tier ([`FlowTier`]: a flood of anonymous starts evicts only older anonymous
/// ones). Returns the URL to send the browser to and the tier. An org name that names no org
/// (`org_unknown`) is not a login attempt and is not recorded; every other failure is.
pub async fn begin<P: IdentityProvider>(
    cx: &SignIn<'_, P>,
    start: Begin,
) -> Result<Started, LoginFailure> {
    let (org, sso, sealed) = match &start.org {
        OrgNamed::Issuer(normalized) => {
            let found = match cx.store.org_with_sso_by_issuer(normalized).await {
                Ok(f) => f,
                Err(e) => {
                    return Err(fail(cx, None, Some(normalized), LoginFailure::store(e)).await);
                }
            };
            let Some((org, Some((sso, sealed)))) = found else {
                let f = LoginFailure::new(LoginReason::UnknownIssuer)
                    .naming(normalized)
                    .detail(normalized.clone());
                return Err(fail(cx, None, Some(normalized), f).await);
            };
            (org, sso, sealed)
        }
        OrgNamed::Typed(typed) => {
            let (org, sso) = match org_typed(cx.store, typed).await {
                Ok(found) => found,
                Err(f) => return Err(f),
            };
            let Some((sso, sealed)) = sso else {
                let f = LoginFailure::sso_disabled(&org, "no Okta connection registered");
                return Err(fail(cx, Some(&org), None, f).await);
            };
            (org, sso, sealed)
        }
    };
    match start_flow(cx, &org, &sso, &sealed, start).await {
        Ok(started) => Ok(started),
        Err(f) => Err(fail(cx, Some(&org), Some(&sso.issuer), f).await),
    }
}

/// The org a person named on the login page: by short name first, then by display name (any
/// case). Not found and several of that name are [`LoginReason::OrgUnknown`] and
/// [`LoginReason::OrgAmbiguous`] (not recorded as attempts: no org is known).
async fn org_typed(store: &Store, typed: &str) -> Result<OrgWithSso, LoginFailure> {
    let slug = typed.to_lowercase();
    if crate::validate::slug(&slug).is_ok() {
        match store.org_with_sso_by_slug(&slug).await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e) => return Err(LoginFailure::store(e)),
        }
    }
    let named = store.orgs_named(typed).await.map_err(LoginFailure::store)?;
    let org = match named.as_slice() {
        [org] => org,
        [] => return Err(LoginFailure::new(LoginReason::OrgUnknown).naming(typed)),
        _ => return Err(LoginFailure::new(LoginReason::OrgAmbiguous)),
    };
    match store.org_with_sso(&org.id).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(LoginFailure::new(LoginReason::OrgUnknown).naming(typed)),
        Err(e) => Err(LoginFailure::store(e)),
    }
}

/// The org's client secret, opened with the server's key.
fn client_secret<P>(cx: &SignIn<'_, P>, org: &Org, sealed: &str) -> Result<String, LoginFailure> {
    cx.key.open(org.id.as_str(), sealed).map_err(|e| {
        tracing::error!(org = %org.slug, error = %e, "cannot decrypt the client secret");
        LoginFailure::new(LoginReason::SecretUnreadable)
    })
}

/// The enabled connection's authorization request, and the flow saved for its callback.
async fn start_flow<P: IdentityProvider>(
    cx: &SignIn<'_, P>,
    org: &Org,
    sso: &SsoConnection,
    sealed: &str,
    start: Begin,
) -> Result<Started, LoginFailure> {
    if !sso.enabled {
        return Err(LoginFailure::sso_disabled(org, "SSO disabled"));
    }
    let secret = client_secret(cx, org, sealed)?;
    let client = ClientConfig {
        issuer: &sso.issuer,
        client_id: &sso.client_id,
        client_secret: &secret,
        redirect_uri: &cx.redirect_uri,
    };
    let request = cx
        .idp
        .authorization_request(&client, start.login_hint.as_deref())
        .await
        .map_err(IdpError::failure)?;
    let flow = LoginFlow {
        state: request.state,
        org_id: org.id.clone(),
        nonce: request.nonce,
        pkce_verifier: request.pkce_verifier,
        target: start.target,
        browser_hash: start.browser_hash,
        expires_at: cx.store.now_ms() + FLOW_TTL_MS,
    };
    match cx.store.save_login_flow(&flow, start.new_browser).await {
        Ok(Some(tier)) => Ok(Started {
            authorize_url: request.url,
            tier,
        }),
        // Only known browsers' sign-ins are ever refused (anonymous ones evict older ones):
        // nothing is stored, Okta is not visited.
        Ok(None) => Err(LoginFailure::new(LoginReason::TooManySignins)
            .of(org)
            .detail(format!(
                "{MAX_PENDING_FLOWS_PER_ORG} unfinished sign-ins of known browsers pending"
            ))),
        Err(e) => Err(LoginFailure::store(e)),
    }
}

// ---- complete --------------------------------------------------------------------------------

/// The callback's `state`, as far as the request shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State<'a> {
    /// No `state` parameter.
    Missing,
    /// One Tessera could not have issued (too long, other characters): unknown without asking
    /// the database.
    Malformed,
    /// One Tessera could have issued.
    WellFormed(&'a str),
}

/// Okta's redirect back to the callback, parameters trimmed (blank ones absent).
#[derive(Clone, Copy, Debug)]
pub struct Callback<'a> {
    pub state: State<'a>,
    /// SHA-256 of this browser's binding cookie, when it presents a well-formed one.
    pub browser_hash: Option<&'a str>,
    pub code: Option<&'a str>,
    /// Okta's `error` and `error_description`.
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    /// The `iss` parameter (RFC 9207).
    pub iss: Option<&'a str>,
}

/// Completes a sign-in: takes the flow `callback.state` names (only for the browser that
/// started it), loads its org and connection, checks Okta's answer and completes the code
/// flow, provisions the member ([`membership::provision`], Okta acting just in time), starts
/// their session on `session` (a fresh id) and records the attempt.
///
/// A callback this browser cannot complete (no state, an unknown, used, expired or malformed
/// one, or a flow another browser started) touches no org: no flow is consumed, no IdP is
/// called and the attempt is recorded without an org, in Tessera's words only. A browser that
/// is already signed in (back to Okta after signing in: a fresh code with a used state) is
/// simply let through to its session.
pub async fn complete<P: IdentityProvider>(
    cx: &SignIn<'_, P>,
    session: &Session,
    callback: Callback<'_>,
) -> Result<SignedIn, LoginFailure> {
    let flow = match (callback.state, callback.browser_hash) {
        (State::WellFormed(s), Some(hash)) => match cx.store.take_login_flow(s, hash).await {
            Ok(flow) => flow,
            Err(e) => return Err(fail(cx, None, None, LoginFailure::store(e)).await),
        },
        _ => None,
    };
    let Some(flow) = flow else {
        return unbound(cx, session, callback).await;
    };
    let (org, sso, sealed) = match load_org(cx, &flow.org_id).await {
        Ok(found) => found,
        Err(f) => return Err(fail(cx, None, None, f).await),
    };
    let identity = match identify(cx, &callback, &org, &sso, &sealed, &flow).await {
        Ok(identity) => identity,
        Err(f) => return Err(fail(cx, Some(&org), Some(&sso.issuer), f).await),
    };
    sign_in(cx, session, org, &sso, &identity, &flow).await
}

/// A callback without a flow of this browser's: Okta's error, another browser's flow, a
/// browser already signed in, or a stale state.
async fn unbound<P>(
    cx: &SignIn<'_, P>,
    session: &Session,
    callback: Callback<'_>,
) -> Result<SignedIn, LoginFailure> {
    // Okta's error redirect, with no usable state: the error code is from a fixed list and the
    // words are Tessera's; the unauthenticated description is neither shown nor stored.
    if let Some(error) = callback.error {
        return Err(fail(cx, None, None, LoginFailure::unverified_idp_error(error)).await);
    }
    if let State::WellFormed(s) = callback.state {
        match cx.store.login_flow_pending(s).await {
            // Started in another browser: refused (login CSRF), the session untouched.
            Ok(true) => {
                let f = LoginFailure::new(LoginReason::BrowserMismatch)
                    .detail("state bound to another browser");
                return Err(fail(cx, None, None, f).await);
            }
            Ok(false) => {}
            Err(e) => return Err(fail(cx, None, None, LoginFailure::store(e)).await),
        }
    }
    if let Ok(Some((member, org))) = auth::signed_in_member(session, cx.store).await {
        return Ok(SignedIn {
            member,
            org,
            target: None,
            browser_known: false,
        });
    }
    let detail = match callback.state {
        State::Missing => "no state parameter",
        State::Malformed => "malformed state parameter",
        State::WellFormed(_) => "unknown, used or expired state",
    };
    Err(fail(cx, None, None, LoginFailure::state(detail)).await)
}

/// The flow's org, its connection and the connection's sealed client secret.
async fn load_org<P>(
    cx: &SignIn<'_, P>,
    org_id: &OrgId,
) -> Result<(Org, SsoConnection, String), LoginFailure> {
    let found = cx
        .store
        .org_with_sso(org_id)
        .await
        .map_err(LoginFailure::store)?;
    let (org, sso) =
        found.ok_or_else(|| LoginFailure::state("org of the flow no longer exists"))?;
    let (sso, sealed) =
        sso.ok_or_else(|| LoginFailure::sso_disabled(&org, "connection removed during sign-in"))?;
    Ok((org, sso, sealed))
}

/// Checks Okta's answer to `flow` and completes the code flow: the person Okta vouches for.
async fn identify<P: IdentityProvider>(
    cx: &SignIn<'_, P>,
    callback: &Callback<'_>,
    org: &Org,
    sso: &SsoConnection,
    sealed: &str,
    flow: &LoginFlow,
) -> Result<Identity, LoginFailure> {
    let code = authorization_code(callback, org, sso)?;
    let secret = client_secret(cx, org, sealed)?;
    let client = ClientConfig {
        issuer: &sso.issuer,
        client_id: &sso.client_id,
        client_secret: &secret,
        redirect_uri: &cx.redirect_uri,
    };
    cx.idp
        .complete(&client, code, &flow.nonce, &flow.pkce_verifier)
        .await
        .map_err(IdpError::failure)
}

/// The authorization code of Okta's answer, or why there is none to redeem: Okta reported an
/// error, the answer names another issuer, SSO was turned off meanwhile, or no code came.
fn authorization_code<'a>(
    callback: &Callback<'a>,
    org: &Org,
    sso: &SsoConnection,
) -> Result<&'a str, LoginFailure> {
    if let Some(error) = callback.error {
        return Err(LoginFailure::idp_error(
            error,
            callback.error_description.unwrap_or_default(),
        ));
    }
    // RFC 9207: when the IdP names itself, it must be the issuer this flow was sent to.
    if let Some(returned) = callback.iss
        && !issuer::same_key(returned, &sso.issuer)
    {
        return Err(
            LoginFailure::new(LoginReason::IssuerMismatch).detail(format!(
                "iss parameter {} differs from {}",
                bounded(returned, 200),
                sso.issuer
            )),
        );
    }
    if !sso.enabled {
        return Err(LoginFailure::sso_disabled(
            org,
            "SSO disabled during sign-in",
        ));
    }
    callback
        .code
        .ok_or_else(|| LoginFailure::new(LoginReason::CodeMissing))
}

/// Provisions the member `identity` names, starts their session, records the attempt and
/// remembers the browser of `flow` as one the org knows.
async fn sign_in<P>(
    cx: &SignIn<'_, P>,
    session: &Session,
    org: Org,
    sso: &SsoConnection,
    identity: &Identity,
    flow: &LoginFlow,
) -> Result<SignedIn, LoginFailure> {
    let issuer = Some(sso.issuer.as_str());
    let mut attempt = LoginAttempt::new(
        cx.store.now_ms(),
        Some(&org.id),
        Outcome::Success,
        LoginReason::Success,
        "",
    );
    attempt.issuer = Some(sso.issuer.clone());
    attempt.subject = Some(identity.subject.clone());
    attempt.email = Some(identity.email.clone());
    let okta = Actor::Okta(Via::JustInTime);
    let member = match membership::provision(cx.store, &okta, &org, sso, identity).await {
        Ok(member) => member,
        Err(e) => {
            let f = match e {
                ProvisionError::Store(e) => {
                    return Err(fail(cx, Some(&org), issuer, LoginFailure::store(e)).await);
                }
                ProvisionError::Deactivated => LoginFailure::new(LoginReason::MemberDeactivated),
                ProvisionError::JitDisabled => LoginFailure::new(LoginReason::JitDisabled),
                ProvisionError::DeactivatedInOkta => {
                    LoginFailure::new(LoginReason::DeactivatedInOkta)
                }
                ProvisionError::NotProvisioned => LoginFailure::new(LoginReason::NotProvisioned),
            }
            .of(&org);
            // Okta vouched for the person: their attempt keeps subject and email.
            attempt.outcome = Outcome::Failure;
            attempt.reason = f.reason;
            attempt.detail = f.detail.clone();
            record(cx, Some(&org), &attempt).await;
            return Err(f);
        }
    };
    let deadline = cx.store.now_ms() + cx.session_lifetime_ms;
    if let Err(e) = auth::start_session(session, &member.id, &org.id, deadline).await {
        return Err(fail(cx, Some(&org), issuer, LoginFailure::store(e)).await);
    }
    attempt.member_id = Some(member.id.clone());
    announce(cx, Some(&org), &attempt);
    // The attempt and the browser, written together. Not recording them costs the activity
    // view a line and the browser its place in the known tier: the sign-in stands.
    let browser_known = match cx.store.record_sign_in(&attempt, &flow.browser_hash).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "could not record a sign-in's attempt and browser");
            false
        }
    };
    Ok(SignedIn {
        member,
        org,
        target: flow.target.clone(),
        browser_known,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_okta_errors_keep_only_known_codes() {
        // What the page says is `LoginReason::explain`'s (tested there); here: what is kept.
        let f = LoginFailure::unverified_idp_error("access_denied");
        assert_eq!(f.reason, LoginReason::IdpError);
        assert!(f.detail.starts_with("access_denied"));
        // Unknown codes are not echoed anywhere.
        let f = LoginFailure::unverified_idp_error("<b>pwned</b>\u{1b}[2J");
        let told = f.explain();
        let all = format!("{}{}{}{}", told.title, told.what, told.advice, f.detail);
        assert!(!all.contains("pwned"), "{all}");
        assert!(f.detail.contains("unrecognized"));
    }

    #[test]
    fn unassigned_users_get_specific_advice() {
        let f = LoginFailure::idp_error(
            "access_denied",
            "User is not assigned to the client application.",
        );
        let told = f.explain();
        assert!(told.title.contains("not assigned"));
        assert!(told.advice.contains("Assignments"));
        assert_eq!(f.reason, LoginReason::IdpError);
        assert!(!told.retry);
        let f = LoginFailure::idp_error("server_error", "\u{1b}[2Jboom");
        let told = f.explain();
        assert_eq!(told.what, "Okta answered: [2Jboom");
        assert!(told.retry);
    }

    #[test]
    fn failures_name_the_org_they_concern() {
        let org = Org {
            id: "o1".into(),
            slug: "acme".into(),
            name: "Acme Inc".into(),
            created_at: 0,
        };
        let f = LoginFailure::sso_disabled(&org, "SSO disabled");
        assert_eq!(f.status(), 403);
        assert!(f.explain().what.contains("Acme Inc"));
        let f = LoginFailure::new(LoginReason::UnknownIssuer).naming("https://x.okta.com");
        assert!(f.explain().what.contains("https://x.okta.com"));
    }
}
