//! Members: lookup by (org, issuer key, subject), id or email; the first member becoming the
//! owner on insert; the sign-in touch; the paged, searchable directory and its counts; the
//! operator's filtered list; guarded role and status changes, removal and ownership transfer
//! (each with its audit entry, in one transaction); the issuers members are keyed to and their
//! re-keying.
//!
//! Every guarded update applies only while the acting member (if a member acts, not the
//! operator) still holds the role the decision was made with, and the target still has the
//! role and status it was checked with, so concurrent admin actions cannot slip past the rules.

use super::audit::{self, NewAudit};
use super::dialect::{self, is_unique_violation};
use super::setup_links::{self, Which};
use super::{Store, StoreError, Tx, corrupt, count, invitations, new_id, sessions, stored_text};
use crate::api::types::MemberCounts;
use crate::model::{InvitationId, MemberId, OrgId};
use crate::model::{Member, MemberStatus, Role};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The columns [`member_from_row`] reads.
macro_rules! member_fields {
    () => {
        "id, org_id, issuer, subject, email, name, role, status, created_at, last_login_at"
    };
}

/// How often [`Store::insert_member`] tries before giving up on concurrent first sign-ins.
const INSERT_MEMBER_TRIES: usize = 8;

/// `SELECT` of every member column, for a `WHERE` to follow.
const MEMBER_COLUMNS: &str = concat!("SELECT ", member_fields!(), " FROM members");

/// A role column (`members.role`, `sso_connections.default_role`) as stored: `owner`, `admin`
/// or `member`. Anything else is a store error, never a silent default.
pub(super) fn role_from_db(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| corrupt(format!("unknown role {role:?} in store")))
}

/// `members.status` as stored: `active` or `deactivated`. Anything else is a store error.
pub(super) fn status_from_db(status: &str) -> Result<MemberStatus, StoreError> {
    MemberStatus::parse(status)
        .ok_or_else(|| corrupt(format!("unknown status {status:?} in store")))
}

/// The names of the columns of `member_fields!`, in its order.
const MEMBER_NAMES: [&str; 10] = [
    "id",
    "org_id",
    "issuer",
    "subject",
    "email",
    "name",
    "role",
    "status",
    "created_at",
    "last_login_at",
];

/// The member columns as `m_`-prefixed aliases (`m.id AS m_id, …`), for a query that also
/// selects columns of the same names from other tables; read with [`member_from_m_row`].
macro_rules! member_fields_as_m {
    () => {
        "m.id AS m_id, m.org_id AS m_org_id, m.issuer AS m_issuer, m.subject AS m_subject, m.email AS m_email, m.name AS m_name, m.role AS m_role, m.status AS m_status, m.created_at AS m_created_at, m.last_login_at AS m_last_login_at"
    };
}
pub(super) use member_fields_as_m;

/// The names `member_fields_as_m!` gives the member columns.
const MEMBER_NAMES_AS_M: [&str; 10] = [
    "m_id",
    "m_org_id",
    "m_issuer",
    "m_subject",
    "m_email",
    "m_name",
    "m_role",
    "m_status",
    "m_created_at",
    "m_last_login_at",
];

pub(super) fn member_from_row(row: &AnyRow) -> Result<Member, StoreError> {
    member_from_columns(row, &MEMBER_NAMES)
}

/// A member from a row selected with `member_fields_as_m!`.
pub(super) fn member_from_m_row(row: &AnyRow) -> Result<Member, StoreError> {
    member_from_columns(row, &MEMBER_NAMES_AS_M)
}

fn member_from_columns(row: &AnyRow, c: &[&str; 10]) -> Result<Member, StoreError> {
    let role: String = row.try_get(c[6])?;
    let status: String = row.try_get(c[7])?;
    Ok(Member {
        id: row.try_get(c[0])?,
        org_id: row.try_get(c[1])?,
        issuer: row.try_get(c[2])?,
        subject: row.try_get(c[3])?,
        email: row.try_get(c[4])?,
        name: row.try_get(c[5])?,
        role: role_from_db(&role)?,
        status: status_from_db(&status)?,
        created_at: row.try_get(c[8])?,
        last_login_at: row.try_get(c[9])?,
    })
}

/// The state a member update was decided on; the update applies only while it still holds.
#[derive(Clone, Copy, Debug)]
pub struct Guard<'a> {
    pub org_id: &'a OrgId,
    /// The acting member and the role the decision was made with (they must still be active
    /// with it); `None` for the service operator, who holds no membership to lose meanwhile.
    pub actor: Option<(&'a MemberId, Role)>,
    pub target_id: &'a MemberId,
    pub target_role: Role,
    pub target_status: MemberStatus,
}

/// What a member insert writes with the new member, in its transaction
/// ([`Store::insert_member_audited`]).
pub struct Admission<'a> {
    /// The new member's audit entry.
    pub audit: &'a (dyn Fn(&Member) -> NewAudit + Sync),
    /// The invitation the member accepts, if one admits them.
    pub invitation: Option<&'a InvitationId>,
}

/// A member's place in the list's order (name, email, id): where a keyset page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberKey {
    pub name: String,
    pub email: String,
    pub id: crate::model::MemberId,
}

impl MemberKey {
    pub fn of(m: &Member) -> MemberKey {
        MemberKey {
            name: m.name.clone(),
            email: m.email.clone(),
            id: m.id.clone(),
        }
    }
}

/// An org's member counts and, while Okta has deactivated the owner (a leaver), the owner's
/// email ([`Store::member_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberStats {
    pub counts: MemberCounts,
    pub owner_deactivated: Option<String>,
}

/// One page of the members directory ([`Store::members_page`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryPage {
    /// The org's counts and deactivated owner, read with the page.
    pub stats: MemberStats,
    pub members: Vec<Member>,
    /// How many members the list has (the search's and filter's matches, or the whole org).
    pub total: i64,
}

/// The org `$1`'s [`MemberStats`]: its rows of `member_stats` summed (one on SQLite, a few on
/// PostgreSQL), with the owner's email while the owner is deactivated. Always one row.
const STATS_SELECT: &str = "SELECT CAST(COALESCE(SUM(owners), 0) AS BIGINT) AS owners,
        CAST(COALESCE(SUM(admins), 0) AS BIGINT) AS admins,
        CAST(COALESCE(SUM(members), 0) AS BIGINT) AS members,
        CAST(COALESCE(SUM(active), 0) AS BIGINT) AS active,
        CAST(COALESCE(SUM(deactivated), 0) AS BIGINT) AS deactivated,
        (SELECT email FROM members m
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'deactivated')
            AS owner_deactivated
     FROM member_stats WHERE org_id = $1";

/// `page` (a `SELECT` of [`MEMBER_COLUMNS`] for org `$1`) with the org's stats
/// ([`STATS_SELECT`]) in front of every row, ordered by name, email, id: one round trip for
/// what every members page shows. An empty page is one row of stats with every member column
/// NULL ([`stats_and_members`]).
fn with_stats(page: &str) -> String {
    format!(
        "SELECT st.*, pg.* FROM ({STATS_SELECT}) st LEFT JOIN ({page}) pg ON 1 = 1
         ORDER BY pg.name, pg.email, pg.id"
    )
}

fn stats_from_row(row: &AnyRow) -> Result<MemberStats, StoreError> {
    Ok(MemberStats {
        counts: MemberCounts {
            owner: row.try_get("owners")?,
            admin: row.try_get("admins")?,
            member: row.try_get("members")?,
            active: row.try_get("active")?,
            deactivated: row.try_get("deactivated")?,
        },
        owner_deactivated: row.try_get("owner_deactivated")?,
    })
}

/// The stats and the members of rows selected by [`with_stats`].
fn stats_and_members(rows: &[AnyRow]) -> Result<(MemberStats, Vec<Member>), StoreError> {
    let first = rows
        .first()
        .ok_or_else(|| corrupt("the members page lost its stats row".into()))?;
    let stats = stats_from_row(first)?;
    let mut members = Vec::with_capacity(rows.len());
    for row in rows {
        if row.try_get::<Option<String>, _>("id")?.is_some() {
            members.push(member_from_row(row)?);
        }
    }
    Ok((stats, members))
}

/// Which members a directory page lists, besides the search: all when both are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberFilter {
    pub role: Option<Role>,
    pub status: Option<MemberStatus>,
}

impl MemberFilter {
    /// The filter as `AND …` conditions (empty for none). Role and status are our own
    /// constants, never text from outside, so they are written into the SQL.
    fn sql(self) -> String {
        let mut sql = String::new();
        if let Some(role) = self.role {
            sql.push_str(&format!(" AND role = '{}'", role.as_str()));
        }
        if let Some(status) = self.status {
            sql.push_str(&format!(" AND status = '{}'", status.as_str()));
        }
        sql
    }
}

/// `WHERE` clause of a guarded member update: the target binds `$1..$4` ([`bind_target`]);
/// an acting member binds `$next` and `$next + 1` ([`bind_actor`]), after whatever the
/// statement binds in between.
fn guard_sql(g: &Guard<'_>, next: usize) -> String {
    let target = "org_id = $1 AND id = $2 AND role = $3 AND status = $4";
    match g.actor {
        None => target.to_string(),
        Some(_) => format!(
            "{target} AND EXISTS (SELECT 1 FROM members a WHERE a.org_id = $1 AND a.id = ${next} AND a.role = ${} AND a.status = 'active')",
            next + 1
        ),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_target<'q>(q: AnyQuery<'q>, g: &Guard<'q>) -> AnyQuery<'q> {
    q.bind(g.org_id)
        .bind(g.target_id)
        .bind(g.target_role.as_str())
        .bind(g.target_status.as_str())
}

fn bind_actor<'q>(q: AnyQuery<'q>, g: &Guard<'q>) -> AnyQuery<'q> {
    match g.actor {
        Some((id, role)) => q.bind(id).bind(role.as_str()),
        None => q,
    }
}

/// The issuers an org's members are keyed to, with how many members each, most first.
async fn issuers_of<'e, E>(e: E, org_id: &OrgId) -> Result<Vec<(String, i64)>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT issuer, COUNT(*) AS n FROM members WHERE org_id = $1 AND issuer <> ''
         GROUP BY issuer ORDER BY COUNT(*) DESC, issuer",
    )
    .bind(org_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("issuer")?, r.try_get("n")?)))
        .collect()
}

/// Inside `tx`: the issuers the org's members are keyed to, with how many members each, most
/// first.
pub async fn issuers(tx: &mut Tx, org_id: &OrgId) -> Result<Vec<(String, i64)>, StoreError> {
    issuers_of(tx.conn(), org_id).await
}

/// Inside `tx`: how many members of the org are keyed to the issuer key `issuer_key`.
pub async fn keyed_to(tx: &mut Tx, org_id: &OrgId, issuer_key: &str) -> Result<i64, StoreError> {
    let query = sqlx::query("SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND issuer = $2");
    count(tx.conn(), query.bind(org_id).bind(issuer_key)).await
}

/// Inside `tx`: the members keyed to `from` that have the same `sub` as a member keyed to
/// `to`, as `(email, sub)`, by email then sub.
pub async fn subject_clashes(
    tx: &mut Tx,
    org_id: &OrgId,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.email, a.subject FROM members a
         JOIN members b ON b.org_id = a.org_id AND b.subject = a.subject AND b.issuer = $3
         WHERE a.org_id = $1 AND a.issuer = $2 ORDER BY a.email, a.subject",
    )
    .bind(org_id)
    .bind(from)
    .bind(to)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("email")?, r.try_get("subject")?)))
        .collect()
}

/// Inside `tx`: moves every member of the org keyed to `from` onto `to`, keeping their `sub`.
/// `None` when a member with the same `sub` is keyed to `to` (the unique index refused it;
/// the caller rolls back).
pub async fn rekey(
    tx: &mut Tx,
    org_id: &OrgId,
    from: &str,
    to: &str,
) -> Result<Option<u64>, StoreError> {
    let moved = sqlx::query("UPDATE members SET issuer = $3 WHERE org_id = $1 AND issuer = $2")
        .bind(org_id)
        .bind(from)
        .bind(to)
        .execute(tx.conn())
        .await;
    match moved {
        Ok(done) => Ok(Some(done.rows_affected())),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Inside `tx`: how many owners the org has (0 or 1).
pub async fn owners(tx: &mut Tx, org_id: &OrgId) -> Result<i64, StoreError> {
    let query =
        sqlx::query("SELECT COUNT(*) AS n FROM members WHERE org_id = $1 AND role = 'owner'");
    count(tx.conn(), query.bind(org_id)).await
}

/// Inside `tx`: is `member_id` the org's active owner?
pub async fn is_active_owner(
    tx: &mut Tx,
    org_id: &OrgId,
    member_id: &MemberId,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT id FROM members WHERE org_id = $1 AND id = $2 AND role = 'owner' AND status = 'active'",
    )
    .bind(org_id)
    .bind(member_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.is_some())
}

/// How many characters a string may have whose lowercase is `lowered`: lowercasing never
/// shortens a string and lengthens it at most twice (`İ` becomes `i` and a combining dot), so
/// between half of `lowered`'s length and all of it. Bounds the rows an any-case email lookup
/// reads without missing one (`İnci@…` for `i̇nci@…` has one character fewer).
pub(super) fn lowercase_preimage_lengths(lowered: &str) -> (i64, i64) {
    let n = lowered.chars().count();
    let at_most = |k: usize| i64::try_from(k).unwrap_or(i64::MAX);
    (at_most(n.div_ceil(2)), at_most(n))
}

impl Store {
    pub async fn member_by_subject(
        &self,
        org_id: &OrgId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1 AND issuer = $2 AND subject = $3"
        ))
        .bind(org_id)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    pub async fn member_by_id(
        &self,
        org_id: &OrgId,
        member_id: &MemberId,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!("{MEMBER_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(member_id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// Inserts a new member; the org's first member becomes its owner. The partial unique
    /// index `members_one_owner` settles concurrent first logins: the loser retries and then
    /// sees the owner. Returns the member as stored (an existing one if it raced us) and
    /// whether it was created.
    pub async fn insert_member(
        &self,
        org_id: &OrgId,
        issuer: &str,
        subject: &str,
        email: &str,
        name: &str,
        default_role: Role,
    ) -> Result<(Member, bool), StoreError> {
        let user_name = if email.is_empty() { subject } else { email };
        self.insert_member_audited(
            org_id,
            issuer,
            subject,
            email,
            name,
            user_name,
            default_role,
            None,
        )
        .await
    }

    /// [`Store::insert_member`], writing what `admission` asks in the same transaction when the
    /// member is created: their audit entry (just-in-time provisioning's `member_provisioned`)
    /// and the acceptance of the invitation that admits them. An invitation that closed
    /// meanwhile (revoked, expired) creates nobody: [`StoreError::NotFound`]. `user_name` is the
    /// member's SCIM `userName` (Okta's login, the ID token's `preferred_username`, else the
    /// email). Returns the member and whether it was created.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_member_audited(
        &self,
        org_id: &OrgId,
        issuer: &str,
        subject: &str,
        email: &str,
        name: &str,
        user_name: &str,
        default_role: Role,
        admission: Option<&Admission<'_>>,
    ) -> Result<(Member, bool), StoreError> {
        let (email, name) = (stored_text(email), stored_text(name));
        let user_name = stored_text(user_name);
        let user_name_key = user_name.to_lowercase();
        for _ in 0..INSERT_MEMBER_TRIES {
            let mut tx = self.begin().await?;
            dialect::write_first(&mut tx, org_id).await?;
            let inserted = sqlx::query(concat!(
                "INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at, last_login_at, user_name, user_name_key)
                 VALUES ($1, $2, $3, $4, $5, $6,
                         CASE WHEN EXISTS (SELECT 1 FROM members WHERE org_id = $2 AND role = 'owner')
                              THEN $7 ELSE 'owner' END,
                         'active', $8, $8, $9, $10)
                 ON CONFLICT (org_id, issuer, subject) DO NOTHING
                 RETURNING ",
                member_fields!()
            ))
            .bind(new_id())
            .bind(org_id)
            .bind(issuer)
            .bind(subject)
            .bind(&email)
            .bind(&name)
            .bind(default_role.as_str())
            .bind(self.now_ms())
            .bind(&user_name)
            .bind(&user_name_key)
            .fetch_optional(tx.conn())
            .await;
            match inserted {
                Ok(Some(row)) => {
                    let member = member_from_row(&row)?;
                    if let Some(admission) = admission {
                        if let Some(invitation) = admission.invitation
                            && !invitations::accept(&mut tx, invitation, &member.id).await?
                        {
                            tx.rollback().await?;
                            return Err(StoreError::NotFound(
                                "the invitation closed meanwhile".into(),
                            ));
                        }
                        audit::insert(&mut tx, &(admission.audit)(&member)).await?;
                    }
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
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(
            "could not provision the member: too much contention".into(),
        ))
    }

    /// Records a returning active member's sign-in in one statement, while their profile
    /// (email and name, as stored: bounded, control characters removed) is unchanged, and
    /// returns the member as stored. `None` when there is no such active member with that
    /// profile (or, with `scim_only`, no such member Okta provisioned over SCIM): a changed
    /// profile goes through [`Store::refresh_member_profile`], audited.
    pub async fn touch_active_member(
        &self,
        org_id: &OrgId,
        issuer: &str,
        subject: &str,
        email: &str,
        name: &str,
        scim_only: bool,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE members SET last_login_at = $3
             WHERE org_id = $4 AND issuer = $5 AND subject = $6 AND status = 'active'
               AND email = $1 AND name = $2 AND (scim_managed = 1 OR $7 = 0)
             RETURNING ",
            member_fields!()
        ))
        .bind(stored_text(email))
        .bind(stored_text(name))
        .bind(self.now_ms())
        .bind(org_id)
        .bind(issuer)
        .bind(subject)
        .bind(i64::from(scim_only))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// Records an active member's sign-in with a changed profile: the new email and name
    /// (stored bounded) and the sign-in time, with `audit` of the member as updated in the same
    /// transaction. `None` when they are no longer active (nothing written).
    pub async fn refresh_member_profile(
        &self,
        member: &Member,
        email: &str,
        name: &str,
        audit: &(dyn Fn(&Member) -> NewAudit + Sync),
    ) -> Result<Option<Member>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(concat!(
            "UPDATE members SET email = $1, name = $2, last_login_at = $3
             WHERE org_id = $4 AND id = $5 AND status = 'active'
             RETURNING ",
            member_fields!()
        ))
        .bind(stored_text(email))
        .bind(stored_text(name))
        .bind(tx.now_ms())
        .bind(&member.org_id)
        .bind(&member.id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let updated = member_from_row(&row)?;
        audit::insert(&mut tx, &audit(&updated)).await?;
        tx.commit().await?;
        Ok(Some(updated))
    }

    /// How many members an org has.
    pub async fn count_members(&self, org_id: &OrgId) -> Result<i64, StoreError> {
        let query = sqlx::query("SELECT COUNT(*) AS n FROM members WHERE org_id = $1");
        count(&self.readers, query.bind(org_id)).await
    }

    /// The issuers an org's members are keyed to, with how many members each, most first.
    pub async fn member_issuers(&self, org_id: &OrgId) -> Result<Vec<(String, i64)>, StoreError> {
        issuers_of(&self.readers, org_id).await
    }

    // ---- the members directory ------------------------------------------------------------

    /// One page of an org's members ordered by name, email, id, and the org's
    /// [`MemberStats`] (what [`Store::member_stats`] gives), in one statement. With a `search`
    /// (a substring of name or email, any case) or a `filter` (role, status), also how many
    /// match; without either the total is the org-wide count in the stats.
    ///
    /// The page is picked from the `(org_id, name, email, id)` index alone and only its rows
    /// are read from the table, so a deep `OFFSET` steps over index entries, not rows.
    pub async fn members_page(
        &self,
        org_id: &OrgId,
        search: Option<&str>,
        filter: MemberFilter,
        limit: i64,
        offset: i64,
    ) -> Result<DirectoryPage, StoreError> {
        let search = search.map(|q| dialect::search_condition(self.kind, q));
        let (base, limits) = match &search {
            None => ("org_id = $1", "LIMIT $2 OFFSET $3"),
            Some((condition, _)) => (*condition, "LIMIT $3 OFFSET $4"),
        };
        let condition = format!("{base}{}", filter.sql());
        let sql = with_stats(&format!(
            "{MEMBER_COLUMNS} WHERE id IN (
                 SELECT id FROM members WHERE {condition} ORDER BY name, email, id {limits}
             )"
        ));
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some((_, value)) = &search {
            query = query.bind(value);
        }
        let rows = query
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.readers)
            .await?;
        let (stats, members) = stats_and_members(&rows)?;
        if search.is_none() && filter == MemberFilter::default() {
            let total = stats.counts.active + stats.counts.deactivated;
            return Ok(DirectoryPage {
                stats,
                members,
                total,
            });
        }
        // A short page that is not past the end holds the rest of the list: the total is known
        // without counting (a search that finds a few members runs its condition once).
        let fetched = members.len() as i64;
        let total = if fetched < limit && (fetched > 0 || offset == 0) {
            offset + fetched
        } else {
            self.count_matching(org_id, search, filter).await?
        };
        Ok(DirectoryPage {
            stats,
            members,
            total,
        })
    }

    /// How many members of the org match `search` and `filter`.
    pub async fn count_members_matching(
        &self,
        org_id: &OrgId,
        search: Option<&str>,
        filter: MemberFilter,
    ) -> Result<i64, StoreError> {
        let search = search.map(|q| dialect::search_condition(self.kind, q));
        self.count_matching(org_id, search, filter).await
    }

    async fn count_matching(
        &self,
        org_id: &OrgId,
        search: Option<(&'static str, String)>,
        filter: MemberFilter,
    ) -> Result<i64, StoreError> {
        let base = search.as_ref().map_or("org_id = $1", |(c, _)| *c);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM members WHERE {base}{}",
            filter.sql()
        );
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some((_, value)) = search {
            query = query.bind(value);
        }
        count(&self.readers, query).await
    }

    /// At most `limit` members of the org after `after` in the list's order (name, email, id)
    /// and matching `search` and `filter`, and the org's [`MemberStats`], in one statement:
    /// keyset paging, so a deep position costs what the first page does (the index
    /// `members_by_org_name_email` is walked from the key).
    pub async fn members_after(
        &self,
        org_id: &OrgId,
        search: Option<&str>,
        filter: MemberFilter,
        limit: i64,
        after: &MemberKey,
    ) -> Result<(MemberStats, Vec<Member>), StoreError> {
        let search = search.map(|q| dialect::search_condition(self.kind, q));
        let (base, next) = match &search {
            None => ("org_id = $1", 2),
            Some((condition, _)) => (*condition, 3),
        };
        let sql = with_stats(&format!(
            "{MEMBER_COLUMNS} WHERE id IN (
                 SELECT id FROM members WHERE {base}{} AND (name, email, id) > (${next}, ${}, ${})
                 ORDER BY name, email, id LIMIT ${}
             )",
            filter.sql(),
            next + 1,
            next + 2,
            next + 3
        ));
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some((_, value)) = &search {
            query = query.bind(value);
        }
        let rows = query
            .bind(&after.name)
            .bind(&after.email)
            .bind(&after.id)
            .bind(limit)
            .fetch_all(&self.readers)
            .await?;
        stats_and_members(&rows)
    }

    /// How many members an org has, by status and by role: the org's rows of `member_stats`
    /// summed (one on SQLite, a few on PostgreSQL), which triggers keep exact (migrations
    /// `20261127000005`/`6`, and `20261208000010` on PostgreSQL).
    pub async fn member_counts(&self, org_id: &OrgId) -> Result<MemberCounts, StoreError> {
        Ok(self.member_stats(org_id).await?.counts)
    }

    /// [`Store::member_counts`] and, in the same statement, the owner's email while the owner
    /// is deactivated (Okta deactivated a leaving owner): what every members page shows.
    pub async fn member_stats(&self, org_id: &OrgId) -> Result<MemberStats, StoreError> {
        let row = sqlx::query(STATS_SELECT)
            .bind(org_id)
            .fetch_one(&self.readers)
            .await?;
        stats_from_row(&row)
    }

    /// The org's members with this email (any case, Unicode included), oldest first. The case
    /// is compared here, not in SQL: SQLite's `LOWER` folds only ASCII and PostgreSQL's all
    /// letters, and both databases must find the same members (`Ädam@…` for `ädam@…`).
    pub async fn members_by_email(
        &self,
        org_id: &OrgId,
        email: &str,
    ) -> Result<Vec<Member>, StoreError> {
        let wanted = email.to_lowercase();
        let (shortest, longest) = lowercase_preimage_lengths(&wanted);
        let rows = sqlx::query(&format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1 AND LENGTH(email) BETWEEN $2 AND $3 ORDER BY created_at, id"
        ))
        .bind(org_id)
        .bind(shortest)
        .bind(longest)
        .fetch_all(&self.readers)
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
    pub async fn owner_of(&self, org_id: &OrgId) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1 AND role = 'owner'"
        ))
        .bind(org_id)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|r| member_from_row(&r)).transpose()
    }

    /// Every member of an org by email (ASCII letters in any case) then id, optionally only
    /// those with `role` and `status` (the operator's `tessera member list`).
    pub async fn members_of(
        &self,
        org_id: &OrgId,
        filter: MemberFilter,
    ) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "{MEMBER_COLUMNS} WHERE org_id = $1{} ORDER BY LOWER(email), email, id",
            filter.sql()
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(member_from_row).collect()
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
        let mut tx = self.begin().await?;
        let sql = format!("UPDATE members SET role = $5 WHERE {}", guard_sql(g, 6));
        let done = bind_actor(bind_target(sqlx::query(&sql), g).bind(to.as_str()), g)
            .execute(tx.conn())
            .await?;
        tx.commit_audited(done.rows_affected(), audit).await
    }

    /// Deactivates or reactivates the target. Deactivation deletes all of the target's sessions
    /// in the same transaction. False when the guard no longer holds.
    pub async fn set_member_status(
        &self,
        g: &Guard<'_>,
        to: MemberStatus,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        if to == MemberStatus::Deactivated && g.target_role == Role::Owner {
            return Err(StoreError::Invalid(
                "the owner is never deactivated: ownership changes first".into(),
            ));
        }
        let mut tx = self.begin().await?;
        // The owner's or an admin's own decision: from now on Okta did not deactivate them, so
        // Okta's reactivation (SCIM, RISC `account-enabled`) does not undo it.
        let sql = format!(
            "UPDATE members SET status = $5, deactivated_by_okta = 0 WHERE {}",
            guard_sql(g, 6)
        );
        let done = bind_actor(bind_target(sqlx::query(&sql), g).bind(to.as_str()), g)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if to == MemberStatus::Deactivated {
            sessions::delete_of_member(&mut tx, g.target_id).await?;
        }
        audit::insert(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes the target, all their sessions and the open setup links they made. False when
    /// the guard no longer holds.
    pub async fn delete_member(&self, g: &Guard<'_>, audit: &NewAudit) -> Result<bool, StoreError> {
        if g.target_role == Role::Owner {
            return Err(StoreError::Invalid(
                "the owner is never removed: ownership changes first".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let sql = format!("DELETE FROM members WHERE {}", guard_sql(g, 5));
        let done = bind_actor(bind_target(sqlx::query(&sql), g), g)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sessions::delete_of_member(&mut tx, g.target_id).await?;
        audit::insert(&mut tx, audit).await?;
        setup_links::revoke(
            &mut tx,
            g.org_id,
            Which::CreatedBy(g.target_id),
            &audit.actor(),
            "creator_removed",
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Makes `new_owner_id` (active, admin or member) the owner and the active owner
    /// `owner_id` an admin, in one transaction: the demotion runs first, so the partial
    /// unique index `members_one_owner` never sees two owners, and a failed promotion rolls
    /// the demotion back, so the org is never without one. `owner` is the current owner with
    /// the status the decision was made on (Okta may have deactivated them). The old owner's open setup links
    /// are revoked in the same transaction. `owner_id` is `None` only for an org without an
    /// owner (the operator's `tessera org transfer-owner`); the index still allows only one.
    /// False when either step no longer applies (nothing changed).
    pub async fn transfer_ownership(
        &self,
        org_id: &OrgId,
        owner: Option<(&MemberId, MemberStatus)>,
        new_owner_id: &MemberId,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let owner_id = owner.map(|(id, _)| id);
        let mut tx = self.begin().await?;
        // Ownership moves one at a time per org, after any re-key of its members (which takes
        // the same lock first): the two never lock members in opposite orders.
        dialect::lock_org_connection(&mut tx, org_id).await?;
        if let Some((owner_id, owner_status)) = owner {
            dialect::lock_two_members(&mut tx, org_id, owner_id, new_owner_id).await?;
            // The owner keeps their status: one Okta deactivated stays deactivated, as an admin.
            let demoted = sqlx::query(
                "UPDATE members SET role = 'admin'
                 WHERE org_id = $1 AND id = $2 AND role = 'owner' AND status = $3",
            )
            .bind(org_id)
            .bind(owner_id)
            .bind(owner_status.as_str())
            .execute(tx.conn())
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
        .execute(tx.conn())
        .await;
        match promoted {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => {
                tx.rollback().await?;
                return Ok(false);
            }
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        audit::insert(&mut tx, audit).await?;
        if let Some(owner_id) = owner_id {
            setup_links::revoke(
                &mut tx,
                org_id,
                Which::CreatedBy(owner_id),
                &audit.actor(),
                "creator_no_longer_owner",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_roles_and_statuses_map_strictly() {
        assert_eq!(role_from_db("owner").ok(), Some(Role::Owner));
        assert_eq!(role_from_db("admin").ok(), Some(Role::Admin));
        assert_eq!(role_from_db("member").ok(), Some(Role::Member));
        for bad in ["", "Member", "superuser", " member", "member\0"] {
            match role_from_db(bad) {
                // Corrupt data is a server fault (500), never "bad input" from the caller.
                Err(e @ StoreError::Database(_)) => {
                    assert!(e.to_string().contains("unknown role"), "{bad:?}: {e}")
                }
                other => panic!("{bad:?} mapped to {other:?}"),
            }
        }
        assert_eq!(status_from_db("active").ok(), Some(MemberStatus::Active));
        assert_eq!(
            status_from_db("deactivated").ok(),
            Some(MemberStatus::Deactivated)
        );
        for bad in ["", "Active", "suspended", "active "] {
            match status_from_db(bad) {
                Err(e @ StoreError::Database(_)) => {
                    assert!(e.to_string().contains("unknown status"), "{bad:?}: {e}")
                }
                other => panic!("{bad:?} mapped to {other:?}"),
            }
        }
    }
}
