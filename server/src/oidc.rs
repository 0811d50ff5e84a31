//! OpenID Connect against each org's Okta: discovery and JWKS cached per issuer, the
//! authorization request, the code exchange, ID-token verification and /userinfo.

use crate::metrics::{IdpFetch, Metrics};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreIdTokenClaims,
    CoreJsonWebKey, CoreJsonWebKeyType, CoreJsonWebKeyUse, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
    CoreTokenIntrospectionResponse, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims,
    EmptyAdditionalProviderMetadata, EndpointNotSet, IdTokenVerifier, IssuerUrl, JsonWebKey,
    JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeySet, JsonWebKeyUse as _, JwsSigningAlgorithm as _,
    LoginHint, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, SignatureVerificationError, StandardErrorResponse, TokenResponse as _,
};
use serde::{Deserialize, Deserializer, Serialize};
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
    metadata: FastProviderMetadata,
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
    pub async fn metadata(&self, issuer: &str) -> Result<FastProviderMetadata, OidcError> {
        if let Some(m) = self.cached(issuer, METADATA_TTL) {
            return Ok(m);
        }
        let issuer_url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| OidcError::Discovery(format!("invalid issuer URL: {e}")))?;
        let metadata = FastProviderMetadata::discover_async(issuer_url, &self.counted())
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

    fn cached(&self, issuer: &str, ttl: Duration) -> Option<FastProviderMetadata> {
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
    async fn refresh_jwks(&self, issuer: &str) -> Result<Option<FastProviderMetadata>, OidcError> {
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
        let jwks = FastJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.counted())
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

type Client = FastClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn build_client(metadata: FastProviderMetadata, c: &ClientConfig<'_>) -> Result<Client, OidcError> {
    let redirect = RedirectUrl::new(c.redirect_uri.to_string())
        .map_err(|e| OidcError::Discovery(format!("invalid redirect URI: {e}")))?;
    Ok(FastClient::from_provider_metadata(
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
    metadata: FastProviderMetadata,
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

// ---- ID-token signatures through ring -----------------------------------------------------------

/// openidconnect's [`openidconnect::core::CoreClient`] with [`FastJwk`] keys.
pub type FastClient<
    HasAuthUrl = EndpointNotSet,
    HasDeviceAuthUrl = EndpointNotSet,
    HasIntrospectionUrl = EndpointNotSet,
    HasRevocationUrl = EndpointNotSet,
    HasTokenUrl = EndpointNotSet,
    HasUserInfoUrl = EndpointNotSet,
> = openidconnect::Client<
    EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    FastJwk,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    CoreTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    HasIntrospectionUrl,
    HasRevocationUrl,
    HasTokenUrl,
    HasUserInfoUrl,
>;

/// openidconnect's [`openidconnect::core::CoreProviderMetadata`] with [`FastJwk`] keys.
pub type FastProviderMetadata = openidconnect::ProviderMetadata<
    EmptyAdditionalProviderMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    FastJwk,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// openidconnect's [`openidconnect::core::CoreJsonWebKeySet`] with [`FastJwk`] keys.
pub type FastJsonWebKeySet = JsonWebKeySet<FastJwk>;

/// openidconnect's [`openidconnect::core::CoreIdTokenVerifier`] with [`FastJwk`] keys.
pub type FastIdTokenVerifier<'a> = IdTokenVerifier<'a, FastJwk>;

/// Largest RSA modulus accepted, in bits: that of openidconnect's own verifier (the `rsa` crate's
/// `RsaPublicKey::MAX_SIZE`); ring alone would take up to 8192.
const RSA_MAX_BITS: usize = 4096;
/// Smallest RSA modulus accepted, in bits (ring's `RSA_PKCS1_2048_8192_SHA256`).
const RSA_MIN_BITS: usize = 2048;

/// A JSON Web Key that is [`CoreJsonWebKey`] in every respect (JSON form, key type, use,
/// algorithm, ID, all other algorithms) except that RS256 signatures are checked with ring
/// instead of the pure-Rust `rsa` crate, several times cheaper per ID token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FastJwk {
    key: CoreJsonWebKey,
    /// The RSA public key, decoded once when the JWKS is loaded; `None` unless the key is RSA
    /// with both `n` and `e`.
    #[serde(skip)]
    rsa: Option<Arc<RsaPublicKey>>,
}

/// `n` and `e`, big-endian without leading zero bytes (as openidconnect reads them: some IdPs
/// pad `n` with a 0x00, which ring would refuse).
#[derive(Debug, PartialEq, Eq)]
struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaPublicKey {
    fn of(key: &CoreJsonWebKey) -> Option<Self> {
        if *key.key_type() != CoreJsonWebKeyType::RSA {
            return None;
        }
        // CoreJsonWebKey keeps `n` and `e` private; its JSON form is their only public view.
        let json = serde_json::to_value(key).ok()?;
        let field = |name: &str| -> Option<Vec<u8>> {
            let bytes = URL_SAFE_NO_PAD.decode(json.get(name)?.as_str()?).ok()?;
            let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
            Some(bytes[first..].to_vec())
        };
        Some(Self {
            n: field("n")?,
            e: field("e")?,
        })
    }

    fn modulus_bits(&self) -> usize {
        match self.n.first() {
            Some(&top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    fn verify_rs256(
        &self,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        let bits = self.modulus_bits();
        if bits > RSA_MAX_BITS {
            return Err(SignatureVerificationError::InvalidKey(
                "modulus too large".to_string(),
            ));
        }
        if bits < RSA_MIN_BITS {
            return Err(SignatureVerificationError::InvalidKey(format!(
                "RSA modulus of {bits} bits is below the {RSA_MIN_BITS} accepted"
            )));
        }
        ring::signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message,
            signature,
        )
        .map_err(|_| SignatureVerificationError::CryptoError("bad signature".to_string()))
    }
}

impl From<CoreJsonWebKey> for FastJwk {
    fn from(key: CoreJsonWebKey) -> Self {
        let rsa = RsaPublicKey::of(&key).map(Arc::new);
        Self { key, rsa }
    }
}

impl<'de> Deserialize<'de> for FastJwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Fails exactly when CoreJsonWebKey fails, so a JWKS skips the same keys.
        CoreJsonWebKey::deserialize(deserializer).map(Self::from)
    }
}

/// openidconnect's check (private to it) that a key may verify `alg`: use `sig` or none, key type
/// of the algorithm, and the key's `alg` (if any) equal to `alg`.
fn check_key_compatibility(
    key: &CoreJsonWebKey,
    alg: &CoreJwsSigningAlgorithm,
) -> Result<(), &'static str> {
    if let Some(use_) = key.key_use()
        && !use_.allows_signature()
    {
        return Err("key usage not permitted for digital signatures");
    }
    if alg.key_type().as_ref() != Some(key.key_type()) {
        return Err("key type does not match signature algorithm");
    }
    match key.signing_alg() {
        JsonWebKeyAlgorithm::Unspecified => Ok(()),
        JsonWebKeyAlgorithm::Unsupported => Err("key algorithm is not a signing algorithm"),
        JsonWebKeyAlgorithm::Algorithm(key_alg) if key_alg == alg => Ok(()),
        JsonWebKeyAlgorithm::Algorithm(_) => Err("incompatible key algorithm"),
    }
}

impl JsonWebKey for FastJwk {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.key.key_id()
    }

    fn key_type(&self) -> &CoreJsonWebKeyType {
        self.key.key_type()
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.key.key_use()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        self.key.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        CoreJsonWebKey::new_symmetric(key).into()
    }

    fn verify_signature(
        &self,
        signature_alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        match (signature_alg, &self.rsa) {
            (CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, Some(rsa)) => {
                check_key_compatibility(&self.key, signature_alg)
                    .map_err(|e| SignatureVerificationError::InvalidKey(e.to_string()))?;
                rsa.verify_rs256(message, signature)
            }
            // Other algorithms, and RSA keys lacking `n` or `e` (for openidconnect's errors).
            _ => self.key.verify_signature(signature_alg, message, signature),
        }
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        self.key.hash_bytes(bytes, alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::PrivateSigningKey as _;
    use openidconnect::core::{CoreHmacKey, CoreJsonWebKeySet, CoreRsaPrivateSigningKey};
    use serde_json::{Value, json};
    use std::sync::OnceLock;

    const ISSUER: &str = "https://acme.okta.com";
    const SUB: &str = "00uUnitPat";
    const NONCE: &str = "n-0S6_WzA2Mj";
    const CLIENT_SECRET: &str = "unit-secret_0123456789-abcdefghijklmnop";
    const RS256: CoreJwsSigningAlgorithm = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
    /// The integration tests' throwaway 2048-bit keys (test data only).
    const PEM_A: &str = include_str!("../tests/support/keys/fake_op_a.pem");
    const PEM_B: &str = include_str!("../tests/support/keys/fake_op_b.pem");

    fn client() -> ClientConfig<'static> {
        ClientConfig {
            issuer: ISSUER,
            client_id: "0oa-unit",
            client_secret: CLIENT_SECRET,
            redirect_uri: "https://sso.example.com/sso/callback",
        }
    }

    /// Key A (kid `a`) and key B (kid `b`); RSA signing is slow in debug builds, so load once.
    fn keys() -> &'static [CoreRsaPrivateSigningKey; 2] {
        static KEYS: OnceLock<[CoreRsaPrivateSigningKey; 2]> = OnceLock::new();
        KEYS.get_or_init(|| {
            [(PEM_A, "a"), (PEM_B, "b")].map(|(pem, kid)| {
                CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into())))
                    .expect("test key")
            })
        })
    }

    fn public(i: usize) -> CoreJsonWebKey {
        keys()[i].as_verification_key()
    }

    /// A compact JWT of `header` and Okta-like claims, signed by `sign` over its signing input.
    fn jwt(header: Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
        let now = Utc::now().timestamp();
        let claims = json!({
            "iss": ISSUER, "sub": SUB, "aud": client().client_id,
            "iat": now, "exp": now + 300, "nonce": NONCE,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sign(input.as_bytes())))
    }

    /// RS256 by key `signer`, naming `kid` in its header.
    fn rs256(signer: usize, kid: &str) -> String {
        jwt(json!({"alg": "RS256", "typ": "JWT", "kid": kid}), |m| {
            keys()[signer].sign(&RS256, m).expect("sign")
        })
    }

    /// A token signed by key A with kid `a`, made once.
    fn good_token() -> &'static str {
        static TOKEN: OnceLock<String> = OnceLock::new();
        TOKEN.get_or_init(|| rs256(0, "a"))
    }

    /// The signing input and signature of a compact JWT.
    fn split(token: &str) -> (&[u8], Vec<u8>) {
        let (input, signature) = token.rsplit_once('.').expect("compact JWT");
        (
            input.as_bytes(),
            URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
        )
    }

    fn with_signature(token: &str, signature: &[u8]) -> String {
        let (input, _) = token.rsplit_once('.').expect("compact JWT");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Discovery document publishing `keys`.
    fn metadata(keys: Vec<CoreJsonWebKey>) -> FastProviderMetadata {
        serde_json::from_value::<FastProviderMetadata>(json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/oauth2/v1/authorize"),
            "token_endpoint": format!("{ISSUER}/oauth2/v1/token"),
            "userinfo_endpoint": format!("{ISSUER}/oauth2/v1/userinfo"),
            "jwks_uri": format!("{ISSUER}/oauth2/v1/keys"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
        .expect("discovery")
        .set_jwks(FastJsonWebKeySet::new(
            keys.into_iter().map(FastJwk::from).collect(),
        ))
    }

    fn verify_with(keys: Vec<CoreJsonWebKey>, token: &str) -> Result<String, String> {
        verify_id_token(metadata(keys), &client(), token, NONCE).map_err(|e| e.to_string())
    }

    fn refused(result: Result<String, String>, why: &str) {
        match result {
            Ok(sub) => panic!("accepted (sub {sub}), expected a refusal mentioning {why:?}"),
            Err(msg) => assert!(msg.contains(why), "refusal {msg:?} lacks {why:?}"),
        }
    }

    /// `n` and `e` of key `i`, as the JWK carries them.
    fn n_and_e(i: usize) -> (Vec<u8>, Vec<u8>) {
        let jwk = serde_json::to_value(public(i)).unwrap();
        let field = |f: &str| URL_SAFE_NO_PAD.decode(jwk[f].as_str().unwrap()).unwrap();
        (field("n"), field("e"))
    }

    #[test]
    fn rs256_by_the_published_key_verifies() {
        assert_eq!(
            verify_with(vec![public(0)], good_token()),
            Ok(SUB.to_string())
        );
        // And without a kid, against a single published key.
        let no_kid = jwt(json!({"alg": "RS256"}), |m| {
            keys()[0].sign(&RS256, m).unwrap()
        });
        assert_eq!(verify_with(vec![public(0)], &no_kid), Ok(SUB.to_string()));
    }

    #[test]
    fn a_flipped_signature_byte_is_refused() {
        let (_, mut signature) = split(good_token());
        for at in [0, 100, signature.len() - 1] {
            signature[at] ^= 0x01;
            let token = with_signature(good_token(), &signature);
            refused(verify_with(vec![public(0)], &token), "bad signature");
            signature[at] ^= 0x01;
        }
        // Truncated, lengthened and empty signatures too.
        for bad in [
            &signature[..255],
            &[signature.as_slice(), &[0]].concat(),
            &[][..],
        ] {
            let token = with_signature(good_token(), bad);
            assert!(verify_with(vec![public(0)], &token).is_err());
        }
    }

    #[test]
    fn a_token_signed_by_another_key_is_refused() {
        // Signed by B but naming A's kid: A is selected and the signature does not match.
        refused(
            verify_with(vec![public(0)], &rs256(1, "a")),
            "bad signature",
        );
        // Naming B's kid, which is not published: no key (the caller then refetches the JWKS).
        refused(
            verify_with(vec![public(0)], &rs256(1, "b")),
            "No matching key",
        );
        // Both published: B's kid selects B and it verifies.
        assert_eq!(
            verify_with(vec![public(0), public(1)], &rs256(1, "b")),
            Ok(SUB.to_string())
        );
    }

    #[test]
    fn hs256_and_alg_none_are_refused() {
        // HS256 keyed with the client secret (algorithm confusion).
        let hs256 = jwt(json!({"alg": "HS256", "typ": "JWT"}), |m| {
            CoreHmacKey::new(CLIENT_SECRET)
                .sign(&CoreJwsSigningAlgorithm::HmacSha256, m)
                .unwrap()
        });
        refused(
            verify_with(vec![public(0)], &hs256),
            "Disallowed signature algorithm",
        );
        // HS256 keyed with the public key's modulus, naming its kid.
        let (n, _) = n_and_e(0);
        let hs256_n = jwt(json!({"alg": "HS256", "kid": "a"}), |m| {
            CoreHmacKey::new(n)
                .sign(&CoreJwsSigningAlgorithm::HmacSha256, m)
                .unwrap()
        });
        refused(
            verify_with(vec![public(0)], &hs256_n),
            "Disallowed signature algorithm",
        );
        // Unsigned.
        let none = jwt(json!({"alg": "none"}), |_| Vec::new());
        let msg = verify_with(vec![public(0)], &none).expect_err("alg none accepted");
        assert!(msg.to_lowercase().contains("signature"), "{msg}");
        // The good token's claims with its header changed to `none` and the signature kept.
        let (input, _) = good_token().rsplit_once('.').unwrap();
        let (_, payload) = input.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string());
        let signature = good_token().rsplit_once('.').unwrap().1;
        let stripped = format!("{header}.{payload}.{signature}");
        assert!(verify_with(vec![public(0)], &stripped).is_err());
    }

    /// The ring path and openidconnect's `rsa` path agree, case by case.
    #[test]
    fn ring_agrees_with_openidconnects_verifier() {
        let (message, signature) = split(good_token());
        let mut flipped = signature.clone();
        flipped[17] ^= 0x80;
        let (_, other) = split(&rs256(1, "a"));
        let cases: [(&str, &[u8], bool); 6] = [
            ("good", &signature, true),
            ("flipped", &flipped, false),
            ("other key", &other, false),
            ("truncated", &signature[1..], false),
            ("zero-padded", &[&[0][..], &signature].concat(), false),
            ("empty", &[], false),
        ];
        let core = public(0);
        let fast = FastJwk::from(core.clone());
        for (case, signature, valid) in cases {
            let by_rsa = core.verify_signature(&RS256, message, signature);
            let by_ring = fast.verify_signature(&RS256, message, signature);
            assert_eq!(by_rsa.is_ok(), valid, "{case}: rsa crate {by_rsa:?}");
            assert_eq!(by_ring.is_ok(), valid, "{case}: ring {by_ring:?}");
        }
        // A message that was not signed.
        let other_message = [message, b"x"].concat();
        assert!(
            fast.verify_signature(&RS256, &other_message, &signature)
                .is_err()
        );
    }

    #[test]
    fn a_zero_padded_modulus_is_read_as_openidconnect_reads_it() {
        let (n, e) = n_and_e(0);
        let padded = CoreJsonWebKey::new_rsa(
            [&[0, 0][..], &n].concat(),
            [&[0][..], &e].concat(),
            Some(JsonWebKeyId::new("a".into())),
        );
        assert_eq!(verify_with(vec![padded], good_token()), Ok(SUB.to_string()));
    }

    #[test]
    fn key_checks_are_openidconnects() {
        let (message, signature) = split(good_token());
        let jwk = |extra: Value| {
            let mut v = serde_json::to_value(public(0)).unwrap();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            serde_json::from_value::<FastJwk>(v).unwrap()
        };
        // Usable: use sig or absent, alg RS256 or absent.
        for ok in [json!({}), json!({"alg": "RS256"}), json!({"use": "sig"})] {
            let key = jwk(ok.clone());
            assert_eq!(
                key.verify_signature(&RS256, message, &signature),
                Ok(()),
                "{ok}"
            );
        }
        // Not usable for RS256: an encryption key, a key for another algorithm.
        for bad in [
            json!({"use": "enc"}),
            json!({"alg": "RS384"}),
            json!({"alg": "A256GCM"}),
        ] {
            let key = jwk(bad.clone());
            assert!(
                matches!(
                    key.verify_signature(&RS256, message, &signature),
                    Err(SignatureVerificationError::InvalidKey(_))
                ),
                "{bad}"
            );
            // Nor is it selected for an RS256 token.
            let core: CoreJsonWebKey =
                serde_json::from_value(serde_json::to_value(&key).unwrap()).unwrap();
            refused(verify_with(vec![core], good_token()), "No matching key");
        }
        // An RSA key without `e`: openidconnect's own error.
        let mut v = serde_json::to_value(public(0)).unwrap();
        v.as_object_mut().unwrap().remove("e");
        let no_e: FastJwk = serde_json::from_value(v).unwrap();
        assert_eq!(
            no_e.verify_signature(&RS256, message, &signature),
            Err(SignatureVerificationError::InvalidKey(
                "RSA exponent `e` is missing".into()
            ))
        );
        // Modulus sizes outside 2048..=4096 bits.
        for (n, why) in [
            (vec![0xc5; 513], "modulus too large"),
            (vec![0xc5; 128], "below the 2048"),
        ] {
            let key = FastJwk::from(CoreJsonWebKey::new_rsa(n, vec![1, 0, 1], None));
            match key.verify_signature(&RS256, message, &signature) {
                Err(SignatureVerificationError::InvalidKey(msg)) => {
                    assert!(msg.contains(why), "{msg}")
                }
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn json_form_and_jwks_parsing_are_core_json_web_keys() {
        let core = public(0);
        let fast = FastJwk::from(core.clone());
        assert_eq!(
            serde_json::to_value(&fast).unwrap(),
            serde_json::to_value(&core).unwrap()
        );
        let jwks = json!({"keys": [
            serde_json::to_value(&core).unwrap(),
            {"kty": "RSA", "n": 5},
            {"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ"},
            {"no": "kty"},
        ]});
        let by_core: CoreJsonWebKeySet = serde_json::from_value(jwks.clone()).unwrap();
        let by_fast: FastJsonWebKeySet = serde_json::from_value(jwks).unwrap();
        assert_eq!(
            serde_json::to_value(&by_fast).unwrap(),
            serde_json::to_value(&by_core).unwrap()
        );
        assert_eq!(by_fast.keys().len(), by_core.keys().len());
        assert_eq!(by_fast.keys()[0], fast);
    }
}
