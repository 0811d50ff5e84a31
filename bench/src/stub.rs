//! A stub OpenID provider in the benchmark process, shaped like the fake OP of
//! `server/tests/rp_conformance.rs` but built to cost (almost) nothing per request: discovery
//! and JWKS are pre-serialized, `/authorize` redirects straight back with a code (the user is
//! the `login_hint`), and `/token` answers with an RS256 ID token carrying the nonce seen at
//! `/authorize`, signed ahead of time by [`Stub::presign`] (outside the measured window) or,
//! for codes not pre-signed, on the spot. `/userinfo` derives the profile from the access token.
//!
//! The signing key is a fresh 2048-bit RSA key (Okta's size), so Tessera verifies real
//! signatures of realistic cost.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "0oa-bench-client";
pub const CLIENT_SECRET: &str = "bench-secret-0123456789abcdefghijklmnop";
const KID: &str = "bench-key-1";
const AUTHORIZE: &str = "/oauth2/v1/authorize";
const TOKEN: &str = "/oauth2/v1/token";
const USERINFO: &str = "/oauth2/v1/userinfo";
const JWKS: &str = "/oauth2/v1/keys";

struct Pending {
    nonce: String,
    challenge: String,
    subject: String,
    redirect_uri: String,
    id_token: Option<String>,
}

struct Inner {
    issuer: String,
    expected_basic: String,
    key: ring::signature::RsaKeyPair,
    rng: ring::rand::SystemRandom,
    header_b64: String,
    discovery: String,
    jwks: String,
    codes: Mutex<HashMap<String, Pending>>,
    counter: AtomicU64,
    signed_on_the_spot: AtomicU64,
}

/// The running stub; stops when dropped.
pub struct Stub {
    pub issuer: String,
    inner: Arc<Inner>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Stub {
    pub async fn start() -> Stub {
        let (key, n, e) = tokio::task::spawn_blocking(new_key)
            .await
            .expect("key generation");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stub");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let discovery = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}{AUTHORIZE}"),
            "token_endpoint": format!("{issuer}{TOKEN}"),
            "userinfo_endpoint": format!("{issuer}{USERINFO}"),
            "jwks_uri": format!("{issuer}{JWKS}"),
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
        })
        .to_string();
        let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": n, "e": e}]}).to_string();
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            expected_basic: format!(
                "Basic {}",
                STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
            ),
            key,
            rng: ring::rand::SystemRandom::new(),
            header_b64: URL_SAFE_NO_PAD
                .encode(json!({"alg": "RS256", "typ": "JWT", "kid": KID}).to_string()),
            discovery,
            jwks,
            codes: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            signed_on_the_spot: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery_doc))
            .route(JWKS, get(jwks_doc))
            .route(AUTHORIZE, get(authorize))
            .route(TOKEN, post(token))
            .route(USERINFO, get(userinfo))
            .with_state(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Stub {
            issuer,
            inner,
            _stop: tx,
        }
    }

    /// Signs the ID tokens of every code handed out and not yet signed, on all cores, so that
    /// `/token` answers with a stored string. Returns how many were signed.
    pub async fn presign(&self) -> usize {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let todo: Vec<(String, String, String)> = {
                let codes = inner.codes.lock().expect("codes");
                codes
                    .iter()
                    .filter(|(_, p)| p.id_token.is_none())
                    .map(|(c, p)| (c.clone(), p.subject.clone(), p.nonce.clone()))
                    .collect()
            };
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            let chunk = todo.len().div_ceil(threads).max(1);
            let signed: Vec<(String, String)> = std::thread::scope(|s| {
                let handles: Vec<_> = todo
                    .chunks(chunk)
                    .map(|part| {
                        let inner = &inner;
                        s.spawn(move || {
                            part.iter()
                                .map(|(code, sub, nonce)| {
                                    (code.clone(), inner.id_token(sub, nonce))
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
            let mut codes = inner.codes.lock().expect("codes");
            let n = signed.len();
            for (code, token) in signed {
                if let Some(p) = codes.get_mut(&code) {
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
        self.inner.signed_on_the_spot.load(Ordering::Relaxed)
    }
}

/// A fresh RSA-2048 key for ring, with its public modulus and exponent (base64url).
fn new_key() -> (ring::signature::RsaKeyPair, String, String) {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let private =
        rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation");
    let der = private.to_pkcs1_der().expect("PKCS#1 encoding");
    let key = ring::signature::RsaKeyPair::from_der(der.as_bytes()).expect("ring accepts the key");
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
    (key, n, e)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Inner {
    /// A thin, Okta-like ID token (iss, sub, aud, exp, iat, auth_time, nonce), RS256 with a kid.
    fn id_token(&self, subject: &str, nonce: &str) -> String {
        let t = now();
        let claims = json!({
            "iss": self.issuer, "sub": subject, "aud": CLIENT_ID, "exp": t + 600, "iat": t,
            "auth_time": t, "nonce": nonce,
        });
        let input = format!(
            "{}.{}",
            self.header_b64,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &self.rng,
                input.as_bytes(),
                &mut sig,
            )
            .expect("RSA signing");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

type Shared = State<Arc<Inner>>;

fn json_body(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    json_body(status, json!({"error": error}).to_string())
}

async fn discovery_doc(State(s): Shared) -> Response {
    json_body(StatusCode::OK, s.discovery.clone())
}

async fn jwks_doc(State(s): Shared) -> Response {
    json_body(StatusCode::OK, s.jwks.clone())
}

/// Redirects straight back to the client with a code; the person is `login_hint`.
async fn authorize(State(s): Shared, RawQuery(q): RawQuery) -> Response {
    let p: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "unsupported authorization request").into_response();
    }
    let Ok(mut back) = url::Url::parse(&get("redirect_uri")) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    let hint = p
        .get("login_hint")
        .cloned()
        .unwrap_or_else(|| "anonymous".into());
    let code = format!("code{}", s.counter.fetch_add(1, Ordering::Relaxed));
    s.codes.lock().expect("codes").insert(
        code.clone(),
        Pending {
            nonce: get("nonce"),
            challenge: get("code_challenge"),
            subject: format!("00u-{hint}"),
            redirect_uri: get("redirect_uri"),
            id_token: None,
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"))
        .append_pair("iss", &s.issuer);
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

async fn token(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth != Some(s.expected_basic.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let p: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if p.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let pending = p
        .get("code")
        .and_then(|c| s.codes.lock().expect("codes").remove(c));
    let Some(pending) = pending else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = p
        .get("code_verifier")
        .map(String::as_str)
        .unwrap_or_default();
    if p.get("redirect_uri") != Some(&pending.redirect_uri)
        || URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) != pending.challenge
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let id_token = match pending.id_token {
        Some(t) => t,
        None => {
            s.signed_on_the_spot.fetch_add(1, Ordering::Relaxed);
            s.id_token(&pending.subject, &pending.nonce)
        }
    };
    let body = json!({
        "access_token": format!("at.{}", pending.subject), "token_type": "Bearer",
        "expires_in": 3600, "scope": "openid email profile", "id_token": id_token,
    });
    json_body(StatusCode::OK, body.to_string())
}

async fn userinfo(headers: HeaderMap) -> Response {
    let subject = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer at."));
    let Some(subject) = subject else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    };
    let user = subject.trim_start_matches("00u-");
    let body = json!({
        "sub": subject, "email": format!("{user}@example.com"), "email_verified": true,
        "name": format!("Bench {user}"), "given_name": "Bench", "family_name": user,
        "preferred_username": format!("{user}@example.com"),
    });
    json_body(StatusCode::OK, body.to_string())
}
