//! OpenID Connect against each org's Okta: discovery and JWKS cached per issuer, the
//! authorization request, the code exchange, ID-token verification and /userinfo.
//!
//! Every request to an org's IdP goes through [`Outbound`] (destination policy, 1 MiB body cap,
//! `--idp-timeout`); the endpoints a discovery document names must be on the issuer's own
//! origin ([`outbound::check_endpoint`]), so a document cannot make Tessera redirect a browser
//! to `javascript:` or another host, nor send the client secret elsewhere.
//!
//! The ID token is verified strictly (signature RS256 only, `iss`, `aud`, `azp`, `exp`, `iat`
//! with 60 s skew, `nonce`, a non-empty `sub`); the profile claims Tessera uses (`email`,
//! `name`, `given_name`, `family_name`, `preferred_username`) are read leniently (a wrongly
//! typed one counts as absent) and every other claim is ignored, in the ID token and in
//! /userinfo alike: many IdPs send e.g. `"email_verified": "true"`.

use crate::metrics::{IdpFetch, Metrics};
use app::ssr::issuer;
use app::ssr::outbound::{self, Outbound, OutboundError, Reply};
use app::ssr::signin::{IdentityProvider, IdpError};
use app::ssr::store::Clock;
use app::validate::bounded;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeyType, CoreJsonWebKeyUse, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
    CoreTokenIntrospectionResponse, CoreTokenResponse,
};
use openidconnect::{
    ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims, EmptyAdditionalProviderMetadata,
    EndpointNotSet, IdTokenVerifier, JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeySet,
    JsonWebKeyUse as _, JwsSigningAlgorithm as _, LoginHint, Nonce, PkceCodeChallenge, RedirectUrl,
    Scope, SignatureVerificationError, StandardErrorResponse,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long discovery documents (with their JWKS) are reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// At most one JWKS refetch per issuer this often, when a token names a key we do not have;
/// tokens arriving meanwhile wait for the next refetch and share it.
const JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// After [`UNPRODUCTIVE_REFETCHES`] refetches within [`UNPRODUCTIVE_WINDOW`] that found no key
/// for the token that asked (forged kids), refetches are this far apart until one finds a key.
const JWKS_REFRESH_SLOW_INTERVAL: Duration = Duration::from_secs(10);
const UNPRODUCTIVE_REFETCHES: usize = 3;
const UNPRODUCTIVE_WINDOW: Duration = Duration::from_secs(60);
/// A `kid` still unknown after a refetch is not refetched for again this long (a repeated
/// made-up kid costs the IdP nothing) ...
const UNKNOWN_KID_TTL: Duration = Duration::from_secs(60);
/// ... and at most this many such kids are remembered per issuer (the oldest go first).
const MAX_UNKNOWN_KIDS: usize = 32;
/// After a failed discovery, the issuer's sign-ins get the same failure for this long without
/// asking the IdP again: anyone can start sign-ins, and each must not become a request to a
/// broken IdP.
const DISCOVERY_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Clock skew tolerated on `exp` and `iat`.
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// The longest `sub` accepted (OpenID Connect Core §2: at most 255 ASCII characters).
pub const MAX_SUBJECT_CHARS: usize = 255;
/// Profile claims (email, names) are cut to this many characters.
const MAX_PROFILE_CHARS: usize = 256;
const RS256: CoreJwsSigningAlgorithm = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;

/// Why talking to the IdP failed, with the reason code recorded on the login attempt.
#[derive(Clone, Debug, thiserror::Error)]
pub enum OidcError {
    /// The IdP could not be reached or timed out.
    #[error("{0}")]
    Unreachable(String),
    /// The discovery document is wrong (e.g. its issuer differs from the registered one, an
    /// endpoint is on another host), or the IdP answered beyond the size cap or from a
    /// forbidden destination.
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
    /// When it was fetched (unix ms, the cache's clock).
    fetched: i64,
    /// When a token last made us refetch the JWKS (never, right after discovery).
    jwks_refreshed: Option<i64>,
    /// Kids still unknown after a refetch, with when (unix ms): not refetched for again
    /// within [`UNKNOWN_KID_TTL`].
    unknown_kids: std::collections::VecDeque<(Option<String>, i64)>,
    /// Refetches started so far (a token waiting for one knows whether it ran since it came).
    jwks_generation: u64,
    /// When recent refetches found no key for the token that asked (unix ms).
    unproductive: std::collections::VecDeque<i64>,
}

/// Per-issuer cache of discovery documents and signing keys, shared by all requests of a node,
/// and the node's HTTP clients for IdP requests.
pub struct OidcCache {
    /// The node's client for IdP requests (destination policy, size cap, `--idp-timeout`).
    outbound: Outbound,
    entries: Mutex<HashMap<String, Entry>>,
    /// Per issuer: the lock a discovery holds (one at a time; the others wait and reuse it)
    /// and the last failed one, kept for [`DISCOVERY_RETRY_AFTER`].
    discoveries: Mutex<HashMap<String, Discovery>>,
    metrics: Arc<Metrics>,
    /// The store's clock: how old a cached document or failure is.
    clock: Clock,
}

#[derive(Default)]
struct Discovery {
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Held by the one JWKS refetch of the issuer in flight (and its wait).
    keys_turn: Arc<tokio::sync::Mutex<()>>,
    /// When (unix ms) the last discovery failed, and how.
    failed: Option<(i64, OidcError)>,
}

/// openidconnect's HTTP client for IdP requests: [`Outbound`], counting each fetch in
/// `tessera_idp_fetches_total`.
pub struct IdpHttp<'a> {
    outbound: &'a Outbound,
    metrics: &'a Metrics,
    kind: IdpFetch,
}

type IdpFuture<'c> = Pin<
    Box<
        dyn Future<
                Output = Result<
                    openidconnect::HttpResponse,
                    openidconnect::HttpClientError<OutboundError>,
                >,
            > + Send
            + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for IdpHttp<'_> {
    type Error = openidconnect::HttpClientError<OutboundError>;
    type Future = IdpFuture<'c>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let builder = self
                .outbound
                .request(parts.method, &parts.uri.to_string())
                .headers(parts.headers)
                .body(body);
            let result = self.outbound.execute(builder).await;
            self.metrics
                .idp_fetch(self.kind, matches!(&result, Ok(r) if r.status.is_success()));
            let reply = result.map_err(|e| openidconnect::HttpClientError::Other(e.to_string()))?;
            let mut response = openidconnect::HttpResponse::new(reply.body);
            *response.status_mut() = reply.status;
            *response.headers_mut() = reply.headers;
            Ok(response)
        })
    }
}

// The shapes the sign-in use case defines and this client fills in.
pub use app::ssr::membership::Identity;
pub use app::ssr::signin::{AuthRequest, ClientConfig};

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

/// An IdP request that did not complete: a network fault is `idp_unreachable`; a refused
/// destination or an answer over the size cap is the IdP's configuration (`idp_misconfigured`).
fn fetch_error(what: &str, e: OutboundError) -> OidcError {
    match e {
        OutboundError::Transport(_) => OidcError::Unreachable(format!("{what} failed: {e}")),
        OutboundError::Refused(_) | OutboundError::TooLarge { .. } => {
            OidcError::Discovery(format!("{what} failed: {e}"))
        }
    }
}

impl OidcCache {
    /// A cache whose IdP requests all go through `outbound` (the node's one client).
    pub fn new(outbound: Outbound) -> Self {
        Self {
            outbound,
            entries: Mutex::new(HashMap::new()),
            discoveries: Mutex::new(HashMap::new()),
            metrics: Arc::new(Metrics::new()),
            clock: Clock::system(),
        }
    }

    /// Ages cached documents and failures on `clock` (the node's store clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// True when something recorded at `at` (unix ms) is younger than `ttl`. A time ahead of
    /// now (the wall clock was set back) counts as old: nothing stays cached longer than `ttl`.
    fn younger_than(&self, at: i64, ttl: Duration) -> bool {
        let age = self.clock.now_ms() - at;
        (0..i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)).contains(&age)
    }

    /// Counts discovery and JWKS fetches in `metrics` (the node's, served at `/metrics`).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The same cache with another response size cap (tests).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.outbound = self.outbound.with_max_bytes(max_bytes);
        self
    }

    fn http(&self) -> &Outbound {
        &self.outbound
    }

    fn idp_http(&self, kind: IdpFetch) -> IdpHttp<'_> {
        IdpHttp {
            outbound: self.http(),
            metrics: &self.metrics,
            kind,
        }
    }

    /// The issuer's provider metadata (with JWKS), from cache or freshly discovered.
    ///
    /// The document is fetched from `{issuer}/.well-known/openid-configuration` (OpenID Connect
    /// Discovery 1.0 §4); its `issuer` must name the registered issuer (compared by
    /// [`issuer::key`], so a registered `https://idp.example/o/ts` finds an IdP publishing
    /// `https://idp.example/o/ts/`), and from then on the document's own `issuer` is the one
    /// ID tokens are compared with, exactly. Every endpoint must be on the issuer's origin.
    ///
    /// At most one discovery per issuer runs at a time on a node: concurrent sign-ins wait for
    /// it and share its result, and a failure is answered again without a request for
    /// [`DISCOVERY_RETRY_AFTER`], so a burst of sign-in starts (anyone can send them) is never
    /// a burst of requests to the IdP.
    pub async fn metadata(&self, issuer: &str) -> Result<FastProviderMetadata, OidcError> {
        if let Some(m) = self.cached(issuer, METADATA_TTL) {
            return Ok(m);
        }
        let turn = match self.discoveries.lock() {
            Ok(mut d) => d.entry(issuer.to_string()).or_default().turn.clone(),
            Err(_) => Arc::default(),
        };
        let _turn = turn.lock().await;
        if let Some(m) = self.cached(issuer, METADATA_TTL) {
            return Ok(m);
        }
        if let Ok(d) = self.discoveries.lock()
            && let Some((at, e)) = d.get(issuer).and_then(|d| d.failed.as_ref())
            && self.younger_than(*at, DISCOVERY_RETRY_AFTER)
        {
            return Err(e.clone());
        }
        let result = self.discover(issuer).await;
        if let Ok(mut d) = self.discoveries.lock() {
            match &result {
                Err(e) => {
                    d.entry(issuer.to_string()).or_default().failed =
                        Some((self.clock.now_ms(), e.clone()));
                }
                // Success is in `entries` now; the issuer's bookkeeping can go.
                Ok(_) => {
                    d.remove(issuer);
                }
            }
        }
        result
    }

    async fn discover(&self, issuer: &str) -> Result<FastProviderMetadata, OidcError> {
        let http = self.http();
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let result = http
            .execute(
                http.request(reqwest::Method::GET, &url)
                    .header(reqwest::header::ACCEPT, "application/json"),
            )
            .await;
        self.metrics.idp_fetch(
            IdpFetch::Discovery,
            matches!(&result, Ok(r) if r.status.is_success()),
        );
        let reply = result.map_err(|e| fetch_error(&format!("discovery at {url}"), e))?;
        if !reply.status.is_success() {
            return Err(OidcError::Discovery(format!(
                "discovery at {url} failed: HTTP {}",
                reply.status
            )));
        }
        let metadata: FastProviderMetadata = serde_json::from_slice(&reply.body).map_err(|e| {
            OidcError::Discovery(format!(
                "discovery at {url} failed: the document is not valid: {}",
                bounded(&e.to_string(), 200)
            ))
        })?;
        let published = metadata.issuer().as_str();
        if !issuer::same_key(published, issuer) {
            return Err(OidcError::Discovery(format!(
                "discovery at {issuer} failed: the document names the issuer {:?}, not {issuer}",
                bounded(published, 200)
            )));
        }
        let endpoint = |name: &str, value: &str| {
            outbound::check_endpoint(issuer, name, value, self.outbound.allows_private())
                .map_err(|e| OidcError::Discovery(format!("discovery at {issuer} failed: {e}")))
        };
        endpoint(
            "authorization_endpoint",
            metadata.authorization_endpoint().as_str(),
        )?;
        endpoint("jwks_uri", metadata.jwks_uri().as_str())?;
        match metadata.token_endpoint() {
            Some(t) => endpoint("token_endpoint", t.as_str())?,
            None => {
                return Err(OidcError::Discovery(format!(
                    "discovery at {issuer} failed: the document names no token_endpoint"
                )));
            }
        };
        if let Some(u) = metadata.userinfo_endpoint() {
            endpoint("userinfo_endpoint", u.as_str())?;
        }
        let jwks = self.fetch_jwks(&metadata).await?;
        let metadata = metadata.set_jwks(jwks);
        tracing::info!(issuer, "fetched discovery document and JWKS");
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                issuer.to_string(),
                Entry {
                    metadata: metadata.clone(),
                    fetched: self.clock.now_ms(),
                    jwks_refreshed: None,
                    unknown_kids: Default::default(),
                    jwks_generation: 0,
                    unproductive: Default::default(),
                },
            );
        }
        Ok(metadata)
    }

    async fn fetch_jwks(
        &self,
        metadata: &FastProviderMetadata,
    ) -> Result<FastJsonWebKeySet, OidcError> {
        let http = self.idp_http(IdpFetch::Jwks);
        FastJsonWebKeySet::fetch_async(metadata.jwks_uri(), &http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Request(openidconnect::HttpClientError::Other(
                    m,
                )) if !m.contains("larger than") && !m.contains("not allowed") => {
                    OidcError::Unreachable(format!("JWKS fetch failed: {m}"))
                }
                other => OidcError::Discovery(format!(
                    "JWKS fetch failed: {}",
                    bounded(&describe(&other), 300)
                )),
            })
    }

    fn cached(&self, issuer: &str, ttl: Duration) -> Option<FastProviderMetadata> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(issuer)?;
        self.younger_than(e.fetched, ttl)
            .then(|| e.metadata.clone())
    }

    /// Forgets an issuer's cached documents (e.g. after its connection changed).
    pub fn forget(&self, issuer: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(issuer);
        }
        if let Ok(mut d) = self.discoveries.lock()
            && let Some(d) = d.get_mut(issuer)
        {
            d.failed = None;
        }
    }

    /// Refetches the issuer's JWKS after a token named a key we do not know (`kid`; key
    /// rotation), and returns the keys if they have it. Refetches of an issuer run one at a
    /// time, at least [`JWKS_REFRESH_MIN_INTERVAL`] apart ([`JWKS_REFRESH_SLOW_INTERVAL`] after
    /// several found nothing); a token waits for the next refetch that starts after it came
    /// and shares it with every token waiting, so forged kids cost the IdP at most one request
    /// per interval and never keep a real new key out. A kid still unknown after a refetch is
    /// refused at once for [`UNKNOWN_KID_TTL`] (`None`).
    async fn refresh_jwks(
        &self,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<Option<FastProviderMetadata>, OidcError> {
        let kid = kid.map(str::to_string);
        let arrived = {
            let Ok(mut entries) = self.entries.lock() else {
                return Ok(None);
            };
            let Some(e) = entries.get_mut(issuer) else {
                return Ok(None);
            };
            e.unknown_kids
                .retain(|(_, at)| self.younger_than(*at, UNKNOWN_KID_TTL));
            if e.unknown_kids.iter().any(|(k, _)| *k == kid) {
                return Ok(None);
            }
            e.jwks_generation
        };
        let turn = match self.discoveries.lock() {
            Ok(mut d) => d.entry(issuer.to_string()).or_default().keys_turn.clone(),
            Err(_) => Arc::default(),
        };
        let _turn = turn.lock().await;
        let wait = {
            let Ok(mut entries) = self.entries.lock() else {
                return Ok(None);
            };
            let Some(e) = entries.get_mut(issuer) else {
                return Ok(None);
            };
            // A refetch started after this token came: its keys are the answer.
            if e.jwks_generation != arrived {
                let usable = kid.is_none() || has_kid(&e.metadata, kid.as_deref());
                return Ok(usable.then(|| e.metadata.clone()));
            }
            e.unproductive
                .retain(|at| self.younger_than(*at, UNPRODUCTIVE_WINDOW));
            let interval = if e.unproductive.len() >= UNPRODUCTIVE_REFETCHES {
                JWKS_REFRESH_SLOW_INTERVAL
            } else {
                JWKS_REFRESH_MIN_INTERVAL
            };
            let interval = interval.as_millis() as i64;
            let since = e
                .jwks_refreshed
                .map_or(interval, |t| self.clock.now_ms() - t);
            Duration::from_millis((interval - since).clamp(0, interval) as u64)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let metadata = {
            let Ok(mut entries) = self.entries.lock() else {
                return Ok(None);
            };
            let Some(e) = entries.get_mut(issuer) else {
                return Ok(None);
            };
            e.jwks_generation += 1;
            e.jwks_refreshed = Some(self.clock.now_ms());
            e.metadata.clone()
        };
        let jwks = self.fetch_jwks(&metadata).await?;
        tracing::info!(issuer, "refetched JWKS after an unknown signing key");
        let metadata = metadata.set_jwks(jwks);
        let found = has_kid(&metadata, kid.as_deref());
        if let Ok(mut entries) = self.entries.lock()
            && let Some(e) = entries.get_mut(issuer)
        {
            e.metadata = metadata.clone();
            if found {
                e.unproductive.clear();
            } else {
                e.unproductive.push_back(self.clock.now_ms());
                if e.unknown_kids.len() >= MAX_UNKNOWN_KIDS {
                    e.unknown_kids.pop_front();
                }
                e.unknown_kids.push_back((kid, self.clock.now_ms()));
            }
        }
        Ok(Some(metadata))
    }

    /// The claims of a compact JWS signed by `issuer` (Universal Logout JWTs, Security Event
    /// Tokens): RS256 by a key of the issuer's JWKS, refetched as [`Self::refresh_jwks`]
    /// allows when the `kid` is unknown. The claims are the caller's to check.
    pub async fn verify_signed(
        &self,
        issuer: &str,
        token: &str,
    ) -> Result<Value, app::ssr::signals::KeyError> {
        use app::ssr::signals::KeyError;
        let metadata = self.metadata(issuer).await.map_err(|e| {
            KeyError::Unavailable(format!("the issuer's keys are unavailable: {e}"))
        })?;
        let refused = |r: Retry| match r {
            Retry::UnknownKey(m) => KeyError::UnknownKey(m),
            Retry::Invalid(m) => KeyError::BadSignature(m),
        };
        match signed_claims(&metadata, token) {
            Err(Retry::UnknownKey(msg)) => {
                let fresh = self
                    .refresh_jwks(issuer, token_kid(token).as_deref())
                    .await
                    .map_err(|e| KeyError::Unavailable(e.to_string()))?;
                match fresh {
                    Some(fresh) => signed_claims(&fresh, token).map_err(refused),
                    None => Err(KeyError::UnknownKey(msg)),
                }
            }
            other => other.map_err(refused),
        }
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

    /// Exchanges the code (client_secret_basic + PKCE, RFC 6749 §4.1.3, RFC 7636 §4.5),
    /// verifies the ID token and merges /userinfo claims.
    pub async fn complete(
        &self,
        client: &ClientConfig<'_>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, OidcError> {
        let metadata = self.metadata(client.issuer).await?;
        let tokens = self
            .exchange_code(&metadata, client, code, pkce_verifier)
            .await?;
        let claims = match verify_jwt(&metadata, client, &tokens.id_token, nonce) {
            Ok(c) => c,
            Err(Retry::UnknownKey(msg)) => {
                // Okta rotated its keys: refetch the JWKS once (rate-limited) and try again.
                match self
                    .refresh_jwks(client.issuer, token_kid(&tokens.id_token).as_deref())
                    .await?
                {
                    Some(fresh) => verify_jwt(&fresh, client, &tokens.id_token, nonce)
                        .map_err(Retry::into_error)?,
                    None => return Err(OidcError::TokenInvalid(msg)),
                }
            }
            Err(e) => return Err(e.into_error()),
        };
        let userinfo = self
            .userinfo(&metadata, &tokens.access_token, &claims.subject)
            .await?;
        Ok(merge_identity(&claims, &userinfo))
    }

    async fn exchange_code(
        &self,
        metadata: &FastProviderMetadata,
        client: &ClientConfig<'_>,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<Tokens, OidcError> {
        let url = metadata
            .token_endpoint()
            .ok_or_else(|| OidcError::Discovery("the IdP names no token_endpoint".into()))?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("code_verifier", pkce_verifier)
            .append_pair("redirect_uri", client.redirect_uri)
            .finish();
        // RFC 6749 §2.3.1: both halves of the Basic credentials are form-urlencoded first.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let http = self.http();
        let request = http
            .request(reqwest::Method::POST, url.as_str())
            .basic_auth(encode(client.client_id), Some(encode(client.client_secret)))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let reply = http
            .execute(request)
            .await
            .map_err(|e| fetch_error("token request", e))?;
        parse_token_response(&reply)
    }

    async fn userinfo(
        &self,
        metadata: &FastProviderMetadata,
        access_token: &str,
        subject: &str,
    ) -> Result<Value, OidcError> {
        let url = metadata
            .userinfo_endpoint()
            .ok_or_else(|| OidcError::UserInfo("no userinfo endpoint in discovery".into()))?;
        let http = self.http();
        let reply = http
            .execute(
                http.request(reqwest::Method::GET, url.as_str())
                    .bearer_auth(access_token)
                    .header(reqwest::header::ACCEPT, "application/json"),
            )
            .await
            .map_err(|e| fetch_error("userinfo request", e))?;
        parse_userinfo(&reply, subject)
    }
}

impl From<OidcError> for IdpError {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Unreachable(d) => IdpError::Unreachable(d),
            OidcError::Discovery(d) => IdpError::Misconfigured(d),
            OidcError::TokenExchange(d) => IdpError::TokenExchange(d),
            OidcError::TokenInvalid(d) => IdpError::TokenInvalid(d),
            OidcError::UserInfo(d) => IdpError::UserInfo(d),
        }
    }
}

/// The sign-in's IdP: this cache, its discovery and its checks.
impl IdentityProvider for OidcCache {
    async fn authorization_request(
        &self,
        client: &ClientConfig<'_>,
        login_hint: Option<&str>,
    ) -> Result<AuthRequest, IdpError> {
        OidcCache::authorization_request(self, client, login_hint)
            .await
            .map_err(IdpError::from)
    }

    async fn complete(
        &self,
        client: &ClientConfig<'_>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, IdpError> {
        OidcCache::complete(self, client, code, nonce, pkce_verifier)
            .await
            .map_err(IdpError::from)
    }
}

/// What the token endpoint answered, as far as Tessera uses it.
struct Tokens {
    access_token: String,
    id_token: String,
}

/// A string member of a JSON object, if it is one.
fn str_member<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v.get(name).and_then(Value::as_str)
}

/// RFC 6749 §5.1 / §5.2 and OpenID Connect Core §3.1.3.3: `access_token` and `id_token` are
/// required strings; other members (of any type) are ignored.
fn parse_token_response(reply: &Reply) -> Result<Tokens, OidcError> {
    let body: Option<Value> = serde_json::from_slice(&reply.body).ok();
    if !reply.status.is_success() {
        let error = body.as_ref().and_then(|b| str_member(b, "error"));
        let description = body
            .as_ref()
            .and_then(|b| str_member(b, "error_description"));
        return Err(OidcError::TokenExchange(match error {
            Some(error) => format!(
                "the token endpoint answered {}{}",
                bounded(error, 100),
                description
                    .map(|d| format!(": {}", bounded(d, 300)))
                    .unwrap_or_default()
            ),
            None => format!("the token endpoint answered HTTP {}", reply.status),
        }));
    }
    let Some(body) = body.filter(Value::is_object) else {
        return Err(OidcError::TokenExchange(
            "token request failed: the answer is not a JSON object".into(),
        ));
    };
    let access_token = str_member(&body, "access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            OidcError::TokenExchange("token request failed: the answer has no access_token".into())
        })?;
    let id_token = match body.get("id_token") {
        None | Some(Value::Null) => {
            return Err(OidcError::TokenInvalid(
                "the token response has no ID token".into(),
            ));
        }
        Some(Value::String(t)) => t,
        Some(_) => {
            return Err(OidcError::TokenInvalid(
                "the ID token is malformed: not a string".into(),
            ));
        }
    };
    Ok(Tokens {
        access_token: access_token.to_string(),
        id_token: id_token.clone(),
    })
}

/// OpenID Connect Core §5.3.2: a JSON object whose `sub` equals the ID token's; its other
/// members are read leniently by [`merge_identity`].
fn parse_userinfo(reply: &Reply, subject: &str) -> Result<Value, OidcError> {
    if !reply.status.is_success() {
        return Err(OidcError::UserInfo(format!(
            "userinfo failed: HTTP {}",
            reply.status
        )));
    }
    let jwt = reply
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/jwt"));
    if jwt {
        return Err(OidcError::UserInfo(
            "userinfo failed: signed (JWT) userinfo answers are not supported; Okta answers JSON"
                .into(),
        ));
    }
    let info: Value = serde_json::from_slice(&reply.body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            OidcError::UserInfo("userinfo failed: the answer is not a JSON object".into())
        })?;
    match str_member(&info, "sub") {
        Some(sub) if sub == subject => Ok(info),
        Some(sub) => Err(OidcError::UserInfo(format!(
            "userinfo sub {:?} does not match the ID token sub {subject:?}",
            bounded(sub, 100)
        ))),
        None => Err(OidcError::UserInfo(
            "userinfo has no sub (it must match the ID token sub)".into(),
        )),
    }
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

/// The verified ID token: its subject and its whole claims object (read leniently later).
struct IdClaims {
    subject: String,
    claims: Value,
}

fn decode_part(part: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

fn decode_json(part: &str) -> Result<Value, String> {
    let bytes = decode_part(part)?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| "not a JSON object".to_string())
}

/// A NumericDate (RFC 7519 §2) claim as seconds, when it is a number.
fn seconds(claims: &Value, name: &str) -> Result<Option<f64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("the {name} claim is not a number")),
    }
}

/// Verifies a compact ID token (OpenID Connect Core §3.1.3.7): JOSE header (RS256 only, no
/// `crit`/`cty`, `typ` JWT if present), the signature by a key from the issuer's JWKS (the
/// `kid`'s, or the only eligible one), then `iss` (exactly the issuer the discovery document
/// states), `aud` (contains the client id, no other audience), `azp` (if present, the client
/// id), `exp` and `iat` (60 s skew), `nonce` and a non-empty `sub`. Claims Tessera does not
/// use are not looked at, whatever their type.
fn verify_jwt(
    metadata: &FastProviderMetadata,
    client: &ClientConfig<'_>,
    token: &str,
    nonce: &str,
) -> Result<IdClaims, Retry> {
    let invalid = |m: String| Retry::Invalid(m);
    let (header_json, payload, signature) = split_jws(token, "ID token")?;
    let alg = str_member(&header_json, "alg").unwrap_or_default();
    if alg != "RS256" {
        return Err(invalid(format!(
            "Signature verification failed: Disallowed signature algorithm: algorithm `{}` is not one of: RS256",
            bounded(alg, 40)
        )));
    }
    if let Some(typ) = header_json.get("typ") {
        let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if typ != "jwt" && typ != "jose" {
            return Err(invalid(
                "Unsupported: unexpected or unsupported JWT type".into(),
            ));
        }
    }
    if header_json.get("cty").is_some() || header_json.get("crit").is_some() {
        return Err(invalid(
            "Unsupported: nested JWTs and critical header fields are not supported".into(),
        ));
    }
    check_signature(metadata, token, &header_json, signature, "ID token")?;
    let claims =
        decode_json(payload).map_err(|e| invalid(format!("malformed ID token claims: {e}")))?;
    check_claims(&claims, metadata.issuer().as_str(), client.client_id, nonce).map_err(invalid)?;
    let subject = subject(&claims).map_err(invalid)?;
    Ok(IdClaims { subject, claims })
}

/// The `kid` in a compact JWS's header, if it has one.
fn token_kid(token: &str) -> Option<String> {
    let header = decode_json(token.split('.').next()?).ok()?;
    str_member(&header, "kid").map(str::to_string)
}

/// Whether `metadata`'s JWKS has a key with `kid` (never, for `None`).
fn has_kid(metadata: &FastProviderMetadata, kid: Option<&str>) -> bool {
    metadata.jwks().keys().iter().any(|k| match kid {
        Some(kid) => k.key_id().is_some_and(|id| id.as_str() == kid),
        None => false,
    })
}

impl app::ssr::signals::JwtVerifier for OidcCache {
    async fn verify(
        &self,
        issuer: &str,
        token: &str,
    ) -> Result<Value, app::ssr::signals::KeyError> {
        self.verify_signed(issuer, token).await
    }
}

/// A compact JWS's three parts: its decoded header, and its payload and signature as sent.
/// `what` names the token in messages.
fn split_jws<'t>(token: &'t str, what: &str) -> Result<(Value, &'t str, &'t str), Retry> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Retry::Invalid(format!(
            "malformed {what}: not a compact JWS of three parts"
        )));
    };
    let header_json =
        decode_json(header).map_err(|e| Retry::Invalid(format!("malformed {what} header: {e}")))?;
    Ok((header_json, payload, signature))
}

/// Checks the RS256 signature of the compact JWS `token` (whose decoded header is
/// `header_json` and whose third part is `signature`) by a key of `metadata`'s JWKS: the
/// header's `kid`, or the only eligible key. An unknown `kid` is [`Retry::UnknownKey`] (the
/// caller refetches the JWKS once). `what` names the token in messages.
fn check_signature(
    metadata: &FastProviderMetadata,
    token: &str,
    header_json: &Value,
    signature: &str,
    what: &str,
) -> Result<(), Retry> {
    let invalid = |m: String| Retry::Invalid(m);
    let kid = match header_json.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(JsonWebKeyId::new(k.clone())),
        Some(_) => {
            return Err(invalid(format!(
                "malformed {what} header: kid is not a string"
            )));
        }
    };
    let keys: Vec<&FastJwk> = metadata
        .jwks()
        .keys()
        .iter()
        .filter(|key| {
            (kid.is_none() || kid.as_ref() == key.key_id())
                && check_key_compatibility(&key.key, &RS256).is_ok()
        })
        .collect();
    let key = match keys.as_slice() {
        [] => {
            return Err(Retry::UnknownKey(format!(
                "Signature verification failed: {}",
                SignatureVerificationError::NoMatchingKey
            )));
        }
        [key] => *key,
        more => {
            return Err(invalid(format!(
                "Signature verification failed: the JWK set has {} eligible keys and the token names none (kid)",
                more.len()
            )));
        }
    };
    let signature_bytes =
        decode_part(signature).map_err(|e| invalid(format!("malformed {what} signature: {e}")))?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    key.verify_signature(&RS256, signing_input.as_bytes(), &signature_bytes)
        .map_err(|e| invalid(format!("Signature verification failed: {e}")))
}

/// Verifies the signature of a compact JWS signed by the issuer of `metadata` (RS256 only,
/// no `crit`) and returns its claims (a JSON object): Universal Logout JWTs and Security
/// Event Tokens. Their `typ` and claims are the caller's to check.
fn signed_claims(metadata: &FastProviderMetadata, token: &str) -> Result<Value, Retry> {
    let invalid = |m: String| Retry::Invalid(m);
    let (header_json, payload, signature) = split_jws(token, "token")?;
    if str_member(&header_json, "alg") != Some("RS256") {
        return Err(invalid("only RS256 signatures are accepted".into()));
    }
    if header_json.get("crit").is_some() {
        return Err(invalid("critical header fields are not supported".into()));
    }
    check_signature(metadata, token, &header_json, signature, "token")?;
    decode_json(payload).map_err(|e| invalid(format!("malformed token claims: {e}")))
}

/// `sub`: a non-empty string of at most 255 characters without control characters (it keys
/// the member, so it is refused rather than altered).
fn subject(claims: &Value) -> Result<String, String> {
    match claims.get("sub") {
        None | Some(Value::Null) => Err("Invalid subject: the ID token has no sub claim".into()),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err("Invalid subject: the ID token's sub claim is empty".into())
        }
        Some(Value::String(s)) if s.chars().count() > MAX_SUBJECT_CHARS => Err(format!(
            "Invalid subject: the sub claim is longer than {MAX_SUBJECT_CHARS} characters"
        )),
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            Err("Invalid subject: the sub claim contains control characters".into())
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err("Invalid subject: the sub claim is not a string".into()),
    }
}

fn check_claims(claims: &Value, issuer: &str, client_id: &str, nonce: &str) -> Result<(), String> {
    match str_member(claims, "iss") {
        Some(iss) if iss == issuer => {}
        Some(iss) => {
            return Err(format!(
                "Invalid issuer: expected `{issuer}` (found `{}`)",
                bounded(iss, 200)
            ));
        }
        None => return Err("Invalid issuer: missing issuer claim".into()),
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            list.iter().filter_map(Value::as_str).collect()
        }
        Some(_) => {
            return Err(
                "Invalid audiences: the aud claim is not a string or list of strings".into(),
            );
        }
        None => return Err("Invalid audiences: missing audiences claim".into()),
    };
    if !audiences.contains(&client_id) {
        return Err(format!(
            "Invalid audiences: must contain `{client_id}` (found {} audiences)",
            audiences.len()
        ));
    }
    if let Some(other) = audiences.iter().find(|a| **a != client_id) {
        return Err(format!(
            "Invalid audiences: `{}` is not a trusted audience",
            bounded(other, 100)
        ));
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(client_id)
    {
        return Err("Invalid audiences: azp is not this client".into());
    }
    // The system time, not the store's clock: `exp` and `iat` are read on the IdP's real
    // clock, and a test clock moved forward must not make every token look stale.
    let now = Utc::now().timestamp() as f64;
    let skew = CLOCK_SKEW.num_seconds() as f64;
    match seconds(claims, "exp")? {
        Some(exp) if exp <= now - skew => {
            return Err(format!("Expired: the ID token expired at {exp}"));
        }
        Some(_) => {}
        None => return Err("Expired: the ID token has no exp claim".into()),
    }
    match seconds(claims, "iat")? {
        Some(iat) if iat > now + skew => {
            return Err(format!("the ID token was issued in the future ({iat})"));
        }
        Some(_) => {}
        None => return Err("the ID token has no iat claim".into()),
    }
    match str_member(claims, "nonce") {
        // Compared as hashes, in constant time with respect to the nonce's content.
        Some(n) if sha2::Sha256::digest(n) == sha2::Sha256::digest(nonce) => Ok(()),
        Some(_) => Err("Invalid nonce: nonce mismatch".into()),
        None => Err("Invalid nonce: missing nonce claim".into()),
    }
}

/// A profile claim when it is a non-blank string, cut to [`MAX_PROFILE_CHARS`] with control
/// characters removed; any other type counts as absent.
fn profile(v: &Value, name: &str) -> Option<String> {
    let s = bounded(str_member(v, name)?.trim(), MAX_PROFILE_CHARS);
    (!s.trim().is_empty()).then(|| s.trim().to_string())
}

/// Profile claims: /userinfo wins (Okta's ID tokens are thin), the ID token fills gaps. The
/// display name falls back to `preferred_username`, then (with no email either) to the `sub`.
fn merge_identity(id: &IdClaims, info: &Value) -> Identity {
    let claim = |name: &str| profile(info, name).or_else(|| profile(&id.claims, name));
    let email = claim("email").unwrap_or_default();
    let name = claim("name")
        .or_else(|| match (claim("given_name"), claim("family_name")) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (Some(g), None) => Some(g),
            (None, Some(f)) => Some(f),
            _ => None,
        })
        .or_else(|| claim("preferred_username"))
        .or_else(|| email.is_empty().then(|| id.subject.clone()))
        .unwrap_or_default();
    // Whether the email is verified, said by the same answer that gave the email (true or
    // "true"; anything else is no).
    let says_verified = |v: &Value| match v.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    let email_verified = if profile(info, "email").is_some() {
        says_verified(info)
    } else {
        says_verified(&id.claims)
    };
    Identity {
        subject: id.subject.clone(),
        email_verified: email_verified && !email.is_empty(),
        preferred_username: claim("preferred_username").unwrap_or_default(),
        email,
        name,
    }
}

/// Verifies a compact ID token exactly as the callback does (RS256 only, iss, aud, exp/iat with
/// skew, nonce, sub) against `metadata`'s keys; returns the subject. Used by the fuzz target.
pub fn verify_id_token(
    metadata: FastProviderMetadata,
    client: &ClientConfig<'_>,
    id_token: &str,
    nonce: &str,
) -> Result<String, OidcError> {
    verify_jwt(&metadata, client, id_token, nonce)
        .map(|claims| claims.subject)
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
    fn profile_claims_are_read_leniently_and_never_leave_a_blank_member() {
        let id = IdClaims {
            subject: SUB.into(),
            claims: json!({"sub": SUB, "name": 5, "email": ["x@y.z"], "email_verified": "yes"}),
        };
        let info = json!({"sub": SUB, "email_verified": "true", "given_name": "Pat\u{0}", "family_name": {"x": 1}});
        let i = merge_identity(&id, &info);
        assert_eq!((i.name.as_str(), i.email.as_str()), ("Pat", ""));
        // Nothing usable: named by the sub.
        assert_eq!(merge_identity(&id, &json!({"sub": SUB})).name, SUB);
        // preferred_username before the sub; with an email the name may stay empty (the
        // pages then show the email).
        let i = merge_identity(&id, &json!({"sub": SUB, "preferred_username": "pat"}));
        assert_eq!(i.name, "pat");
        let i = merge_identity(&id, &json!({"sub": SUB, "email": " pat@example.com "}));
        assert_eq!((i.name.as_str(), i.email.as_str()), ("", "pat@example.com"));
        // Profile values are bounded.
        let long = "n".repeat(10_000);
        let i = merge_identity(&id, &json!({"sub": SUB, "name": long}));
        assert!(i.name.chars().count() <= MAX_PROFILE_CHARS + 1);
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
