//! Sign-in over Okta as HTTP: third-party initiated login (OpenID Connect Core §4) at
//! `/sso/initiate`, Tessera's own login page at `/sso/start`, the callback, sign-out, and the old
//! session endpoint. These handlers only parse and bound the request, read and set the
//! browser-binding cookie, call the sign-in use case ([`app::ssr::signin`]) and turn its result
//! into a redirect or a problem page ([`LoginReason`] says which, with what words).

use crate::metrics::Metrics;
use crate::oidc::OidcCache;
use crate::pages::{problem, problem_page};
use crate::state::AppState;
use app::api::login_reason::LoginReason;
use app::pages::problem::{Problem, WayOn};
use app::ssr::issuer;
use app::ssr::login::{FlowTier, KNOWN_BROWSER_TTL_MS};
use app::ssr::signin::{
    self, Begin, Callback, CountAttempts, LoginFailure, OrgNamed, SignIn, State,
};
use app::validate::bounded;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use tower_sessions::Session;

/// The browser-binding cookie (login CSRF defence): a random value set by `/sso/initiate` and
/// `/sso/start`, whose SHA-256 is stored with each flow; the callback completes a flow only for
/// the browser presenting it. One per browser (reused while it lives), so two tabs signing in
/// at once both complete. `HttpOnly`, `SameSite=Lax` (sent on Okta's top-level redirect back),
/// `Path=/sso`, `Secure` with an https public URL. As short-lived as a flow, until a sign-in
/// with it succeeds: the org then knows the browser, whose sign-ins no flood of anonymous ones
/// evicts ([`app::ssr::login::FlowTier`]), and the cookie lives as long as that
/// ([`KNOWN_BROWSER_TTL_MS`]).
pub const FLOW_COOKIE: &str = "tessera_flow";
/// Length of a binding value: 32 random bytes, URL-safe base64 without padding.
const FLOW_COOKIE_CHARS: usize = 43;
/// Longest `state` Tessera could have issued (it issues 22 characters).
const MAX_STATE_CHARS: usize = 128;
/// Longest `target_link_uri`/`next` kept.
const MAX_TARGET_CHARS: usize = 2048;
/// Longest `login_hint` passed on to Okta.
const MAX_LOGIN_HINT_CHARS: usize = 256;
/// What to do after a request of the wrong shape.
const START_AGAIN: &str = "Start again from the Tessera tile in your Okta dashboard.";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/initiate", get(initiate_get).post(initiate_post))
        .route("/sso/start", get(start))
        .route("/sso/callback", get(callback_get).post(callback_post))
        .route("/logout", post(logout))
        .route("/api/v1/session", get(session_moved))
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

// ---- the use case's dependencies and answers ---------------------------------------------------

impl CountAttempts for Metrics {
    fn attempt(&self, success: bool, reason: LoginReason) {
        self.login_attempt(success, reason.code());
    }
}

/// The sign-in use case over this node's store, key, OIDC client and metrics.
fn signin(state: &AppState) -> SignIn<'_, OidcCache> {
    SignIn {
        store: &state.store,
        key: &state.key,
        idp: &state.oidc,
        redirect_uri: state.config.redirect_uri(),
        session_lifetime_ms: i64::try_from(state.config.session_absolute_timeout.as_millis())
            .unwrap_or(i64::MAX),
        counter: &*state.metrics,
    }
}

/// The problem page of a failed sign-in: its status, reason code and words.
/// A failed sign-in's page: "Sign in again" when retrying can help, else the org's Okta
/// dashboard when the sign-in got as far as an org (e.g. "not assigned"), else Tessera's
/// sign-in page: never a dead end.
fn page(f: &LoginFailure) -> Response {
    let told = f.explain();
    let way_on = match (told.retry, &f.okta_dashboard) {
        (true, _) => WayOn::sign_in_again("/login"),
        (false, Some(dashboard)) => WayOn::okta_dashboard(dashboard),
        (false, None) => WayOn {
            id: Some("to-sign-in"),
            label: "Go to Tessera's sign-in page",
            href: "/login".into(),
        },
    };
    problem_page(
        StatusCode::from_u16(f.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Problem {
            reason: f.reason.code().to_string(),
            title: told.title,
            what: told.what,
            advice: told.advice,
            way_on: Some(way_on),
        },
    )
}

/// A redirect that no cache keeps.
fn redirect(to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// A request of the wrong shape (not a form, not a GET): nothing to record.
fn unsupported(status: StatusCode, what: &str) -> Response {
    problem(
        status,
        LoginReason::BadRequest.code(),
        "Unsupported request",
        what,
        START_AGAIN,
        Some("/login"),
    )
}

// ---- initiate (IdP-initiated, OIDC Core §4) -------------------------------------------------

async fn initiate_get(
    Shared(state): Shared<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    initiate(&state, &headers, q.unwrap_or_default().as_bytes()).await
}

async fn initiate_post(
    Shared(state): Shared<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return unsupported(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The sign-in request must be a form submission.",
        );
    }
    initiate(&state, &headers, &body).await
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

async fn initiate(state: &AppState, headers: &HeaderMap, raw: &[u8]) -> Response {
    let cx = signin(state);
    let refused = match parse_initiate(raw, &state.config.public_url) {
        InitiateRequest::Login {
            issuer,
            login_hint,
            target,
        } => {
            let org = OrgNamed::Issuer(issuer);
            let secure = state.config.secure_cookies();
            return begin(&cx, secure, headers, org, login_hint, target).await;
        }
        InitiateRequest::SimplifiedMode => LoginFailure::new(LoginReason::OktaSimplifiedMode),
        InitiateRequest::MissingIss => LoginFailure::new(LoginReason::IssMissing),
        InitiateRequest::InvalidIss(iss) => LoginFailure::new(LoginReason::IssInvalid).detail(iss),
    };
    page(&signin::refuse(&cx, refused).await)
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

/// How long the binding cookie lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    /// For the length of a flow.
    Flow,
    /// As long as the org knows the browser.
    Known,
}

/// The `Set-Cookie` value that (re)sets the binding for `lifetime`.
fn binding_set_cookie(value: &str, secure: bool, lifetime: Binding) -> Option<header::HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let max_age_ms = match lifetime {
        Binding::Flow => signin::FLOW_TTL_MS,
        Binding::Known => KNOWN_BROWSER_TTL_MS,
    };
    header::HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/sso; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        max_age_ms / 1000
    ))
    .ok()
}

// ---- start (SP-initiated, from Tessera's login page) --------------------------------------

async fn start(
    Shared(state): Shared<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q.unwrap_or_default().as_bytes());
    // The typed value is not quoted back (unless a short name): a crafted link must not put
    // its words on our page.
    let Ok(typed) = app::validate::org_input(param(&p, "org").unwrap_or_default()) else {
        return page(&LoginFailure::new(LoginReason::OrgInvalid));
    };
    let target = param(&p, "target_link_uri")
        .or(param(&p, "next"))
        .and_then(|t| same_origin_target(&state.config.public_url, t));
    let (cx, secure) = (signin(&state), state.config.secure_cookies());
    begin(
        &cx,
        secure,
        &headers,
        OrgNamed::Typed(typed),
        login_hint(&p),
        target,
    )
    .await
}

/// Starts the sign-in: the use case saves the flow bound to this browser's binding cookie
/// (reusing the browser's own, else a fresh one), then the browser goes to Okta with the
/// cookie (re)set for the length of a flow.
async fn begin(
    cx: &SignIn<'_, OidcCache>,
    secure: bool,
    headers: &HeaderMap,
    org: OrgNamed,
    login_hint: Option<String>,
    target: Option<String>,
) -> Response {
    let sent = flow_cookie(headers);
    let new_browser = sent.is_none();
    let binding = sent.unwrap_or_else(|| {
        openidconnect::CsrfToken::new_random_len(32)
            .secret()
            .clone()
    });
    let start = Begin {
        org,
        login_hint,
        target,
        browser_hash: binding_hash(&binding),
        new_browser,
    };
    match signin::begin(cx, start).await {
        Ok(started) => {
            let mut resp = redirect(&started.authorize_url);
            let lifetime = match started.tier {
                FlowTier::Known => Binding::Known,
                FlowTier::Anonymous => Binding::Flow,
            };
            if let Some(cookie) = binding_set_cookie(&binding, secure, lifetime) {
                resp.headers_mut().append(header::SET_COOKIE, cookie);
            }
            resp
        }
        Err(f) => page(&f),
    }
}

// ---- callback -------------------------------------------------------------------------------

async fn callback_get(
    Shared(state): Shared<AppState>,
    session: Session,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(q.unwrap_or_default().as_bytes());
    let (metrics, started) = (state.metrics.clone(), std::time::Instant::now());
    let resp = callback(&state, &session, &headers, &p).await;
    metrics.callback_finished(started.elapsed());
    resp
}

/// Okta's "Simplified" mode form-posts an ID token here; anything else posted is refused.
async fn callback_post(Shared(state): Shared<AppState>, body: Bytes) -> Response {
    if params(&body).contains_key("id_token") {
        let refused = LoginFailure::new(LoginReason::OktaSimplifiedMode);
        return page(&signin::refuse(&signin(&state), refused).await);
    }
    unsupported(
        StatusCode::METHOD_NOT_ALLOWED,
        "Okta must redirect here with GET.",
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

/// Okta's redirect back: completes the sign-in this browser started and lands where it was
/// going (`/` when nowhere in particular), or shows why not.
async fn callback(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Response {
    let cx = signin(state);
    let state_param = param(p, "state");
    if state_param.is_none() && param(p, "id_token").is_some() {
        let refused = LoginFailure::new(LoginReason::OktaSimplifiedMode);
        return page(&signin::refuse(&cx, refused).await);
    }
    let browser_hash = flow_cookie(headers).map(|c| binding_hash(&c));
    let callback = Callback {
        state: match state_param {
            None => State::Missing,
            Some(s) if well_formed_state(s) => State::WellFormed(s),
            Some(_) => State::Malformed,
        },
        browser_hash: browser_hash.as_deref(),
        code: param(p, "code"),
        error: param(p, "error"),
        error_description: param(p, "error_description"),
        iss: param(p, "iss"),
    };
    match signin::complete(&cx, session, callback).await {
        Ok(done) => {
            let mut resp = redirect(done.target.as_deref().unwrap_or("/"));
            // The org knows this browser now: its binding lives as long as that.
            if done.browser_known
                && let Some(binding) = flow_cookie(headers)
                && let Some(cookie) =
                    binding_set_cookie(&binding, state.config.secure_cookies(), Binding::Known)
            {
                resp.headers_mut().append(header::SET_COOKIE, cookie);
            }
            resp
        }
        Err(f) => page(&f),
    }
}

// ---- sign-out and the old session endpoint --------------------------------------------------

async fn logout(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "could not delete the session");
    }
    // The sign-in page then says so, and that the Okta session goes on.
    Redirect::to("/login?signed_out=1").into_response()
}

/// `GET /api/v1/session` was a second "who am I": it is `GET /api/v1/me` now.
async fn session_moved() -> Response {
    Redirect::permanent("/api/v1/me").into_response()
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
        let set = binding_set_cookie(&good, true, Binding::Flow).unwrap();
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
            !binding_set_cookie(&good, false, Binding::Flow)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        let known = binding_set_cookie(&good, true, Binding::Known).unwrap();
        assert!(
            known.to_str().unwrap().contains("Max-Age=7776000"),
            "{known:?}"
        );
    }
}
