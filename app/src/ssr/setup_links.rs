//! Self-service SSO setup links: a one-time URL that lets a customer's Okta administrator create
//! the Okta app, test it and connect it, so nobody mails a Client Secret around.
//!
//! The token is 32 random bytes (URL-safe base64, 43 characters); only its SHA-256 is stored.
//! A link is *open* until it expires, is revoked or is used (a successful save). Creating a new
//! link does not revoke older ones (`tessera org setup-link <org> --revoke` closes them all).
//!
//! A link made by a member (the owner, `POST /api/v1/sso/setup-link`) is usable only while that
//! member is still the org's active owner: every use (opening the page, Test, Save) checks it in
//! the same SQL that reads or updates the link ([`super::store::setup_links`]), so it holds
//! across nodes; a transfer of ownership or a removal also revokes the member's open links.
//! Links made by the operator (CLI) have no creator member and are unaffected.
//!
//! "Test connection" runs at most [`TEST_LIMIT`] times per [`TEST_WINDOW_MS`] per link, counted
//! in the database by one conditional UPDATE, so the limit holds across nodes. The values of the
//! latest test stay on the link, the secret sealed with the instance key together with the
//! issuer and Client ID it was entered with ([`seal_kept_secret`]): a kept secret is only ever
//! used for exactly those two values, never sent to another host or with another Client ID.
//! "Save" is accepted only with exactly the values of the latest test, when it passed.
//!
//! The setup page is unauthenticated, so what it writes to the org's audit log is bounded:
//! `setup_link_opened` at most once per [`OPEN_NOTE_INTERVAL_MS`] per link, `setup_link_expired`
//! once per link, and opened/test entries together at most [`PAGE_AUDIT_BUDGET`] per link (the
//! link's own `test_attempts` still counts every test). A refused Save writes nothing.

use super::PublicUrl;
pub use super::actor::{ACTOR_CLI, ACTOR_LINK, Actor};
use super::connection::{ConnectionWrite, IssuerChange};
use super::crypto::SecretKey;
use super::membership::DomainError;
pub use super::store::SetupLink;
use super::store::setup_links::{self as links, TestValues, Which};
use super::store::{NewAudit, Store, StoreError, Tx, audit, members};
use crate::api::permissions::{OrgAction, may_org};
use crate::api::types::{
    ConnectionReport, SetupLinkCreated, SetupLinkList, SetupLinkView, SetupLinksRevoked,
};
use crate::model::{Member, Org, SsoConnection};
use crate::model::{OrgId, SetupLinkId};
use serde_json::json;
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
/// `setup_link_opened` is written at most once per this many milliseconds per link (1 hour).
pub const OPEN_NOTE_INTERVAL_MS: i64 = 60 * 60 * 1000;
/// Audit entries the setup page may write per link (opened, test passed, test failed); beyond
/// it, tests still run (rate-limited) and are counted on the link, but write no entry. Save,
/// creation, revocation and expiry are always written.
pub const PAGE_AUDIT_BUDGET: i64 = 100;
/// The most links `GET /api/v1/sso/setup-links` lists (newest first).
pub const LINKS_LISTED: i64 = 100;

/// How long after its successful Save a link's "Okta is connected" page may create a SCIM
/// token (10 minutes, as long as the browser that saved carries its flash).
pub const SCIM_STEP_MS: i64 = 10 * 60 * 1000;

/// The one message for a link that cannot be used, whatever the reason: it does not tell an
/// unknown token from an expired, used or revoked one.
pub const GONE_MESSAGE: &str =
    "This setup link has expired or was already used: ask your Tessera contact for a new one.";

impl SetupLink {
    /// Not used, not revoked, not expired at `now`, and its creator still the owner.
    pub fn is_open(&self, now: i64) -> bool {
        self.used_at.is_none()
            && self.revoked_at.is_none()
            && self.expires_at > now
            && self.creator_ok
    }

    /// `open`, `used`, `revoked` (also: its creator is no longer the owner) or `expired`.
    pub fn state(&self, now: i64) -> &'static str {
        if self.used_at.is_some() {
            "used"
        } else if self.revoked_at.is_some() || !self.creator_ok {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "open"
        }
    }

    /// Saved moments ago: used by its Save less than [`SCIM_STEP_MS`] before `now`, never
    /// revoked, and its creator (if a member) still the owner. Only then may its "Okta is
    /// connected" page create a SCIM token ([`create_scim_token`]).
    pub fn just_saved(&self, now: i64) -> bool {
        self.used_at
            .is_some_and(|used| now >= used && now - used < SCIM_STEP_MS)
            && self.revoked_at.is_none()
            && self.creator_ok
    }

    /// The associated data sealing the pending secret to this link.
    pub fn seal_context(&self) -> String {
        seal_context(&self.id)
    }

    /// The report of the link's latest test, which ran with its pending values (none when the
    /// latest test was refused before it ran, e.g. an Okta org connected elsewhere).
    pub fn last_report(&self) -> Option<ConnectionReport> {
        serde_json::from_str(self.last_report.as_deref()?).ok()
    }
}

/// The associated data a link's pending client secret is sealed with.
pub fn seal_context(link_id: &SetupLinkId) -> String {
    format!("setup-link:{link_id}")
}

/// First line of a kept secret's plaintext: the issuer and Client ID follow it.
const KEPT_V2: &str = "kept-v2";

/// Seals `secret` for the link `link_id` together with the issuer and Client ID it was entered
/// with (none of the three contains a line break: the form refuses control characters).
pub fn seal_kept_secret(
    key: &SecretKey,
    link_id: &SetupLinkId,
    issuer: &str,
    client_id: &str,
    secret: &str,
) -> String {
    key.seal(
        &seal_context(link_id),
        &format!("{KEPT_V2}\n{issuer}\n{client_id}\n{secret}"),
    )
}

/// What an empty secret field may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeptSecret {
    /// The kept secret, entered with exactly this issuer and Client ID.
    Usable(String),
    /// A secret is kept, but for another issuer or Client ID: it is not used.
    OtherValues,
    /// Nothing is kept (or it no longer opens, e.g. after a key rotation).
    Missing,
}

/// The link's kept secret, if it was entered for exactly `issuer` and `client_id`.
pub fn kept_secret_for(
    key: &SecretKey,
    link: &SetupLink,
    issuer: &str,
    client_id: &str,
) -> KeptSecret {
    let Some(sealed) = link.pending_secret_enc.as_deref() else {
        return KeptSecret::Missing;
    };
    let Ok(plain) = key.open(&link.seal_context(), sealed) else {
        return KeptSecret::Missing;
    };
    let mut parts = plain.splitn(4, '\n');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(KEPT_V2), Some(i), Some(c), Some(secret)) if !secret.is_empty() => {
            if i == issuer && c == client_id {
                KeptSecret::Usable(secret.to_string())
            } else {
                KeptSecret::OtherValues
            }
        }
        // Kept before secrets were bound to their values: never reused.
        _ => KeptSecret::Missing,
    }
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
    /// is the connection that was replaced, `issuer_change` what an issuer change meant.
    Saved {
        connection: SsoConnection,
        had_owner: bool,
        previous: Option<SsoConnection>,
        issuer_change: Option<IssuerChange>,
    },
    /// The issuer differs from the current one and members are keyed to the current one:
    /// saving needs the explicit confirmation (nothing was saved, the link stays open).
    NeedsIssuerConfirmation(IssuerChange),
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
pub fn values_hash(link_id: &SetupLinkId, issuer: &str, client_id: &str, secret: &str) -> String {
    sha256_hex(&[
        "tessera-setup-test-v1",
        link_id.as_str(),
        issuer,
        client_id,
        secret,
    ])
}

/// `text` with every setup-link token after `/setup/` (any case) replaced by `…`, e.g.
/// `POST /setup/3q2-…/test` -> `POST /setup/…/test`: what may go into a log line. Percent
/// escapes count as part of the token, so an escaped spelling is cut as well.
pub fn redact_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    const MARK: &[u8] = b"/setup/";
    let bytes = text.as_bytes();
    let token_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'%');
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + MARK.len() <= bytes.len() {
        if bytes[i..i + MARK.len()].eq_ignore_ascii_case(MARK) {
            let start = i + MARK.len();
            let mut end = start;
            while end < bytes.len() && token_byte(bytes[end]) {
                end += 1;
            }
            if end > start {
                // `start` and `end` sit next to ASCII bytes: both are char boundaries.
                out.push_str(&text[copied..start]);
                out.push('…');
                copied = end;
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
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

/// An audit entry about `link` made on the setup page.
pub fn link_audit(link: &SetupLink, action: &str, after: serde_json::Value) -> NewAudit {
    let mut entry = Actor::SetupLink.audit(&link.org_id, action, None);
    entry.after = after.to_string();
    entry
}

impl Store {
    /// Creates a link for `org` valid for `ttl`; returns the token (shown once) and the link.
    /// The `setup_link_created` audit entry is written in the same transaction. A link made by
    /// a member records them as its creator: it works only while they are the active owner.
    pub async fn create_setup_link(
        &self,
        org: &Org,
        ttl: Duration,
        who: Actor<'_>,
    ) -> Result<(String, SetupLink), StoreError> {
        let actor = who.recorded();
        let token = new_token();
        let now = self.now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let link = SetupLink {
            id: SetupLinkId::generate(),
            org_id: org.id.clone(),
            created_at: now,
            expires_at: now.saturating_add(ttl_ms),
            used_at: None,
            revoked_at: None,
            created_by: actor.label.clone(),
            created_by_member_id: actor.id.clone(),
            creator_ok: true,
            test_attempts: 0,
            last_test_ok_at: None,
            test_window_start: None,
            test_window_attempts: 0,
            pending_issuer: None,
            pending_client_id: None,
            pending_secret_enc: None,
            passed_hash: None,
            last_report: None,
            opened_noted_at: None,
            expired_noted_at: None,
            page_audit_rows: 0,
        };
        let mut tx = self.begin().await?;
        // A member makes links only while they are the active owner (checked with the insert).
        if !links::insert(&mut tx, &link, &token_hash(&token)).await? {
            tx.rollback().await?;
            return Err(StoreError::Conflict(
                "Only the owner can create a setup link: your role changed meanwhile.".into(),
            ));
        }
        let mut entry = who.audit(&org.id, "setup_link_created", None);
        entry.after = json!({"link_id": link.id, "expires_at": link.expires_at}).to_string();
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok((token, link))
    }

    /// The link a token leads to. A link whose creator is no longer the owner is closed, and
    /// revoked for good the first time this is noticed (so it stays dead even if they became
    /// the owner again).
    pub async fn setup_link_by_token(&self, token: &str) -> Result<Lookup, StoreError> {
        if !well_formed(token) {
            return Ok(Lookup::Closed);
        }
        let Some(link) = self.setup_link_by_hash(&token_hash(token)).await? else {
            return Ok(Lookup::Closed);
        };
        if !link.creator_ok && link.used_at.is_none() && link.revoked_at.is_none() {
            let mut tx = self.begin().await?;
            let actor = Actor::SetupLink.recorded();
            links::revoke(
                &mut tx,
                &link.org_id,
                Which::One(&link.id),
                &actor,
                "creator_no_longer_owner",
            )
            .await?;
            tx.commit().await?;
        }
        Ok(
            if link.used_at.is_some() || link.revoked_at.is_some() || !link.creator_ok {
                Lookup::Closed
            } else if link.expires_at <= self.now_ms() {
                Lookup::Expired(link)
            } else {
                Lookup::Open(link)
            },
        )
    }

    /// Revokes every open link of `org`, one `setup_link_revoked` audit entry each; returns
    /// how many.
    pub async fn revoke_setup_links(&self, org: &Org, actor: Actor<'_>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let n = links::revoke(&mut tx, &org.id, Which::All, &actor.recorded(), "").await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Revokes open links of `org` for its owner `actor`: all of them, or the one with id
    /// `only`, while `actor` is still the org's active owner. `None` when they no longer are
    /// (nothing changed).
    pub async fn revoke_setup_links_as_owner(
        &self,
        org_id: &OrgId,
        actor: &Member,
        only: Option<&SetupLinkId>,
    ) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin().await?;
        if !members::is_active_owner(&mut tx, org_id, &actor.id).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let who = Actor::Member(actor).recorded();
        let n = links::revoke(&mut tx, org_id, Which::all_or_one(only), &who, "").await?;
        tx.commit().await?;
        Ok(Some(n))
    }

    /// Counts one connection test against the link's rate limit ([`TEST_LIMIT`] per
    /// [`TEST_WINDOW_MS`]), atomically across nodes.
    pub async fn take_setup_test_slot(
        &self,
        link_id: &SetupLinkId,
    ) -> Result<TestSlot, StoreError> {
        let now = self.now_ms();
        let window_open_before = now - TEST_WINDOW_MS;
        if self
            .take_setup_test(link_id, now, window_open_before, TEST_LIMIT)
            .await?
        {
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

    /// Keeps the values of a finished test on the link (the secret sealed with them, see
    /// [`seal_kept_secret`]) with its `report` (`None`: refused before it ran) and writes its
    /// audit entry while the link's page budget lasts.
    /// `passed_hash` is the fingerprint of the values when the test passed, `None` when it
    /// failed (which also forgets an earlier pass). False when the link closed meanwhile (used,
    /// revoked, its creator no longer the owner, or expired while the test ran): then nothing
    /// is kept, so a secret never outlives its link.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_setup_test(
        &self,
        link_id: &SetupLinkId,
        issuer: &str,
        client_id: &str,
        sealed_secret: &str,
        passed_hash: Option<&str>,
        report: Option<&ConnectionReport>,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let now = self.now_ms();
        let report = report.and_then(|r| serde_json::to_string(r).ok());
        let values = TestValues {
            issuer,
            client_id,
            sealed_secret,
            passed_hash,
            report: report.as_deref(),
        };
        let mut tx = self.begin().await?;
        if !links::keep_test(&mut tx, link_id, now, &values).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        audit_within_budget(&mut tx, link_id, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `setup_link_opened`: written on the first open of a link and then at most once per
    /// [`OPEN_NOTE_INTERVAL_MS`], within the link's page budget. True when it was written.
    pub async fn note_setup_link_opened(&self, link: &SetupLink) -> Result<bool, StoreError> {
        let now = self.now_ms();
        // Decided from the link as read: most opens write nothing, not even an UPDATE (the
        // conditional UPDATE below settles races between nodes).
        if link.page_audit_rows >= PAGE_AUDIT_BUDGET
            || link
                .opened_noted_at
                .is_some_and(|at| at > now - OPEN_NOTE_INTERVAL_MS)
        {
            return Ok(false);
        }
        let entry = link_audit(link, "setup_link_opened", json!({"link_id": link.id}));
        let mut tx = self.begin().await?;
        let noted = links::note_opened(
            &mut tx,
            &link.id,
            now,
            now - OPEN_NOTE_INTERVAL_MS,
            PAGE_AUDIT_BUDGET,
        )
        .await?;
        if !noted {
            tx.rollback().await?;
            return Ok(false);
        }
        let written = audit_within_budget(&mut tx, &link.id, &entry).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// `setup_link_expired` (someone used an expired link), written once per link; the kept
    /// secret is dropped at the same time.
    pub async fn note_setup_link_expired(&self, link: &SetupLink) -> Result<(), StoreError> {
        if link.expired_noted_at.is_some() {
            return Ok(());
        }
        let entry = link_audit(
            link,
            "setup_link_expired",
            json!({"link_id": link.id, "expires_at": link.expires_at}),
        );
        let mut tx = self.begin().await?;
        if links::note_expired(&mut tx, &link.id, self.now_ms()).await? {
            audit::insert(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// "Save": in one transaction, consumes the link (only while it is open, its creator is
    /// still the owner and its latest test passed with exactly `values_hash`), stores the
    /// connection with `sealed_secret` (sealed to the org) and enables SSO, and writes
    /// `setup_link_saved`. A different issuer while members are keyed to the current one is
    /// refused unless `confirm_issuer_change` ([`SaveOutcome::NeedsIssuerConfirmation`]).
    pub async fn save_setup(
        &self,
        link: &SetupLink,
        issuer: &str,
        client_id: &str,
        values_hash: &str,
        sealed_secret: &str,
        confirm_issuer_change: bool,
    ) -> Result<SaveOutcome, StoreError> {
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        if !links::consume(&mut tx, &link.id, now, values_hash).await? {
            tx.rollback().await?;
            return Ok(match self.setup_link(&link.id).await? {
                Some(l) if l.is_open(self.now_ms()) => SaveOutcome::NotTested,
                _ => SaveOutcome::Closed,
            });
        }
        let (previous, change) = match super::connection::write_connection_in(
            &mut tx,
            &link.org_id,
            issuer,
            client_id,
            sealed_secret,
            true,
            confirm_issuer_change,
        )
        .await?
        {
            ConnectionWrite::Written { previous, change } => (previous, change),
            ConnectionWrite::NeedsConfirmation(c) => {
                tx.rollback().await?;
                return Ok(SaveOutcome::NeedsIssuerConfirmation(c));
            }
            ConnectionWrite::IssuerTaken { .. } => {
                tx.rollback().await?;
                return Ok(SaveOutcome::IssuerTaken);
            }
        };
        let mut after =
            json!({"link_id": link.id, "issuer": issuer, "client_id": client_id, "enabled": true});
        if let Some(c) = &change {
            after["issuer_changed"] = json!(true);
            after["members_on_previous_issuer"] = json!(c.members);
        }
        let mut entry = link_audit(link, "setup_link_saved", after);
        if let Some(p) = &previous {
            entry.before =
                json!({"issuer": p.issuer, "client_id": p.client_id, "enabled": p.enabled})
                    .to_string();
        }
        audit::insert(&mut tx, &entry).await?;
        let owners = members::owners(&mut tx, &link.org_id).await?;
        tx.commit().await?;
        let connection = self
            .sso_connection(&link.org_id)
            .await?
            .ok_or_else(|| StoreError::NotFound("connection vanished".into()))?;
        Ok(SaveOutcome::Saved {
            connection,
            had_owner: owners > 0,
            previous,
            issuer_change: change,
        })
    }
}

/// Writes `audit` about link `link_id` inside `tx` while the link's page budget lasts
/// ([`PAGE_AUDIT_BUDGET`]); true when written.
async fn audit_within_budget(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    entry: &NewAudit,
) -> Result<bool, StoreError> {
    if !links::count_page_audit(tx, link_id, PAGE_AUDIT_BUDGET).await? {
        return Ok(false);
    }
    audit::insert(tx, entry).await?;
    Ok(true)
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
    let sealed = seal_kept_secret(key, &link.id, issuer, client_id, secret);
    let kept = store
        .record_setup_test(
            &link.id,
            issuer,
            client_id,
            &sealed,
            passed.as_deref(),
            Some(&report),
            &audit,
        )
        .await?;
    Ok(TestOutcome { report, kept })
}

/// Is `issuer` already connected to an org other than `org_id`?
pub async fn issuer_taken(store: &Store, org_id: &OrgId, issuer: &str) -> Result<bool, StoreError> {
    Ok(store
        .sso_by_issuer(issuer)
        .await?
        .is_some_and(|(o, _)| o.id != org_id))
}

/// The "Okta is connected" page's optional step: a SCIM token for `org`, made by whoever holds
/// `link` while it is [`SetupLink::just_saved`] (else [`DomainError::NotFound`], the page of a
/// used link). The rules of [`super::scim::create_token`] apply (at most two active, the mode
/// moves from `jit` to `both`, audited as `scim_token_created` by the setup link).
pub async fn create_scim_token(
    store: &Store,
    link: &SetupLink,
    org: &Org,
) -> Result<super::scim::NewToken, DomainError> {
    if link.org_id != org.id || !link.just_saved(store.now_ms()) {
        return Err(DomainError::NotFound);
    }
    super::scim::create_token(store, &Actor::SetupLink, org, "").await
}

/// `POST /api/v1/sso/setup-link`: the owner makes a link for their own org.
pub async fn create_for_owner(
    store: &Store,
    public_url: &PublicUrl,
    actor: &Member,
    expires: Option<&str>,
) -> Result<SetupLinkCreated, DomainError> {
    may_org(actor, OrgAction::ManageSetupLinks)
        .map_err(|_| DomainError::Forbidden("Only the owner can create a setup link.".into()))?;
    let expires = expires.map(str::trim).filter(|s| !s.is_empty());
    let ttl = parse_expiry(expires).map_err(|e| {
        DomainError::Invalid(format!("{e}. Use e.g. 30m, 72h or 7d (at most 30d)."))
    })?;
    let org = store
        .org_by_id(&actor.org_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let (token, link) = match store
        .create_setup_link(&org, ttl, Actor::Member(actor))
        .await
    {
        Ok(v) => v,
        Err(StoreError::Conflict(m)) => return Err(DomainError::Conflict(m)),
        Err(e) => return Err(e.into()),
    };
    Ok(SetupLinkCreated {
        url: setup_url(&public_url.0, &token),
        expires_at: link.expires_at,
    })
}

/// `GET /api/v1/sso/setup-links`: the org's latest links (newest first, at most
/// [`LINKS_LISTED`]) with their state; never a token. Owner only.
pub async fn list_for_owner(store: &Store, actor: &Member) -> Result<SetupLinkList, DomainError> {
    may_org(actor, OrgAction::ManageSetupLinks).map_err(DomainError::Forbidden)?;
    let now = store.now_ms();
    let links = store
        .setup_links_of(&actor.org_id, LINKS_LISTED)
        .await?
        .into_iter()
        .map(|l| SetupLinkView {
            state: l.state(now).to_string(),
            id: l.id,
            created_at: l.created_at,
            expires_at: l.expires_at,
            created_by: l.created_by,
        })
        .collect();
    Ok(SetupLinkList { links })
}

/// `POST /api/v1/sso/setup-links/revoke`: the owner revokes every open link of their org (no
/// `id`), or the one with `id` (404 when the org has no link with that id; one that is no
/// longer open revokes nothing). An `id` that is empty or blank is refused
/// ([`DomainError::Invalid`]) and revokes nothing: only leaving `id` out means "all". One
/// `setup_link_revoked` audit entry per revoked link.
pub async fn revoke_for_owner(
    store: &Store,
    actor: &Member,
    id: Option<&str>,
) -> Result<SetupLinksRevoked, DomainError> {
    may_org(actor, OrgAction::ManageSetupLinks).map_err(DomainError::Forbidden)?;
    let id = id.map(str::trim);
    if id.is_some_and(str::is_empty) {
        return Err(DomainError::Invalid(
            "Give the id of the setup link to revoke, or leave id out to revoke every open link."
                .into(),
        ));
    }
    let id = match id {
        // An id that cannot be one finds no link, as an unknown one does.
        Some(id) => Some(SetupLinkId::parse(id).map_err(|_| DomainError::NotFound)?),
        None => None,
    };
    if let Some(id) = &id {
        let found = store.setup_link(id).await?;
        if found.is_none_or(|l| l.org_id != actor.org_id) {
            return Err(DomainError::NotFound);
        }
    }
    match store
        .revoke_setup_links_as_owner(&actor.org_id, actor, id.as_ref())
        .await?
    {
        Some(revoked) => Ok(SetupLinksRevoked { revoked }),
        None => Err(DomainError::Conflict(
            "Your role changed meanwhile: reload the page and try again.".into(),
        )),
    }
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
            values_hash(&"l".into(), "i", "c", "s"),
            values_hash(&"l".into(), "i", "c", "t")
        );
    }

    #[test]
    fn tokens_never_reach_a_log_line() {
        let t = new_token();
        for (input, want) in [
            (format!("/setup/{t}"), "/setup/…".to_string()),
            (format!("/setup/{t}/test"), "/setup/…/test".to_string()),
            (
                format!("path=/SETUP/{t}/save method=POST"),
                "path=/SETUP/…/save method=POST".to_string(),
            ),
            (
                format!("{{\"path\":\"http://h/setup/{t}?x=1\"}} /setup/{t}"),
                "{\"path\":\"http://h/setup/…?x=1\"} /setup/…".to_string(),
            ),
            (format!("/setup/%41{t}/test"), "/setup/…/test".to_string()),
            ("/setup/".to_string(), "/setup/".to_string()),
            (
                "/sso/initiate?iss=x".to_string(),
                "/sso/initiate?iss=x".to_string(),
            ),
            ("é/setup/ab/é".to_string(), "é/setup/…/é".to_string()),
        ] {
            let got = redact_tokens(&input);
            assert_eq!(got, want, "{input}");
            assert!(!got.contains(&t));
        }
        assert!(matches!(
            redact_tokens("nothing to cut"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn kept_secrets_serve_only_their_own_issuer_and_client() {
        let key = SecretKey::from_bytes(&[7u8; 32]);
        let mut link = SetupLink {
            id: "link-1".into(),
            org_id: "org".into(),
            created_at: 0,
            expires_at: i64::MAX,
            used_at: None,
            revoked_at: None,
            created_by: ACTOR_CLI.into(),
            created_by_member_id: None,
            creator_ok: true,
            test_attempts: 0,
            last_test_ok_at: None,
            test_window_start: None,
            test_window_attempts: 0,
            pending_issuer: None,
            pending_client_id: None,
            pending_secret_enc: None,
            passed_hash: None,
            last_report: None,
            opened_noted_at: None,
            expired_noted_at: None,
            page_audit_rows: 0,
        };
        assert_eq!(
            kept_secret_for(&key, &link, "https://a.okta.com", "id"),
            KeptSecret::Missing
        );
        link.pending_secret_enc = Some(seal_kept_secret(
            &key,
            &"link-1".into(),
            "https://a.okta.com",
            "id",
            "s3cret",
        ));
        assert_eq!(
            kept_secret_for(&key, &link, "https://a.okta.com", "id"),
            KeptSecret::Usable("s3cret".into())
        );
        for (issuer, client) in [
            ("http://127.0.0.1:9", "id"),
            ("https://a.okta.com/", "id"),
            ("https://a.okta.com", "id2"),
            ("https://a.okta.com", ""),
        ] {
            assert_eq!(
                kept_secret_for(&key, &link, issuer, client),
                KeptSecret::OtherValues,
                "{issuer} {client}"
            );
        }
        // Sealed for another link, or in the old unbound form: never used.
        link.id = "link-2".into();
        assert_eq!(
            kept_secret_for(&key, &link, "https://a.okta.com", "id"),
            KeptSecret::Missing
        );
        link.pending_secret_enc = Some(key.seal(&seal_context(&"link-2".into()), "s3cret"));
        assert_eq!(
            kept_secret_for(&key, &link, "https://a.okta.com", "id"),
            KeptSecret::Missing
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
