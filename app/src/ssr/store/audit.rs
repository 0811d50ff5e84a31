//! The audit log: entries and who wrote them. Every change of an org writes its entry in the
//! change's own transaction ([`insert`]); what comes from outside is stored bounded.

use super::{Store, StoreError, Tx, count, new_id, stored_text};
use crate::model::{MemberId, OrgId};
use crate::validate::bounded;
use sqlx::Row;

/// An audit entry to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAudit {
    pub org_id: OrgId,
    pub actor_id: Option<MemberId>,
    pub actor_email: String,
    pub action: String,
    pub target_id: Option<MemberId>,
    pub target_email: String,
    pub before: String,
    pub after: String,
}

impl NewAudit {
    /// Sets before and after (short JSON).
    pub fn change(mut self, before: serde_json::Value, after: serde_json::Value) -> NewAudit {
        self.before = before.to_string();
        self.after = after.to_string();
        self
    }

    /// Who made the change, as its entry names them (for the entries it causes).
    pub fn actor(&self) -> AuditActor {
        AuditActor {
            id: self.actor_id.clone(),
            label: self.actor_email.clone(),
        }
    }
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub org_id: OrgId,
    pub at: i64,
    pub actor_id: Option<MemberId>,
    pub actor_email: String,
    pub action: String,
    pub target_id: Option<MemberId>,
    pub target_email: String,
    pub before: String,
    pub after: String,
}

/// Who wrote an entry, as the store records them: the acting member's id (`None` for the
/// operator, Okta or a setup link) and the label the log shows. The domain's actor
/// (`ssr::actor::Actor::recorded`) is the only maker of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditActor {
    pub id: Option<MemberId>,
    pub label: String,
}

/// Longest `before`/`after` of an audit entry that is stored, in characters (short JSON; the
/// values in it may come from outside, e.g. an issuer typed into a setup link).
const MAX_AUDIT_CHANGE_CHARS: usize = 2048;

/// Batched retention delete of entries written before `$1`, at most `$2` at a time (see
/// [`Store::purge_retention`]).
pub(super) const ENTRIES_OLDER_THAN: &str =
    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 LIMIT $2)";

async fn insert_on<'e, E>(e: E, at: i64, a: &NewAudit) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(&a.org_id)
    .bind(at)
    .bind(a.actor_id.as_ref().map(MemberId::as_str))
    .bind(stored_text(&a.actor_email))
    .bind(bounded(&a.action, 64))
    .bind(a.target_id.as_ref().map(MemberId::as_str))
    .bind(stored_text(&a.target_email))
    .bind(bounded(&a.before, MAX_AUDIT_CHANGE_CHARS))
    .bind(bounded(&a.after, MAX_AUDIT_CHANGE_CHARS))
    .execute(e)
    .await?;
    Ok(())
}

/// Writes an audit entry inside `tx`. Emails and before/after are stored bounded with control
/// characters removed, whatever the caller passes.
pub async fn insert(tx: &mut Tx, a: &NewAudit) -> Result<(), StoreError> {
    let at = tx.now_ms();
    insert_on(tx.conn(), at, a).await
}

impl Store {
    /// Writes one audit entry on its own (bounded as [`insert`] does).
    pub async fn record_audit(&self, audit: &NewAudit) -> Result<(), StoreError> {
        insert_on(&self.pool, self.now_ms(), audit).await
    }

    /// One page of an org's audit log, newest first, and the number of entries.
    pub async fn audit_entries(
        &self,
        org_id: &OrgId,
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
        .fetch_all(&self.pool)
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
        let query = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE org_id = $1");
        let total = count(&self.pool, query.bind(org_id)).await?;
        Ok((entries, total))
    }
}
