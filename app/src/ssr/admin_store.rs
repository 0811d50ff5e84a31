//! Store functions of the admin domain: the members directory (paged, searchable), guarded
//! member updates written together with their audit entry in one transaction, SSO settings,
//! the audit log (with its actors) and login statistics, and the revocation of setup links
//! that a change (in the same transaction) leaves without a valid creator.
//!
//! Same portable SQL as [`super::store`]. Every update is guarded: it applies only while the
//! actor still holds the role the decision was made with, and the target still has the role
//! and status it was checked with, so concurrent admin actions cannot slip past the rules.

use super::login::{LoginAttempt, Outcome};
use super::store::{
    DbKind, INSERT_MEMBER_TRIES, MEMBER_COLUMNS, NewMember, Store, StoreError,
    insert_member_contention, insert_member_in, member_from_row, new_id, now_ms,
};
use crate::api::login_reason::LoginReason;
use crate::api::types::MemberCounts;
use crate::model::{DefaultRole, Member, MemberStatus, Role};
use crate::validate::{MAX_STORED_CHARS, bounded};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// An audit entry to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAudit {
    pub org_id: String,
    pub actor_id: Option<String>,
    pub actor_email: String,
    pub action: String,
    pub target_id: Option<String>,
    pub target_email: String,
    pub before: String,
    pub after: String,
}

impl NewAudit {
    /// An entry by `actor` about `target` (or about the org when `None`).
    pub fn new(actor: &Member, action: &str, target: Option<&Member>) -> NewAudit {
        NewAudit {
            org_id: actor.org_id.clone(),
            actor_id: Some(actor.id.clone()),
            actor_email: actor.email.clone(),
            action: action.to_string(),
            target_id: target.map(|t| t.id.clone()),
            target_email: target.map(|t| t.email.clone()).unwrap_or_default(),
            before: String::new(),
            after: String::new(),
        }
    }

    /// Sets before and after (short JSON).
    pub fn change(mut self, before: serde_json::Value, after: serde_json::Value) -> NewAudit {
        self.before = before.to_string();
        self.after = after.to_string();
        self
    }
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub org_id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_email: String,
    pub action: String,
    pub target_id: Option<String>,
    pub target_email: String,
    pub before: String,
    pub after: String,
}

/// The state a member update was decided on; the update applies only while it still holds.
#[derive(Clone, Copy, Debug)]
pub struct Guard<'a> {
    pub org_id: &'a str,
    pub actor_id: &'a str,
    pub actor_role: Role,
    pub target_id: &'a str,
    pub target_role: Role,
    pub target_status: MemberStatus,
}

/// `WHERE` clause of a guarded member update, binding $1..$6 (see [`bind_guard`]).
const GUARD: &str = "org_id = $1 AND id = $2 AND role = $3 AND status = $4
    AND EXISTS (SELECT 1 FROM members a
                WHERE a.org_id = $1 AND a.id = $5 AND a.role = $6 AND a.status = 'active')";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_guard<'q>(q: AnyQuery<'q>, g: &Guard<'q>) -> AnyQuery<'q> {
    q.bind(g.org_id)
        .bind(g.target_id)
        .bind(g.target_role.as_str())
        .bind(g.target_status.as_str())
        .bind(g.actor_id)
        .bind(g.actor_role.as_str())
}

/// Longest `before`/`after` of an audit entry that is stored, in characters (short JSON; the
/// values in it may come from outside, e.g. an issuer typed into a setup link).
const MAX_AUDIT_CHANGE_CHARS: usize = 2048;

/// A text from outside as it is stored and shown: control characters removed, bounded.
fn stored_text(v: &str) -> String {
    bounded(v, MAX_STORED_CHARS)
}

/// Writes an audit entry. Emails and before/after are stored bounded with control characters
/// removed, whatever the caller passes.
pub(crate) async fn insert_audit(
    conn: &mut AnyConnection,
    a: &NewAudit,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(&a.org_id)
    .bind(now_ms())
    .bind(a.actor_id.as_deref())
    .bind(stored_text(&a.actor_email))
    .bind(bounded(&a.action, 64))
    .bind(a.target_id.as_deref())
    .bind(stored_text(&a.target_email))
    .bind(bounded(&a.before, MAX_AUDIT_CHANGE_CHARS))
    .bind(bounded(&a.after, MAX_AUDIT_CHANGE_CHARS))
    .execute(conn)
    .await?;
    Ok(())
}

/// Audit actor of what the operator does with the CLI (setup links, SSO and membership changes).
pub const ACTOR_CLI: &str = "operator (CLI)";

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

/// Revokes, inside `tx`, the open links of `org_id` matching `filter` (SQL on `setup_links`;
/// `$1` is the org id, `$2` now and `$3` the filter's `value`), one `setup_link_revoked` audit
/// entry each (`reason`, when given, goes into `after`); returns how many.
pub(crate) async fn revoke_in(
    tx: &mut AnyConnection,
    org_id: &str,
    filter: &str,
    value: &str,
    actor: &Actor,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let ids: Vec<String> = sqlx::query(&format!(
        "SELECT id FROM setup_links
         WHERE org_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 AND {filter}
         ORDER BY created_at, id"
    ))
    .bind(org_id)
    .bind(now)
    .bind(value)
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
            let mut after = json!({ "link_id": id });
            if !reason.is_empty() {
                after["reason"] = json!(reason);
            }
            let audit = NewAudit {
                org_id: org_id.to_string(),
                actor_id: actor.id.clone(),
                actor_email: actor.label.clone(),
                action: "setup_link_revoked".into(),
                target_id: None,
                target_email: String::new(),
                before: String::new(),
                after: after.to_string(),
            };
            insert_audit(&mut *tx, &audit).await?;
        }
    }
    Ok(revoked)
}

/// Inside a membership change's transaction: revokes the open links made by `member_id`, who
/// is no longer the owner (ownership transferred) or no longer a member (removed). `actor` is
/// whoever made the change.
/// `reason` goes into each entry's `after.reason`: `creator_no_longer_owner` or
/// `creator_removed`.
pub(crate) async fn revoke_links_of_creator(
    tx: &mut AnyConnection,
    org_id: &str,
    member_id: &str,
    actor: &Actor,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    revoke_in(
        tx,
        org_id,
        "created_by_member_id = $3",
        member_id,
        actor,
        reason,
    )
    .await
}

/// Who made a change, as its audit entry names them (for the entries it causes).
fn audit_actor(audit: &NewAudit) -> Actor {
    Actor {
        id: audit.actor_id.clone(),
        label: audit.actor_email.clone(),
    }
}

/// `%` and `_` (and the escape character itself) match literally in a LIKE pattern.
fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The members of org `$1` whose name or email contains `q` (any case), as a condition and
/// the value bound to `$2`.
///
/// - SQLite, `q` of 3 or more characters: the FTS5 trigram index `members_fts` (migration
///   `20261127000007`), `$2` a quoted phrase, so every character matches literally.
/// - SQLite, shorter: a scan with LIKE, which already ignores (ASCII) case as SQLite's LOWER()
///   only folds ASCII, so the columns are compared as they are.
/// - PostgreSQL: `LOWER(column) LIKE`, the expression its trigram indexes
///   (`members_name_trgm`, `members_email_trgm`) are built on; they serve 3 or more characters.
///
/// The condition includes the org filter (`$1`). With the FTS index, SQLite must be steered to
/// start from the matches: `+org_id` keeps it from walking the whole org in name order instead
/// (its planner cannot tell how few rows a MATCH yields).
fn search_condition(kind: DbKind, q: &str) -> (&'static str, String) {
    match kind {
        DbKind::Sqlite if q.chars().count() >= 3 => (
            "+org_id = $1 AND id IN (SELECT member_id FROM member_search_keys WHERE k IN (
                 SELECT rowid FROM members_fts WHERE members_fts MATCH $2))",
            fts_phrase(q),
        ),
        DbKind::Sqlite => (
            "org_id = $1 AND (name LIKE $2 ESCAPE '\\' OR email LIKE $2 ESCAPE '\\')",
            like_pattern(q),
        ),
        DbKind::Postgres => (
            "org_id = $1 AND (LOWER(name) LIKE LOWER($2) ESCAPE '\\' OR LOWER(email) LIKE LOWER($2) ESCAPE '\\')",
            like_pattern(q),
        ),
    }
}

/// An FTS5 query matching `q` as one literal string: a phrase in double quotes, inner quotes
/// doubled.
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

const ATTEMPT_COLUMNS: &str = "SELECT id, org_id, at, outcome, reason, detail, issuer, subject, email, member_id FROM login_attempts";

fn optional_text(v: Option<String>) -> Option<String> {
    v.map(|v| stored_text(&v))
}

fn attempt_from_row(row: &AnyRow) -> Result<LoginAttempt, StoreError> {
    let outcome: String = row.try_get("outcome")?;
    let reason: String = row.try_get("reason")?;
    Ok(LoginAttempt {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        at: row.try_get("at")?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| {
            super::store::corrupt(format!("unknown login outcome {outcome:?} in store"))
        })?,
        reason: LoginReason::from_code(&reason).ok_or_else(|| {
            super::store::corrupt(format!(
                "unknown login reason {:?} in store",
                bounded(&reason, 64)
            ))
        })?,
        // Rows written before values were bounded on the way in are made safe on the way out.
        detail: stored_text(&row.try_get::<String, _>("detail")?),
        issuer: optional_text(row.try_get("issuer")?),
        subject: optional_text(row.try_get("subject")?),
        email: optional_text(row.try_get("email")?),
        member_id: row.try_get("member_id")?,
    })
}

impl Store {
    // ---- the members directory ------------------------------------------------------------

    /// One page of an org's members ordered by name, email, id. With a `search` (a substring
    /// of name or email, any case), also how many match; without one the total is the org-wide
    /// count the caller gets from [`Store::member_counts`].
    ///
    /// The page is picked from the `(org_id, name, email, id)` index alone and only its rows
    /// are read from the table, so a deep `OFFSET` steps over index entries, not rows.
    pub async fn members_page(
        &self,
        org_id: &str,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Member>, Option<i64>), StoreError> {
        let search = search.map(|q| search_condition(self.kind(), q));
        let (condition, limits) = match &search {
            None => ("org_id = $1", "LIMIT $2 OFFSET $3"),
            Some((condition, _)) => (*condition, "LIMIT $3 OFFSET $4"),
        };
        let sql = format!(
            "{MEMBER_COLUMNS} WHERE id IN (
                 SELECT id FROM members WHERE {condition} ORDER BY name, email, id {limits}
             ) ORDER BY name, email, id"
        );
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some((_, value)) = &search {
            query = query.bind(value);
        }
        let rows = query
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        let members = rows.iter().map(member_from_row).collect::<Result<_, _>>()?;
        let Some((condition, value)) = search else {
            return Ok((members, None));
        };
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM members WHERE {condition}"
        ))
        .bind(org_id)
        .bind(value)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        Ok((members, Some(total)))
    }

    /// How many members an org has, by status and by role: one row of `member_stats`, which
    /// triggers keep exact (migrations `20261127000005`/`6`).
    pub async fn member_counts(&self, org_id: &str) -> Result<MemberCounts, StoreError> {
        let row = sqlx::query(
            "SELECT owners, admins, members, active, deactivated FROM member_stats WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(MemberCounts::default());
        };
        Ok(MemberCounts {
            owner: row.try_get("owners")?,
            admin: row.try_get("admins")?,
            member: row.try_get("members")?,
            active: row.try_get("active")?,
            deactivated: row.try_get("deactivated")?,
        })
    }

    // ---- guarded member updates -------------------------------------------------------------

    /// Changes the target's role (never to or from owner: see [`Store::transfer_ownership`]).
    /// False when the guard no longer holds.
    pub async fn set_member_role(
        &self,
        g: &Guard<'_>,
        to: Role,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        if to == Role::Owner || g.target_role == Role::Owner {
            return Err(StoreError::Invalid(
                "ownership changes only by a transfer".into(),
            ));
        }
        let mut tx = self.pool().begin().await?;
        let sql = format!("UPDATE members SET role = $7 WHERE {GUARD}");
        let done = bind_guard(sqlx::query(&sql), g)
            .bind(to.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deactivates or reactivates the target. Deactivation deletes all of the target's sessions
    /// in the same transaction. False when the guard no longer holds.
    pub async fn set_member_status(
        &self,
        g: &Guard<'_>,
        to: MemberStatus,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!("UPDATE members SET status = $7 WHERE {GUARD}");
        let done = bind_guard(sqlx::query(&sql), g)
            .bind(to.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if to == MemberStatus::Deactivated {
            sqlx::query("DELETE FROM sessions WHERE member_id = $1")
                .bind(g.target_id)
                .execute(&mut *tx)
                .await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes the target, all their sessions and the open setup links they made. False when
    /// the guard no longer holds.
    pub async fn delete_member(&self, g: &Guard<'_>, audit: &NewAudit) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!("DELETE FROM members WHERE {GUARD}");
        let done = bind_guard(sqlx::query(&sql), g).execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM sessions WHERE member_id = $1")
            .bind(g.target_id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        revoke_links_of_creator(
            &mut tx,
            g.org_id,
            g.target_id,
            &audit_actor(audit),
            "creator_removed",
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// [`Store::insert_member`] with an audit entry: when the member is created, `audit` of the
    /// member as stored is written in the same transaction (just-in-time provisioning's
    /// `member_provisioned`). Returns the member and whether it was created.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_member_audited(
        &self,
        org_id: &str,
        issuer: &str,
        subject: &str,
        email: &str,
        name: &str,
        default_role: Role,
        audit: &(dyn Fn(&Member) -> NewAudit + Sync),
    ) -> Result<(Member, bool), StoreError> {
        let new = NewMember {
            org_id,
            issuer,
            subject,
            email,
            name,
            default_role,
        };
        for _ in 0..INSERT_MEMBER_TRIES {
            let mut tx = self.pool().begin().await?;
            match insert_member_in(&mut tx, &new).await {
                Ok(Some(row)) => {
                    let member = member_from_row(&row)?;
                    insert_audit(&mut tx, &audit(&member)).await?;
                    tx.commit().await?;
                    return Ok((member, true));
                }
                // The same person was there already (or arrived meanwhile): nothing to audit.
                Ok(None) => {
                    tx.rollback().await?;
                    let member = self
                        .member_by_subject(org_id, issuer, subject)
                        .await?
                        .ok_or_else(|| StoreError::NotFound("member vanished".into()))?;
                    return Ok((member, false));
                }
                // Another first sign-in took ownership between our check and our insert.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(insert_member_contention())
    }

    /// The org's members with this email (any case, Unicode included), oldest first. The case
    /// is compared here, not in SQL: SQLite's `LOWER` folds only ASCII and PostgreSQL's all
    /// letters, and both databases must find the same members (`Ädam@…` for `ädam@…`).
    pub async fn members_by_email(
        &self,
        org_id: &str,
        email: &str,
    ) -> Result<Vec<Member>, StoreError> {
        let wanted = email.to_lowercase();
        let rows = sqlx::query(&format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1 AND LENGTH(email) = LENGTH($2) ORDER BY created_at, id"
        ))
        .bind(org_id)
        .bind(email)
        .fetch_all(self.pool())
        .await?;
        let mut found = Vec::new();
        for row in &rows {
            let m = member_from_row(row)?;
            if m.email.to_lowercase() == wanted {
                found.push(m);
            }
        }
        Ok(found)
    }

    /// The org's owner, if it has one.
    pub async fn owner_of(&self, org_id: &str) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1 AND role = 'owner'"
        ))
        .bind(org_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// Makes `new_owner_id` (active, admin or member) the owner and the active owner
    /// `owner_id` an admin, in one transaction: the demotion runs first, so the partial
    /// unique index `members_one_owner` never sees two owners, and a failed promotion rolls
    /// the demotion back, so the org is never without one. The old owner's open setup links
    /// are revoked in the same transaction. `owner_id` is `None` only for an org without an
    /// owner (the operator's `tessera org transfer-owner`); the index still allows only one.
    /// False when either step no longer applies (nothing changed).
    pub async fn transfer_ownership(
        &self,
        org_id: &str,
        owner_id: Option<&str>,
        new_owner_id: &str,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Ownership moves one at a time per org, after any re-key of its members (which takes
        // the same lock first): the two never lock members in opposite orders.
        super::store::lock_org_connection_in(&mut tx, org_id).await?;
        if let Some(owner_id) = owner_id
            && self.kind() == DbKind::Postgres
        {
            // Both members first, in id order: the counter trigger locks the org's
            // member_stats row at the end of each statement, and a concurrent single-member
            // update must not hold one of our rows while waiting for that counter row.
            sqlx::query(
                "SELECT id FROM members WHERE org_id = $1 AND id IN ($2, $3) ORDER BY id FOR UPDATE",
            )
            .bind(org_id)
            .bind(owner_id)
            .bind(new_owner_id)
            .fetch_all(&mut *tx)
            .await?;
        }
        if let Some(owner_id) = owner_id {
            let demoted = sqlx::query(
                "UPDATE members SET role = 'admin'
                 WHERE org_id = $1 AND id = $2 AND role = 'owner' AND status = 'active'",
            )
            .bind(org_id)
            .bind(owner_id)
            .execute(&mut *tx)
            .await?;
            if demoted.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let promoted = sqlx::query(
            "UPDATE members SET role = 'owner'
             WHERE org_id = $1 AND id = $2 AND role IN ('admin', 'member') AND status = 'active'",
        )
        .bind(org_id)
        .bind(new_owner_id)
        .execute(&mut *tx)
        .await;
        match promoted {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => {
                tx.rollback().await?;
                return Ok(false);
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        insert_audit(&mut tx, audit).await?;
        if let Some(owner_id) = owner_id {
            revoke_links_of_creator(
                &mut tx,
                org_id,
                owner_id,
                &audit_actor(audit),
                "creator_no_longer_owner",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    // ---- SSO settings ----------------------------------------------------------------------

    /// Sets the JIT policy and, when `turn_on`, turns SSO on (otherwise the switch stays as it
    /// is: an owner never turns it off, see `membership::update_sso_settings`),
    /// while `owner_id` is still the org's active owner. False when the org has no connection
    /// or the guard no longer holds.
    pub async fn update_sso_settings(
        &self,
        org_id: &str,
        owner_id: &str,
        turn_on: bool,
        jit_enabled: bool,
        default_role: DefaultRole,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE sso_connections SET enabled = CASE WHEN $1 = 1 THEN 1 ELSE enabled END,
                    jit_enabled = $2, default_role = $3, updated_at = $4
             WHERE org_id = $5
               AND EXISTS (SELECT 1 FROM members a
                           WHERE a.org_id = $5 AND a.id = $6 AND a.role = 'owner' AND a.status = 'active')",
        )
        .bind(i64::from(turn_on))
        .bind(i64::from(jit_enabled))
        .bind(default_role.as_str())
        .bind(now_ms())
        .bind(org_id)
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces the sealed client secret `old_sealed` by `new_sealed`, while `owner_id` is
    /// still the org's active owner. False when the secret changed meanwhile.
    pub async fn replace_client_secret(
        &self,
        org_id: &str,
        owner_id: &str,
        old_sealed: &str,
        new_sealed: &str,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE sso_connections SET client_secret_enc = $1, updated_at = $2
             WHERE org_id = $3 AND client_secret_enc = $4
               AND EXISTS (SELECT 1 FROM members a
                           WHERE a.org_id = $3 AND a.id = $5 AND a.role = 'owner' AND a.status = 'active')",
        )
        .bind(new_sealed)
        .bind(now_ms())
        .bind(org_id)
        .bind(old_sealed)
        .bind(owner_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    // ---- the audit log ---------------------------------------------------------------------

    /// Writes one audit entry on its own.
    pub async fn record_audit(&self, audit: &NewAudit) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        insert_audit(&mut conn, audit).await?;
        Ok(())
    }

    /// One page of an org's audit log, newest first, and the number of entries.
    pub async fn audit_entries(
        &self,
        org_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditEntry>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after
             FROM audit_log WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(org_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    org_id: r.try_get("org_id")?,
                    at: r.try_get("at")?,
                    actor_id: r.try_get("actor_id")?,
                    // Older rows were stored unbounded: made safe on the way out too.
                    actor_email: stored_text(&r.try_get::<String, _>("actor_email")?),
                    action: bounded(&r.try_get::<String, _>("action")?, 64),
                    target_id: r.try_get("target_id")?,
                    target_email: stored_text(&r.try_get::<String, _>("target_email")?),
                    before: bounded(&r.try_get::<String, _>("before")?, MAX_AUDIT_CHANGE_CHARS),
                    after: bounded(&r.try_get::<String, _>("after")?, MAX_AUDIT_CHANGE_CHARS),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok((entries, total))
    }

    // ---- login statistics ------------------------------------------------------------------

    /// An org's most recent login attempts, newest first, optionally of one outcome.
    pub async fn login_attempts_of(
        &self,
        org_id: &str,
        outcome: Option<Outcome>,
        limit: i64,
    ) -> Result<Vec<LoginAttempt>, StoreError> {
        let rows = match outcome {
            Some(o) => {
                sqlx::query(&format!(
                    "{ATTEMPT_COLUMNS} WHERE org_id = $1 AND outcome = $2 ORDER BY at DESC, id DESC LIMIT $3"
                ))
                .bind(org_id)
                .bind(o.as_str())
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "{ATTEMPT_COLUMNS} WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
                ))
                .bind(org_id)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(attempt_from_row).collect()
    }

    /// Attempts per UTC day since `since_ms`: `(day number since the epoch, successes,
    /// failures)`, only days that had attempts, in no particular order.
    pub async fn daily_login_counts(
        &self,
        org_id: &str,
        since_ms: i64,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT at / 86400000 AS day,
                    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS ok,
                    SUM(CASE WHEN outcome = 'success' THEN 0 ELSE 1 END) AS failed
             FROM login_attempts WHERE org_id = $1 AND at >= $2
             GROUP BY at / 86400000",
        )
        .bind(org_id)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("day")?,
                    r.try_get::<i64, _>("ok")?,
                    r.try_get::<i64, _>("failed")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The latest successful sign-in: when, the email it carried and the member's name.
    pub async fn last_login_success(
        &self,
        org_id: &str,
    ) -> Result<Option<(i64, String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT a.at, a.email, m.name FROM login_attempts a
             LEFT JOIN members m ON m.id = a.member_id
             WHERE a.org_id = $1 AND a.outcome = 'success'
             ORDER BY a.at DESC, a.id DESC LIMIT 1",
        )
        .bind(org_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let at: i64 = row.try_get("at")?;
        let email: Option<String> = row.try_get("email")?;
        let name: Option<String> = row.try_get("name")?;
        Ok(Some((
            at,
            stored_text(&email.unwrap_or_default()),
            stored_text(&name.unwrap_or_default()),
        )))
    }

    /// The latest failed sign-in attempt.
    pub async fn last_login_failure(
        &self,
        org_id: &str,
    ) -> Result<Option<LoginAttempt>, StoreError> {
        let row = sqlx::query(&format!(
            "{ATTEMPT_COLUMNS} WHERE org_id = $1 AND outcome = 'failure' ORDER BY at DESC, id DESC LIMIT 1"
        ))
        .bind(org_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| attempt_from_row(&r)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::{Outcome, fts_phrase, like_pattern};

    #[test]
    fn stored_login_outcomes_map_strictly() {
        for o in [Outcome::Success, Outcome::Failure] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        for bad in ["", "Success", "failed", "ok"] {
            assert_eq!(Outcome::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern("ann"), "%ann%");
        assert_eq!(fts_phrase("ann"), "\"ann\"");
        assert_eq!(fts_phrase("a\"b OR c*"), "\"a\"\"b OR c*\"");
        assert_eq!(like_pattern("100%"), "%100\\%%");
        assert_eq!(like_pattern("a_b"), "%a\\_b%");
        assert_eq!(like_pattern("c:\\x"), "%c:\\\\x%");
    }
}
