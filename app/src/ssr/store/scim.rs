//! SCIM 2.0 provisioning's rows (migration `20261203000010`): bearer tokens (hashed), the SCIM
//! attributes of members, groups Okta pushes and their members, group-to-role mappings, and
//! the provisioning log.
//!
//! The rules (two active tokens per org, userName uniqueness, role recomputation, who may be
//! deactivated) are the domain's (`ssr::scim`, `ssr::membership`); the statements are here.

use super::audit::{self, AuditActor, NewAudit};
use super::dialect::{self, is_unique_violation};
use super::members::{member_from_row, role_from_db};
use super::{Store, StoreError, Tx, count, new_id, sessions, stored_text};
use crate::model::{
    GroupId, Member, MemberId, MemberStatus, OrgId, ProvisioningMode, Role, ScimTokenId,
};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashSet;

/// Every column of a member with its SCIM attributes, for [`scim_user_from_row`].
macro_rules! user_fields {
    () => {
        "id, org_id, issuer, subject, email, name, role, status, created_at, last_login_at, user_name, external_id, given_name, family_name, display_name, scim_managed, deactivated_by_okta, updated_at"
    };
}
const USER_COLUMNS: &str = concat!("SELECT ", user_fields!(), " FROM members");

/// How often a token's `last_used_at` is written at most, in ms (not at every request).
const LAST_USED_EVERY_MS: i64 = 60_000;

/// Most ids bound in one statement (well under both databases' limits on parameters).
const ID_CHUNK: usize = 500;

/// `$first, $first+1, …` for `n` parameters.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How often linking a member at sign-in is tried under concurrent first sign-ins.
const LINK_TRIES: usize = 8;

/// A member as SCIM sees them: the member and their SCIM attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimUser {
    pub member: Member,
    /// SCIM `userName` (Okta's login); unique per org, compared in lowercase.
    pub user_name: String,
    /// SCIM `externalId` (Okta's user id, which is the `sub` of its ID tokens).
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    /// SCIM `displayName` as sent (empty when none was).
    pub display_name: String,
    /// Okta provisioned or adopted this member over SCIM.
    pub scim_managed: bool,
    /// Deactivated because Okta said so (not by an owner or admin).
    pub deactivated_by_okta: bool,
    /// Unix ms of the last SCIM-visible change (`meta.lastModified`).
    pub last_modified: i64,
}

impl ScimUser {
    /// Not signed in yet: Okta provisioned them and their first sign-in will link them.
    pub fn unlinked(&self) -> bool {
        self.member.issuer.is_empty()
    }
}

fn scim_user_from_row(row: &AnyRow) -> Result<ScimUser, StoreError> {
    let member = member_from_row(row)?;
    let updated: i64 = row.try_get("updated_at")?;
    Ok(ScimUser {
        last_modified: updated.max(member.created_at),
        user_name: row.try_get("user_name")?,
        external_id: row.try_get("external_id")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        display_name: row.try_get("display_name")?,
        scim_managed: row.try_get::<i64, _>("scim_managed")? != 0,
        deactivated_by_okta: row.try_get::<i64, _>("deactivated_by_okta")? != 0,
        member,
    })
}

/// What SCIM says about a person, as stored (validated and bounded by the domain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    /// `displayName` as sent, or empty.
    pub display_name: String,
    /// The name Tessera shows (`displayName`, else the given and family names, else
    /// `userName`).
    pub name: String,
    /// The primary email, or empty.
    pub email: String,
}

/// Which users a SCIM list returns (RFC 7644 section 3.4.2.2, the filters Okta sends).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserFilter {
    All,
    /// `userName eq` (any case: the value lowercased).
    UserNameKey(String),
    /// `externalId eq` (exact).
    ExternalId(String),
    /// `id eq`.
    Id(MemberId),
    /// `emails.value eq` (any case, compared by Tessera).
    Email(String),
}

/// Which groups a SCIM list returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupFilter {
    All,
    /// `displayName eq` (any case: the value lowercased).
    DisplayNameKey(String),
    ExternalId(String),
    Id(GroupId),
}

/// A group Okta pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimGroup {
    pub id: GroupId,
    pub org_id: OrgId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The Tessera role the group maps to, if any.
    pub role: Option<Role>,
}

fn group_from_row(row: &AnyRow) -> Result<ScimGroup, StoreError> {
    let role: Option<String> = row.try_get("role")?;
    Ok(ScimGroup {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        display_name: row.try_get("display_name")?,
        external_id: row.try_get("external_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        role: role.as_deref().map(role_from_db).transpose()?,
    })
}

const GROUP_COLUMNS: &str = "SELECT g.id, g.org_id, g.display_name, g.external_id, g.created_at, g.updated_at, r.role FROM scim_groups g LEFT JOIN role_mappings r ON r.group_id = g.id";

/// A SCIM bearer token, without the token (only its hash is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimToken {
    pub id: ScimTokenId,
    pub org_id: OrgId,
    pub name: String,
    /// The token's last four characters.
    pub hint: String,
    pub created_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn token_from_row(row: &AnyRow) -> Result<ScimToken, StoreError> {
    Ok(ScimToken {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        hint: row.try_get("hint")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

macro_rules! token_fields {
    () => {
        "id, org_id, name, hint, created_at, created_by, last_used_at, revoked_at"
    };
}
const TOKEN_COLUMNS: &str = concat!("SELECT ", token_fields!(), " FROM scim_tokens");

/// One entry of the provisioning log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimRequest {
    pub at: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: String,
    /// What changed, in a few words ("deactivated", "added 3 members").
    pub summary: String,
    pub member_id: Option<MemberId>,
    /// Who or what it was about: a userName or a group's displayName.
    pub about: String,
    pub duration_ms: i64,
}

/// Batched retention delete of provisioning log entries written before `$1`, at most `$2` at
/// a time (with the login attempts, [`Store::purge_retention`]).
pub(super) const REQUESTS_OLDER_THAN: &str =
    "DELETE FROM scim_requests WHERE id IN (SELECT id FROM scim_requests WHERE at < $1 LIMIT $2)";

/// Inside `tx`: the org's row locked (a no-op write), so one org's token, user-update and group
/// writes run one after the other on both databases (uniqueness checks cannot race). User
/// creates lock only their userName ([`dialect::lock_user_name`]), which updates take too.
async fn lock_org(tx: &mut Tx, org_id: &OrgId) -> Result<(), StoreError> {
    sqlx::query("UPDATE orgs SET name = name WHERE id = $1")
        .bind(org_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Inside `tx`: is `user_name_key` the user name of a member of the org other than `except`?
async fn user_name_taken(
    tx: &mut Tx,
    org_id: &OrgId,
    user_name_key: &str,
    except: Option<&MemberId>,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT id FROM members WHERE org_id = $1 AND user_name_key = $2 AND id <> $3 LIMIT 1",
    )
    .bind(org_id)
    .bind(user_name_key)
    .bind(except.map_or("", |id| id.as_str()))
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.is_some())
}

/// The outcome of a SCIM write that must keep `userName` unique in the org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written<T> {
    Done(T),
    /// Another member of the org has this userName (any case).
    UserNameTaken,
    /// The member is gone or changed meanwhile.
    Gone,
}

/// How a sign-in found an unlinked member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linked {
    /// Linked now (their issuer and `sub` recorded), and whether they became the owner.
    Member(Member, bool),
    /// The matching member is deactivated (and whether Okta deactivated them).
    Deactivated { by_okta: bool },
    /// Nobody matches.
    Nobody,
}

impl Store {
    // ---- tokens -------------------------------------------------------------------------------

    /// Stores a new token (its SHA-256 `hash`, hex) named `name` with `entry` (whose actor is
    /// recorded as the token's creator), unless the org
    /// has `max_active` active tokens already (`None`).
    pub async fn create_scim_token(
        &self,
        org_id: &OrgId,
        name: &str,
        hash: &str,
        hint: &str,
        max_active: i64,
        entry: NewAudit,
    ) -> Result<Option<ScimToken>, StoreError> {
        let mut tx = self.begin().await?;
        lock_org(&mut tx, org_id).await?;
        let active = count(
            tx.conn(),
            sqlx::query(
                "SELECT COUNT(*) AS n FROM scim_tokens WHERE org_id = $1 AND revoked_at IS NULL",
            )
            .bind(org_id),
        )
        .await?;
        if active >= max_active {
            tx.rollback().await?;
            return Ok(None);
        }
        let id = ScimTokenId::from_stored(new_id());
        let row = sqlx::query(&format!(
            "INSERT INTO scim_tokens (id, org_id, name, token_hash, hint, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING {}",
            token_fields!()
        ))
        .bind(&id)
        .bind(org_id)
        .bind(stored_text(name))
        .bind(hash)
        .bind(hint)
        .bind(tx.now_ms())
        .bind(&entry.actor_email)
        .fetch_one(tx.conn())
        .await?;
        let token = token_from_row(&row)?;
        let mut entry = entry;
        entry.after = json!({"token_id": token.id, "name": token.name}).to_string();
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// The org's tokens, active first, newest first.
    pub async fn scim_tokens(&self, org_id: &OrgId) -> Result<Vec<ScimToken>, StoreError> {
        let rows = sqlx::query(&format!(
            "{TOKEN_COLUMNS} WHERE org_id = $1
             ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, created_at DESC, id
             LIMIT 100"
        ))
        .bind(org_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes the org's active token `id` with `entry`; `None` when it has no such active token.
    pub async fn revoke_scim_token(
        &self,
        org_id: &OrgId,
        id: &ScimTokenId,
        entry: NewAudit,
    ) -> Result<Option<ScimToken>, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE scim_tokens SET revoked_at = $3
             WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL
             RETURNING {}",
            token_fields!()
        ))
        .bind(org_id)
        .bind(id)
        .bind(tx.now_ms())
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let token = token_from_row(&row)?;
        let mut entry = entry;
        entry.before = json!({"token_id": token.id, "name": token.name}).to_string();
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// The active token with this hash, and records its use (at most once a minute).
    pub async fn scim_token_by_hash(&self, hash: &str) -> Result<Option<ScimToken>, StoreError> {
        let row = sqlx::query(&format!(
            "{TOKEN_COLUMNS} WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(hash)
        .fetch_optional(&self.readers)
        .await?;
        let Some(token) = row.map(|r| token_from_row(&r)).transpose()? else {
            return Ok(None);
        };
        let now = self.now_ms();
        if token
            .last_used_at
            .is_none_or(|t| now.saturating_sub(t) >= LAST_USED_EVERY_MS)
        {
            sqlx::query(
                "UPDATE scim_tokens SET last_used_at = $1
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(now)
            .bind(&token.id)
            .bind(now - LAST_USED_EVERY_MS)
            .execute(&self.pool)
            .await?;
        }
        Ok(Some(token))
    }

    /// Sets the org's provisioning mode with `entry`; no connection is [`StoreError::NotFound`].
    pub async fn set_provisioning_mode(
        &self,
        org_id: &OrgId,
        mode: ProvisioningMode,
        entry: &NewAudit,
    ) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE sso_connections SET provisioning = $1, updated_at = $2 WHERE org_id = $3",
        )
        .bind(mode.as_str())
        .bind(self.now_ms())
        .bind(org_id);
        self.update_connection_audited(update, entry).await
    }

    // ---- users --------------------------------------------------------------------------------

    /// The member `id` of the org with their SCIM attributes.
    pub async fn scim_user(
        &self,
        org_id: &OrgId,
        id: &MemberId,
    ) -> Result<Option<ScimUser>, StoreError> {
        let row = sqlx::query(&format!("{USER_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| scim_user_from_row(&r)).transpose()
    }

    /// The org's members matching `filter`, `limit` of them from `offset` (0-based) in a stable
    /// order (created, id), and how many match in all.
    pub async fn scim_users(
        &self,
        org_id: &OrgId,
        filter: &UserFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimUser>, i64), StoreError> {
        if let UserFilter::Email(email) = filter {
            // Compared by Tessera (any case, Unicode included), as `members_by_email` does.
            let wanted = email.to_lowercase();
            let (shortest, longest) = super::members::lowercase_preimage_lengths(&wanted);
            let rows = sqlx::query(&format!(
                "{USER_COLUMNS} WHERE org_id = $1 AND LENGTH(email) BETWEEN $2 AND $3 ORDER BY created_at, id"
            ))
            .bind(org_id)
            .bind(shortest)
            .bind(longest)
            .fetch_all(&self.readers)
            .await?;
            let mut all = Vec::new();
            for row in &rows {
                let u = scim_user_from_row(row)?;
                if u.member.email.to_lowercase() == wanted {
                    all.push(u);
                }
            }
            let total = all.len() as i64;
            let page = all
                .into_iter()
                .skip(usize::try_from(offset.max(0)).unwrap_or(usize::MAX))
                .take(usize::try_from(limit.max(0)).unwrap_or(0))
                .collect();
            return Ok((page, total));
        }
        let (condition, value): (&str, Option<String>) = match filter {
            UserFilter::All | UserFilter::Email(_) => ("org_id = $1", None),
            UserFilter::UserNameKey(k) => ("org_id = $1 AND user_name_key = $2", Some(k.clone())),
            UserFilter::ExternalId(e) => ("org_id = $1 AND external_id = $2", Some(e.clone())),
            UserFilter::Id(id) => ("org_id = $1 AND id = $2", Some(id.to_string())),
        };
        let limits = if value.is_some() {
            "LIMIT $3 OFFSET $4"
        } else {
            "LIMIT $2 OFFSET $3"
        };
        let sql = format!("{USER_COLUMNS} WHERE {condition} ORDER BY created_at, id {limits}");
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some(v) = &value {
            query = query.bind(v);
        }
        let rows = query
            .bind(limit.max(0))
            .bind(offset.max(0))
            .fetch_all(&self.readers)
            .await?;
        let users = rows
            .iter()
            .map(scim_user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let sql = format!("SELECT COUNT(*) AS n FROM members WHERE {condition}");
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some(v) = &value {
            query = query.bind(v);
        }
        let total = count(&self.readers, query).await?;
        Ok((users, total))
    }

    /// Creates a member Okta provisions over SCIM: unlinked until their first sign-in (see
    /// [`ScimUser::unlinked`]), with `role` (never owner) and `entry(member)` in the same
    /// transaction. Refused when another member of the org has the same userName.
    pub async fn insert_scim_user(
        &self,
        org_id: &OrgId,
        record: &UserRecord,
        active: bool,
        role: Role,
        entry: &(dyn Fn(&Member) -> NewAudit + Sync),
    ) -> Result<Written<ScimUser>, StoreError> {
        if role == Role::Owner {
            return Err(StoreError::Invalid("SCIM never makes an owner".into()));
        }
        let key = record.user_name.to_lowercase();
        let mut tx = self.begin().await?;
        // Only creates of this userName wait for each other (not the org's other SCIM writes).
        dialect::lock_user_name(&mut tx, org_id, &key).await?;
        if user_name_taken(&mut tx, org_id, &key, None).await? {
            tx.rollback().await?;
            return Ok(Written::UserNameTaken);
        }
        let id = new_id();
        let status = if active {
            MemberStatus::Active
        } else {
            MemberStatus::Deactivated
        };
        let row = sqlx::query(&format!(
            "INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at,
                 user_name, user_name_key, external_id, given_name, family_name, scim_managed,
                 deactivated_by_okta, updated_at, display_name)
             VALUES ($1, $2, '', $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $7, $14)
             RETURNING {}",
            user_fields!()
        ))
        .bind(&id)
        .bind(org_id)
        .bind(stored_text(&record.email))
        .bind(stored_text(&record.name))
        .bind(role.as_str())
        .bind(status.as_str())
        .bind(tx.now_ms())
        .bind(stored_text(&record.user_name))
        .bind(&key)
        .bind(record.external_id.as_deref())
        .bind(stored_text(&record.given_name))
        .bind(stored_text(&record.family_name))
        .bind(i64::from(!active))
        .bind(stored_text(&record.display_name))
        .fetch_one(tx.conn())
        .await?;
        let user = scim_user_from_row(&row)?;
        audit::insert(&mut tx, &entry(&user.member)).await?;
        tx.commit().await?;
        Ok(Written::Done(user))
    }

    /// Replaces the SCIM attributes of the org's member `id` (email and display name included)
    /// and marks them managed by SCIM, with `entry(before, after)` when anything visible
    /// changed, in one transaction. [`Written::Gone`] when they no longer exist.
    pub async fn update_scim_user(
        &self,
        org_id: &OrgId,
        id: &MemberId,
        record: &UserRecord,
        entry: &(dyn Fn(&ScimUser, &ScimUser) -> Option<NewAudit> + Sync),
    ) -> Result<Written<ScimUser>, StoreError> {
        let mut tx = self.begin().await?;
        lock_org(&mut tx, org_id).await?;
        let key = record.user_name.to_lowercase();
        // Creates take only this lock: a rename to a userName being created waits for it.
        dialect::lock_user_name(&mut tx, org_id, &key).await?;
        if user_name_taken(&mut tx, org_id, &key, Some(id)).await? {
            tx.rollback().await?;
            return Ok(Written::UserNameTaken);
        }
        let before = sqlx::query(&format!("{USER_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
        let Some(before) = before.map(|r| scim_user_from_row(&r)).transpose()? else {
            tx.rollback().await?;
            return Ok(Written::Gone);
        };
        let row = sqlx::query(&format!(
            "UPDATE members SET email = $3, name = $4, user_name = $5, user_name_key = $6,
                 external_id = $7, given_name = $8, family_name = $9, scim_managed = 1,
                 updated_at = $10, display_name = $11
             WHERE org_id = $1 AND id = $2
             RETURNING {}",
            user_fields!()
        ))
        .bind(org_id)
        .bind(id)
        .bind(stored_text(&record.email))
        .bind(stored_text(&record.name))
        .bind(stored_text(&record.user_name))
        .bind(&key)
        .bind(record.external_id.as_deref())
        .bind(stored_text(&record.given_name))
        .bind(stored_text(&record.family_name))
        .bind(tx.now_ms())
        .bind(stored_text(&record.display_name))
        .fetch_one(tx.conn())
        .await?;
        let after = scim_user_from_row(&row)?;
        if let Some(e) = entry(&before, &after) {
            audit::insert(&mut tx, &e).await?;
        }
        tx.commit().await?;
        Ok(Written::Done(after))
    }

    /// Deactivates (ending every session of theirs in the same transaction) or reactivates the
    /// org's member `id` because Okta said so (SCIM, a security event), while their status is
    /// still `from`; the owner included (a leaver loses access whatever their role). Records
    /// whether Okta deactivated them, and reactivates only a member Okta deactivated. False
    /// when the status changed meanwhile.
    pub async fn set_status_by_okta(
        &self,
        org_id: &OrgId,
        id: &MemberId,
        from: MemberStatus,
        to: MemberStatus,
        entry: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let okta_only = match to {
            MemberStatus::Active => " AND deactivated_by_okta = 1",
            MemberStatus::Deactivated => "",
        };
        let done = sqlx::query(&format!(
            "UPDATE members SET status = $4, deactivated_by_okta = $5, updated_at = $6
             WHERE org_id = $1 AND id = $2 AND status = $3{okta_only}"
        ))
        .bind(org_id)
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(i64::from(to == MemberStatus::Deactivated))
        .bind(tx.now_ms())
        .execute(tx.conn())
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if to == MemberStatus::Deactivated {
            sessions::delete_of_member(&mut tx, id).await?;
        }
        audit::insert(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Was the org's member `id` deactivated by Okta (SCIM), not by an owner or admin?
    pub async fn deactivated_by_okta(
        &self,
        org_id: &OrgId,
        id: &MemberId,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT deactivated_by_okta FROM members WHERE org_id = $1 AND id = $2 AND status = 'deactivated'",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.readers)
        .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("deactivated_by_okta")? != 0,
            None => false,
        })
    }

    /// Did Okta provision or adopt the org's member `id` over SCIM?
    pub async fn scim_managed(&self, org_id: &OrgId, id: &MemberId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT scim_managed FROM members WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("scim_managed")? != 0,
            None => false,
        })
    }

    /// Links an unlinked member (provisioned over SCIM, never signed in) to the person signing
    /// in with `sub` at `issuer` (an issuer key): the one whose `externalId` is `sub`, else one
    /// without an `externalId` whose userName is `user_name_key` (`preferred_username`,
    /// lowercased; `None` when the ID token has none). Records the sign-in; the org's first
    /// member to sign in becomes its owner (the database settles races, as for
    /// just-in-time provisioning). `entry(member, became_owner)` is written with it.
    pub async fn link_scim_user(
        &self,
        org_id: &OrgId,
        issuer: &str,
        sub: &str,
        user_name_key: Option<&str>,
        entry: &(dyn Fn(&Member, bool) -> NewAudit + Sync),
    ) -> Result<Linked, StoreError> {
        for _ in 0..LINK_TRIES {
            let mut tx = self.begin().await?;
            dialect::write_first(&mut tx, org_id).await?;
            let candidate = sqlx::query(&format!(
                "{USER_COLUMNS} WHERE org_id = $1 AND issuer = ''
                   AND (external_id = $2 OR (external_id IS NULL AND user_name_key = $3))
                 ORDER BY CASE WHEN external_id = $2 THEN 0 ELSE 1 END, created_at, id LIMIT 1"
            ))
            .bind(org_id)
            .bind(sub)
            .bind(user_name_key)
            .fetch_optional(tx.conn())
            .await?;
            let Some(candidate) = candidate.map(|r| scim_user_from_row(&r)).transpose()? else {
                tx.rollback().await?;
                return Ok(Linked::Nobody);
            };
            if candidate.member.status == MemberStatus::Deactivated {
                tx.rollback().await?;
                return Ok(Linked::Deactivated {
                    by_okta: candidate.deactivated_by_okta,
                });
            }
            let linked = sqlx::query(&format!(
                "UPDATE members SET issuer = $3, subject = $4, last_login_at = $5,
                     role = CASE WHEN EXISTS (SELECT 1 FROM members o WHERE o.org_id = $1 AND o.role = 'owner')
                                 THEN role ELSE 'owner' END
                 WHERE org_id = $1 AND id = $2 AND issuer = '' AND status = 'active'
                 RETURNING {}",
                user_fields!()
            ))
            .bind(org_id)
            .bind(&candidate.member.id)
            .bind(issuer)
            .bind(sub)
            .bind(tx.now_ms())
            .fetch_optional(tx.conn())
            .await;
            match linked {
                Ok(Some(row)) => {
                    let user = scim_user_from_row(&row)?;
                    let owner =
                        user.member.role == Role::Owner && candidate.member.role != Role::Owner;
                    audit::insert(&mut tx, &entry(&user.member, owner)).await?;
                    tx.commit().await?;
                    return Ok(Linked::Member(user.member, owner));
                }
                Ok(None) => {
                    tx.rollback().await?;
                    continue;
                }
                // A concurrent first sign-in took ownership, or the same person was linked or
                // provisioned just in time meanwhile: look again.
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Linked::Nobody)
    }

    // ---- groups -------------------------------------------------------------------------------

    /// The org's group `id`.
    pub async fn scim_group(
        &self,
        org_id: &OrgId,
        id: &GroupId,
    ) -> Result<Option<ScimGroup>, StoreError> {
        let row = sqlx::query(&format!(
            "{GROUP_COLUMNS} WHERE g.org_id = $1 AND g.id = $2"
        ))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|r| group_from_row(&r)).transpose()
    }

    /// The org's groups matching `filter`, `limit` from `offset` (0-based) in a stable order,
    /// and how many match.
    pub async fn scim_groups(
        &self,
        org_id: &OrgId,
        filter: &GroupFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimGroup>, i64), StoreError> {
        let (condition, value): (&str, Option<String>) = match filter {
            GroupFilter::All => ("g.org_id = $1", None),
            GroupFilter::DisplayNameKey(k) => {
                ("g.org_id = $1 AND g.display_name_key = $2", Some(k.clone()))
            }
            GroupFilter::ExternalId(e) => ("g.org_id = $1 AND g.external_id = $2", Some(e.clone())),
            GroupFilter::Id(id) => ("g.org_id = $1 AND g.id = $2", Some(id.to_string())),
        };
        let limits = if value.is_some() {
            "LIMIT $3 OFFSET $4"
        } else {
            "LIMIT $2 OFFSET $3"
        };
        let sql = format!("{GROUP_COLUMNS} WHERE {condition} ORDER BY g.created_at, g.id {limits}");
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some(v) = &value {
            query = query.bind(v);
        }
        let rows = query
            .bind(limit.max(0))
            .bind(offset.max(0))
            .fetch_all(&self.readers)
            .await?;
        let groups = rows
            .iter()
            .map(group_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let sql = format!("SELECT COUNT(*) AS n FROM scim_groups g WHERE {condition}");
        let mut query = sqlx::query(&sql).bind(org_id);
        if let Some(v) = &value {
            query = query.bind(v);
        }
        let total = count(&self.readers, query).await?;
        Ok((groups, total))
    }

    /// The members of a group (id and userName), in a stable order.
    pub async fn scim_group_members(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<(MemberId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, m.user_name FROM scim_group_members gm JOIN members m ON m.id = gm.member_id
             WHERE gm.group_id = $1 ORDER BY m.created_at, m.id",
        )
        .bind(group_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("user_name")?)))
            .collect()
    }

    /// The groups of a member (id and displayName).
    pub async fn groups_of_member(
        &self,
        member_id: &MemberId,
    ) -> Result<Vec<(GroupId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id
             WHERE gm.member_id = $1 ORDER BY g.display_name_key, g.id",
        )
        .bind(member_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("display_name")?)))
            .collect()
    }

    /// Which of `ids` are not members of the org (so a group change naming them is refused), in
    /// the order named. A few statements whatever the number of ids ([`ID_CHUNK`] a time).
    pub async fn unknown_members(
        &self,
        org_id: &OrgId,
        ids: &[MemberId],
    ) -> Result<Vec<MemberId>, StoreError> {
        let mut known = std::collections::HashSet::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT id FROM members WHERE org_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(org_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.readers).await? {
                known.insert(row.try_get::<String, _>("id")?);
            }
        }
        Ok(ids
            .iter()
            .filter(|id| !known.contains(id.as_str()))
            .cloned()
            .collect())
    }

    /// Applies a group change in one transaction: creates the group (`change.create`) or
    /// updates it, renames it, sets, adds and removes members, then recomputes the roles of the
    /// members whose groups changed ([`GroupChange`]), writing `entry` and a `role_changed`
    /// entry per role changed. Refused when another group of the org has the displayName.
    pub async fn write_group(
        &self,
        org_id: &OrgId,
        change: &GroupChange<'_>,
        entry: &(dyn Fn(&ScimGroup, &MemberDelta) -> Option<NewAudit> + Sync),
    ) -> Result<Written<(ScimGroup, MemberDelta)>, StoreError> {
        let mut tx = self.begin().await?;
        lock_org(&mut tx, org_id).await?;
        let now = tx.now_ms();
        let id = match change.create {
            Some(_) => GroupId::from_stored(new_id()),
            None => change.id.clone(),
        };
        if let Some(name) = change.display_name {
            let key = name.to_lowercase();
            let taken = sqlx::query(
                "SELECT id FROM scim_groups WHERE org_id = $1 AND display_name_key = $2 AND id <> $3",
            )
            .bind(org_id)
            .bind(&key)
            .bind(&id)
            .fetch_optional(tx.conn())
            .await?;
            if taken.is_some() {
                tx.rollback().await?;
                return Ok(Written::UserNameTaken);
            }
        }
        if change.create.is_some() {
            let name = change.display_name.unwrap_or_default();
            sqlx::query(
                "INSERT INTO scim_groups (id, org_id, display_name, display_name_key, external_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&id)
            .bind(org_id)
            .bind(stored_text(name))
            .bind(name.to_lowercase())
            .bind(change.external_id.flatten())
            .bind(now)
            .execute(tx.conn())
            .await?;
        } else {
            let done = sqlx::query(
                "UPDATE scim_groups SET
                     display_name = COALESCE($3, display_name),
                     display_name_key = COALESCE($4, display_name_key),
                     external_id = CASE WHEN $5 = 1 THEN $6 ELSE external_id END,
                     updated_at = $7
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id)
            .bind(&id)
            .bind(change.display_name.map(stored_text))
            .bind(change.display_name.map(str::to_lowercase))
            .bind(i64::from(change.external_id.is_some()))
            .bind(change.external_id.flatten())
            .bind(now)
            .execute(tx.conn())
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(Written::Gone);
            }
        }
        let mut delta = MemberDelta::default();
        if let Some(members) = change.set_members {
            let current = group_member_ids(&mut tx, &id).await?;
            let wanted: HashSet<&MemberId> = members.iter().collect();
            let had: HashSet<&MemberId> = current.iter().collect();
            let gone: Vec<MemberId> = current
                .iter()
                .filter(|m| !wanted.contains(m))
                .cloned()
                .collect();
            let new: Vec<MemberId> = members
                .iter()
                .filter(|m| !had.contains(m))
                .cloned()
                .collect();
            delta
                .removed
                .extend(remove_group_members(&mut tx, &id, &gone).await?);
            delta
                .added
                .extend(add_group_members(&mut tx, org_id, &id, &new).await?);
        }
        delta
            .added
            .extend(add_group_members(&mut tx, org_id, &id, change.add).await?);
        delta
            .removed
            .extend(remove_group_members(&mut tx, &id, change.remove).await?);
        let row = sqlx::query(&format!(
            "{GROUP_COLUMNS} WHERE g.org_id = $1 AND g.id = $2"
        ))
        .bind(org_id)
        .bind(&id)
        .fetch_one(tx.conn())
        .await?;
        let group = group_from_row(&row)?;
        if group.role.is_some() {
            let affected: Vec<MemberId> =
                delta.added.iter().chain(&delta.removed).cloned().collect();
            recompute_roles(
                &mut tx,
                org_id,
                &affected,
                change.default_role,
                change.actor,
                false,
            )
            .await?;
        }
        if let Some(e) = entry(&group, &delta) {
            audit::insert(&mut tx, &e).await?;
        }
        tx.commit().await?;
        Ok(Written::Done((group, delta)))
    }

    /// Deletes the org's group `id` and recomputes the roles of its members (when it was
    /// mapped), writing `entry`. False when there is no such group.
    pub async fn delete_group(
        &self,
        org_id: &OrgId,
        id: &GroupId,
        default_role: Role,
        actor: &AuditActor,
        entry: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        lock_org(&mut tx, org_id).await?;
        let members = group_member_ids(&mut tx, id).await?;
        let mapped = sqlx::query("SELECT role FROM role_mappings WHERE group_id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .is_some();
        let done = sqlx::query("DELETE FROM scim_groups WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if mapped {
            // The group's role goes with it, even when no mapping is left.
            recompute_roles(&mut tx, org_id, &members, default_role, actor, true).await?;
        }
        audit::insert(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    // ---- role mappings ------------------------------------------------------------------------

    /// Maps the org's group `id` to `role` (`None` removes the mapping) and recomputes the
    /// roles of its members, writing `entry`. False when there is no such group.
    pub async fn set_role_mapping(
        &self,
        org_id: &OrgId,
        id: &GroupId,
        role: Option<Role>,
        default_role: Role,
        actor: &AuditActor,
        entry: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        lock_org(&mut tx, org_id).await?;
        let exists = sqlx::query("SELECT id FROM scim_groups WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .is_some();
        if !exists {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM role_mappings WHERE group_id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        if let Some(role) = role {
            sqlx::query(
                "INSERT INTO role_mappings (group_id, org_id, role, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(org_id)
            .bind(role.as_str())
            .bind(tx.now_ms())
            .execute(tx.conn())
            .await?;
        }
        let members = group_member_ids(&mut tx, id).await?;
        recompute_roles(&mut tx, org_id, &members, default_role, actor, true).await?;
        audit::insert(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The org's mapped groups: the group (with its role) and how many members it has, by name.
    pub async fn role_mappings(&self, org_id: &OrgId) -> Result<Vec<(ScimGroup, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.id, g.org_id, g.display_name, g.external_id, g.created_at, g.updated_at, r.role,
                    (SELECT COUNT(*) FROM scim_group_members gm WHERE gm.group_id = g.id) AS n
             FROM role_mappings r JOIN scim_groups g ON g.id = r.group_id
             WHERE r.org_id = $1 ORDER BY g.display_name_key, g.id",
        )
        .bind(org_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| Ok((group_from_row(r)?, r.try_get("n")?)))
            .collect()
    }

    // ---- the provisioning log -----------------------------------------------------------------

    /// Records one authenticated SCIM request of the org.
    pub async fn record_scim_request(
        &self,
        org_id: &OrgId,
        r: &ScimRequest,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scim_requests (id, org_id, at, method, path, status, scim_type, summary, member_id, about, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(new_id())
        .bind(org_id)
        .bind(r.at)
        .bind(crate::validate::bounded(&r.method, 16))
        .bind(crate::validate::bounded(&r.path, 300))
        .bind(i64::from(r.status))
        .bind(crate::validate::bounded(&r.scim_type, 32))
        .bind(crate::validate::bounded(&r.summary, 300))
        .bind(r.member_id.as_ref())
        .bind(crate::validate::bounded(&r.about, 200))
        .bind(r.duration_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The org's provisioning log, newest first: `limit` entries from `offset`, and the total.
    pub async fn scim_requests(
        &self,
        org_id: &OrgId,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimRequest>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT at, method, path, status, scim_type, summary, member_id, about, duration_ms
             FROM scim_requests WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(org_id)
        .bind(limit.max(0))
        .bind(offset.max(0))
        .fetch_all(&self.readers)
        .await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(ScimRequest {
                    at: r.try_get("at")?,
                    method: r.try_get("method")?,
                    path: r.try_get("path")?,
                    status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(0),
                    scim_type: r.try_get("scim_type")?,
                    summary: r.try_get("summary")?,
                    member_id: r.try_get("member_id")?,
                    about: r.try_get("about")?,
                    duration_ms: r.try_get("duration_ms")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let total = count(
            &self.readers,
            sqlx::query("SELECT COUNT(*) AS n FROM scim_requests WHERE org_id = $1").bind(org_id),
        )
        .await?;
        Ok((entries, total))
    }
}

/// A change of one group, applied by [`Store::write_group`].
pub struct GroupChange<'a> {
    /// The group to change (ignored when creating).
    pub id: GroupId,
    /// `Some(())` to create the group.
    pub create: Option<()>,
    /// The new displayName, if it changes (required when creating).
    pub display_name: Option<&'a str>,
    /// `Some(value)` sets the externalId (`Some(None)` clears it).
    pub external_id: Option<Option<&'a str>>,
    /// The whole member list, replacing the current one.
    pub set_members: Option<&'a [MemberId]>,
    pub add: &'a [MemberId],
    pub remove: &'a [MemberId],
    /// The org's default role, for members left in no mapped group.
    pub default_role: Role,
    /// Who recomputed roles are changed by.
    pub actor: &'a AuditActor,
}

/// Which members a group change added and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberDelta {
    pub added: Vec<MemberId>,
    pub removed: Vec<MemberId>,
}

async fn group_member_ids(tx: &mut Tx, group_id: &GroupId) -> Result<Vec<MemberId>, StoreError> {
    let rows = sqlx::query("SELECT member_id FROM scim_group_members WHERE group_id = $1")
        .bind(group_id)
        .fetch_all(tx.conn())
        .await?;
    rows.iter().map(|r| Ok(r.try_get("member_id")?)).collect()
}

/// Adds those of `members` who are members of the org to the group ([`ID_CHUNK`] a
/// statement); returns who was not in it before.
async fn add_group_members(
    tx: &mut Tx,
    org_id: &OrgId,
    group_id: &GroupId,
    members: &[MemberId],
) -> Result<Vec<MemberId>, StoreError> {
    let mut added = Vec::new();
    for chunk in members.chunks(ID_CHUNK) {
        let sql = format!(
            "INSERT INTO scim_group_members (group_id, member_id)
             SELECT $1, id FROM members WHERE org_id = $2 AND id IN ({})
             ON CONFLICT (group_id, member_id) DO NOTHING
             RETURNING member_id",
            placeholders(3, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(group_id).bind(org_id);
        for id in chunk {
            query = query.bind(id);
        }
        for row in query.fetch_all(tx.conn()).await? {
            added.push(row.try_get("member_id")?);
        }
    }
    Ok(added)
}

/// Removes `members` from the group ([`ID_CHUNK`] a statement); returns who was in it.
async fn remove_group_members(
    tx: &mut Tx,
    group_id: &GroupId,
    members: &[MemberId],
) -> Result<Vec<MemberId>, StoreError> {
    let mut removed = Vec::new();
    for chunk in members.chunks(ID_CHUNK) {
        let sql = format!(
            "DELETE FROM scim_group_members WHERE group_id = $1 AND member_id IN ({})
             RETURNING member_id",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(group_id);
        for id in chunk {
            query = query.bind(id);
        }
        for row in query.fetch_all(tx.conn()).await? {
            removed.push(row.try_get("member_id")?);
        }
    }
    Ok(removed)
}

/// A member whose role a recomputation changes: who, their role before, their email.
type RoleChange = (MemberId, Role, String);

/// Inside `tx`: gives each of `members` (never the owner) the highest role among the mapped
/// groups they belong to, else `default_role`, with a `role_changed` entry by `actor` for each
/// role that changes. Unless `always` (a mapping or a mapped group just went), does nothing
/// while the org maps no group: roles are then Tessera's.
pub async fn recompute_roles(
    tx: &mut Tx,
    org_id: &OrgId,
    members: &[MemberId],
    default_role: Role,
    actor: &AuditActor,
    always: bool,
) -> Result<usize, StoreError> {
    if !always {
        let mapped = count(
            tx.conn(),
            sqlx::query("SELECT COUNT(*) AS n FROM role_mappings WHERE org_id = $1").bind(org_id),
        )
        .await?;
        if mapped == 0 {
            return Ok(0);
        }
    }
    let mut changed = 0;
    for chunk in members.chunks(ID_CHUNK) {
        let sql = format!(
            "SELECT m.id, m.role, m.email,
                    (SELECT MAX(CASE r.role WHEN 'admin' THEN 2 ELSE 1 END)
                     FROM scim_group_members gm JOIN role_mappings r ON r.group_id = gm.group_id
                     WHERE gm.member_id = m.id) AS rank
             FROM members m WHERE m.org_id = $1 AND m.id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(org_id);
        for id in chunk {
            query = query.bind(id);
        }
        let mut changes: Vec<(Role, Vec<RoleChange>)> = Vec::new();
        for row in query.fetch_all(tx.conn()).await? {
            let role = role_from_db(&row.try_get::<String, _>("role")?)?;
            let rank: Option<i64> = row.try_get("rank")?;
            let wanted = match rank {
                Some(2) => Role::Admin,
                Some(_) => Role::Member,
                None => default_role,
            };
            if role == Role::Owner || role == wanted {
                continue;
            }
            let change = (row.try_get("id")?, role, row.try_get("email")?);
            match changes.iter_mut().find(|(r, _)| *r == wanted) {
                Some((_, list)) => list.push(change),
                None => changes.push((wanted, vec![change])),
            }
        }
        for (wanted, list) in changes {
            let sql = format!(
                "UPDATE members SET role = $2, updated_at = $3
                 WHERE org_id = $1 AND role <> 'owner' AND id IN ({})",
                placeholders(4, list.len())
            );
            let mut query = sqlx::query(&sql)
                .bind(org_id)
                .bind(wanted.as_str())
                .bind(tx.now_ms());
            for (id, _, _) in &list {
                query = query.bind(id);
            }
            query.execute(tx.conn()).await?;
            changed += list.len();
            let entries: Vec<NewAudit> = list
                .into_iter()
                .map(|(id, role, email)| NewAudit {
                    org_id: org_id.clone(),
                    actor_id: actor.id.clone(),
                    actor_email: actor.label.clone(),
                    action: "role_changed".into(),
                    target_id: Some(id),
                    target_email: email,
                    before: json!({"role": role}).to_string(),
                    after: json!({"role": wanted, "because": "okta_groups"}).to_string(),
                })
                .collect();
            audit::insert_many(tx, &entries).await?;
        }
    }
    Ok(changed)
}
