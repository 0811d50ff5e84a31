//! Okta's security signals as the local okta-dev sends them: JWTs signed with the key okta-dev
//! publishes (`/__dev/sign`, the key that signs its ID tokens), Universal Logout requests
//! (`POST /oauth/global-token-revocation`) and pushed Security Event Tokens (`POST
//! /ssf/events`).

use crate::browser::{Browser, Resp};
use crate::okta::OktaDev;
use serde_json::{Value, json};

pub use app::api::signal_text::{
    ACCOUNT_DISABLED, ACCOUNT_ENABLED, CREDENTIAL_CHANGE, SESSION_REVOKED, VERIFICATION,
};
pub use app::ssr::signals::{LOGOUT_TYP, SET_TYP};

/// Now, in seconds since the epoch.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A fresh random `jti`.
pub fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl OktaDev {
    /// `claims` signed with okta-dev's current key; `header` fields over `{"alg": "RS256",
    /// "kid": <current kid>}` (a null field is removed). The signature is RS256 whatever the
    /// header says.
    pub async fn sign(&self, header: Value, claims: Value) -> String {
        let r = reqwest::Client::new()
            .post(format!("{}/__dev/sign", self.issuer))
            .json(&json!({"header": header, "claims": claims}))
            .send()
            .await
            .expect("sign");
        assert!(r.status().is_success(), "sign: {}", r.status());
        let v: Value = r.json().await.expect("sign JSON");
        v["jwt"].as_str().expect("jwt").to_string()
    }

    /// A Universal Logout JWT as Okta makes it: `typ` [`LOGOUT_TYP`], `iss` this okta-dev,
    /// `sub` = `client_id`, `aud` = `endpoint`, five minutes of life, a fresh `jti`.
    pub async fn logout_jwt(&self, client_id: &str, endpoint: &str) -> String {
        self.sign(
            json!({"typ": LOGOUT_TYP}),
            logout_claims(&self.issuer, client_id, endpoint),
        )
        .await
    }

    /// A SET about `subject` with one event `event` (body `{}` plus a timestamp) for `aud`.
    pub async fn set_jwt(&self, aud: &str, event: &str, subject: Value) -> String {
        self.sign(
            json!({"typ": SET_TYP}),
            set_claims(&self.issuer, aud, event, subject),
        )
        .await
    }
}

/// The claims of a Universal Logout JWT (draft-parecki-oauth-global-token-revocation).
pub fn logout_claims(issuer: &str, client_id: &str, endpoint: &str) -> Value {
    let now = now_s();
    json!({"iss": issuer, "sub": client_id, "aud": endpoint, "iat": now, "exp": now + 300, "jti": jti()})
}

/// The claims of a SET (RFC 8417; no `exp`): `sub_id` = `subject`, one event.
pub fn set_claims(issuer: &str, aud: &str, event: &str, subject: Value) -> Value {
    json!({
        "iss": issuer,
        "aud": aud,
        "iat": now_s(),
        "jti": jti(),
        "sub_id": subject,
        "events": {event: {"event_timestamp": now_s()}},
    })
}

/// An `iss_sub` subject.
pub fn iss_sub(iss: &str, sub: &str) -> Value {
    json!({"format": "iss_sub", "iss": iss, "sub": sub})
}

/// An `email` subject.
pub fn email(email: &str) -> Value {
    json!({"format": "email", "email": email})
}

/// `POST {tessera}/oauth/global-token-revocation` with `Authorization: Bearer <jwt>` (none
/// when `None`) and the JSON `body`.
pub async fn revoke(tessera: &str, jwt: Option<&str>, body: &Value) -> Resp {
    let b = Browser::new();
    let mut req = b
        .client
        .post(format!("{tessera}/oauth/global-token-revocation"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(jwt) = jwt {
        req = req.header("authorization", format!("Bearer {jwt}"));
    }
    b.send(req).await
}

/// `POST {tessera}/ssf/events` with `set` as `application/secevent+jwt` (RFC 8935).
pub async fn push(tessera: &str, set: &str) -> Resp {
    push_as(tessera, set, "application/secevent+jwt").await
}

/// [`push`] with another media type.
pub async fn push_as(tessera: &str, set: &str, content_type: &str) -> Resp {
    let b = Browser::new();
    b.send(
        b.client
            .post(format!("{tessera}/ssf/events"))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(set.to_string()),
    )
    .await
}
