//! Security signals from the org's Okta, the domain side: **Universal Logout** (Okta's global
//! token revocation, draft-parecki-oauth-global-token-revocation and Okta's "Build Universal
//! Logout for your app") and the **Shared Signals** receiver (OpenID SSF 1.0: Security Event
//! Tokens, RFC 8417, pushed per RFC 8935; CAEP and RISC events).
//!
//! Both arrive as JWTs signed by the org's Okta, and both are checked the same way before
//! anything else is read: the JOSE header (RS256 only, the expected `typ`, no `crit`), the
//! org the token names (Universal Logout: `iss` + `sub` = the org's issuer and Client ID; a
//! SET: its `aud` = the org's receiver audience, and `iss` = the org's issuer), the signature
//! by a key of that issuer's JWKS ([`JwtVerifier`], the keys sign-in uses, refetched on an
//! unknown `kid`), the audience, the times (with [`CLOCK_SKEW_S`]) and a `jti` used once per
//! org (recorded in the database, so a replay is refused on every node). Only then is the
//! subject looked up, and only inside that org.
//!
//! What they do, always through the membership core with Okta as the actor:
//! - Universal Logout, CAEP `session-revoked` and `credential-change`: every session of the
//!   member ends ([`membership::end_sessions`]); the member stays a member.
//! - RISC `account-disabled`: the member is deactivated as SCIM `active: false` does;
//!   `account-enabled` reactivates a member Okta deactivated.
//! - Any other event type is recorded and ignored; the SSF verification event is recorded.
//!
//! Every verified signal is kept in the org's activity (`security_events`), whatever it did.

use super::PublicUrl;
use super::issuer;
use super::membership::{self, Actor, DomainError, Via};
use super::store::signals::{Channel, NewSecurityEvent};
use super::store::{Store, StoreError};
use crate::model::{Member, Org, SsoConnection};
use crate::validate::bounded;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::future::Future;

/// `typ` of a Universal Logout JWT.
pub const LOGOUT_TYP: &str = "global-token-revocation+jwt";
/// `typ` of a Security Event Token (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";
/// Where Okta sends Universal Logout requests, under the public URL.
pub const LOGOUT_PATH: &str = "/oauth/global-token-revocation";
/// Where transmitters push SETs, under the public URL.
pub const SSF_PATH: &str = "/ssf/events";
/// Longest compact JWT accepted, in bytes (Okta's are about 1 KB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Clock skew tolerated on `iat` and `exp`, in seconds (as at sign-in).
pub const CLOCK_SKEW_S: i64 = 60;
/// Oldest accepted Universal Logout JWT (`iat`), and the longest it may still be valid
/// (`exp`), in seconds from now.
pub const MAX_LOGOUT_AGE_S: i64 = 600;
/// Oldest accepted SET (`iat`; SETs carry no `exp`), in seconds: covers a transmitter's
/// retries after a short outage.
pub const MAX_SET_AGE_S: i64 = 900;
/// Longest `jti`, in characters.
pub const MAX_JTI_CHARS: usize = 255;
/// Longest email in a subject (RFC 5321's path limit), in characters.
const MAX_EMAIL_CHARS: usize = 320;
/// Longest issuer in a token or subject, in characters.
const MAX_ISSUER_CHARS: usize = 2048;

pub use crate::api::signal_text::{
    ACCOUNT_DISABLED, ACCOUNT_ENABLED, CREDENTIAL_CHANGE, GLOBAL_TOKEN_REVOCATION, SESSION_REVOKED,
    VERIFICATION,
};

// ---- verifying ---------------------------------------------------------------------------------

/// Checks a compact JWS against an issuer's published keys; the server's OpenID Connect
/// client implements it with the JWKS cache sign-in uses.
pub trait JwtVerifier: Sync {
    /// Verifies `token`'s RS256 signature by a key of `issuer`'s JWKS (the header's `kid`, or
    /// the only eligible key), refetching the JWKS once (rate-limited) when the `kid` is
    /// unknown. Returns the claims (a JSON object). Only the signature is checked here.
    fn verify(
        &self,
        issuer: &str,
        token: &str,
    ) -> impl Future<Output = Result<Value, KeyError>> + Send;
}

/// Why a signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key of the issuer has the token's `kid` (after a refetch).
    #[error("{0}")]
    UnknownKey(String),
    /// The signature does not verify, or the header is not acceptable.
    #[error("{0}")]
    BadSignature(String),
    /// The issuer's keys could not be fetched.
    #[error("{0}")]
    Unavailable(String),
}

/// A compact JWS split and decoded, not yet verified: its claims only name the org whose
/// keys then verify it.
struct Jwt {
    claims: Value,
}

fn decode_object(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

impl Jwt {
    /// Splits and decodes `token`; checks the header: `alg` exactly RS256, `typ` = `typ`
    /// (any case, with or without `application/`), no `crit`.
    fn parse(token: &str, typ: &str) -> Result<Jwt, (Refusal, String)> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err((
                Refusal::Malformed,
                format!("the token is longer than {MAX_TOKEN_BYTES} bytes"),
            ));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err((
                Refusal::Malformed,
                "not a compact JWS (three base64url parts)".into(),
            ));
        };
        if s.is_empty() {
            return Err((Refusal::Key, "the token is not signed".into()));
        }
        let (Some(header), Some(claims)) = (decode_object(h), decode_object(p)) else {
            return Err((
                Refusal::Malformed,
                "the token's header or claims are not base64url JSON objects".into(),
            ));
        };
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "RS256" {
            return Err((
                Refusal::Key,
                format!(
                    "the token's alg is {} but only RS256 is accepted",
                    crate::validate::quoted(alg)
                ),
            ));
        }
        let got = header.get("typ").and_then(Value::as_str).unwrap_or("");
        let got = got.to_ascii_lowercase();
        if got.strip_prefix("application/").unwrap_or(&got) != typ {
            return Err((
                Refusal::Malformed,
                format!(
                    "the token's typ is {} but must be {typ:?}",
                    crate::validate::quoted(&got)
                ),
            ));
        }
        if header.get("crit").is_some() {
            return Err((
                Refusal::Malformed,
                "critical header parameters are not supported".into(),
            ));
        }
        Ok(Jwt { claims })
    }

    fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// What kind of check refused a token; each entry point maps it to its own answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Not a well-formed token, or a claim missing or out of bounds.
    Malformed,
    /// The algorithm or the key is not acceptable.
    Key,
    /// The signature does not verify.
    Signature,
}

fn now_s() -> i64 {
    // The system time, as for ID tokens: Okta stamps its tokens on the real clock.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A NumericDate claim (RFC 7519 §2) in whole seconds; `Err` when present but not a number.
fn seconds(claims: &Value, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|f| Some(f as i64))
            .ok_or_else(|| format!("the {name} claim is not a number")),
    }
}

/// `iat` (required, not in the future, at most `max_age_s` old) and `exp` (required when
/// `exp_required`; not past; for Universal Logout at most [`MAX_LOGOUT_AGE_S`] ahead).
fn check_times(claims: &Value, max_age_s: i64, exp_required: bool) -> Result<(), String> {
    let now = now_s();
    let iat = seconds(claims, "iat")?.ok_or("the token has no iat claim")?;
    if iat > now + CLOCK_SKEW_S {
        return Err(format!("the token was issued in the future (iat {iat})"));
    }
    if iat < now - max_age_s - CLOCK_SKEW_S {
        return Err(format!(
            "the token is too old (iat {iat}; at most {max_age_s} s accepted)"
        ));
    }
    if let Some(nbf) = seconds(claims, "nbf")?
        && nbf > now + CLOCK_SKEW_S
    {
        return Err(format!("the token is not valid yet (nbf {nbf})"));
    }
    match seconds(claims, "exp")? {
        None if exp_required => Err("the token has no exp claim".into()),
        None => Ok(()),
        Some(exp) if exp <= now - CLOCK_SKEW_S => Err(format!("the token expired (exp {exp})")),
        Some(exp) if exp_required && exp > now + MAX_LOGOUT_AGE_S + CLOCK_SKEW_S => Err(format!(
            "the token is valid for too long (exp {exp}; at most {MAX_LOGOUT_AGE_S} s ahead)"
        )),
        Some(_) => Ok(()),
    }
}

/// The `aud` claim as a list (a string or an array of strings).
fn audiences(claims: &Value) -> Result<Vec<&str>, String> {
    match claims.get("aud") {
        Some(Value::String(a)) => Ok(vec![a.as_str()]),
        Some(Value::Array(list)) if !list.is_empty() && list.iter().all(Value::is_string) => {
            Ok(list.iter().filter_map(Value::as_str).collect())
        }
        Some(_) => Err("the aud claim is not a string or a list of strings".into()),
        None => Err("the token has no aud claim".into()),
    }
}

/// `jti`: a non-empty string of at most [`MAX_JTI_CHARS`] characters without control
/// characters.
fn jti(claims: &Value) -> Result<&str, String> {
    match claims.get("jti") {
        Some(Value::String(j))
            if !j.trim().is_empty()
                && j.chars().count() <= MAX_JTI_CHARS
                && !j.chars().any(char::is_control) =>
        {
            Ok(j)
        }
        Some(Value::String(_)) => Err(format!(
            "the jti claim must be 1 to {MAX_JTI_CHARS} characters without control characters"
        )),
        Some(_) => Err("the jti claim is not a string".into()),
        None => Err("the token has no jti claim".into()),
    }
}

/// Checks the signature with the keys of `signer` (the org's Okta); the verified claims.
async fn verify_signature<V: JwtVerifier>(
    verifier: &V,
    signer: &str,
    token: &str,
) -> Result<Value, (Refusal, String)> {
    verifier.verify(signer, token).await.map_err(|e| {
        let why = match &e {
            KeyError::UnknownKey(_) => Refusal::Key,
            KeyError::BadSignature(_) | KeyError::Unavailable(_) => Refusal::Signature,
        };
        (why, e.to_string())
    })
}

// ---- subjects ----------------------------------------------------------------------------------

/// Who a signal is about (Subject Identifiers for SETs, RFC 9493).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `iss_sub` (§3.2.5): the member keyed by this issuer and `sub`.
    IssSub { iss: String, sub: String },
    /// `email` (§3.2.2): the org's members with this email, any case.
    Email(String),
}

impl Subject {
    /// Reads a subject identifier: `iss_sub`, `email`, or a `complex` one (SSF 1.0 §3.1.1)
    /// whose `user` is one of them. `Err` says what is wrong.
    pub fn parse(v: &Value) -> Result<Subject, String> {
        Self::parse_at(v, true)
    }

    fn parse_at(v: &Value, complex_ok: bool) -> Result<Subject, String> {
        let Some(obj) = v.as_object() else {
            return Err("the subject is not a JSON object".into());
        };
        let text = |name: &str, max: usize| -> Result<String, String> {
            match obj.get(name) {
                // Kept exactly as sent: a subject keys a member, so it is matched, never altered.
                Some(Value::String(s))
                    if !s.trim().is_empty()
                        && s.chars().count() <= max
                        && !s.chars().any(char::is_control) =>
                {
                    Ok(s.clone())
                }
                Some(Value::String(_)) => Err(format!(
                    "the subject's {name} must be 1 to {max} characters without control characters"
                )),
                Some(_) => Err(format!("the subject's {name} is not a string")),
                None => Err(format!("the subject has no {name}")),
            }
        };
        match obj.get("format").and_then(Value::as_str) {
            Some("iss_sub") => Ok(Subject::IssSub {
                iss: text("iss", MAX_ISSUER_CHARS)?,
                sub: text("sub", 255)?,
            }),
            Some("email") => {
                let email = text("email", MAX_EMAIL_CHARS)?;
                if !email.contains('@') {
                    return Err("the subject's email is not an email address".into());
                }
                Ok(Subject::Email(email))
            }
            Some("complex") if complex_ok => match obj.get("user") {
                Some(user) => Self::parse_at(user, false),
                None => Err("the complex subject has no user".into()),
            },
            Some(other) => Err(format!(
                "the subject format {} is not supported (iss_sub, email, or complex with a user)",
                crate::validate::quoted(other)
            )),
            None => Err("the subject has no format".into()),
        }
    }

    /// How the activity view shows it (bounded).
    pub fn shown(&self) -> String {
        match self {
            Subject::IssSub { iss, sub } => bounded(&format!("{sub} at {iss}"), 300),
            Subject::Email(e) => bounded(e, 300),
        }
    }
}

/// Whom a subject names in an org.
enum Named {
    Nobody,
    One(Member),
    /// Several members have the email (Okta does not require unique emails; Unicode case
    /// folding makes more alike): nobody is acted on.
    Several,
}

/// The org's member `subject` names: by (issuer key, `sub`) when the issuer is the org's (or
/// `signer`, the Okta org that signed the request: Okta's user ids are the same through its
/// custom authorization servers); by email in any case when exactly one member has it.
async fn member_named(
    store: &Store,
    org: &Org,
    sso: &SsoConnection,
    signer: &str,
    subject: &Subject,
) -> Result<Named, StoreError> {
    let found = match subject {
        Subject::IssSub { iss, sub } => {
            if !issuer::same_key(iss, &sso.issuer) && !issuer::same_key(iss, signer) {
                return Ok(Named::Nobody);
            }
            store
                .member_by_subject(&org.id, &issuer::key(&sso.issuer), sub)
                .await?
                .into_iter()
                .collect()
        }
        Subject::Email(email) => store.members_by_email(&org.id, email).await?,
    };
    let n = found.len();
    Ok(match found.into_iter().next() {
        None => Named::Nobody,
        Some(m) if n == 1 => Named::One(m),
        Some(_) => Named::Several,
    })
}

/// What an anonymous caller is told about any token refused before its signature verified.
const NOT_A_LOGOUT_TOKEN: &str = "The bearer token is not a valid Universal Logout token (RS256, typ global-token-revocation+jwt) of a registered Okta org and client.";

/// Why nothing was done for an email several members share.
const SEVERAL: &str = "Several members of this organization have this email address: nothing was done. Set the Universal Logout subject format to \"Issuer and Subject identifier\" in Okta.";

// ---- Universal Logout --------------------------------------------------------------------------

/// Why a Universal Logout request was refused; the server answers each with its status
/// (draft-parecki-oauth-global-token-revocation §3, Okta's guide).
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// 401: no bearer JWT at all (no `Authorization: Bearer`).
    #[error("A bearer JWT is required.")]
    NoToken,
    /// 401: a bearer JWT that fails a check (the text says which; it never says whether a
    /// member exists).
    #[error("{0}")]
    Unauthorized(String),
    /// 400: the body is not `{"sub_id": {...}}` with a supported subject format.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the JWT is valid, but the org has Universal Logout (or SSO) off.
    #[error("Universal Logout is turned off for this organization")]
    Disabled,
    /// 404: the org has no such member.
    #[error("no such user")]
    NoSuchMember,
    /// 422: the subject cannot be processed: its email is several members' (nothing is done),
    /// or the member changed meanwhile.
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A Universal Logout request done: the org, the member signed out and how many sessions
/// ended.
#[derive(Clone, Debug)]
pub struct LoggedOut {
    pub org: Org,
    pub member: Member,
    pub sessions_ended: u64,
}

/// Handles `POST /oauth/global-token-revocation` with `Authorization: Bearer <bearer>` and
/// `body` (`{"sub_id": {"format": "iss_sub"|"email", ...}}`): the JWT first (header `typ`
/// [`LOGOUT_TYP`], RS256; `iss` + `sub` = a registered org's issuer and Client ID; signed by
/// a key of that issuer; `aud` = [`PublicUrl::universal_logout_endpoint`] exactly; `iat`/`exp` within
/// [`MAX_LOGOUT_AGE_S`] with [`CLOCK_SKEW_S`]; a `jti` not seen before in the org), then the
/// org's switch, then the body; every session of the member(s) the subject names in that org
/// ends, audited with actor "Okta (Universal Logout)". The member is not deactivated.
pub async fn universal_logout<V: JwtVerifier>(
    store: &Store,
    verifier: &V,
    public_url: &PublicUrl,
    bearer: Option<&str>,
    body: &[u8],
) -> Result<LoggedOut, LogoutError> {
    // Until the signature is verified the caller is anonymous: every refusal reads the same
    // (whether an org uses this Okta, or a key exists, is not theirs to learn); the log says why.
    let refused = |why: String| {
        tracing::info!(why = %bounded(&why, 300), "Universal Logout token refused");
        LogoutError::Unauthorized(NOT_A_LOGOUT_TOKEN.into())
    };
    let token = bearer
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(LogoutError::NoToken)?;
    let jwt = Jwt::parse(token, LOGOUT_TYP).map_err(|(_, why)| refused(why))?;
    let (Some(iss), Some(client_id)) = (jwt.claim("iss"), jwt.claim("sub")) else {
        return Err(refused("the token has no iss or sub".into()));
    };
    if iss.chars().count() > MAX_ISSUER_CHARS || iss.chars().any(char::is_control) {
        return Err(refused(
            "the iss is too long or has control characters".into(),
        ));
    }
    if client_id.chars().count() > 255 || client_id.chars().any(char::is_control) {
        return Err(refused(
            "the sub is too long or has control characters".into(),
        ));
    }
    let Some((org, sso, keys_of)) = logout_org(store, iss, client_id).await? else {
        return Err(refused("no org has this issuer and Client ID".into()));
    };
    let claims = verifier
        .verify(&keys_of, token)
        .await
        .map_err(|e| refused(e.to_string()))?;
    let endpoint = public_url.universal_logout_endpoint();
    let aud = audiences(&claims).map_err(LogoutError::Unauthorized)?;
    if aud != [endpoint.as_str()] {
        return Err(LogoutError::Unauthorized(format!(
            "the token's aud must be exactly {endpoint}"
        )));
    }
    check_times(&claims, MAX_LOGOUT_AGE_S, true).map_err(LogoutError::Unauthorized)?;
    let jti = jti(&claims).map_err(LogoutError::Unauthorized)?;
    if !sso.enabled || !sso.universal_logout {
        return Err(LogoutError::Disabled);
    }
    let subject = logout_subject(body)?;
    let Some(event) = store
        .claim_security_event(&NewSecurityEvent {
            org_id: &org.id,
            channel: Channel::UniversalLogout,
            jti,
            event_type: GLOBAL_TOKEN_REVOCATION,
            subject: &subject.shown(),
        })
        .await?
    else {
        return Err(LogoutError::Unauthorized(
            "this token was used before (jti replayed)".into(),
        ));
    };
    let done = logout_member(store, org, &sso, &keys_of, &subject, &event).await;
    if let Err(LogoutError::Store(_)) = &done {
        unclaim(store, &event).await;
    }
    done
}

/// Withdraws a claimed `jti` after its effect failed for the database, so that the sender's
/// retry is taken (a failure to withdraw is logged: the retry is then refused as a replay).
async fn unclaim(store: &Store, event: &str) {
    if let Err(e) = store.unclaim_security_event(event).await {
        tracing::warn!(error = %e, "a failed security signal's jti could not be withdrawn");
    }
}

/// The effect of a claimed Universal Logout request `event`: the member `subject` names in
/// `org` signed out everywhere, recorded on the event.
async fn logout_member(
    store: &Store,
    org: Org,
    sso: &SsoConnection,
    keys_of: &str,
    subject: &Subject,
    event: &str,
) -> Result<LoggedOut, LogoutError> {
    let member = match member_named(store, &org, sso, keys_of, subject).await? {
        Named::One(m) => m,
        Named::Nobody => {
            store
                .finish_security_event(event, None, "no_member", 0)
                .await?;
            return Err(LogoutError::NoSuchMember);
        }
        Named::Several => {
            store
                .finish_security_event(event, None, "ambiguous", 0)
                .await?;
            return Err(LogoutError::Unprocessable(SEVERAL.into()));
        }
    };
    let actor = Actor::Okta(Via::UniversalLogout);
    let members = [member];
    let ended = membership::end_sessions(store, &actor, &org.id, &members, None)
        .await
        .map_err(|e| match e {
            DomainError::Store(s) => LogoutError::Store(s),
            other => LogoutError::Unprocessable(other.to_string()),
        })?;
    let [member] = members;
    store
        .finish_security_event(
            event,
            Some((&member.id, &member.email)),
            "signed_out",
            ended,
        )
        .await?;
    Ok(LoggedOut {
        org,
        member,
        sessions_ended: ended,
    })
}

/// The org a Universal Logout JWT names by `iss` and `sub` (its Client ID), and the issuer
/// whose keys sign it: the org's issuer, or — for an org whose sign-in uses a custom
/// authorization server (`https://acme.okta.com/oauth2/default`) — its Okta org
/// (`https://acme.okta.com`), which is what Okta signs Universal Logout requests as. That
/// Okta org may also be another org's issuer (one Okta org, two apps): the Client ID decides.
async fn logout_org(
    store: &Store,
    iss: &str,
    client_id: &str,
) -> Result<Option<(Org, SsoConnection, String)>, StoreError> {
    if let Some((org, Some((sso, _)))) = store.org_with_sso_by_issuer(iss).await?
        && sso.client_id == client_id
    {
        let keys_of = sso.issuer.clone();
        return Ok(Some((org, sso, keys_of)));
    }
    let origin_of = |issuer: &str| {
        url::Url::parse(issuer)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    };
    let Some(iss_origin) = origin_of(iss).filter(|o| issuer::same_key(o, iss)) else {
        return Ok(None);
    };
    Ok(store
        .sso_by_client_id(client_id)
        .await?
        .into_iter()
        .find(|(_, sso)| origin_of(&sso.issuer).is_some_and(|o| issuer::same_key(&o, &iss_origin)))
        .map(|(org, sso)| (org, sso, iss_origin)))
}

/// The body of a Universal Logout request: `{"sub_id": <subject>}` (Okta's and the draft's
/// name; `subject` is accepted too).
fn logout_subject(body: &[u8]) -> Result<Subject, LogoutError> {
    let bad = |m: String| LogoutError::BadRequest(m);
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| bad("the body is not JSON: send {\"sub_id\": {...}}".into()))?;
    let sub_id = v
        .get("sub_id")
        .or_else(|| v.get("subject"))
        .ok_or_else(|| bad("the body has no sub_id".into()))?;
    Subject::parse(sub_id).map_err(bad)
}

// ---- Shared Signals ----------------------------------------------------------------------------

/// Why a SET was refused: RFC 8935 §2.4's error codes, answered as `400 {"err", "description"}`.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// `invalid_request`: not a SET, a claim missing or out of bounds, a replayed `jti`.
    #[error("{0}")]
    InvalidRequest(String),
    /// `invalid_key`: an unacceptable algorithm, or a key the issuer does not publish.
    #[error("{0}")]
    InvalidKey(String),
    /// `invalid_issuer`: `iss` is not the org's Okta.
    #[error("{0}")]
    InvalidIssuer(String),
    /// `invalid_audience`: `aud` names no org of this receiver.
    #[error("{0}")]
    InvalidAudience(String),
    /// `authentication_failed`: the signature does not verify.
    #[error("{0}")]
    AuthenticationFailed(String),
    /// `access_denied`: the org has Shared Signals (or SSO) off.
    #[error("{0}")]
    AccessDenied(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SetError {
    /// The RFC 8935 `err` code; `None` for a store failure.
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            SetError::InvalidRequest(_) => "invalid_request",
            SetError::InvalidKey(_) => "invalid_key",
            SetError::InvalidIssuer(_) => "invalid_issuer",
            SetError::InvalidAudience(_) => "invalid_audience",
            SetError::AuthenticationFailed(_) => "authentication_failed",
            SetError::AccessDenied(_) => "access_denied",
            SetError::Store(_) => return None,
        })
    }

    fn of((why, text): (Refusal, String)) -> SetError {
        match why {
            Refusal::Malformed => SetError::InvalidRequest(text),
            Refusal::Key => SetError::InvalidKey(text),
            Refusal::Signature => SetError::AuthenticationFailed(text),
        }
    }
}

/// What a received SET did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    /// Sessions ended (session-revoked, credential-change).
    SignedOut {
        sessions: u64,
    },
    Deactivated,
    Reactivated,
    /// The member was already in the state the event asks for.
    Unchanged,
    /// The org has no member the subject names.
    NoMember,
    /// Several members have the email the subject names: nobody was acted on.
    Ambiguous,
    /// An event type Tessera does not act on: recorded only.
    Ignored,
    /// The SSF verification event.
    Verified,
}

impl SetOutcome {
    /// The code kept with the signal.
    pub fn code(&self) -> &'static str {
        match self {
            SetOutcome::SignedOut { .. } => "signed_out",
            SetOutcome::Deactivated => "deactivated",
            SetOutcome::Reactivated => "reactivated",
            SetOutcome::Unchanged => "unchanged",
            SetOutcome::NoMember => "no_member",
            SetOutcome::Ambiguous => "ambiguous",
            SetOutcome::Ignored => "ignored",
            SetOutcome::Verified => "verified",
        }
    }
}

/// A SET accepted: the org it was for, its event type and what it did.
#[derive(Clone, Debug)]
pub struct SetReceived {
    pub org: Org,
    pub event_type: String,
    pub outcome: SetOutcome,
}

/// Handles a pushed SET (`POST /ssf/events`, `application/secevent+jwt`, RFC 8935): header
/// `typ` [`SET_TYP`] and RS256; `aud` = the [`PublicUrl::ssf_audience`] of an org; `iss` = that org's
/// issuer; signed by a key of it; `iat` at most [`MAX_SET_AGE_S`] old (no `exp` needed, one
/// that is past is refused); one event in `events`; a `jti` not seen before in the org; the
/// org's switch on. Then it acts on the event (see the module docs) and records it.
pub async fn receive_set<V: JwtVerifier>(
    store: &Store,
    verifier: &V,
    public_url: &PublicUrl,
    body: &[u8],
) -> Result<SetReceived, SetError> {
    let invalid = |m: &str| SetError::InvalidRequest(m.to_string());
    let token = std::str::from_utf8(body)
        .map_err(|_| invalid("the body is not a compact JWT"))?
        .trim();
    let jwt = Jwt::parse(token, SET_TYP).map_err(SetError::of)?;
    let (org, sso) = set_org(store, public_url, &jwt).await?;
    let iss = jwt.claim("iss").unwrap_or("");
    let Some(signer) = signer_for(&sso, iss) else {
        return Err(SetError::InvalidIssuer(
            "the SET's iss is not the Okta org this audience belongs to".into(),
        ));
    };
    let claims = verify_signature(verifier, &signer, token)
        .await
        .map_err(SetError::of)?;
    check_times(&claims, MAX_SET_AGE_S, false).map_err(SetError::InvalidRequest)?;
    let jti = jti(&claims).map_err(SetError::InvalidRequest)?;
    let (event_type, event) = single_event(&claims)?;
    if !sso.enabled || !sso.shared_signals {
        return Err(SetError::AccessDenied(format!(
            "Shared Signals are turned off for {}",
            org.slug
        )));
    }
    let acted_on = [
        SESSION_REVOKED,
        CREDENTIAL_CHANGE,
        ACCOUNT_DISABLED,
        ACCOUNT_ENABLED,
    ];
    let subject = match present(claims.get("sub_id")).or_else(|| present(event.get("subject"))) {
        Some(s) if acted_on.contains(&event_type) => {
            Some(Subject::parse(s).map_err(SetError::InvalidRequest)?)
        }
        None if acted_on.contains(&event_type) => {
            return Err(invalid("the SET has no subject (sub_id)"));
        }
        _ => None,
    };
    let shown = subject.as_ref().map_or_else(String::new, Subject::shown);
    let Some(record) = store
        .claim_security_event(&NewSecurityEvent {
            org_id: &org.id,
            channel: Channel::SharedSignals,
            jti,
            event_type: &bounded(event_type, 300),
            subject: &shown,
        })
        .await?
    else {
        return Err(invalid("this SET was received before (jti replayed)"));
    };
    let done = async {
        let (outcome, member) = match subject {
            Some(subject) => act(store, &org, &sso, &signer, event_type, &subject).await?,
            None if event_type == VERIFICATION => (SetOutcome::Verified, None),
            None => (SetOutcome::Ignored, None),
        };
        let sessions = match outcome {
            SetOutcome::SignedOut { sessions } => sessions,
            _ => 0,
        };
        store
            .finish_security_event(
                &record,
                member.as_ref().map(|m| (&m.id, m.email.as_str())),
                outcome.code(),
                sessions,
            )
            .await?;
        Ok::<_, SetError>(outcome)
    }
    .await;
    if let Err(SetError::Store(_)) = &done {
        unclaim(store, &record).await;
    }
    let outcome = done?;
    tracing::info!(org = %org.slug, event = %bounded(event_type, 120), outcome = outcome.code(), "received a security event");
    Ok(SetReceived {
        org,
        event_type: bounded(event_type, 300),
        outcome,
    })
}

/// `v` unless it is JSON `null` (an absent claim).
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// The org a SET is for. Its `aud` must name this receiver: one org's audience
/// (`{public_url}/ssf/orgs/{slug}`: that org), or the receiver itself (`{public_url}/ssf/events`
/// or `{public_url}`), as a transmitter that sets the audience on its own (Okta's does) may
/// send — the org is then the one whose issuer is the SET's `iss` (one issuer per org), or the
/// one org signing in through a custom authorization server of the Okta org `iss` names.
async fn set_org(
    store: &Store,
    public_url: &PublicUrl,
    jwt: &Jwt,
) -> Result<(Org, SsoConnection), SetError> {
    let prefix = public_url.ssf_audience_prefix();
    let aud = audiences(&jwt.claims).map_err(SetError::InvalidAudience)?;
    let mut slugs = aud.iter().filter_map(|a| a.strip_prefix(prefix.as_str()));
    let unknown = || SetError::InvalidAudience("the SET's aud names no organization".into());
    match (slugs.next(), slugs.next()) {
        (Some(slug), None) => {
            if crate::validate::slug(slug).is_err() {
                return Err(unknown());
            }
            match store.org_with_sso_by_slug(slug).await? {
                Some((org, Some((sso, _)))) => Ok((org, sso)),
                _ => Err(unknown()),
            }
        }
        (Some(_), Some(_)) => Err(SetError::InvalidAudience(
            "the SET's aud names more than one organization".into(),
        )),
        (None, _) => {
            let base = public_url.0.trim_end_matches('/');
            let receiver = [
                public_url.ssf_endpoint(),
                base.to_string(),
                format!("{base}/"),
            ];
            if !aud.iter().any(|a| receiver.iter().any(|r| r == a)) {
                return Err(SetError::InvalidAudience(format!(
                    "the SET's aud must be this receiver ({}) or one org's audience ({prefix}<org>)",
                    public_url.ssf_endpoint()
                )));
            }
            let iss = jwt.claim("iss").unwrap_or("");
            if iss.is_empty()
                || iss.chars().count() > MAX_ISSUER_CHARS
                || iss.chars().any(char::is_control)
            {
                return Err(SetError::InvalidIssuer(
                    "the SET's iss is missing or malformed".into(),
                ));
            }
            if let Some((org, Some((sso, _)))) = store.org_with_sso_by_issuer(iss).await? {
                return Ok((org, sso));
            }
            // An Okta org signs as itself (`https://acme.okta.com`) for an org signing in
            // through one of its custom authorization servers: that org, if it is the only one.
            let mut under = match okta_org_of(iss) {
                Some(origin) => store.sso_under_okta_org(&issuer::key(&origin)).await?,
                None => Vec::new(),
            };
            match (under.pop(), under.is_empty()) {
                (Some(found), true) => Ok(found),
                (Some(_), false) => Err(SetError::InvalidIssuer(
                    "several organizations sign in through this Okta org: address the SET to one org's audience".into(),
                )),
                (None, _) => Err(SetError::InvalidIssuer(
                    "no organization uses the SET's iss as its Okta".into(),
                )),
            }
        }
    }
}

/// `iss` itself when it is the bare origin of an Okta org (`https://acme.okta.com`, no path).
fn okta_org_of(iss: &str) -> Option<String> {
    let origin = url::Url::parse(iss).ok()?.origin().ascii_serialization();
    issuer::same_key(&origin, iss).then_some(origin)
}

/// The issuer whose keys sign the org's SETs when their `iss` is `iss`: the org's issuer, or
/// the Okta org of an org signing in through a custom authorization server
/// (`https://acme.okta.com/oauth2/default`), which is what Okta's transmitter signs as. `None`:
/// `iss` is not this org's Okta.
fn signer_for(sso: &SsoConnection, iss: &str) -> Option<String> {
    if issuer::same_key(iss, &sso.issuer) {
        return Some(sso.issuer.clone());
    }
    let origin = okta_org_of(iss)?;
    let org_origin = url::Url::parse(&sso.issuer)
        .ok()?
        .origin()
        .ascii_serialization();
    issuer::same_key(&origin, &org_origin).then_some(origin)
}

/// The one event of a SET (SSF 1.0 §4.1.8: one per SET): its type URI and its object.
fn single_event(claims: &Value) -> Result<(&str, &Value), SetError> {
    let Some(events) = claims.get("events").and_then(Value::as_object) else {
        return Err(SetError::InvalidRequest(
            "the SET has no events object".into(),
        ));
    };
    let mut all = events.iter();
    match (all.next(), all.next()) {
        (Some((uri, event)), None) if event.is_object() && !uri.is_empty() => {
            Ok((uri.as_str(), event))
        }
        (Some(_), None) => Err(SetError::InvalidRequest(
            "the SET's event is not a JSON object".into(),
        )),
        (None, _) => Err(SetError::InvalidRequest("the SET has no event".into())),
        (Some(_), Some(_)) => Err(SetError::InvalidRequest(
            "the SET has more than one event".into(),
        )),
    }
}

/// Acts on one known event about `subject`, as Okta (Shared Signals).
async fn act(
    store: &Store,
    org: &Org,
    sso: &SsoConnection,
    signer: &str,
    event_type: &str,
    subject: &Subject,
) -> Result<(SetOutcome, Option<Member>), SetError> {
    let member = match member_named(store, org, sso, signer, subject).await? {
        Named::One(m) => m,
        Named::Nobody => return Ok((SetOutcome::NoMember, None)),
        Named::Several => return Ok((SetOutcome::Ambiguous, None)),
    };
    let members = std::slice::from_ref(&member);
    let via = Via::SharedSignals;
    let domain = |e: DomainError| match e {
        DomainError::Store(s) => SetError::Store(s),
        other => SetError::InvalidRequest(other.to_string()),
    };
    let outcome = match event_type {
        SESSION_REVOKED | CREDENTIAL_CHANGE => {
            let why = if event_type == SESSION_REVOKED {
                "session-revoked"
            } else {
                "credential-change"
            };
            let sessions =
                membership::end_sessions(store, &Actor::Okta(via), &org.id, members, Some(why))
                    .await
                    .map_err(domain)?;
            SetOutcome::SignedOut { sessions }
        }
        ACCOUNT_DISABLED | ACCOUNT_ENABLED => {
            let changed = if event_type == ACCOUNT_DISABLED {
                membership::okta_deactivate(store, via, org, &member).await
            } else {
                membership::okta_reactivate(store, via, org, &member).await
            }
            .map_err(domain)?;
            match (changed, event_type == ACCOUNT_DISABLED) {
                (false, _) => SetOutcome::Unchanged,
                (true, true) => SetOutcome::Deactivated,
                (true, false) => SetOutcome::Reactivated,
            }
        }
        _ => SetOutcome::Ignored,
    };
    Ok((outcome, Some(member)))
}

// ---- the switches --------------------------------------------------------------------------

/// Sets the org's switches (`None` keeps one as it is): the owner on the SSO page, the
/// operator with `tessera sso policy --universal-logout/--shared-signals`. Audited as
/// `security_signals_changed`. The org must have an Okta connection.
pub async fn set_switches(
    store: &Store,
    actor: &Actor<'_>,
    org: &Org,
    universal_logout: Option<bool>,
    shared_signals: Option<bool>,
) -> Result<SsoConnection, DomainError> {
    match actor {
        Actor::Member(m) => {
            membership::may_org(*m, membership::OrgAction::EditSsoSettings)
                .map_err(DomainError::Forbidden)?;
            if m.org_id != org.id {
                return Err(DomainError::NotFound);
            }
        }
        Actor::Operator => {}
        Actor::Okta(_) | Actor::SetupLink => {
            return Err(DomainError::Forbidden(
                "Only the owner or the service operator sets Universal Logout and Shared Signals."
                    .into(),
            ));
        }
    }
    let sso = store.sso_connection(&org.id).await?.ok_or_else(|| {
        DomainError::Conflict(
            "Connect the organization's Okta first: these signals come from the same Okta org as sign-in."
                .into(),
        )
    })?;
    let ul = universal_logout.unwrap_or(sso.universal_logout);
    let ss = shared_signals.unwrap_or(sso.shared_signals);
    if (ul, ss) == (sso.universal_logout, sso.shared_signals) {
        return Ok(sso);
    }
    let entry = actor
        .audit(&org.id, "security_signals_changed", None)
        .change(
            serde_json::json!({"universal_logout": sso.universal_logout, "shared_signals": sso.shared_signals}),
            serde_json::json!({"universal_logout": ul, "shared_signals": ss}),
        );
    store.set_signal_switches(&org.id, ul, ss, &entry).await?;
    Ok(SsoConnection {
        universal_logout: ul,
        shared_signals: ss,
        ..sso
    })
}
