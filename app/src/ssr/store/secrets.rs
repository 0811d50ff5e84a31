//! The sealed client secrets, across orgs: what the secret-key checks read, and what a key
//! rotation or `secret-key drop-unreadable` rewrites (connections' secrets and the secrets
//! kept on setup links), inside one transaction.

use super::{Store, StoreError, Tx};
use crate::model::{OrgId, SetupLinkId};
use sqlx::Row;

/// One stored connection's sealed client secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub org_id: OrgId,
    pub slug: String,
    pub sealed: String,
}

async fn sealed_on<'e, E>(e: E) -> Result<Vec<Sealed>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // An empty value is a secret dropped with `secret-key drop-unreadable`: nothing to open.
    let rows = sqlx::query(
        "SELECT s.org_id, o.slug, s.client_secret_enc FROM sso_connections s
         JOIN orgs o ON o.id = s.org_id WHERE s.client_secret_enc <> '' ORDER BY o.slug",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Sealed {
                org_id: r.try_get("org_id")?,
                slug: r.try_get("slug")?,
                sealed: r.try_get("client_secret_enc")?,
            })
        })
        .collect()
}

/// Inside `tx`: every stored (not dropped) client secret, by org slug.
pub async fn sealed(tx: &mut Tx) -> Result<Vec<Sealed>, StoreError> {
    sealed_on(tx.conn()).await
}

/// Inside `tx`: replaces the org's sealed secret `old` by `new` (empty: dropped), only while it
/// still is `old`; false when it changed meanwhile.
pub async fn replace(
    tx: &mut Tx,
    org_id: &OrgId,
    old: &str,
    new: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sso_connections SET client_secret_enc = $1 WHERE org_id = $2 AND client_secret_enc = $3",
    )
    .bind(new)
    .bind(org_id)
    .bind(old)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside `tx`: the secrets kept on setup links, as `(link id, sealed)`.
pub async fn kept_on_links(tx: &mut Tx) -> Result<Vec<(SetupLinkId, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, pending_secret_enc FROM setup_links WHERE pending_secret_enc IS NOT NULL",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("pending_secret_enc")?)))
        .collect()
}

/// Inside `tx`: sets the secret kept on a setup link (`None` drops it).
pub async fn keep_on_link(
    tx: &mut Tx,
    link_id: &SetupLinkId,
    sealed: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE setup_links SET pending_secret_enc = $1 WHERE id = $2")
        .bind(sealed)
        .bind(link_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

impl Store {
    /// Every stored (not dropped) client secret, by org slug.
    pub async fn sealed_secrets(&self) -> Result<Vec<Sealed>, StoreError> {
        sealed_on(&self.readers).await
    }

    /// The slugs of the orgs whose client secret was dropped (`secret-key drop-unreadable`).
    pub async fn dropped_secret_orgs(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.slug FROM sso_connections s JOIN orgs o ON o.id = s.org_id
             WHERE s.client_secret_enc = '' ORDER BY o.slug",
        )
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("slug")?)).collect()
    }
}
