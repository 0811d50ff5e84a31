//! Orgs: creation, lookup by slug or id, and the CLI's list with member counts.

use super::dialect::is_unique_violation;
use super::{Store, StoreError};
use crate::model::{Org, OrgId, SsoConnection};
use sqlx::Row;
use sqlx::any::AnyRow;

/// An org, and its Okta connection with the sealed client secret when it has one.
pub type OrgWithSso = (Org, Option<(SsoConnection, String)>);

/// An org with its connection state, as listed by the CLI.
#[derive(Clone, Debug)]
pub struct OrgOverview {
    pub org: Org,
    pub sso: Option<SsoConnection>,
    pub members: i64,
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
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| org_from_row(&r)).transpose()
    }

    /// The orgs whose display name is `name`, ignoring case (ASCII case on SQLite), at most two
    /// (two means the name is ambiguous), by slug.
    pub async fn orgs_named(&self, name: &str) -> Result<Vec<Org>, StoreError> {
        let sql = format!("{ORG_COLUMNS} WHERE LOWER(name) = LOWER($1) ORDER BY slug LIMIT 2");
        let rows = sqlx::query(&sql).bind(name).fetch_all(&self.pool).await?;
        rows.iter().map(org_from_row).collect()
    }

    pub async fn org_by_id(&self, id: &OrgId) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query(&format!("{ORG_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
}
