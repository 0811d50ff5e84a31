//! Orgs: creation, lookup by slug or id, the CLI's list with member counts, renaming, and
//! deleting an org with everything of it.

use super::audit::NewAudit;
use super::dialect::{self, is_unique_violation};
use super::{Store, StoreError, Tx, sessions};
use crate::model::{Org, OrgId, SsoConnection};
use sqlx::Row;
use sqlx::any::AnyRow;

/// How many times [`Store::delete_org`] runs its transaction when the database rolls it back
/// to settle a deadlock with a concurrent write.
pub const DELETE_ORG_TRIES: u32 = 4;

/// An org, and its Okta connection with the sealed client secret when it has one.
pub type OrgWithSso = (Org, Option<(SsoConnection, String)>);

/// An org with its connection state, as listed by the CLI.
#[derive(Clone, Debug)]
pub struct OrgOverview {
    pub org: Org,
    pub sso: Option<SsoConnection>,
    pub members: i64,
}

/// What deleting an org removed, by kind (everything else of the org went with it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgDeleted {
    pub members: u64,
    /// Sessions of its members (signed out at once).
    pub sessions: u64,
    /// Its Okta connection (0 or 1).
    pub connections: u64,
    pub setup_links: u64,
    /// Sign-ins in flight.
    pub login_flows: u64,
    pub login_attempts: u64,
    pub audit_entries: u64,
}

/// Inside `tx`: deletes the rows of `org_id` from `table` (one of the org's tables, named
/// here in code); returns how many.
async fn empty(tx: &mut Tx, table: &'static str, org_id: &OrgId) -> Result<u64, StoreError> {
    Ok(
        sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1"))
            .bind(org_id)
            .execute(tx.conn())
            .await?
            .rows_affected(),
    )
}

/// The columns [`org_from_row`] reads.
const ORG_COLUMNS: &str = "SELECT id, slug, name, created_at FROM orgs";

/// An org from a row with `id`, `slug`, `name` and `created_at`.
pub(super) fn org_from_row(row: &AnyRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Creates an org; a slug that is taken is [`StoreError::Conflict`].
    pub async fn create_org(&self, slug: &str, name: &str) -> Result<Org, StoreError> {
        let org = Org {
            id: OrgId::generate(),
            slug: slug.to_string(),
            name: name.to_string(),
            created_at: self.now_ms(),
        };
        let result =
            sqlx::query("INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&org.id)
                .bind(&org.slug)
                .bind(&org.name)
                .bind(org.created_at)
                .execute(&self.pool)
                .await;
        match result {
            Ok(_) => Ok(org),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "an org with slug {slug:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query(&format!("{ORG_COLUMNS} WHERE slug = $1"))
            .bind(slug)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| org_from_row(&r)).transpose()
    }

    /// The orgs whose display name is `name`, ignoring case (ASCII case on SQLite), at most two
    /// (two means the name is ambiguous), by slug.
    pub async fn orgs_named(&self, name: &str) -> Result<Vec<Org>, StoreError> {
        let sql = format!("{ORG_COLUMNS} WHERE LOWER(name) = LOWER($1) ORDER BY slug LIMIT 2");
        let rows = sqlx::query(&sql)
            .bind(name)
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    pub async fn org_by_id(&self, id: &OrgId) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query(&format!("{ORG_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| org_from_row(&r)).transpose()
    }

    /// The org named by `slug`, or a NotFound error that says so.
    pub async fn require_org(&self, slug: &str) -> Result<Org, StoreError> {
        self.org_by_slug(slug)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no org with slug {slug:?}")))
    }

    /// Every org by slug, with its connection and number of members.
    pub async fn list_orgs(&self) -> Result<Vec<OrgOverview>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.slug, o.name, o.created_at,
                    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id) AS members
             FROM orgs o ORDER BY o.slug",
        )
        .fetch_all(&self.readers)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let org = org_from_row(&row)?;
            let members: i64 = row.try_get("members")?;
            let sso = self.sso_connection(&org.id).await?;
            out.push(OrgOverview { org, sso, members });
        }
        Ok(out)
    }

    /// Renames an org, writing `audit` (its `org_renamed` entry) in the same transaction.
    /// False when the org is gone.
    pub async fn rename_org(
        &self,
        org_id: &OrgId,
        name: &str,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(org_id)
            .execute(tx.conn())
            .await?;
        tx.commit_audited(done.rows_affected(), audit).await
    }

    /// Deletes an org and everything of it in one transaction: its members and their
    /// sessions, its Okta connection, setup links, sign-ins in flight, login attempts, audit
    /// log, member counters and connection-test budget. `None` when the org is gone already.
    ///
    /// Every table of an org is emptied explicitly (so the counts are exact and no table relies
    /// on the database to cascade; sessions have no foreign key at all), then the org row
    /// goes, and its `ON DELETE CASCADE` foreign keys catch whatever a concurrent sign-in added
    /// meanwhile. The first statement locks the org row ([`dialect::lock_org_for_delete`]): on
    /// PostgreSQL a concurrent delete, rename or new member waits, on SQLite the transaction is
    /// the writer from the start. A deadlock with a concurrent member write
    /// ([`StoreError::RolledBack`]) is tried again, up to [`DELETE_ORG_TRIES`] times in all.
    pub async fn delete_org(&self, org_id: &OrgId) -> Result<Option<OrgDeleted>, StoreError> {
        // The delete touches every row of the org, in another order than a member write
        // (which holds its member's row, then needs the org's): on PostgreSQL the two can
        // deadlock, and the server rolls one back. Run again, the delete finds the other done.
        let mut tries = 1;
        loop {
            match self.delete_org_once(org_id).await {
                Err(StoreError::RolledBack(e)) if tries < DELETE_ORG_TRIES => {
                    tracing::info!(org = %org_id, error = %e, "deleting an org raced a write: trying again");
                    tries += 1;
                }
                done => return done,
            }
        }
    }

    async fn delete_org_once(&self, org_id: &OrgId) -> Result<Option<OrgDeleted>, StoreError> {
        let mut tx = self.begin().await?;
        if !dialect::lock_org_for_delete(&mut tx, org_id).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let sessions = sessions::delete_of_org(&mut tx, org_id).await?;
        // Children first; members before member_stats, which their delete triggers update.
        let setup_links = empty(&mut tx, "setup_links", org_id).await?;
        // Flows before their counters, which their delete triggers update.
        let login_flows = empty(&mut tx, "login_flows", org_id).await?;
        empty(&mut tx, "login_flow_counts", org_id).await?;
        let login_attempts = empty(&mut tx, "login_attempts", org_id).await?;
        let audit_entries = empty(&mut tx, "audit_log", org_id).await?;
        empty(&mut tx, "connection_test_budget", org_id).await?;
        let connections = empty(&mut tx, "sso_connections", org_id).await?;
        let members = empty(&mut tx, "members", org_id).await?;
        empty(&mut tx, "member_stats", org_id).await?;
        sqlx::query("DELETE FROM orgs WHERE id = $1")
            .bind(org_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(Some(OrgDeleted {
            members,
            sessions,
            connections,
            setup_links,
            login_flows,
            login_attempts,
            audit_entries,
        }))
    }
}
