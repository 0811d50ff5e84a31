//! Setup links: the stored link (never its token, only the token's hash), its conditional
//! updates (consume, test slot, kept test values, audit budget, open and expiry notes) and
//! revocation with one audit entry per link.
//!
//! Every statement that uses a link checks in the same SQL that the link is still open and
//! that its creator, if a member made it, is still the org's active owner
//! ([`CREATOR_IS_OWNER`]), so the rules hold across nodes. What a link may do and when is the
//! domain's (`ssr::setup_links`); the statements are here.

use super::{AuditActor, NewAudit, Store, StoreError, Tx, audit};
use crate::model::{MemberId, OrgId, SetupLinkId};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// SQL: the link's creator (if a member made it) is still the org's active owner. Written
/// against the table name, so it fits every query and UPDATE of `setup_links`.
const CREATOR_IS_OWNER: &str = "(setup_links.created_by_member_id IS NULL OR EXISTS (
    SELECT 1 FROM members cm WHERE cm.id = setup_links.created_by_member_id
      AND cm.org_id = setup_links.org_id AND cm.role = 'owner' AND cm.status = 'active'))";

/// A stored setup link (never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLink {
    pub id: SetupLinkId,
    pub org_id: OrgId,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_by: String,
    /// The member who made the link; `None` for the operator (CLI).
    pub created_by_member_id: Option<MemberId>,
    /// The creator (if a member) is still the org's active owner.
    pub creator_ok: bool,
    pub test_attempts: i64,
    pub last_test_ok_at: Option<i64>,
    pub test_window_start: Option<i64>,
    pub test_window_attempts: i64,
    pub pending_issuer: Option<String>,
    pub pending_client_id: Option<String>,
    pub pending_secret_enc: Option<String>,
    pub passed_hash: Option<String>,
    /// The report of the latest test (JSON of `ConnectionReport`), with the pending values.
    pub last_report: Option<String>,
    /// When `setup_link_opened` was last written.
    pub opened_noted_at: Option<i64>,
    /// When `setup_link_expired` was written (once per link).
    pub expired_noted_at: Option<i64>,
    /// Audit entries the setup page has written for this link (see
    /// `ssr::setup_links::PAGE_AUDIT_BUDGET`).
    pub page_audit_rows: i64,
}

fn link_columns() -> String {
    format!(
        "SELECT id, org_id, created_at, expires_at, used_at, revoked_at, created_by,
            created_by_member_id,
            CAST(CASE WHEN {CREATOR_IS_OWNER} THEN 1 ELSE 0 END AS BIGINT) AS creator_ok,
            test_attempts, last_test_ok_at, test_window_start, test_window_attempts,
            pending_issuer, pending_client_id, pending_secret_enc, passed_hash, last_report,
            opened_noted_at, expired_noted_at, page_audit_rows
         FROM setup_links"
    )
}

fn link_from_row(r: &AnyRow) -> Result<SetupLink, sqlx::Error> {
    Ok(SetupLink {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        created_by: r.try_get("created_by")?,
        created_by_member_id: r.try_get("created_by_member_id")?,
        creator_ok: r.try_get::<i64, _>("creator_ok")? == 1,
        test_attempts: r.try_get("test_attempts")?,
        last_test_ok_at: r.try_get("last_test_ok_at")?,
        test_window_start: r.try_get("test_window_start")?,
        test_window_attempts: r.try_get("test_window_attempts")?,
        pending_issuer: r.try_get("pending_issuer")?,
        pending_client_id: r.try_get("pending_client_id")?,
        pending_secret_enc: r.try_get("pending_secret_enc")?,
        passed_hash: r.try_get("passed_hash")?,
        last_report: r.try_get("last_report")?,
        opened_noted_at: r.try_get("opened_noted_at")?,
        expired_noted_at: r.try_get("expired_noted_at")?,
        page_audit_rows: r.try_get("page_audit_rows")?,
    })
}

/// Which open links of an org [`revoke`] closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which<'a> {
    /// Every open link.
    All,
    /// The link with this id, if open.
    One(&'a SetupLinkId),
    /// The open links made by this member.
    CreatedBy(&'a MemberId),
}

impl<'a> Which<'a> {
    /// `One(id)`, or `All` without an id.
    pub fn all_or_one(id: Option<&'a SetupLinkId>) -> Which<'a> {
        match id {
            Some(id) => Which::One(id),
            None => Which::All,
        }
    }
}

/// Inside `tx`: revokes the open links of `org_id` that `which` names, one
/// `setup_link_revoked` audit entry each by `actor` (`reason`, when given, goes into
/// `after.reason`, e.g. `creator_no_longer_owner` or `creator_removed`); returns how many.
pub async fn revoke(
    tx: &mut Tx,
    org_id: &OrgId,
    which: Which<'_>,
    actor: &AuditActor,
    reason: &str,
) -> Result<u64, StoreError> {
    let now = tx.now_ms();
    let (filter, value) = match which {
        Which::All => ("", ""),
        Which::One(id) => (" AND id = $3", id.as_str()),
        Which::CreatedBy(member_id) => (" AND created_by_member_id = $3", member_id.as_str()),
    };
    let sql = format!(
        "SELECT id FROM setup_links
         WHERE org_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2{filter}
         ORDER BY created_at, id"
    );
    let mut query = sqlx::query(&sql).bind(org_id).bind(now);
    if which != Which::All {
        query = query.bind(value);
    }
    let ids: Vec<String> = query
        .fetch_all(tx.conn())
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
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 1 {
            revoked += 1;
            let mut after = json!({ "link_id": id });
            if !reason.is_empty() {
                after["reason"] = json!(reason);
            }
            let entry = NewAudit {
                org_id: org_id.clone(),
                actor_id: actor.id.clone(),
                actor_email: actor.label.clone(),
                action: "setup_link_revoked".into(),
                target_id: None,
                target_email: String::new(),
                before: String::new(),
                after: after.to_string(),
            };
            audit::insert(tx, &entry).await?;
        }
    }
    Ok(revoked)
}

/// Inside `tx`: inserts `link` with the hash of its token. A link made by a member is
/// inserted only while they are the org's active owner (checked in the same statement);
/// false when they no longer are (nothing written).
pub async fn insert(tx: &mut Tx, link: &SetupLink, token_hash: &str) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO setup_links (id, org_id, token_hash, created_at, expires_at, created_by, created_by_member_id)
         SELECT $1, $2, $3, $4, $5, $6, $7
         WHERE CAST($7 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM members m
             WHERE m.id = $7 AND m.org_id = $2 AND m.role = 'owner' AND m.status = 'active')",
    )
    .bind(&link.id)
    .bind(&link.org_id)
    .bind(token_hash)
    .bind(link.created_at)
    .bind(link.expires_at)
    .bind(&link.created_by)
    .bind(link.created_by_member_id.as_ref().map(MemberId::as_str))
    .execute(tx.conn())
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Inside `tx`: marks the link used at `now` and drops its kept secret, only while it is open,
/// its creator still the owner and its latest passing test had exactly `values_hash`. False
/// when any of that no longer holds.
pub async fn consume(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    now: i64,
    values_hash: &str,
) -> Result<bool, StoreError> {
    let consumed = sqlx::query(&format!(
        "UPDATE setup_links SET used_at = $2, pending_secret_enc = NULL
         WHERE id = $1 AND passed_hash = $3
           AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
           AND {CREATOR_IS_OWNER}"
    ))
    .bind(link_id)
    .bind(now)
    .bind(values_hash)
    .execute(tx.conn())
    .await?;
    Ok(consumed.rows_affected() == 1)
}

/// What a finished connection test leaves on its link (see [`keep_test`]).
#[derive(Clone, Copy, Debug)]
pub struct TestValues<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The secret, sealed together with the issuer and Client ID.
    pub sealed_secret: &'a str,
    /// Fingerprint of the values when the test passed; `None` when it failed (which also
    /// forgets an earlier pass).
    pub passed_hash: Option<&'a str>,
    /// The test's report (JSON), when it ran; `None` when the test was refused before running.
    pub report: Option<&'a str>,
}

/// Inside `tx`: keeps a finished test's values on the link, only while it is open at `now` and
/// its creator still the owner; false otherwise (nothing kept).
pub async fn keep_test(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    now: i64,
    v: &TestValues<'_>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(&format!(
        "UPDATE setup_links SET pending_issuer = $2, pending_client_id = $3,
            pending_secret_enc = $4, passed_hash = $5,
            last_test_ok_at = COALESCE($6, last_test_ok_at), last_report = $8
         WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $7
           AND {CREATOR_IS_OWNER}"
    ))
    .bind(link_id)
    .bind(v.issuer)
    .bind(v.client_id)
    .bind(v.sealed_secret)
    .bind(v.passed_hash)
    .bind(v.passed_hash.map(|_| now))
    .bind(now)
    .bind(v.report)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside `tx`: counts one page audit entry against the link's `budget`; false when it is used
/// up (the entry is then not written).
pub async fn count_page_audit(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    budget: i64,
) -> Result<bool, StoreError> {
    let counted = sqlx::query(
        "UPDATE setup_links SET page_audit_rows = page_audit_rows + 1
         WHERE id = $1 AND page_audit_rows < $2",
    )
    .bind(link_id)
    .bind(budget)
    .execute(tx.conn())
    .await?;
    Ok(counted.rows_affected() == 1)
}

/// Inside `tx`: notes that the link was opened at `now`, unless that was last noted after
/// `noted_after` or the link's page audit `budget` is used up; true when noted.
pub async fn note_opened(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    now: i64,
    noted_after: i64,
    budget: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE setup_links SET opened_noted_at = $2
         WHERE id = $1 AND (opened_noted_at IS NULL OR opened_noted_at <= $3)
           AND page_audit_rows < $4",
    )
    .bind(link_id)
    .bind(now)
    .bind(noted_after)
    .bind(budget)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside `tx`: notes, once per link, that it was used after expiring, and drops its kept
/// secret; true when noted now.
pub async fn note_expired(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE setup_links SET expired_noted_at = $2, pending_secret_enc = NULL
         WHERE id = $1 AND expired_noted_at IS NULL AND expires_at <= $2",
    )
    .bind(link_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drops the client secrets kept on links expired at `now`; returns how many.
pub(super) async fn drop_expired_secrets(
    pool: &sqlx::AnyPool,
    now: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE setup_links SET pending_secret_enc = NULL
         WHERE expires_at <= $1 AND pending_secret_enc IS NOT NULL",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected())
}

impl Store {
    /// A link by id (tests and reloads).
    pub async fn setup_link(&self, id: &SetupLinkId) -> Result<Option<SetupLink>, StoreError> {
        let row = sqlx::query(&format!("{} WHERE id = $1", link_columns()))
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        Ok(row.map(|r| link_from_row(&r)).transpose()?)
    }

    /// The link whose token hashes to `token_hash`.
    pub async fn setup_link_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SetupLink>, StoreError> {
        let row = sqlx::query(&format!("{} WHERE token_hash = $1", link_columns()))
            .bind(token_hash)
            .fetch_optional(&self.readers)
            .await?;
        Ok(row.map(|r| link_from_row(&r)).transpose()?)
    }

    /// The latest `limit` links of an org, newest first.
    pub async fn setup_links_of(
        &self,
        org_id: &OrgId,
        limit: i64,
    ) -> Result<Vec<SetupLink>, StoreError> {
        let rows = sqlx::query(&format!(
            "{} WHERE org_id = $1 ORDER BY created_at DESC, id LIMIT $2",
            link_columns()
        ))
        .bind(org_id)
        .bind(limit)
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .iter()
            .map(link_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Counts one connection test of the link against its window: granted (true) while the
    /// link is open at `now`, its creator still the owner, and the window that started after
    /// `window_open_before` has had fewer than `limit` tests (a window older than that starts
    /// again). One statement, so the limit holds across nodes.
    pub async fn take_setup_test(
        &self,
        link_id: &SetupLinkId,
        now: i64,
        window_open_before: i64,
        limit: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE setup_links SET
                test_attempts = test_attempts + 1,
                test_window_attempts = CASE
                    WHEN test_window_start IS NULL OR test_window_start <= $2 THEN 1
                    ELSE test_window_attempts + 1 END,
                test_window_start = CASE
                    WHEN test_window_start IS NULL OR test_window_start <= $2 THEN $3
                    ELSE test_window_start END
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
               AND {CREATOR_IS_OWNER}
               AND (test_window_start IS NULL OR test_window_start <= $2 OR test_window_attempts < $4)"
        ))
        .bind(link_id)
        .bind(window_open_before)
        .bind(now)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
