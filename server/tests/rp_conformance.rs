//! Relying-party checks modelled on the OpenID Foundation's RP conformance cases, against a
//! small in-process OpenID provider that each test tells what to answer (forged, unsigned or
//! wrongly signed ID tokens, a lying /userinfo, a discovery document for another issuer...).
//! Every case runs on SQLite and on PostgreSQL.

mod support;

use app::ssr::login::{LoginAttempt, Outcome};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::core::{CoreHmacKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey as _};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::{Browser, SignIn, TestDb, TestServer, initiate_url, query_param};

const CLIENT_ID: &str = "0oa-tessera-fake";
const CLIENT_SECRET: &str = "fake-secret_0123456789-abcdefghijklmnop";
const SLUG: &str = "fake";
const SUB: &str = "00uFakePat";
/// Throwaway RSA keys for the fake provider (test data only).
const KEY_PEMS: [&str; 2] = [
    include_str!("support/keys/fake_op_a.pem"),
    include_str!("support/keys/fake_op_b.pem"),
];
const KIDS: [&str; 2] = ["fake-key-a", "fake-key-b"];
/// Non-standard paths, so the tests see that Tessera uses what discovery says.
const AUTHORIZE: &str = "/op/v9/authorize";
const TOKEN: &str = "/op/v9/token";
const USERINFO: &str = "/op/v9/userinfo";
const JWKS: &str = "/op/v9/certs.json";

// ---- the fake provider ------------------------------------------------------------------------

/// How the ID token is signed.
#[derive(Clone, Copy, Debug)]
enum Sign {
    /// RS256 with key `key`, with or without a `kid` header.
    Rs256 { key: usize, kid: bool },
    /// RS256 with key 0 and its kid, then one signature byte flipped.
    BadSig,
    /// `alg: none`, empty signature.
    None,
    /// HS256 keyed with the client secret (the classic algorithm-confusion forgery).
    Hs256,
}

type Edit = Box<dyn Fn(&mut Value) + Send + Sync>;

/// What the provider answers; tests change it before the sign-in.
struct Behavior {
    sign: Sign,
    /// Edits the ID token claims (thin, like Okta's: iss, sub, aud, exp, iat, auth_time, nonce).
    id_token: Edit,
    /// Edits the /userinfo answer (sub, email, email_verified, name, given_name, family_name).
    userinfo: Edit,
    /// The `issuer` the discovery document claims (default: the real one).
    discovery_issuer: Option<String>,
    /// Which keys the JWKS publishes.
    jwks: Vec<usize>,
    /// Whether the published keys carry their `kid`.
    jwks_kids: bool,
    /// The issuer's path (e.g. `/o/ts/`, trailing slash included); discovery lives under it.
    issuer_path: &'static str,
    /// Replaces the discovery document's `authorization_endpoint`.
    authorization_endpoint: Option<String>,
    /// The path (one of the provider's) that answers a 2 MiB JSON document instead.
    oversize: Option<&'static str>,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            sign: Sign::Rs256 { key: 0, kid: true },
            id_token: Box::new(|_| {}),
            userinfo: Box::new(|_| {}),
            discovery_issuer: None,
            jwks: vec![0],
            jwks_kids: true,
            issuer_path: "",
            authorization_endpoint: None,
            oversize: None,
        }
    }
}

/// A request the provider received.
#[derive(Clone, Debug)]
struct Seen {
    method: &'static str,
    path: String,
    query: String,
    authorization: Option<String>,
    body: String,
}

struct Pending {
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
}

struct OpState {
    issuer: String,
    keys: Vec<CoreRsaPrivateSigningKey>,
    behavior: Behavior,
    codes: HashMap<String, Pending>,
    tokens: Vec<String>,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<OpState>>;

struct FakeOp {
    issuer: String,
    state: Shared,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeOp {
    async fn start(configure: impl FnOnce(&mut Behavior)) -> FakeOp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut behavior = Behavior::default();
        configure(&mut behavior);
        let issuer = format!(
            "http://{}{}",
            listener.local_addr().unwrap(),
            behavior.issuer_path
        );
        let discovery_path = format!(
            "{}/.well-known/openid-configuration",
            behavior.issuer_path.trim_end_matches('/')
        );
        let keys = KEY_PEMS
            .iter()
            .zip(KIDS)
            .map(|(pem, kid)| {
                CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into())))
                    .expect("test key")
            })
            .collect();
        let state = Arc::new(Mutex::new(OpState {
            issuer: issuer.clone(),
            keys,
            behavior,
            codes: HashMap::new(),
            tokens: vec![],
            seen: vec![],
        }));
        let app = Router::new()
            .route(&discovery_path, get(discovery))
            .route(AUTHORIZE, get(authorize))
            .route(TOKEN, post(token))
            .route(USERINFO, get(userinfo))
            .route(JWKS, get(jwks))
            .with_state(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeOp {
            issuer,
            state,
            _stop: tx,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

fn note(
    state: &Shared,
    method: &'static str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    state.lock().unwrap().seen.push(Seen {
        method,
        path: path.to_string(),
        query: query.unwrap_or_default().to_string(),
        authorization,
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A 2 MiB JSON answer when the test made `path` oversize.
fn oversize(s: &OpState, path: &str) -> Option<Response> {
    (s.behavior.oversize == Some(path)).then(|| {
        let pad = "x".repeat(2 * 1024 * 1024);
        Json(json!({ "sub": SUB, "keys": [], "access_token": "a", "pad": pad })).into_response()
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn discovery(State(state): State<Shared>, headers: HeaderMap) -> Response {
    note(
        &state,
        "GET",
        "/.well-known/openid-configuration",
        None,
        &headers,
        b"",
    );
    let s = state.lock().unwrap();
    if let Some(big) = oversize(&s, "/.well-known/openid-configuration") {
        return big;
    }
    let iss = &s.issuer;
    let origin = url::Url::parse(iss).unwrap().origin().ascii_serialization();
    let iss = &origin;
    Json(json!({
        "issuer": s.behavior.discovery_issuer.clone().unwrap_or_else(|| s.issuer.clone()),
        "authorization_endpoint": s.behavior.authorization_endpoint.clone().unwrap_or_else(|| format!("{iss}{AUTHORIZE}")),
        "token_endpoint": format!("{iss}{TOKEN}"),
        "userinfo_endpoint": format!("{iss}{USERINFO}"),
        "jwks_uri": format!("{iss}{JWKS}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name", "given_name", "family_name"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

async fn jwks(State(state): State<Shared>, headers: HeaderMap) -> Response {
    note(&state, "GET", JWKS, None, &headers, b"");
    let s = state.lock().unwrap();
    if let Some(big) = oversize(&s, JWKS) {
        return big;
    }
    let keys: Vec<Value> = s
        .behavior
        .jwks
        .iter()
        .map(|&i| {
            let mut jwk = serde_json::to_value(s.keys[i].as_verification_key()).unwrap();
            jwk["alg"] = json!("RS256");
            if !s.behavior.jwks_kids {
                jwk.as_object_mut().unwrap().remove("kid");
            }
            jwk
        })
        .collect();
    Json(json!({ "keys": keys })).into_response()
}

async fn authorize(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    note(&state, "GET", AUTHORIZE, q.as_deref(), &headers, b"");
    let p: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    if p.get("response_type").map(String::as_str) != Some("code")
        || p.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return (StatusCode::BAD_REQUEST, "unsupported authorization request").into_response();
    }
    let Some(redirect_uri) = p.get("redirect_uri").cloned() else {
        return (StatusCode::BAD_REQUEST, "no redirect_uri").into_response();
    };
    let code = uuid::Uuid::new_v4().simple().to_string();
    let mut s = state.lock().unwrap();
    s.codes.insert(
        code.clone(),
        Pending {
            nonce: p.get("nonce").cloned(),
            challenge: p.get("code_challenge").cloned(),
            redirect_uri: redirect_uri.clone(),
        },
    );
    let mut back = url::Url::parse(&redirect_uri).expect("redirect_uri");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair(
            "state",
            p.get("state").map(String::as_str).unwrap_or_default(),
        )
        .append_pair("iss", &s.issuer);
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

/// `Basic base64(urlencode(client_id) ":" urlencode(client_secret))` (RFC 6749 §2.3.1).
fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let raw = STANDARD
        .decode(authorization?.strip_prefix("Basic ")?)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    note(&state, "POST", TOKEN, None, &headers, &body);
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if basic_credentials(auth) != Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string())) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_secret_basic authentication failed",
        );
    }
    let p: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if p.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "");
    }
    let mut s = state.lock().unwrap();
    if let Some(big) = oversize(&s, TOKEN) {
        return big;
    }
    let Some(pending) = p.get("code").and_then(|c| s.codes.remove(c)) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        );
    };
    if p.get("redirect_uri") != Some(&pending.redirect_uri) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri mismatch",
        );
    }
    let verified = match (&pending.challenge, p.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) == *challenge
        }
        (None, None) => true,
        _ => false,
    };
    if !verified {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "PKCE verification failed",
        );
    }
    let t = now();
    let mut claims = json!({
        "iss": s.issuer, "sub": SUB, "aud": CLIENT_ID, "exp": t + 300, "iat": t, "auth_time": t,
    });
    if let Some(n) = &pending.nonce {
        claims["nonce"] = json!(n);
    }
    (s.behavior.id_token)(&mut claims);
    let id_token = sign_jwt(&s, &claims);
    let access_token = format!("at-{}", uuid::Uuid::new_v4().simple());
    s.tokens.push(access_token.clone());
    Json(json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
        "scope": "openid email profile", "id_token": id_token,
    }))
    .into_response()
}

fn sign_jwt(s: &OpState, claims: &Value) -> String {
    let (header, key): (Value, Option<usize>) = match s.behavior.sign {
        Sign::Rs256 { key, kid: true } => (
            json!({"alg": "RS256", "typ": "JWT", "kid": KIDS[key]}),
            Some(key),
        ),
        Sign::Rs256 { key, kid: false } => (json!({"alg": "RS256", "typ": "JWT"}), Some(key)),
        Sign::BadSig => (
            json!({"alg": "RS256", "typ": "JWT", "kid": KIDS[0]}),
            Some(0),
        ),
        Sign::None => (json!({"alg": "none"}), None),
        Sign::Hs256 => (json!({"alg": "HS256", "typ": "JWT"}), None),
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = match (s.behavior.sign, key) {
        (Sign::None, _) => vec![],
        (Sign::Hs256, _) => CoreHmacKey::new(CLIENT_SECRET)
            .sign(&CoreJwsSigningAlgorithm::HmacSha256, input.as_bytes())
            .unwrap(),
        (sign, Some(k)) => {
            let mut sig = s.keys[k]
                .sign(
                    &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                    input.as_bytes(),
                )
                .unwrap();
            if matches!(sign, Sign::BadSig) {
                let last = sig.len() - 1;
                sig[last] ^= 0x01;
            }
            sig
        }
        _ => unreachable!(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    note(&state, "GET", USERINFO, None, &headers, b"");
    let s = state.lock().unwrap();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|b| s.tokens.iter().any(|t| t == b)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    if let Some(big) = oversize(&s, USERINFO) {
        return big;
    }
    let mut info = json!({
        "sub": SUB, "email": "pat@example.com", "email_verified": true,
        "name": "Pat Doe", "given_name": "Pat", "family_name": "Doe",
    });
    (s.behavior.userinfo)(&mut info);
    Json(info).into_response()
}

// ---- one sign-in against the fake provider ------------------------------------------------------

struct Case {
    server: TestServer,
    op: FakeOp,
    org: app::model::Org,
    browser: Browser,
    flow: SignIn,
    db: &'static str,
}

/// Tessera with org `fake` connected to a fresh fake provider configured by `configure`, and one
/// IdP-initiated sign-in through it.
async fn sign_in_with(db: &TestDb, configure: impl FnOnce(&mut Behavior)) -> Case {
    let server = TestServer::start(db).await;
    let op = FakeOp::start(configure).await;
    server.register_org(SLUG, &op.issuer, CLIENT_ID, CLIENT_SECRET);
    let org = support::org(&server.store, SLUG).await;
    let browser = Browser::new();
    let flow = browser
        .sign_in(&server.url, &initiate_url(&server.url, &op.issuer), "", "")
        .await;
    Case {
        server,
        op,
        org,
        browser,
        flow,
        db: db.kind,
    }
}

impl Case {
    async fn attempts(&self) -> Vec<LoginAttempt> {
        self.server
            .store
            .recent_login_attempts(&self.org.id, 100)
            .await
            .expect("attempts")
    }

    /// The sign-in worked: redirect into Tessera, a live session, a success attempt, the member.
    async fn assert_signed_in(&self) -> Value {
        let r = &self.flow.response;
        assert!(
            self.flow.callback_url.is_some(),
            "[{}] never reached the callback: {:#?}",
            self.db,
            self.flow.hops
        );
        r.assert_status(303);
        assert_eq!(r.location_raw(), Some("/"), "[{}]", self.db);
        let me = self.browser.session(&self.server.url).await;
        me.assert_status(200);
        let attempts = self.attempts().await;
        assert_eq!(attempts.len(), 1, "[{}] {attempts:?}", self.db);
        assert_eq!(
            (attempts[0].outcome, attempts[0].reason.code()),
            (Outcome::Success, "success")
        );
        assert_eq!(attempts[0].subject.as_deref(), Some(SUB));
        me.json()
    }

    /// The sign-in was refused with `status`/`reason` on the page and in the store, and left
    /// neither a session nor a member behind. Returns the recorded attempt.
    async fn assert_refused(&self, status: u16, reason: &str) -> LoginAttempt {
        let r = &self.flow.response;
        r.assert_status(status);
        assert_eq!(
            r.reason().as_deref(),
            Some(reason),
            "[{}] page: {}",
            self.db,
            r.body
        );
        assert!(r.body.contains(&format!(
            "Reason code: <span class=\"code\">{reason}</span>"
        )));
        assert!(
            r.set_cookies()
                .iter()
                .all(|c| !c.starts_with("tessera_session=")),
            "[{}] a refused sign-in sets no session cookie",
            self.db
        );
        self.browser
            .session(&self.server.url)
            .await
            .assert_status(401);
        assert_eq!(
            support::signed_in_sessions(&self.server.store).await,
            0,
            "[{}] no session",
            self.db
        );
        assert_eq!(
            self.server.store.count_members(&self.org.id).await.unwrap(),
            0,
            "[{}] no member",
            self.db
        );
        let attempts = self.attempts().await;
        assert_eq!(
            attempts.len(),
            1,
            "[{}] one attempt recorded: {attempts:?}",
            self.db
        );
        let a = attempts.into_iter().next().unwrap();
        assert_eq!(
            (a.outcome, a.reason.code()),
            (Outcome::Failure, reason),
            "[{}] detail: {}",
            self.db,
            a.detail
        );
        assert_eq!(a.issuer.as_deref(), Some(self.op.issuer.as_str()));
        a
    }
}

/// Runs `configure` against every database and asserts the ID token is refused as `token_invalid`;
/// `detail` must appear in the recorded reason detail.
async fn refused_token(configure: impl Fn(&mut Behavior), detail: &str) {
    for db in support::databases().await {
        let case = sign_in_with(&db, &configure).await;
        let a = case.assert_refused(401, "token_invalid").await;
        assert!(
            a.detail.to_lowercase().contains(&detail.to_lowercase()),
            "[{}] detail {:?} lacks {detail:?}",
            db.kind,
            a.detail
        );
        assert!(case.flow.response.body.contains("could not be verified"));
        assert!(case.flow.response.body.contains("Sign in again"));
        // The token was fetched, but nothing was asked of /userinfo with it.
        assert_eq!(case.op.seen_at(TOKEN).len(), 1);
        assert!(
            case.op.seen_at(USERINFO).is_empty(),
            "[{}] userinfo called for a bad token",
            db.kind
        );
    }
}

// ---- the cases ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_token_endpoint_client_secret_basic() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        case.assert_signed_in().await;
        let token = case.op.seen_at(TOKEN);
        assert_eq!(token.len(), 1);
        let t = &token[0];
        assert_eq!(
            basic_credentials(t.authorization.as_deref()),
            Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string())),
            "[{}] {:?}",
            db.kind,
            t.authorization
        );
        let body: HashMap<String, String> = url::form_urlencoded::parse(t.body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            body.get("grant_type").map(String::as_str),
            Some("authorization_code")
        );
        assert!(body.contains_key("code"));
        assert_eq!(
            body.get("redirect_uri"),
            Some(&format!("{}/sso/callback", case.server.url))
        );
        assert!(
            body.get("code_verifier").is_some_and(|v| v.len() >= 43),
            "PKCE verifier sent"
        );
        assert!(
            !body.contains_key("client_secret"),
            "the secret travels only in the Authorization header"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sig_rs256() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        let me = case.assert_signed_in().await;
        assert_eq!(me["member"]["role"], "owner");
        assert_eq!(me["org"]["slug"], SLUG);
        let m = case
            .server
            .store
            .member_by_subject(&case.org.id, &case.op.issuer, SUB)
            .await
            .unwrap();
        assert!(m.is_some(), "[{}] member keyed by (issuer, sub)", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_bad_sig_rs256() {
    refused_token(|b| b.sign = Sign::BadSig, "signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sig_none() {
    refused_token(|b| b.sign = Sign::None, "signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hs256_signed_with_the_client_secret_is_refused() {
    refused_token(|b| b.sign = Sign::Hs256, "HS256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_issuer_mismatch() {
    refused_token(
        |b| b.id_token = Box::new(|c| c["iss"] = json!("https://evil.example.com")),
        "issuer",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_aud() {
    refused_token(
        |b| b.id_token = Box::new(|c| c["aud"] = json!("0oa-some-other-app")),
        "audience",
    )
    .await;
    // Our client id plus an audience we do not trust is refused too.
    refused_token(
        |b| b.id_token = Box::new(|c| c["aud"] = json!([CLIENT_ID, "0oa-some-other-app"])),
        "audience",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_sub() {
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c.as_object_mut().unwrap().remove("sub");
            })
        },
        "sub",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_iat() {
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c.as_object_mut().unwrap().remove("iat");
            })
        },
        "iat",
    )
    .await;
    refused_token(
        |b| b.id_token = Box::new(|c| c["iat"] = json!(now() + 3600)),
        "future",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_expired_is_refused() {
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c["iat"] = json!(now() - 600);
                c["exp"] = json!(now() - 120);
            })
        },
        "expired",
    )
    .await;
    // Within the 60 s clock skew an exp just past is still accepted.
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.id_token = Box::new(|c| {
                c["iat"] = json!(now() - 300);
                c["exp"] = json!(now() - 5);
            })
        })
        .await;
        case.assert_signed_in().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_nonce_invalid() {
    refused_token(
        |b| b.id_token = Box::new(|c| c["nonce"] = json!("not-the-nonce-we-sent")),
        "nonce",
    )
    .await;
    refused_token(
        |b| {
            b.id_token = Box::new(|c| {
                c.as_object_mut().unwrap().remove("nonce");
            })
        },
        "nonce",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_kid_absent_single_jwks() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.sign = Sign::Rs256 { key: 0, kid: false };
            b.jwks = vec![0];
            b.jwks_kids = false;
        })
        .await;
        case.assert_signed_in().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_id_token_kid_absent_multiple_jwks() {
    // OIDC Core §10.1: with several keys published the token must name one. Tessera refuses
    // rather than try each key (OIDF accepts either behaviour).
    refused_token(
        |b| {
            b.sign = Sign::Rs256 { key: 0, kid: false };
            b.jwks = vec![0, 1];
        },
        "eligible",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_userinfo_bad_sub_claim() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| u["sub"] = json!("00uSomeoneElse"))
        })
        .await;
        let a = case.assert_refused(401, "userinfo_invalid").await;
        assert!(a.detail.contains("sub"), "[{}] {}", db.kind, a.detail);
        assert_eq!(case.op.seen_at(USERINFO).len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_scope_userinfo_claims() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        let me = case.assert_signed_in().await;
        // The ID token carried no profile claims; they come from /userinfo.
        assert_eq!(me["member"]["email"], "pat@example.com", "[{}]", db.kind);
        assert_eq!(me["member"]["name"], "Pat Doe");
        let m = case
            .server
            .store
            .member_by_subject(&case.org.id, &case.op.issuer, SUB)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.email.as_str(), m.name.as_str()),
            ("pat@example.com", "Pat Doe")
        );
        let info = case.op.seen_at(USERINFO);
        assert_eq!(info.len(), 1);
        assert!(
            info[0]
                .authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer at-"))
        );
        let authz = case.flow.authorize_url.as_ref().unwrap();
        let scope = query_param(authz, "scope").unwrap();
        assert!(scope.split(' ').any(|s| s == "email") && scope.split(' ').any(|s| s == "profile"));
        let attempt = &case.attempts().await[0];
        assert_eq!(attempt.email.as_deref(), Some("pat@example.com"));
    }
    // Without a name, given and family names make one.
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| {
                u.as_object_mut().unwrap().remove("name");
            })
        })
        .await;
        assert_eq!(
            case.assert_signed_in().await["member"]["name"],
            "Pat Doe",
            "[{}]",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_discovery_openid_configuration() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |_| {}).await;
        case.assert_signed_in().await;
        let seen = case.op.seen();
        assert_eq!(
            seen[0].path, "/.well-known/openid-configuration",
            "[{}] discovery first: {seen:?}",
            db.kind
        );
        // Tessera used the endpoints the document names, not guessed ones.
        let authz = case.flow.authorize_url.as_ref().unwrap();
        assert_eq!(authz.path(), AUTHORIZE);
        assert_eq!(
            authz.origin(),
            url::Url::parse(&case.op.issuer).unwrap().origin()
        );
        let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
        for p in [AUTHORIZE, TOKEN, JWKS, USERINFO] {
            assert!(paths.contains(&p), "[{}] {p} not used: {paths:?}", db.kind);
        }
        assert_eq!(
            seen.iter()
                .filter(|s| s.method == "GET" && s.path == AUTHORIZE)
                .count(),
            1
        );
        // A second sign-in reuses the cached document.
        let again = Browser::new()
            .sign_in(
                &case.server.url,
                &initiate_url(&case.server.url, &case.op.issuer),
                "",
                "",
            )
            .await;
        again.response.assert_status(303);
        assert_eq!(
            case.op.seen_at("/.well-known/openid-configuration").len(),
            1
        );
        assert!(
            case.op.seen_at(AUTHORIZE)[1]
                .query
                .contains("response_type=code")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_discovery_jwks_uri_keys() {
    for db in support::databases().await {
        // The token is signed with key b, published (with key a) at the discovered jwks_uri.
        let case = sign_in_with(&db, |b| {
            b.sign = Sign::Rs256 { key: 1, kid: true };
            b.jwks = vec![0, 1];
        })
        .await;
        case.assert_signed_in().await;
        assert!(
            !case.op.seen_at(JWKS).is_empty(),
            "[{}] keys fetched from jwks_uri",
            db.kind
        );
    }
    for db in support::databases().await {
        // A kid the JWKS does not have (even after one refetch) is refused.
        let case = sign_in_with(&db, |b| {
            b.sign = Sign::Rs256 { key: 1, kid: true };
            b.jwks = vec![0];
        })
        .await;
        let a = case.assert_refused(401, "token_invalid").await;
        assert!(
            a.detail.to_lowercase().contains("key"),
            "[{}] {}",
            db.kind,
            a.detail
        );
        assert_eq!(
            case.op.seen_at(JWKS).len(),
            2,
            "[{}] one refetch for an unknown kid",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_discovery_issuer_not_matching_config() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.discovery_issuer = Some("https://evil.example.com".into())
        })
        .await;
        // Refused at the start: the browser never goes to the provider.
        assert!(case.flow.callback_url.is_none());
        assert!(case.flow.authorize_url.is_none());
        let r = &case.flow.response;
        assert_eq!(r.url.path(), "/sso/initiate");
        let a = case.assert_refused(502, "idp_misconfigured").await;
        assert!(r.body.contains("misconfigured"), "[{}] {}", db.kind, r.body);
        assert!(r.body.contains("Okta domain"));
        assert!(
            a.detail.contains("evil.example.com"),
            "[{}] {}",
            db.kind,
            a.detail
        );
        assert!(case.op.seen_at(AUTHORIZE).is_empty());
    }
}

// ---- lenient profile claims, empty identities, trailing-slash issuers, bounded answers ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badly_typed_claims_tessera_does_not_use_are_ignored() {
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.id_token = Box::new(|c| {
                c["email_verified"] = json!("true");
                c["auth_time"] = json!("yesterday");
                c["updated_at"] = json!("2026-01-01");
                c["amr"] = json!("pwd");
                c["address"] = json!(5);
                c["name"] = json!(["not", "a", "string"]);
            });
            b.userinfo = Box::new(|u| {
                u["email_verified"] = json!("true");
                u["phone_number_verified"] = json!("no");
                u["updated_at"] = json!("last tuesday");
                u["locale"] = json!({"lang": "en"});
                u["zoneinfo"] = json!([1, 2]);
                u["address"] = json!("Main Street 1");
                // A claim Tessera uses, wrongly typed: treated as absent (given + family win).
                u["name"] = json!(42);
            })
        })
        .await;
        let me = case.assert_signed_in().await;
        assert_eq!(me["member"]["email"], "pat@example.com", "[{}]", db.kind);
        assert_eq!(me["member"]["name"], "Pat Doe", "[{}]", db.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_control_character_sub_is_refused() {
    refused_token(|b| b.id_token = Box::new(|c| c["sub"] = json!("")), "sub").await;
    refused_token(|b| b.id_token = Box::new(|c| c["sub"] = json!("  ")), "sub").await;
    refused_token(
        |b| b.id_token = Box::new(|c| c["sub"] = json!(12345)),
        "sub",
    )
    .await;
    refused_token(
        |b| b.id_token = Box::new(|c| c["sub"] = json!("00u\u{0}pat")),
        "control",
    )
    .await;
    // /userinfo naming an empty or non-string sub disagrees with the ID token.
    for bad in [json!(""), json!(null), json!(7)] {
        for db in support::databases().await {
            let bad = bad.clone();
            let case = sign_in_with(&db, |b| {
                b.userinfo = Box::new(move |u| u["sub"] = bad.clone())
            })
            .await;
            let a = case.assert_refused(401, "userinfo_invalid").await;
            assert!(a.detail.contains("sub"), "[{}] {}", db.kind, a.detail);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_without_email_or_name_is_named_by_username_then_sub() {
    for db in support::databases().await {
        // Nothing but sub anywhere: the member is named by the sub, never blank.
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| *u = json!({"sub": SUB}));
        })
        .await;
        let me = case.assert_signed_in().await;
        assert_eq!(me["member"]["name"], SUB, "[{}]", db.kind);
        assert_eq!(me["member"]["email"], "");
        assert_eq!(me["member"]["role"], "owner");
        let m = case
            .server
            .store
            .member_by_subject(&case.org.id, &case.op.issuer, SUB)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.name, SUB);
    }
    // preferred_username comes before the sub.
    for db in support::databases().await {
        let case = sign_in_with(&db, |b| {
            b.userinfo = Box::new(|u| *u = json!({"sub": SUB, "preferred_username": "pat.doe"}));
        })
        .await;
        assert_eq!(
            case.assert_signed_in().await["member"]["name"],
            "pat.doe",
            "[{}]",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_with_a_trailing_slash_signs_in_and_is_found_either_way() {
    for db in support::databases().await {
        let server = TestServer::start(&db).await;
        let op = FakeOp::start(|b| b.issuer_path = "/o/ts/").await;
        assert!(op.issuer.ends_with("/o/ts/"));
        server.register_org(SLUG, &op.issuer, CLIENT_ID, CLIENT_SECRET);
        let org = support::org(&server.store, SLUG).await;
        // Stored as published, slash included.
        let sso = server.store.sso_connection(&org.id).await.unwrap().unwrap();
        assert_eq!(sso.issuer, op.issuer, "[{}]", db.kind);
        let without = op.issuer.trim_end_matches('/');
        for (i, iss) in [op.issuer.as_str(), without].into_iter().enumerate() {
            let flow = Browser::new()
                .sign_in(&server.url, &initiate_url(&server.url, iss), "", "")
                .await;
            assert!(flow.landed(), "[{}] iss {iss}: {:#?}", db.kind, flow.hops);
            assert_eq!(server.store.count_members(&org.id).await.unwrap(), 1);
            if i == 0 {
                // Okta's RFC 9207 `iss` on the callback is the published issuer.
                let cb = flow.callback_url.unwrap();
                assert_eq!(query_param(&cb, "iss").as_deref(), Some(op.issuer.as_str()));
            }
        }
        // Another org cannot take the same issuer without the slash.
        let out = server
            .cli()
            .args(["org", "create", "other", "--name", "Other"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut set = server
            .cli()
            .args([
                "sso",
                "set",
                "other",
                "--issuer",
                without,
                "--client-id",
                "x",
            ])
            .args(["--client-secret-file", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        set.stdin
            .take()
            .unwrap()
            .write_all(b"some-secret-value-123")
            .unwrap();
        let out = set.wait_with_output().unwrap();
        assert!(!out.status.success(), "[{}]", db.kind);
        assert!(String::from_utf8_lossy(&out.stderr).contains("already connected"));
    }
    // Registered without the slash, the IdP publishing it with one: discovery's form is used.
    for db in support::databases().await {
        let server = TestServer::start(&db).await;
        let op = FakeOp::start(|b| b.issuer_path = "/o/ts/").await;
        server.register_org(
            SLUG,
            op.issuer.trim_end_matches('/'),
            CLIENT_ID,
            CLIENT_SECRET,
        );
        let flow = Browser::new()
            .sign_in(&server.url, &initiate_url(&server.url, &op.issuer), "", "")
            .await;
        assert!(flow.landed(), "[{}] {:#?}", db.kind, flow.hops);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_endpoints_off_the_issuers_origin_are_refused() {
    for bad in [
        "javascript:alert(document.domain)",
        "https://evil.example.com/op/v9/authorize",
        "data:text/html,hi",
    ] {
        for db in support::databases().await {
            let case =
                sign_in_with(&db, |b| b.authorization_endpoint = Some(bad.to_string())).await;
            // Never a redirect from Tessera's origin to it.
            assert!(case.flow.authorize_url.is_none(), "[{}] {bad}", db.kind);
            assert!(case.flow.hops.iter().all(|h| h.location_raw().is_none()));
            let a = case.assert_refused(502, "idp_misconfigured").await;
            assert!(
                a.detail.contains("authorization_endpoint"),
                "[{}] {}",
                db.kind,
                a.detail
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_answers_over_one_mebibyte_fail_the_sign_in() {
    for path in ["/.well-known/openid-configuration", JWKS, TOKEN, USERINFO] {
        for db in support::databases().await {
            let case = sign_in_with(&db, |b| b.oversize = Some(path)).await;
            let a = case.assert_refused(502, "idp_misconfigured").await;
            assert!(
                a.detail.contains("larger than"),
                "[{}] {path}: {}",
                db.kind,
                a.detail
            );
            assert!(a.detail.len() < 600, "[{}] bounded detail", db.kind);
        }
    }
}

/// A raw listener answering every request with a never-ending chunked body; returns its issuer
/// and a counter of the bytes it managed to write before the client hung up.
async fn endless_idp() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = written.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                // Up to 256 MiB, unless the client stops reading first.
                for _ in 0..4096 {
                    let frame =
                        [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if s.write_all(&frame).await.is_err() {
                        return;
                    }
                    count.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    (issuer, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_discovery_answer_is_cut_at_the_cap() {
    for db in support::databases().await {
        let server = TestServer::start(&db).await;
        let (issuer, written) = endless_idp().await;
        server.register_org(SLUG, &issuer, CLIENT_ID, CLIENT_SECRET);
        let r = Browser::new()
            .get(&initiate_url(&server.url, &issuer))
            .await;
        r.assert_status(502);
        assert_eq!(
            r.reason().as_deref(),
            Some("idp_misconfigured"),
            "{}",
            r.body
        );
        // Tessera stopped reading at 1 MiB: the listener could not push its 256 MiB.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let sent = written.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            sent < 32 * 1024 * 1024,
            "[{}] {sent} bytes were read",
            db.kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_from_another_browser_never_reaches_the_provider() {
    for db in support::databases().await {
        let server = TestServer::start(&db).await;
        let op = FakeOp::start(|_| {}).await;
        server.register_org(SLUG, &op.issuer, CLIENT_ID, CLIENT_SECRET);
        let org = support::org(&server.store, SLUG).await;
        let attacker = Browser::new();
        let first = attacker.get(&initiate_url(&server.url, &op.issuer)).await;
        let flow = attacker.drive_to_callback(&server.url, first, "", "").await;
        let callback = flow.callback_url.expect("the provider redirects back");
        let victim = Browser::new();
        let r = victim.get(callback.as_str()).await;
        r.assert_status(403);
        assert_eq!(
            r.reason().as_deref(),
            Some("browser_mismatch"),
            "[{}]",
            db.kind
        );
        // Tessera neither used the org's credentials nor wrote to the org.
        assert!(
            op.seen_at(TOKEN).is_empty(),
            "[{}] token endpoint called",
            db.kind
        );
        assert!(op.seen_at(USERINFO).is_empty());
        assert!(
            server
                .store
                .recent_login_attempts(&org.id, 10)
                .await
                .unwrap()
                .is_empty(),
            "[{}] org activity written",
            db.kind
        );
        assert_eq!(server.store.count_members(&org.id).await.unwrap(), 0);
        victim.session(&server.url).await.assert_status(401);
    }
}
