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

/// Writes audit entries inside `tx`, bounded as [`insert`] does, many a statement (a group
/// push can change thousands of roles at once).
pub async fn insert_many(tx: &mut Tx, entries: &[NewAudit]) -> Result<(), StoreError> {
    /// Entries a statement: 10 parameters each, well under both databases' limits.
    const PER_STATEMENT: usize = 100;
    let at = tx.now_ms();
    for chunk in entries.chunks(PER_STATEMENT) {
        let rows = (0..chunk.len())
            .map(|i| {
                let p = i * 10;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8,
                    p + 9,
                    p + 10
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO audit_log (id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after) VALUES {rows}"
        );
        let mut query = sqlx::query(&sql);
        for a in chunk {
            query = query
                .bind(new_id())
                .bind(&a.org_id)
                .bind(at)
                .bind(a.actor_id.as_ref().map(MemberId::as_str))
                .bind(stored_text(&a.actor_email))
                .bind(bounded(&a.action, 64))
                .bind(a.target_id.as_ref().map(MemberId::as_str))
                .bind(stored_text(&a.target_email))
                .bind(bounded(&a.before, MAX_AUDIT_CHANGE_CHARS))
                .bind(bounded(&a.after, MAX_AUDIT_CHANGE_CHARS));
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

impl Store {
    /// Writes one audit entry on its own (bounded as [`insert`] does).
    pub async fn record_audit(&self, audit: &NewAudit) -> Result<(), StoreError> {
        insert_on(&self.pool, self.now_ms(), audit).await
    }

    /// One page of an org's audit log matching `filter`, newest first, and the number of
    /// entries that match.
    pub async fn audit_entries(
        &self,
        org_id: &OrgId,
        filter: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditEntry>, i64), StoreError> {
        let (condition, binds) = filter.condition();
        let n = binds.len() + 2;
        let sql = format!(
            "{ENTRY_COLUMNS} WHERE {condition} ORDER BY at DESC, id DESC LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let query = Bind::all(sqlx::query(&sql).bind(org_id), &binds);
        let rows = query
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.readers)
            .await?;
        let entries = rows.iter().map(entry_from_row).collect::<Result<_, _>>()?;
        Ok((entries, self.audit_count(org_id, filter).await?))
    }

    /// How many entries of an org's log match `filter`.
    pub async fn audit_count(
        &self,
        org_id: &OrgId,
        filter: &AuditFilter,
    ) -> Result<i64, StoreError> {
        let (condition, binds) = filter.condition();
        let sql = format!("SELECT COUNT(*) AS n FROM audit_log WHERE {condition}");
        count(
            &self.readers,
            Bind::all(sqlx::query(&sql).bind(org_id), &binds),
        )
        .await
    }

    /// Up to `limit` entries of an org's log matching `filter` that come after `after` (an
    /// entry's `(at, id)`) in the newest-first order, or from the newest when `None`: the
    /// export reads the log in these batches, each an index range, however deep it goes.
    pub async fn audit_entries_after(
        &self,
        org_id: &OrgId,
        filter: &AuditFilter,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (mut condition, mut binds) = filter.condition();
        if let Some((at, id)) = after {
            // `(at, id) < (after)`, with `at <= …` on its own so the time index bounds it.
            let n = binds.len() + 2;
            condition.push_str(&format!(
                " AND at <= ${n} AND (at < ${n} OR id < ${})",
                n + 1
            ));
            binds.push(Bind::Int(at));
            binds.push(Bind::Text(id.to_string()));
        }
        let sql = format!(
            "{ENTRY_COLUMNS} WHERE {condition} ORDER BY at DESC, id DESC LIMIT ${}",
            binds.len() + 2
        );
        let query = Bind::all(sqlx::query(&sql).bind(org_id), &binds);
        let rows = query.bind(limit).fetch_all(&self.readers).await?;
        Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
    }
}

const ENTRY_COLUMNS: &str = "SELECT id, org_id, at, actor_id, actor_email, action, target_id, target_email, before, after FROM audit_log";

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
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
}

/// Which entries of an org's log to read: every one when all fields are `None`. The values
/// come from outside (the log's filters), so they are bound as parameters, never written into
/// the SQL; the domain bounds their lengths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor's email or label contains this, in any (ASCII) case; `%` and `_` match
    /// literally.
    pub actor: Option<String>,
    /// Exactly this action code.
    pub action: Option<String>,
    /// Written at or after this time (Unix ms).
    pub from_ms: Option<i64>,
    /// Written before this time (Unix ms).
    pub until_ms: Option<i64>,
}

impl AuditFilter {
    /// `org_id = $1 AND …` and the values of `$2…` in order. One text for both databases:
    /// `LOWER(…) LIKE LOWER(…)` ignores ASCII case on both (PostgreSQL also folds other
    /// letters). The org and time conditions are served by `audit_log_by_org_time`, the action
    /// by `audit_log_by_org_action_time` (migration `20261201000110`).
    fn condition(&self) -> (String, Vec<Bind>) {
        let mut sql = String::from("org_id = $1");
        let mut binds = Vec::new();
        let mut add = |sql_part: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&sql_part.replace('?', &format!("${}", binds.len() + 1)));
        };
        if let Some(action) = &self.action {
            add(" AND action = ?", Bind::Text(action.clone()));
        }
        if let Some(from) = self.from_ms {
            add(" AND at >= ?", Bind::Int(from));
        }
        if let Some(until) = self.until_ms {
            add(" AND at < ?", Bind::Int(until));
        }
        if let Some(actor) = &self.actor {
            add(
                " AND LOWER(actor_email) LIKE LOWER(?) ESCAPE '\\'",
                Bind::Text(super::dialect::like_pattern(actor)),
            );
        }
        (sql, binds)
    }
}

/// A value bound to a filter's parameter.
enum Bind {
    Text(String),
    Int(i64),
}

impl Bind {
    fn all<'q>(
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        binds: &'q [Bind],
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for b in binds {
            query = match b {
                Bind::Text(s) => query.bind(s.as_str()),
                Bind::Int(n) => query.bind(*n),
            };
        }
        query
    }
}
