//! Store functions for sign-in: pending flows, login attempts and session records.

use super::store::{Store, StoreError, new_id, now_ms};
use crate::api::login_reason::LoginReason;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Failed login attempts stored per org per minute (and as many for requests naming no org);
/// more are logged and counted (`tessera_login_attempts_total`) but not stored, so
/// unauthenticated requests cannot grow the attempts table faster than this.
pub const FAILURES_STORED_PER_MINUTE: i64 = 30;

/// Unexpired sign-ins an org may have pending at once (started, not yet back at the callback);
/// more are refused until some finish or expire (10 minutes). Room for a very large org's
/// morning (people at Okta's sign-in and MFA pages at once), while bounding what anonymous
/// starts can store: a few MB per org.
pub const MAX_PENDING_FLOWS_PER_ORG: i64 = 10_000;

/// An authorization request in flight, kept server-side so the callback may land on any node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFlow {
    pub state: String,
    pub org_id: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to land after sign-in: a path on Tessera's own origin.
    pub target: Option<String>,
    /// SHA-256 (lowercase hex) of the browser-binding cookie of the browser that started the
    /// flow; only a callback presenting that cookie may complete it (login CSRF).
    pub browser_hash: String,
    pub expires_at: i64,
}

/// Outcome of a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

/// One recorded login attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempt {
    pub id: String,
    pub org_id: Option<String>,
    pub at: i64,
    pub outcome: Outcome,
    pub reason: LoginReason,
    pub detail: String,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub member_id: Option<String>,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    /// The outcome stored as `s` (`success` or `failure`, see [`Outcome::as_str`]).
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

impl LoginAttempt {
    pub fn new(org_id: Option<&str>, outcome: Outcome, reason: LoginReason, detail: &str) -> Self {
        LoginAttempt {
            id: new_id(),
            org_id: org_id.map(str::to_string),
            at: now_ms(),
            outcome,
            reason,
            detail: detail.to_string(),
            issuer: None,
            subject: None,
            email: None,
            member_id: None,
        }
    }
}

impl Store {
    /// Saves a started sign-in unless its org already has [`MAX_PENDING_FLOWS_PER_ORG`]
    /// unexpired flows (anyone can start sign-ins without signing in; each is a row until its
    /// callback or its expiry). Returns whether it was saved.
    pub async fn save_login_flow(&self, flow: &LoginFlow) -> Result<bool, StoreError> {
        let now = now_ms();
        // One statement, so nodes share the cap (a race may let a few more through).
        let done = sqlx::query(
            "INSERT INTO login_flows (state, org_id, nonce, pkce_verifier, target, created_at, expires_at, browser_hash)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8
             WHERE (SELECT COUNT(*) FROM login_flows WHERE org_id = $2 AND expires_at > $6) < $9",
        )
        .bind(&flow.state)
        .bind(&flow.org_id)
        .bind(&flow.nonce)
        .bind(&flow.pkce_verifier)
        .bind(flow.target.as_deref())
        .bind(now)
        .bind(flow.expires_at)
        .bind(&flow.browser_hash)
        .bind(MAX_PENDING_FLOWS_PER_ORG)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes and returns the flow for `state` started by the browser whose binding cookie
    /// hashes to `browser_hash`: a state can be used once, by one callback, even when two
    /// arrive at once on different nodes, and only from the browser that started it — another
    /// browser's callback leaves the flow in place for its owner. Expired flows are not
    /// returned.
    pub async fn take_login_flow(
        &self,
        state: &str,
        browser_hash: &str,
    ) -> Result<Option<LoginFlow>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM login_flows WHERE state = $1 AND browser_hash = $2
             RETURNING state, org_id, nonce, pkce_verifier, target, expires_at, browser_hash",
        )
        .bind(state)
        .bind(browser_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let flow = LoginFlow {
            state: row.try_get("state")?,
            org_id: row.try_get("org_id")?,
            nonce: row.try_get("nonce")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
            target: row.try_get("target")?,
            browser_hash: row.try_get("browser_hash")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok((flow.expires_at > now_ms()).then_some(flow))
    }

    /// True when an unexpired flow with this `state` is pending (whichever browser started it).
    pub async fn login_flow_pending(&self, state: &str) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 AS one FROM login_flows WHERE state = $1 AND expires_at > $2")
                .bind(state)
                .bind(now_ms())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Deletes expired flows and sessions, and drops the client secrets kept on expired setup
    /// links (an expired link nobody opens again would otherwise keep one for good); returns
    /// how many rows went or changed.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let kept = sqlx::query(
            "UPDATE setup_links SET pending_secret_enc = NULL
             WHERE expires_at <= $1 AND pending_secret_enc IS NOT NULL",
        )
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        let flows = sqlx::query("DELETE FROM login_flows WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(flows + sessions + kept)
    }

    /// Records a login attempt. Every text that may come from outside (the reason's detail,
    /// an IdP's `error_description`, the issuer, subject and email of a request or a token) is
    /// stored bounded with control characters removed ([`crate::validate::bounded`]), whatever
    /// the caller passes.
    ///
    /// Failures are what anyone can cause without signing in, so at most
    /// [`FAILURES_STORED_PER_MINUTE`] are stored per org in any minute, and as many again for
    /// requests naming no org; the rest only reach the log line and the metric. Returns whether
    /// the attempt was stored (successes always are).
    pub async fn record_login_attempt(&self, a: &LoginAttempt) -> Result<bool, StoreError> {
        let text = |v: &str| crate::validate::bounded(v, crate::validate::MAX_STORED_CHARS);
        let optional = |v: Option<&str>| v.map(text);
        // One statement, so concurrent failures on any node share the budget (a race may let
        // a few more through, never an unbounded number).
        let same_org = if a.org_id.is_some() {
            "org_id = $2"
        } else {
            "org_id IS NULL"
        };
        let done = sqlx::query(&format!(
            "INSERT INTO login_attempts (id, org_id, at, outcome, reason, detail, issuer, subject, email, member_id)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
             WHERE $4 = 'success'
                OR (SELECT COUNT(*) FROM login_attempts
                    WHERE {same_org} AND outcome = 'failure' AND at > $11 AND at <= $3) < $12",
        ))
        .bind(&a.id)
        .bind(a.org_id.as_deref())
        .bind(a.at)
        .bind(a.outcome.as_str())
        .bind(a.reason.code())
        .bind(text(&a.detail))
        .bind(optional(a.issuer.as_deref()))
        .bind(optional(a.subject.as_deref()))
        .bind(optional(a.email.as_deref()))
        .bind(a.member_id.as_deref())
        .bind(a.at - 60_000)
        .bind(FAILURES_STORED_PER_MINUTE)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes login attempts recorded before `attempts_before` and audit entries written
    /// before `audit_before` (unix ms), in batches of at most `batch` rows, each its own short
    /// statement, so neither database holds a long lock on a large table. Returns the numbers
    /// of attempts and audit entries deleted.
    pub async fn purge_retention(
        &self,
        attempts_before: i64,
        audit_before: i64,
        batch: i64,
    ) -> Result<(u64, u64), StoreError> {
        let attempts = self
            .delete_older_in_batches("login_attempts", attempts_before, batch)
            .await?;
        let audit = self
            .delete_older_in_batches("audit_log", audit_before, batch)
            .await?;
        Ok((attempts, audit))
    }

    async fn delete_older_in_batches(
        &self,
        table: &'static str,
        before: i64,
        batch: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE at < $1 LIMIT $2)"
        );
        let mut total = 0;
        loop {
            let n = sqlx::query(&sql)
                .bind(before)
                .bind(batch.max(1))
                .execute(self.pool())
                .await?
                .rows_affected();
            total += n;
            if n < batch.max(1) as u64 {
                return Ok(total);
            }
            // Let other writers in between batches.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Most recent login attempts of an org, newest first.
    pub async fn recent_login_attempts(
        &self,
        org_id: &str,
        limit: i64,
    ) -> Result<Vec<LoginAttempt>, StoreError> {
        self.login_attempts_of(org_id, None, limit).await
    }

    // ---- session records (the tower-sessions store lives in the server crate) ----

    /// The data and expiry (unix ms) of a live session record.
    pub async fn session_load(&self, id: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2",
        )
        .bind(id)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("data")?, r.try_get("expiry_date")?)))
            .transpose()?)
    }

    /// Inserts a session record; false when the id is taken.
    pub async fn session_insert(
        &self,
        id: &str,
        data: &str,
        expiry: i64,
        member_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, member_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expiry)
        .bind(member_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Updates a live session record; false when there is none (deleted by a sign-out, a
    /// deactivation or a removal, or expired): a session that is gone is never written back.
    pub async fn session_update(
        &self,
        id: &str,
        data: &str,
        expiry: i64,
        member_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET data = $1, expiry_date = $2, member_id = $3
             WHERE id = $4 AND expiry_date > $5",
        )
        .bind(data)
        .bind(expiry)
        .bind(member_id)
        .bind(id)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn session_delete(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of a member at once (deactivation, removal).
    pub async fn delete_member_sessions(&self, member_id: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE member_id = $1")
            .bind(member_id)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}
