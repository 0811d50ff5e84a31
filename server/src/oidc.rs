//! OpenID Connect against each org's Okta: discovery and JWKS cached per issuer, the
//! authorization request, the code exchange, ID-token verification and /userinfo.

use crate::metrics::{IdpFetch, Metrics};
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LoginHint, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long discovery documents (with their JWKS) are reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// At most one JWKS refetch per issuer this often, when a token names an unknown key.
const JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(10);
/// How long a connection to an IdP may sit idle in the pool before it is dropped.
const IDP_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Clock skew tolerated on `exp` and `iat`.
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Why talking to the IdP failed, with the reason code recorded on the login attempt.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The IdP could not be reached or timed out.
    #[error("{0}")]
    Unreachable(String),
    /// The discovery document is wrong (e.g. its issuer differs from the registered one).
    #[error("{0}")]
    Discovery(String),
    /// The token endpoint refused the code or the client credentials.
    #[error("{0}")]
    TokenExchange(String),
    /// The ID token failed a check; the text says which.
    #[error("{0}")]
    TokenInvalid(String),
    /// /userinfo failed or disagreed with the ID token.
    #[error("{0}")]
    UserInfo(String),
}

struct Entry {
    metadata: CoreProviderMetadata,
    fetched: Instant,
    /// When a token last made us refetch the JWKS (never, right after discovery).
    jwks_refreshed: Option<Instant>,
}

/// Per-issuer cache of discovery documents and signing keys, shared by all requests of a node.
pub struct OidcCache {
    http: reqwest::Client,
    entries: Mutex<HashMap<String, Entry>>,
    metrics: Arc<Metrics>,
}

/// The IdP client for discovery and JWKS, counting each fetch in `tessera_idp_fetches_total`.
struct Counted<'a> {
    http: &'a reqwest::Client,
    metrics: &'a Metrics,
}

type IdpFuture<'c> = Pin<
    Box<
        dyn Future<
                Output = Result<
                    openidconnect::HttpResponse,
                    openidconnect::HttpClientError<reqwest::Error>,
                >,
            > + Send
            + Sync
            + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for Counted<'_> {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = IdpFuture<'c>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        let kind = if request
            .uri()
            .path()
            .ends_with("/.well-known/openid-configuration")
        {
            IdpFetch::Discovery
        } else {
            IdpFetch::Jwks
        };
        Box::pin(async move {
            let result = openidconnect::AsyncHttpClient::call(self.http, request).await;
            self.metrics
                .idp_fetch(kind, matches!(&result, Ok(r) if r.status().is_success()));
            result
        })
    }
}

/// What the browser is sent to, and what must be remembered for the callback.
pub struct AuthRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The verified identity from a callback.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub name: String,
}

/// The registered connection of one org, with its decrypted secret.
pub struct ClientConfig<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl OidcCache {
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            // Never follow redirects from the IdP (SSRF and token leakage).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            // Drop idle connections before the IdP does: servers close idle keep-alive
            // connections (Node after 5 s, load balancers after 60 s), and a request sent on one
            // just as it closes fails with "connection reset" (idp_unreachable) for no reason.
            .pool_idle_timeout(IDP_POOL_IDLE_TIMEOUT)
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            entries: Mutex::new(HashMap::new()),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Counts discovery and JWKS fetches in `metrics` (the node's, served at `/metrics`).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    fn counted(&self) -> Counted<'_> {
        Counted {
            http: &self.http,
            metrics: &self.metrics,
        }
    }

    /// The issuer's provider metadata (with JWKS), from cache or freshly discovered.
    pub async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, OidcError> {
        if let Some(m) = self.cached(issuer, METADATA_TTL) {
            return Ok(m);
        }
        let issuer_url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| OidcError::Discovery(format!("invalid issuer URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &self.counted())
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Request(_) => OidcError::Unreachable(format!(
                    "discovery at {issuer} failed: {}",
                    describe(&e)
                )),
                other => OidcError::Discovery(format!(
                    "discovery at {issuer} failed: {}",
                    describe(&other)
                )),
            })?;
        tracing::info!(issuer, "fetched discovery document and JWKS");
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                issuer.to_string(),
                Entry {
                    metadata: metadata.clone(),
                    fetched: Instant::now(),
                    jwks_refreshed: None,
                },
            );
        }
        Ok(metadata)
    }

    fn cached(&self, issuer: &str, ttl: Duration) -> Option<CoreProviderMetadata> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(issuer)?;
        (e.fetched.elapsed() < ttl).then(|| e.metadata.clone())
    }

    /// Forgets an issuer's cached documents (e.g. after its connection changed).
    pub fn forget(&self, issuer: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(issuer);
        }
    }

    /// Refetches the issuer's JWKS after a token named a key we do not know (key rotation).
    /// Rate-limited per issuer; `None` when a refetch happened too recently.
    async fn refresh_jwks(&self, issuer: &str) -> Result<Option<CoreProviderMetadata>, OidcError> {
        let mut metadata = {
            let Ok(entries) = self.entries.lock() else {
                return Ok(None);
            };
            match entries.get(issuer) {
                Some(e)
                    if e.jwks_refreshed
                        .is_some_and(|t| t.elapsed() < JWKS_REFRESH_MIN_INTERVAL) =>
                {
                    return Ok(None);
                }
                Some(e) => e.metadata.clone(),
                None => return Ok(None),
            }
        };
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.counted())
            .await
            .map_err(|e| OidcError::Unreachable(format!("JWKS fetch failed: {}", describe(&e))))?;
        tracing::info!(issuer, "refetched JWKS after an unknown signing key");
        metadata = metadata.set_jwks(jwks);
        if let Ok(mut entries) = self.entries.lock()
            && let Some(e) = entries.get_mut(issuer)
        {
            e.metadata = metadata.clone();
            e.jwks_refreshed = Some(Instant::now());
        }
        Ok(Some(metadata))
    }

    /// Builds the authorization request: code flow, openid email profile, state, nonce, PKCE S256.
    pub async fn authorization_request(
        &self,
        client: &ClientConfig<'_>,
        login_hint: Option<&str>,
    ) -> Result<AuthRequest, OidcError> {
        let metadata = self.metadata(client.issuer).await?;
        let oidc = build_client(metadata, client)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = oidc
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint.to_string()));
        }
        let (url, state, nonce) = request.url();
        Ok(AuthRequest {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code, verifies the ID token and merges /userinfo claims.
    pub async fn complete(
        &self,
        client: &ClientConfig<'_>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, OidcError> {
        let metadata = self.metadata(client.issuer).await?;
        let oidc = build_client(metadata, client)?;
        let token = oidc
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Discovery(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                openidconnect::RequestTokenError::Request(_) => {
                    OidcError::Unreachable(format!("token request failed: {}", describe(&e)))
                }
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::TokenExchange(format!(
                        "the token endpoint answered {}{}",
                        r.error(),
                        r.error_description()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    ))
                }
                // The exchange worked but the ID token in it is malformed (e.g. no `sub` or
                // `iat`): that is a token that fails verification, not refused credentials.
                openidconnect::RequestTokenError::Parse(_, body)
                    if malformed_id_token(body).is_some() =>
                {
                    OidcError::TokenInvalid(format!(
                        "the ID token is malformed: {}",
                        malformed_id_token(body).unwrap_or_default()
                    ))
                }
                _ => OidcError::TokenExchange(format!("token request failed: {}", describe(&e))),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OidcError::TokenInvalid("the token response has no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match verify(&oidc, id_token, &nonce) {
            Ok(c) => c,
            Err(Retry::UnknownKey(msg)) => {
                // Okta rotated its keys: refetch the JWKS once (rate-limited) and try again.
                match self.refresh_jwks(client.issuer).await? {
                    Some(fresh) => {
                        let oidc = build_client(fresh, client)?;
                        verify(&oidc, id_token, &nonce).map_err(Retry::into_error)?
                    }
                    None => return Err(OidcError::TokenInvalid(msg)),
                }
            }
            Err(e) => return Err(e.into_error()),
        };
        let subject = claims.subject().clone();
        let userinfo: CoreUserInfoClaims = oidc
            .user_info(token.access_token().clone(), Some(subject.clone()))
            .map_err(|e| OidcError::UserInfo(format!("no userinfo endpoint: {e}")))?
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                openidconnect::UserInfoError::Request(_) => {
                    OidcError::Unreachable(format!("userinfo request failed: {}", describe(&e)))
                }
                openidconnect::UserInfoError::ClaimsVerification(_) => {
                    OidcError::UserInfo(format!(
                        "userinfo sub does not match the ID token sub: {}",
                        describe(&e)
                    ))
                }
                _ => OidcError::UserInfo(format!("userinfo failed: {}", describe(&e))),
            })?;
        Ok(merge_identity(&claims, &userinfo))
    }
}

/// Why the `id_token` of a token response cannot even be parsed, if that is what failed.
fn malformed_id_token(body: &[u8]) -> Option<String> {
    let response: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id_token = response.get("id_token")?.clone();
    serde_json::from_value::<openidconnect::core::CoreIdToken>(id_token)
        .err()
        .map(|e| e.to_string())
}

enum Retry {
    UnknownKey(String),
    Invalid(String),
}

impl Retry {
    fn into_error(self) -> OidcError {
        match self {
            Retry::UnknownKey(m) | Retry::Invalid(m) => OidcError::TokenInvalid(m),
        }
    }
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn build_client(metadata: CoreProviderMetadata, c: &ClientConfig<'_>) -> Result<Client, OidcError> {
    let redirect = RedirectUrl::new(c.redirect_uri.to_string())
        .map_err(|e| OidcError::Discovery(format!("invalid redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(c.client_id.to_string()),
        Some(ClientSecret::new(c.client_secret.to_string())),
    )
    .set_redirect_uri(redirect))
}

/// Verifies signature (RS256 only), iss, aud, exp and iat (60 s skew) and nonce.
fn verify(
    oidc: &Client,
    id_token: &openidconnect::core::CoreIdToken,
    nonce: &Nonce,
) -> Result<CoreIdTokenClaims, Retry> {
    let verifier = oidc
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256])
        .set_time_fn(|| Utc::now() - CLOCK_SKEW)
        .set_issue_time_verifier_fn(|iat: DateTime<Utc>| {
            if iat > Utc::now() + CLOCK_SKEW {
                Err(format!("the ID token was issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
    id_token.claims(&verifier, nonce).cloned().map_err(|e| {
        let msg = describe(&e);
        match e {
            openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            ) => Retry::UnknownKey(msg),
            _ => Retry::Invalid(msg),
        }
    })
}

/// Profile claims: /userinfo wins (Okta's ID tokens are thin), the ID token fills gaps.
fn merge_identity(id: &CoreIdTokenClaims, info: &CoreUserInfoClaims) -> Identity {
    let email = info
        .email()
        .or(id.email())
        .map(|e| e.as_str().to_string())
        .unwrap_or_default();
    let pick = |c: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserName>>| {
        c.and_then(|c| c.get(None)).map(|n| n.as_str().to_string())
    };
    let name = pick(info.name())
        .or_else(|| pick(id.name()))
        .or_else(|| {
            let given = info
                .given_name()
                .and_then(|c| c.get(None))
                .map(|n| n.as_str().to_string());
            let family = info
                .family_name()
                .and_then(|c| c.get(None))
                .map(|n| n.as_str().to_string());
            match (given, family) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (Some(g), None) => Some(g),
                (None, Some(f)) => Some(f),
                _ => None,
            }
        })
        .or_else(|| info.preferred_username().map(|u| u.as_str().to_string()))
        .unwrap_or_default();
    Identity {
        subject: id.subject().as_str().to_string(),
        email,
        name,
    }
}

/// Verifies a compact ID token exactly as the callback does (RS256 only, iss, aud, exp/iat with
/// skew, nonce) against `metadata`'s keys; returns the subject. Used by the fuzz target.
pub fn verify_id_token(
    metadata: CoreProviderMetadata,
    client: &ClientConfig<'_>,
    id_token: &str,
    nonce: &str,
) -> Result<String, OidcError> {
    let token: openidconnect::core::CoreIdToken = id_token
        .parse()
        .map_err(|e| OidcError::TokenInvalid(format!("malformed ID token: {e}")))?;
    let oidc = build_client(metadata, client)?;
    verify(&oidc, &token, &Nonce::new(nonce.to_string()))
        .map(|claims| claims.subject().as_str().to_string())
        .map_err(Retry::into_error)
}
