//! One fake OpenID provider in-process ([`FakeOp`]): discovery, JWKS, `/authorize` that
//! redirects straight back with a code (no sign-in form), `/token` (client_secret_basic, PKCE)
//! with an Okta-thin ID token, and `/userinfo`.
//!
//! Each test tells it what to answer through [`Behavior`]: forged, unsigned or wrongly signed
//! ID tokens, a lying `/userinfo`, a discovery document for another issuer, oversized answers.
//! It records every request it receives ([`FakeOp::seen`]). Endpoints sit on non-standard paths,
//! so tests see that Tessera uses what discovery says.
//!
//! The benchmarks run thousands of sign-ins through it: with [`People::FromLoginHint`] each
//! `login_hint` is another person, [`FakeOp::presign`] signs the pending ID tokens ahead of the
//! token requests (outside a measured window), and recording can be turned off.
//!
//! Keys: two fixed 2048-bit RSA keys (Okta's size; test data only, in
//! `server/tests/support/keys/`).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The client Tessera is registered as.
pub const CLIENT_ID: &str = "0oa-tessera-fake";
/// That client's secret.
pub const CLIENT_SECRET: &str = "fake-secret_0123456789-abcdefghijklmnop";
/// The subject of [`People::Pat`].
pub const SUB: &str = "00uFakePat";
/// Throwaway RSA keys (PKCS#1 PEM, test data only), shared with the unit tests of
/// `server/src/oidc.rs`.
const KEY_PEMS: [&str; 2] = [
    include_str!("../../server/tests/support/keys/fake_op_a.pem"),
    include_str!("../../server/tests/support/keys/fake_op_b.pem"),
];
/// The `kid` of each key.
pub const KIDS: [&str; 2] = ["fake-key-a", "fake-key-b"];
/// Where discovery is, below the issuer.
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
/// The authorization endpoint's path.
pub const AUTHORIZE: &str = "/op/v9/authorize";
/// The token endpoint's path.
pub const TOKEN: &str = "/op/v9/token";
/// The userinfo endpoint's path.
pub const USERINFO: &str = "/op/v9/userinfo";
/// The JWKS's path.
pub const JWKS: &str = "/op/v9/certs.json";

/// How the ID token is signed.
#[derive(Clone, Copy, Debug)]
pub enum Sign {
    /// RS256 with key `key`, with or without a `kid` header.
    Rs256 { key: usize, kid: bool },
    /// RS256 with key 0 and its kid, then one signature byte flipped.
    BadSig,
    /// `alg: none`, empty signature.
    None,
    /// HS256 keyed with the client secret (the classic algorithm-confusion forgery).
    Hs256,
}

/// Who signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum People {
    /// Always Pat Doe: sub [`SUB`], `pat@example.com`.
    Pat,
    /// The person named by the authorization request's `login_hint` (`anonymous` without
    /// one): sub `00u-<hint>`, `<hint>@example.com`.
    FromLoginHint,
}

/// A change to a JSON document (ID token claims, a `/userinfo` answer).
pub type Edit = Box<dyn Fn(&mut Value) + Send + Sync>;

/// What the provider answers; tests change it before it starts.
pub struct Behavior {
    /// How the ID token is signed.
    pub sign: Sign,
    /// Edits the ID token claims (thin, like Okta's: iss, sub, aud, exp, iat, auth_time, nonce).
    pub id_token: Edit,
    /// Edits the /userinfo answer (sub, email, email_verified, name, given_name, family_name).
    pub userinfo: Edit,
    /// The `issuer` the discovery document claims (default: the real one).
    pub discovery_issuer: Option<String>,
    /// Which keys the JWKS publishes.
    pub jwks: Vec<usize>,
    /// Whether the published keys carry their `kid`.
    pub jwks_kids: bool,
    /// The issuer's path (e.g. `/o/ts/`, trailing slash included); discovery lives under it.
    pub issuer_path: &'static str,
    /// Replaces the discovery document's `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// The path (one of the provider's) that answers a 2 MiB JSON document instead.
    pub oversize: Option<&'static str>,
    /// Who signs in.
    pub people: People,
    /// Seconds from `iat` to `exp` of the ID tokens.
    pub id_token_lifetime: i64,
    /// Whether requests are kept for [`FakeOp::seen`] (off for benchmarks' thousands).
    pub record: bool,
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
            people: People::Pat,
            id_token_lifetime: 300,
            record: true,
        }
    }
}

/// A request the provider received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: &'static str,
    /// The route's path (discovery is [`DISCOVERY`] whatever the issuer path).
    pub path: String,
    pub query: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    pub body: String,
}

/// A code handed out and not yet redeemed.
struct Pending {
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
    subject: String,
    /// Signed ahead by [`FakeOp::presign`].
    id_token: Option<String>,
}

/// What changes while it runs.
#[derive(Default)]
struct Live {
    codes: HashMap<String, Pending>,
    /// Access token → subject.
    tokens: HashMap<String, String>,
    seen: Vec<Seen>,
}

struct Op {
    issuer: String,
    keys: Vec<ring::signature::RsaKeyPair>,
    rng: ring::rand::SystemRandom,
    behavior: Behavior,
    live: Mutex<Live>,
    counter: AtomicU64,
    signed_on_the_spot: AtomicU64,
}

type Shared = Arc<Op>;

/// The running provider; stops when dropped.
pub struct FakeOp {
    /// Its issuer: `http://127.0.0.1:<port>` plus [`Behavior::issuer_path`].
    pub issuer: String,
    op: Shared,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeOp {
    /// Starts a provider on a free port, answering as `configure` sets up.
    pub async fn start(configure: impl FnOnce(&mut Behavior)) -> FakeOp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut behavior = Behavior::default();
        configure(&mut behavior);
        let issuer = format!(
            "http://{}{}",
            listener.local_addr().expect("addr"),
            behavior.issuer_path
        );
        let discovery_path = format!("{}{DISCOVERY}", behavior.issuer_path.trim_end_matches('/'));
        let op = Arc::new(Op {
            issuer: issuer.clone(),
            keys: KEY_PEMS.iter().map(|pem| rsa_key(pem)).collect(),
            rng: ring::rand::SystemRandom::new(),
            behavior,
            live: Mutex::new(Live::default()),
            counter: AtomicU64::new(0),
            signed_on_the_spot: AtomicU64::new(0),
        });
        let app = Router::new()
            .route(&discovery_path, get(discovery))
            .route(AUTHORIZE, get(authorize))
            .route(TOKEN, post(token))
            .route(USERINFO, get(userinfo))
            .route(JWKS, get(jwks))
            .with_state(op.clone());
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
            op,
            _stop: tx,
        }
    }

    /// Every request received so far, in order (empty unless [`Behavior::record`]).
    pub fn seen(&self) -> Vec<Seen> {
        self.op.live().seen.clone()
    }

    /// The requests received at `path`.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }

    /// Signs the ID token of every code handed out and not yet signed, on all cores, so that
    /// `/token` answers with a stored string. Returns how many were signed. (The claims' `iat`
    /// is the time of signing.)
    pub async fn presign(&self) -> usize {
        let op = self.op.clone();
        tokio::task::spawn_blocking(move || {
            let todo: Vec<(String, String, Option<String>)> = op
                .live()
                .codes
                .iter()
                .filter(|(_, p)| p.id_token.is_none())
                .map(|(c, p)| (c.clone(), p.subject.clone(), p.nonce.clone()))
                .collect();
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            let chunk = todo.len().div_ceil(threads).max(1);
            let signed: Vec<(String, String)> = std::thread::scope(|s| {
                let handles: Vec<_> = todo
                    .chunks(chunk)
                    .map(|part| {
                        let op = &op;
                        s.spawn(move || {
                            part.iter()
                                .map(|(code, sub, nonce)| {
                                    (code.clone(), op.id_token(sub, nonce.as_deref()))
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("signer"))
                    .collect()
            });
            let mut live = op.live();
            let n = signed.len();
            for (code, token) in signed {
                if let Some(p) = live.codes.get_mut(&code) {
                    p.id_token = Some(token);
                }
            }
            n
        })
        .await
        .expect("presign")
    }

    /// How many ID tokens `/token` had to sign itself (not pre-signed).
    pub fn signed_on_the_spot(&self) -> u64 {
        self.op.signed_on_the_spot.load(Ordering::Relaxed)
    }
}

/// Now, in seconds since the epoch (for ID token claims).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// `Basic base64(urlencode(client_id) ":" urlencode(client_secret))` (RFC 6749 §2.3.1), decoded.
pub fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
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

/// An RSA key pair from a PKCS#1 PEM.
fn rsa_key(pem: &str) -> ring::signature::RsaKeyPair {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let der = STANDARD.decode(b64.trim()).expect("test key base64");
    ring::signature::RsaKeyPair::from_der(&der).expect("test key")
}

impl Op {
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a request for [`FakeOp::seen`].
    fn note(
        &self,
        method: &'static str,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        if !self.behavior.record {
            return;
        }
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.live().seen.push(Seen {
            method,
            path: path.to_string(),
            query: query.unwrap_or_default().to_string(),
            authorization,
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }

    /// A 2 MiB JSON answer when the test made `path` oversize.
    fn oversize(&self, path: &str) -> Option<Response> {
        (self.behavior.oversize == Some(path)).then(|| {
            let pad = "x".repeat(2 * 1024 * 1024);
            Json(json!({ "sub": SUB, "keys": [], "access_token": "a", "pad": pad })).into_response()
        })
    }

    /// The subject for an authorization request.
    fn subject(&self, p: &HashMap<String, String>) -> String {
        match self.behavior.people {
            People::Pat => SUB.to_string(),
            People::FromLoginHint => format!(
                "00u-{}",
                p.get("login_hint").map_or("anonymous", String::as_str)
            ),
        }
    }

    /// The ID token for `subject`: claims edited by the behavior, signed as it says.
    fn id_token(&self, subject: &str, nonce: Option<&str>) -> String {
        let t = now();
        let mut claims = json!({
            "iss": self.issuer, "sub": subject, "aud": CLIENT_ID,
            "exp": t + self.behavior.id_token_lifetime, "iat": t, "auth_time": t,
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        (self.behavior.id_token)(&mut claims);
        self.sign_jwt(&claims)
    }

    fn sign_jwt(&self, claims: &Value) -> String {
        let header = match self.behavior.sign {
            Sign::Rs256 { key, kid: true } => {
                json!({"alg": "RS256", "typ": "JWT", "kid": KIDS[key]})
            }
            Sign::Rs256 { kid: false, .. } => json!({"alg": "RS256", "typ": "JWT"}),
            Sign::BadSig => json!({"alg": "RS256", "typ": "JWT", "kid": KIDS[0]}),
            Sign::None => json!({"alg": "none"}),
            Sign::Hs256 => json!({"alg": "HS256", "typ": "JWT"}),
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self.behavior.sign {
            Sign::None => vec![],
            Sign::Hs256 => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
                ring::hmac::sign(&key, input.as_bytes()).as_ref().to_vec()
            }
            Sign::Rs256 { key, .. } => self.rs256(key, &input),
            Sign::BadSig => {
                let mut sig = self.rs256(0, &input);
                if let Some(last) = sig.last_mut() {
                    *last ^= 0x01;
                }
                sig
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn rs256(&self, key: usize, input: &str) -> Vec<u8> {
        let key = &self.keys[key];
        let mut sig = vec![0u8; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &self.rng,
            input.as_bytes(),
            &mut sig,
        )
        .expect("RSA signing");
        sig
    }

    /// Key `i` as a JWK (`kty`, `use`, `kid` unless withheld, `n`, `e`, `alg`).
    fn jwk(&self, i: usize) -> Value {
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.keys[i].public());
        let mut jwk = json!({
            "kty": "RSA", "use": "sig", "kid": KIDS[i],
            "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e),
            "alg": "RS256",
        });
        if !self.behavior.jwks_kids
            && let Some(o) = jwk.as_object_mut()
        {
            o.remove("kid");
        }
        jwk
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn discovery(State(op): State<Shared>, headers: HeaderMap) -> Response {
    op.note("GET", DISCOVERY, None, &headers, b"");
    if let Some(big) = op.oversize(DISCOVERY) {
        return big;
    }
    let origin = url::Url::parse(&op.issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let b = &op.behavior;
    Json(json!({
        "issuer": b.discovery_issuer.clone().unwrap_or_else(|| op.issuer.clone()),
        "authorization_endpoint": b.authorization_endpoint.clone().unwrap_or_else(|| format!("{origin}{AUTHORIZE}")),
        "token_endpoint": format!("{origin}{TOKEN}"),
        "userinfo_endpoint": format!("{origin}{USERINFO}"),
        "jwks_uri": format!("{origin}{JWKS}"),
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

async fn jwks(State(op): State<Shared>, headers: HeaderMap) -> Response {
    op.note("GET", JWKS, None, &headers, b"");
    if let Some(big) = op.oversize(JWKS) {
        return big;
    }
    let keys: Vec<Value> = op.behavior.jwks.iter().map(|&i| op.jwk(i)).collect();
    Json(json!({ "keys": keys })).into_response()
}

/// Redirects straight back to the client with a code.
async fn authorize(
    State(op): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    op.note("GET", AUTHORIZE, q.as_deref(), &headers, b"");
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
    let Ok(mut back) = url::Url::parse(&redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    let code = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        op.counter.fetch_add(1, Ordering::Relaxed)
    );
    op.live().codes.insert(
        code.clone(),
        Pending {
            nonce: p.get("nonce").cloned(),
            challenge: p.get("code_challenge").cloned(),
            redirect_uri,
            subject: op.subject(&p),
            id_token: None,
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair(
            "state",
            p.get("state").map(String::as_str).unwrap_or_default(),
        )
        .append_pair("iss", &op.issuer);
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

async fn token(State(op): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    op.note("POST", TOKEN, None, &headers, &body);
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
    if let Some(big) = op.oversize(TOKEN) {
        return big;
    }
    let pending = p.get("code").and_then(|c| op.live().codes.remove(c));
    let Some(pending) = pending else {
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
    let id_token = match pending.id_token {
        Some(t) => t,
        None => {
            op.signed_on_the_spot.fetch_add(1, Ordering::Relaxed);
            op.id_token(&pending.subject, pending.nonce.as_deref())
        }
    };
    let access_token = format!("at-{}", uuid::Uuid::new_v4().simple());
    op.live()
        .tokens
        .insert(access_token.clone(), pending.subject);
    Json(json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
        "scope": "openid email profile", "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(op): State<Shared>, headers: HeaderMap) -> Response {
    op.note("GET", USERINFO, None, &headers, b"");
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let subject = bearer.and_then(|b| op.live().tokens.get(b).cloned());
    let Some(subject) = subject else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    if let Some(big) = op.oversize(USERINFO) {
        return big;
    }
    let mut info = match op.behavior.people {
        People::Pat => json!({
            "sub": SUB, "email": "pat@example.com", "email_verified": true,
            "name": "Pat Doe", "given_name": "Pat", "family_name": "Doe",
        }),
        People::FromLoginHint => {
            let user = subject.trim_start_matches("00u-");
            json!({
                "sub": subject, "email": format!("{user}@example.com"), "email_verified": true,
                "name": format!("User {user}"), "given_name": "User", "family_name": user,
            })
        }
    };
    (op.behavior.userinfo)(&mut info);
    Json(info).into_response()
}
