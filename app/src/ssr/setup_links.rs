//! Self-service SSO setup links: a one-time URL that lets a customer's Okta administrator create
//! the Okta app, test it and connect it, so nobody mails a Client Secret around.
//!
//! The token is 32 random bytes (URL-safe base64, 43 characters); only its SHA-256 is stored.
//! A link is *open* until it expires, is revoked or is used (a successful save). Creating a new
//! link does not revoke older ones (`tessera org setup-link <org> --revoke` closes them all).
//!
//! "Test connection" runs at most [`TEST_LIMIT`] times per [`TEST_WINDOW_MS`] per link, counted
//! in the database by one conditional UPDATE, so the limit holds across nodes. The values of the
//! latest test stay on the link (the secret sealed with the instance key), and "Save" is accepted
//! only with exactly the values of the latest test, when it passed. Every event is written to
//! the org's audit log.

use super::PublicUrl;
use super::admin_store::{NewAudit, insert_audit};
use super::crypto::SecretKey;
use super::membership::DomainError;
use super::store::{Store, StoreError, new_id, now_ms};
use crate::api::permissions::{OrgAction, may_org};
use crate::api::{ConnectionReport, SetupLinkCreated};
use crate::model::{Member, Org, SsoConnection};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::time::Duration;

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;
/// Length of a token: URL-safe base64 of [`TOKEN_BYTES`] without padding.
pub const TOKEN_LEN: usize = 43;
/// How long a link stays valid unless told otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(72 * 3600);
/// The longest accepted validity.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 86_400);
/// Connection tests allowed per link per window.
pub const TEST_LIMIT: i64 = 10;
/// The rate-limit window.
pub const TEST_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Longest accepted Okta domain or issuer URL on the setup page.
pub const MAX_ISSUER_INPUT: usize = 300;

/// Audit actor of links made with the CLI.
pub const ACTOR_CLI: &str = "operator (CLI)";
/// Audit actor of what happens on the setup page (the person holding the link).
pub const ACTOR_LINK: &str = "setup link";

/// The one message for a link that cannot be used, whatever the reason: it does not tell an
/// unknown token from an expired, used or revoked one.
pub const GONE_MESSAGE: &str =
    "This setup link has expired or was already used: ask your Tessera contact for a new one.";

/// A stored setup link (never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLink {
    pub id: String,
    pub org_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_by: String,
    pub test_attempts: i64,
    pub last_test_ok_at: Option<i64>,
    pub test_window_start: Option<i64>,
    pub test_window_attempts: i64,
    pub pending_issuer: Option<String>,
    pub pending_client_id: Option<String>,
    pub pending_secret_enc: Option<String>,
    pub passed_hash: Option<String>,
}

impl SetupLink {
    /// Not used, not revoked and not expired at `now`.
    pub fn is_open(&self, now: i64) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }

    /// The associated data sealing the pending secret to this link.
    pub fn seal_context(&self) -> String {
        seal_context(&self.id)
    }
}

/// The associated data a link's pending client secret is sealed with.
pub fn seal_context(link_id: &str) -> String {
    format!("setup-link:{link_id}")
}

/// What a token leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Usable.
    Open(SetupLink),
    /// Existed, was neither used nor revoked, but is past its expiry.
    Expired(SetupLink),
    /// Unknown, used or revoked.
    Closed,
}

/// Who creates or revokes links, as the audit log names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<String>,
    pub label: String,
}

impl Actor {
    pub fn cli() -> Actor {
        Actor {
            id: None,
            label: ACTOR_CLI.into(),
        }
    }

    pub fn member(m: &Member) -> Actor {
        Actor {
            id: Some(m.id.clone()),
            label: m.email.clone(),
        }
    }
}

/// May another connection test run now?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestSlot {
    Granted,
    /// The window's tests are used up; the next one is possible in this many milliseconds.
    Limited {
        retry_after_ms: i64,
    },
    /// The link closed meanwhile.
    Closed,
}

/// How "Save" ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Stored and enabled; `had_owner` tells whether the org already has an owner, `previous`
    /// is the connection that was replaced.
    Saved {
        connection: SsoConnection,
        had_owner: bool,
        previous: Option<SsoConnection>,
    },
    /// The values differ from the latest passing test (or it did not pass).
    NotTested,
    /// The issuer belongs to another org.
    IssuerTaken,
    /// The link closed meanwhile.
    Closed,
}

/// A new token: 32 random bytes, URL-safe base64 without padding.
pub fn new_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Could `token` be one of ours? (Anything else is not looked up at all.)
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn sha256_hex(parts: &[&str]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b"\n");
        }
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored of a token: its hex SHA-256.
pub fn token_hash(token: &str) -> String {
    sha256_hex(&[token])
}

/// Fingerprint of tested values (newlines cannot occur in any of them).
pub fn values_hash(link_id: &str, issuer: &str, client_id: &str, secret: &str) -> String {
    sha256_hex(&["tessera-setup-test-v1", link_id, issuer, client_id, secret])
}

/// `{public_url}/setup/<token>`.
pub fn setup_url(public_url: &str, token: &str) -> String {
    format!("{}/setup/{token}", public_url.trim_end_matches('/'))
}

/// A validity such as `30m`, `72h` or `7d` (`None`: 72h; at most 30 days).
pub fn parse_expiry(input: Option<&str>) -> Result<Duration, String> {
    let Some(raw) = input else {
        return Ok(DEFAULT_TTL);
    };
    let raw = raw.trim();
    let d = crate::validate::duration(raw)?;
    if d > MAX_TTL {
        return Err(format!(
            "invalid expiry {raw:?}: a setup link may be valid for at most 30 days (30d)"
        ));
    }
    Ok(d)
}

/// The issuer for what was typed into "Okta domain": a host name such as `acme.okta.com` or
/// a full issuer URL (`http://` only when the server allows http issuers).
pub fn issuer_from_input(input: &str, allow_http: bool) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("Enter your Okta domain, e.g. acme.okta.com.".into());
    }
    if s.chars().count() > MAX_ISSUER_INPUT {
        return Err(format!(
            "The Okta domain is too long (at most {MAX_ISSUER_INPUT} characters): enter it as acme.okta.com."
        ));
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") && !allow_http {
        return Err(
            "Okta domains are https: enter it as acme.okta.com or https://acme.okta.com.".into(),
        );
    }
    let result = if lower.contains("://") {
        super::issuer::published(s, allow_http)
    } else {
        super::issuer::from_okta_domain(s)
    };
    result.map_err(|_| {
        format!(
            "{s:?} is not an Okta domain: enter your Okta org's address as shown in your browser when you use Okta, without \"-admin\", e.g. acme.okta.com (or a full issuer URL such as https://acme.okta.com)."
        )
    })
}

const LINK_COLUMNS: &str =
    "SELECT id, org_id, created_at, expires_at, used_at, revoked_at, created_by,
    test_attempts, last_test_ok_at, test_window_start, test_window_attempts,
    pending_issuer, pending_client_id, pending_secret_enc, passed_hash FROM setup_links";

fn link_from_row(r: &AnyRow) -> Result<SetupLink, sqlx::Error> {
    Ok(SetupLink {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        created_by: r.try_get("created_by")?,
        test_attempts: r.try_get("test_attempts")?,
        last_test_ok_at: r.try_get("last_test_ok_at")?,
        test_window_start: r.try_get("test_window_start")?,
        test_window_attempts: r.try_get("test_window_attempts")?,
        pending_issuer: r.try_get("pending_issuer")?,
        pending_client_id: r.try_get("pending_client_id")?,
        pending_secret_enc: r.try_get("pending_secret_enc")?,
        passed_hash: r.try_get("passed_hash")?,
    })
}

/// An audit entry about `link` made on the setup page.
pub fn link_audit(link: &SetupLink, action: &str, after: serde_json::Value) -> NewAudit {
    NewAudit {
        org_id: link.org_id.clone(),
        actor_id: None,
        actor_email: ACTOR_LINK.into(),
        action: action.into(),
        target_id: None,
        target_email: String::new(),
        before: String::new(),
        after: after.to_string(),
    }
}

impl Store {
    /// Creates a link for `org` valid for `ttl`; returns the token (shown once) and the link.
    /// The `setup_link_created` audit entry is written in the same transaction.
    pub async fn create_setup_link(
        &self,
        org: &Org,
        ttl: Duration,
        actor: &Actor,
    ) -> Result<(String, SetupLink), StoreError> {
        let token = new_token();
        let now = now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let link = SetupLink {
            id: new_id(),
            org_id: org.id.clone(),
            created_at: now,
            expires_at: now.saturating_add(ttl_ms),
            used_at: None,
            revoked_at: None,
            created_by: actor.label.clone(),
            test_attempts: 0,
            last_test_ok_at: None,
            test_window_start: None,
            test_window_attempts: 0,
            pending_issuer: None,
            pending_client_id: None,
            pending_secret_enc: None,
            passed_hash: None,
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO setup_links (id, org_id, token_hash, created_at, expires_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&link.id)
        .bind(&link.org_id)
        .bind(token_hash(&token))
        .bind(link.created_at)
        .bind(link.expires_at)
        .bind(&link.created_by)
        .execute(&mut *tx)
        .await?;
        let audit = NewAudit {
            org_id: org.id.clone(),
            actor_id: actor.id.clone(),
            actor_email: actor.label.clone(),
            action: "setup_link_created".into(),
            target_id: None,
            target_email: String::new(),
            before: String::new(),
            after: json!({"link_id": link.id, "expires_at": link.expires_at}).to_string(),
        };
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok((token, link))
    }

    /// The link a token leads to.
    pub async fn setup_link_by_token(&self, token: &str) -> Result<Lookup, StoreError> {
        if !well_formed(token) {
            return Ok(Lookup::Closed);
        }
        let row = sqlx::query(&format!("{LINK_COLUMNS} WHERE token_hash = $1"))
            .bind(token_hash(token))
            .fetch_optional(self.pool())
            .await?;
        let Some(link) = row.map(|r| link_from_row(&r)).transpose()? else {
            return Ok(Lookup::Closed);
        };
        Ok(if link.used_at.is_some() || link.revoked_at.is_some() {
            Lookup::Closed
        } else if link.expires_at <= now_ms() {
            Lookup::Expired(link)
        } else {
            Lookup::Open(link)
        })
    }

    /// A link by id (tests and reloads).
    pub async fn setup_link(&self, id: &str) -> Result<Option<SetupLink>, StoreError> {
        let row = sqlx::query(&format!("{LINK_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| link_from_row(&r)).transpose()?)
    }

    /// All links of an org, newest first.
    pub async fn setup_links_of(&self, org_id: &str) -> Result<Vec<SetupLink>, StoreError> {
        let rows = sqlx::query(&format!(
            "{LINK_COLUMNS} WHERE org_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(link_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes every open link of `org`, one `setup_link_revoked` audit entry each; returns
    /// how many.
    pub async fn revoke_setup_links(&self, org: &Org, actor: &Actor) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM setup_links
             WHERE org_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(&org.id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        let mut revoked = 0;
        for id in ids {
            let done = sqlx::query(
                "UPDATE setup_links SET revoked_at = $1, pending_secret_enc = NULL
                 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                revoked += 1;
                let audit = NewAudit {
                    org_id: org.id.clone(),
                    actor_id: actor.id.clone(),
                    actor_email: actor.label.clone(),
                    action: "setup_link_revoked".into(),
                    target_id: None,
                    target_email: String::new(),
                    before: String::new(),
                    after: json!({"link_id": id}).to_string(),
                };
                insert_audit(&mut tx, &audit).await?;
            }
        }
        tx.commit().await?;
        Ok(revoked)
    }

    /// Counts one connection test against the link's rate limit, atomically across nodes.
    pub async fn take_setup_test_slot(&self, link_id: &str) -> Result<TestSlot, StoreError> {
        let now = now_ms();
        let window_open_before = now - TEST_WINDOW_MS;
        let done = sqlx::query(
            "UPDATE setup_links SET
                test_attempts = test_attempts + 1,
                test_window_attempts = CASE
                    WHEN test_window_start IS NULL OR test_window_start <= $2 THEN 1
                    ELSE test_window_attempts + 1 END,
                test_window_start = CASE
                    WHEN test_window_start IS NULL OR test_window_start <= $2 THEN $3
                    ELSE test_window_start END
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
               AND (test_window_start IS NULL OR test_window_start <= $2 OR test_window_attempts < $4)",
        )
        .bind(link_id)
        .bind(window_open_before)
        .bind(now)
        .bind(TEST_LIMIT)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(TestSlot::Granted);
        }
        Ok(match self.setup_link(link_id).await? {
            Some(l) if l.is_open(now) => TestSlot::Limited {
                retry_after_ms: (l.test_window_start.unwrap_or(now) + TEST_WINDOW_MS - now)
                    .max(1000),
            },
            _ => TestSlot::Closed,
        })
    }

    /// Keeps the values of a finished test on the link (the secret sealed to the link) and
    /// writes its audit entry. `passed_hash` is the fingerprint of the values when the test
    /// passed, `None` when it failed (which also forgets an earlier pass).
    pub async fn record_setup_test(
        &self,
        link_id: &str,
        issuer: &str,
        client_id: &str,
        sealed_secret: &str,
        passed_hash: Option<&str>,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE setup_links SET pending_issuer = $2, pending_client_id = $3,
                pending_secret_enc = $4, passed_hash = $5,
                last_test_ok_at = COALESCE($6, last_test_ok_at)
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(link_id)
        .bind(issuer)
        .bind(client_id)
        .bind(sealed_secret)
        .bind(passed_hash)
        .bind(passed_hash.map(|_| now))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes an audit entry about a link and, for a closed one, forgets its pending secret.
    pub async fn note_setup_link(
        &self,
        link: &SetupLink,
        audit: &NewAudit,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if !link.is_open(now_ms()) {
            sqlx::query("UPDATE setup_links SET pending_secret_enc = NULL WHERE id = $1")
                .bind(&link.id)
                .execute(&mut *tx)
                .await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// "Save": in one transaction, consumes the link (only while it is open and its latest
    /// test passed with exactly `values_hash`), stores the connection with `sealed_secret`
    /// (sealed to the org) and enables SSO, and writes `setup_link_saved`.
    pub async fn save_setup(
        &self,
        link: &SetupLink,
        issuer: &str,
        client_id: &str,
        values_hash: &str,
        sealed_secret: &str,
    ) -> Result<SaveOutcome, StoreError> {
        let previous = self.sso_connection(&link.org_id).await?;
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let consumed = sqlx::query(
            "UPDATE setup_links SET used_at = $2, pending_secret_enc = NULL
             WHERE id = $1 AND passed_hash = $3
               AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(&link.id)
        .bind(now)
        .bind(values_hash)
        .execute(&mut *tx)
        .await?;
        if consumed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(match self.setup_link(&link.id).await? {
                Some(l) if l.is_open(now_ms()) => SaveOutcome::NotTested,
                _ => SaveOutcome::Closed,
            });
        }
        let taken = sqlx::query(
            "SELECT org_id FROM sso_connections WHERE issuer_key = $1 AND org_id <> $2",
        )
        .bind(super::issuer::key(issuer))
        .bind(&link.org_id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            tx.rollback().await?;
            return Ok(SaveOutcome::IssuerTaken);
        }
        let upsert = sqlx::query(
            "INSERT INTO sso_connections (org_id, issuer, issuer_key, client_id, client_secret_enc, enabled, created_at, updated_at)
             VALUES ($1, $2, $6, $3, $4, 1, $5, $5)
             ON CONFLICT (org_id) DO UPDATE SET
                issuer = excluded.issuer,
                issuer_key = excluded.issuer_key,
                client_id = excluded.client_id,
                client_secret_enc = excluded.client_secret_enc,
                enabled = 1,
                updated_at = excluded.updated_at",
        )
        .bind(&link.org_id)
        .bind(issuer)
        .bind(client_id)
        .bind(sealed_secret)
        .bind(now)
        .bind(super::issuer::key(issuer))
        .execute(&mut *tx)
        .await;
        match upsert {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                return Ok(SaveOutcome::IssuerTaken);
            }
            Err(e) => return Err(e.into()),
        }
        let mut audit = link_audit(
            link,
            "setup_link_saved",
            json!({"link_id": link.id, "issuer": issuer, "client_id": client_id, "enabled": true}),
        );
        if let Some(p) = &previous {
            audit.before =
                json!({"issuer": p.issuer, "client_id": p.client_id, "enabled": p.enabled})
                    .to_string();
        }
        insert_audit(&mut tx, &audit).await?;
        let owners: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND role = 'owner'")
                .bind(&link.org_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        tx.commit().await?;
        let connection = self
            .sso_connection(&link.org_id)
            .await?
            .ok_or_else(|| StoreError::NotFound("connection vanished".into()))?;
        Ok(SaveOutcome::Saved {
            connection,
            had_owner: owners > 0,
            previous,
        })
    }
}

/// The setup page's "Test connection" result, after the rate limit let it run.
pub struct TestOutcome {
    pub report: ConnectionReport,
    /// False when the link closed while the test ran (nothing was kept).
    pub kept: bool,
}

/// Runs "Test connection" for a link with these values, through `outbound` (destination
/// policy, `--idp-timeout`, size cap), and keeps the outcome on the link.
#[allow(clippy::too_many_arguments)]
pub async fn run_test(
    store: &Store,
    key: &SecretKey,
    public_url: &PublicUrl,
    outbound: &super::outbound::Outbound,
    link: &SetupLink,
    issuer: &str,
    client_id: &str,
    secret: &str,
) -> Result<TestOutcome, StoreError> {
    let report = super::sso_check::check_connection(
        outbound,
        issuer,
        client_id,
        secret,
        &public_url.redirect_uri(),
    )
    .await;
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    let (action, passed) = if report.ok {
        (
            "setup_link_test_passed",
            Some(values_hash(&link.id, issuer, client_id, secret)),
        )
    } else {
        ("setup_link_test_failed", None)
    };
    let audit = link_audit(
        link,
        action,
        json!({"link_id": link.id, "issuer": issuer, "client_id": client_id, "failed": failed}),
    );
    let sealed = key.seal(&link.seal_context(), secret);
    let kept = store
        .record_setup_test(
            &link.id,
            issuer,
            client_id,
            &sealed,
            passed.as_deref(),
            &audit,
        )
        .await?;
    Ok(TestOutcome { report, kept })
}

/// Is `issuer` already connected to an org other than `org_id`?
pub async fn issuer_taken(store: &Store, org_id: &str, issuer: &str) -> Result<bool, StoreError> {
    Ok(store
        .sso_by_issuer(issuer)
        .await?
        .is_some_and(|(o, _)| o.id != org_id))
}

/// `POST /api/v1/sso/setup-link`: the owner makes a link for their own org.
pub async fn create_for_owner(
    store: &Store,
    public_url: &PublicUrl,
    actor: &Member,
    expires: Option<&str>,
) -> Result<SetupLinkCreated, DomainError> {
    may_org(actor, OrgAction::EditSsoSettings)
        .map_err(|_| DomainError::Forbidden("Only the owner can create a setup link.".into()))?;
    let expires = expires.map(str::trim).filter(|s| !s.is_empty());
    let ttl = parse_expiry(expires).map_err(|e| {
        DomainError::Invalid(format!("{e}. Use e.g. 30m, 72h or 7d (at most 30d)."))
    })?;
    let org = store
        .org_by_id(&actor.org_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let (token, link) = store
        .create_setup_link(&org, ttl, &Actor::member(actor))
        .await?;
    Ok(SetupLinkCreated {
        url: setup_url(&public_url.0, &token),
        expires_at: link.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_url_safe_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(well_formed(&a));
        assert!(!well_formed(&a[1..]));
        assert!(!well_formed(&format!("{}=", &a[1..])));
        assert!(!well_formed(&format!("{}/", &a[1..])));
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert_eq!(h, token_hash(&a));
        assert_ne!(
            values_hash("l", "i", "c", "s"),
            values_hash("l", "i", "c", "t")
        );
    }

    #[test]
    fn expiries() {
        assert_eq!(parse_expiry(None).unwrap(), DEFAULT_TTL);
        assert!(parse_expiry(Some(" ")).is_err());
        assert_eq!(parse_expiry(Some("30m")).unwrap().as_secs(), 1800);
        assert_eq!(parse_expiry(Some("30d")).unwrap(), MAX_TTL);
        assert!(parse_expiry(Some("31d")).unwrap_err().contains("30 days"));
        assert!(parse_expiry(Some("0h")).is_err());
        assert!(parse_expiry(Some("soon")).is_err());
    }

    #[test]
    fn okta_domains_or_issuers() {
        assert_eq!(
            issuer_from_input(" Acme.okta.com ", false).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            issuer_from_input("https://acme.okta.com/", false).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            issuer_from_input("https://acme.okta.com/oauth2/default", false).unwrap(),
            "https://acme.okta.com/oauth2/default"
        );
        assert!(
            issuer_from_input("http://127.0.0.1:4000", false)
                .unwrap_err()
                .contains("https")
        );
        assert_eq!(
            issuer_from_input("http://127.0.0.1:4000/", true).unwrap(),
            "http://127.0.0.1:4000"
        );
        for bad in ["", "acme", "acme okta com", "ftp://x.com", "<script>.com"] {
            assert!(issuer_from_input(bad, true).is_err(), "{bad}");
        }
        assert!(issuer_from_input(&"a".repeat(400), false).is_err());
    }
}
