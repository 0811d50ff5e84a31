//! Okta connections (one per org): reads by org, slug or issuer key, with the org and the
//! sealed client secret; the upsert every connection change goes through; the switch and the
//! JIT policy; an owner's guarded settings and secret changes.
//!
//! The rules around a connection change (issuer change confirmation, issuer taken, audit) are
//! the domain's (`ssr::connection`); the statements are here.

use super::dialect::is_unique_violation;
use super::members::{member_fields_as_m, member_from_m_row};
use super::orgs::{OrgWithSso, org_from_row};
use super::{NewAudit, Store, StoreError, Tx};
use crate::model::{DefaultRole, Member, Org, ProvisioningMode, SsoConnection};
use crate::model::{MemberId, OrgId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The columns of [`ORG_WITH_SSO`].
macro_rules! org_sso_fields {
    () => {
        "o.id, o.slug, o.name, o.created_at, c.org_id, c.issuer, c.client_id, c.enabled, c.jit_enabled, c.default_role, c.provisioning, c.universal_logout, c.shared_signals, c.updated_at, c.client_secret_enc"
    };
}
/// An org (`o`) and its connection (`c`, all NULL without one), for [`org_from_row`] and
/// [`sso_from_row`], with the sealed client secret.
const ORG_WITH_SSO: &str = concat!(
    "SELECT ",
    org_sso_fields!(),
    " FROM orgs o LEFT JOIN sso_connections c ON c.org_id = o.id"
);
/// A member (`m`, columns `m_…`) with their org and its connection, as [`ORG_WITH_SSO`].
const MEMBER_WITH_ORG: &str = concat!(
    "SELECT ",
    member_fields_as_m!(),
    ", ",
    org_sso_fields!(),
    " FROM members m JOIN orgs o ON o.id = m.org_id LEFT JOIN sso_connections c ON c.org_id = o.id"
);
/// The columns [`sso_from_row`] reads.
const SSO_COLUMNS: &str = "SELECT org_id, issuer, client_id, enabled, jit_enabled, default_role, provisioning, universal_logout, shared_signals, updated_at FROM sso_connections";

fn sso_from_row(row: &AnyRow) -> Result<SsoConnection, StoreError> {
    let role: String = row.try_get("default_role")?;
    Ok(SsoConnection {
        org_id: row.try_get("org_id")?,
        issuer: row.try_get("issuer")?,
        client_id: row.try_get("client_id")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        jit_enabled: row.try_get::<i64, _>("jit_enabled")? != 0,
        default_role: default_role_from_db(&role)?,
        provisioning: {
            let mode: String = row.try_get("provisioning")?;
            ProvisioningMode::parse(&mode).map_err(|_| {
                super::corrupt(format!("unknown provisioning mode {mode:?} in store"))
            })?
        },
        universal_logout: row.try_get::<i64, _>("universal_logout")? != 0,
        shared_signals: row.try_get::<i64, _>("shared_signals")? != 0,
        updated_at: row.try_get("updated_at")?,
    })
}

/// An org and its connection with the sealed secret, from a row with [`ORG_WITH_SSO`]'s columns.
fn org_with_sso_from_row(row: &AnyRow) -> Result<OrgWithSso, StoreError> {
    let org = org_from_row(row)?;
    let sso = match row.try_get::<Option<String>, _>("client_secret_enc")? {
        Some(sealed) => Some((sso_from_row(row)?, sealed)),
        None => None,
    };
    Ok((org, sso))
}

async fn connection_on<'e, E>(e: E, org_id: &OrgId) -> Result<Option<SsoConnection>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!("{SSO_COLUMNS} WHERE org_id = $1"))
        .bind(org_id)
        .fetch_optional(e)
        .await?;
    row.map(|r| sso_from_row(&r)).transpose()
}

/// "Org has no connection", naming the command that makes one.
pub fn no_connection(org: &Org) -> StoreError {
    StoreError::NotFound(format!(
        "org {:?} has no Okta connection yet: run `tessera sso set {}` first",
        org.slug, org.slug
    ))
}

/// Inside `tx`: the org's connection.
pub async fn current(tx: &mut Tx, org_id: &OrgId) -> Result<Option<SsoConnection>, StoreError> {
    connection_on(tx.conn(), org_id).await
}

/// Inside `tx`: the slug of the org other than `org_id` whose connection has the issuer key
/// `issuer_key`, if any.
pub async fn issuer_owner(
    tx: &mut Tx,
    issuer_key: &str,
    org_id: &OrgId,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT o.slug FROM sso_connections s JOIN orgs o ON o.id = s.org_id
         WHERE s.issuer_key = $1 AND s.org_id <> $2",
    )
    .bind(issuer_key)
    .bind(org_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| r.try_get("slug")).transpose()?)
}

/// The values [`upsert`] writes.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionValues<'a> {
    pub org_id: &'a OrgId,
    pub issuer: &'a str,
    /// [`crate::ssr::issuer::key`] of `issuer`: what sign-ins and the unique index compare.
    pub issuer_key: &'a str,
    pub client_id: &'a str,
    pub sealed_secret: &'a str,
    /// Turn SSO on; otherwise a new connection starts disabled and an existing one keeps its
    /// enabled flag and policy.
    pub enable: bool,
}

/// Inside `tx`: creates or replaces the org's connection. False when the unique index on the
/// issuer key refused it (another org connected the issuer meanwhile; nothing was written).
pub async fn upsert(tx: &mut Tx, v: &ConnectionValues<'_>) -> Result<bool, StoreError> {
    let upsert = sqlx::query(
        "INSERT INTO sso_connections (org_id, issuer, issuer_key, client_id, client_secret_enc, enabled, created_at, updated_at)
         VALUES ($1, $2, $6, $3, $4, $7, $5, $5)
         ON CONFLICT (org_id) DO UPDATE SET
            issuer = excluded.issuer,
            issuer_key = excluded.issuer_key,
            client_id = excluded.client_id,
            client_secret_enc = excluded.client_secret_enc,
            enabled = CASE WHEN $7 = 1 THEN 1 ELSE sso_connections.enabled END,
            updated_at = excluded.updated_at",
    )
    .bind(v.org_id)
    .bind(v.issuer)
    .bind(v.client_id)
    .bind(v.sealed_secret)
    .bind(tx.now_ms())
    .bind(v.issuer_key)
    .bind(i64::from(v.enable))
    .execute(tx.conn())
    .await;
    match upsert {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Inside `tx`: turns SSO on for an org that has a connection ([`no_connection`] otherwise).
pub async fn enable(tx: &mut Tx, org: &Org) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE sso_connections SET enabled = $1, updated_at = $2 WHERE org_id = $3")
            .bind(1_i64)
            .bind(tx.now_ms())
            .bind(&org.id)
            .execute(tx.conn())
            .await?;
    if done.rows_affected() == 0 {
        return Err(no_connection(org));
    }
    Ok(())
}

/// Inside `tx`: turns SSO off; false when the org has no connection.
pub async fn disable(tx: &mut Tx, org_id: &OrgId) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE sso_connections SET enabled = 0, updated_at = $1 WHERE org_id = $2")
            .bind(tx.now_ms())
            .bind(org_id)
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Inside `tx`: sets the provisioning policy of an org's connection (just-in-time on or off,
/// the default role, the provisioning mode); no connection is [`StoreError::NotFound`].
pub async fn set_policy(
    tx: &mut Tx,
    org: &Org,
    jit_enabled: bool,
    default_role: DefaultRole,
    provisioning: ProvisioningMode,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE sso_connections SET jit_enabled = $1, default_role = $2, updated_at = $3, provisioning = $5 WHERE org_id = $4",
    )
    .bind(i64::from(jit_enabled))
    .bind(default_role.as_str())
    .bind(tx.now_ms())
    .bind(&org.id)
    .bind(provisioning.as_str())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "org {:?} has no Okta connection yet",
            org.slug
        )));
    }
    Ok(())
}

impl Store {
    pub async fn sso_connection(
        &self,
        org_id: &OrgId,
    ) -> Result<Option<SsoConnection>, StoreError> {
        connection_on(&self.readers, org_id).await
    }

    /// The org whose connection has this (normalized) issuer, with the connection.
    pub async fn sso_by_issuer(
        &self,
        issuer: &str,
    ) -> Result<Option<(Org, SsoConnection)>, StoreError> {
        Ok(self
            .org_with_sso_by_issuer(issuer)
            .await?
            .and_then(|(org, sso)| sso.map(|(sso, _sealed)| (org, sso))))
    }

    /// An org with its connection (if any) and that connection's sealed client secret, in one
    /// statement: what a sign-in needs.
    pub async fn org_with_sso(&self, org_id: &OrgId) -> Result<Option<OrgWithSso>, StoreError> {
        self.org_with_sso_where("o.id = $1", org_id.as_str()).await
    }

    /// Like [`Store::org_with_sso`], by the org's slug.
    pub async fn org_with_sso_by_slug(&self, slug: &str) -> Result<Option<OrgWithSso>, StoreError> {
        self.org_with_sso_where("o.slug = $1", slug).await
    }

    /// Like [`Store::org_with_sso`], by the connection's issuer in any form with the same
    /// [`crate::ssr::issuer::key`] (with or without a trailing slash).
    pub async fn org_with_sso_by_issuer(
        &self,
        issuer: &str,
    ) -> Result<Option<OrgWithSso>, StoreError> {
        self.org_with_sso_where("c.issuer_key = $1", &crate::ssr::issuer::key(issuer))
            .await
    }

    async fn org_with_sso_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Option<OrgWithSso>, StoreError> {
        let row = sqlx::query(&format!("{ORG_WITH_SSO} WHERE {condition}"))
            .bind(value)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|row| org_with_sso_from_row(&row)).transpose()
    }

    /// Member `member_id` of `org_id` with the org and its connection, as
    /// [`Store::member_by_id`] and [`Store::org_with_sso`] give them, in one statement: every
    /// signed-in request reads both. `None` when there is no such member.
    pub async fn member_with_org(
        &self,
        org_id: &OrgId,
        member_id: &MemberId,
    ) -> Result<Option<(Member, OrgWithSso)>, StoreError> {
        let row = sqlx::query(&format!(
            "{MEMBER_WITH_ORG} WHERE m.org_id = $1 AND m.id = $2"
        ))
        .bind(org_id)
        .bind(member_id)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|row| Ok((member_from_m_row(&row)?, org_with_sso_from_row(&row)?)))
            .transpose()
    }

    /// The orgs (at most 16) whose connection has this Client ID, with the connection.
    pub async fn sso_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Vec<(Org, SsoConnection)>, StoreError> {
        let rows = sqlx::query(&format!(
            "{ORG_WITH_SSO} WHERE c.client_id = $1 ORDER BY o.id LIMIT 16"
        ))
        .bind(client_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| Ok((org_from_row(row)?, sso_from_row(row)?)))
            .collect()
    }

    /// The orgs (at most two, which is enough to tell "one" from "several") whose issuer is a
    /// custom authorization server under the Okta org `okta_org_key` (an [`issuer::key`] of a
    /// bare origin, `https://acme.okta.com`): issuers `{okta_org_key}/…`.
    ///
    /// [`issuer::key`]: crate::ssr::issuer::key
    pub async fn sso_under_okta_org(
        &self,
        okta_org_key: &str,
    ) -> Result<Vec<(Org, SsoConnection)>, StoreError> {
        let prefix = format!("{okta_org_key}/");
        let rows = sqlx::query(&format!(
            "{ORG_WITH_SSO} WHERE SUBSTR(c.issuer_key, 1, LENGTH(CAST($1 AS TEXT))) = $1 ORDER BY o.id LIMIT 2"
        ))
        .bind(prefix)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| Ok((org_from_row(row)?, sso_from_row(row)?)))
            .collect()
    }

    /// Runs `update` (an `UPDATE sso_connections … WHERE org_id = …` of one org, bound) and
    /// writes `entry` in the same transaction: the owner's and operator's switches. No
    /// connection is [`StoreError::NotFound`] and writes nothing.
    pub(super) async fn update_connection_audited<'q>(
        &self,
        update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        entry: &NewAudit,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if update.execute(tx.conn()).await?.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::NotFound("no Okta connection".into()));
        }
        super::audit::insert(&mut tx, entry).await?;
        tx.commit().await
    }

    /// The sealed client secret of an org's connection.
    pub async fn sealed_client_secret(&self, org_id: &OrgId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT client_secret_enc FROM sso_connections WHERE org_id = $1")
            .bind(org_id)
            .fetch_optional(&self.readers)
            .await?;
        Ok(row.map(|r| r.try_get("client_secret_enc")).transpose()?)
    }

    /// Turns SSO on or off for an org that has a connection. Turning it off also ends every
    /// session of the org's members (see `Store::disable_sso` in `ssr::connection`).
    pub async fn set_sso_enabled(&self, org: &Org, enabled: bool) -> Result<(), StoreError> {
        if !enabled {
            return self.disable_sso(org).await.map(|_| ());
        }
        let mut tx = self.begin().await?;
        enable(&mut tx, org).await?;
        tx.commit().await
    }

    /// Sets the provisioning policy of an org's connection (see [`set_policy`]).
    pub async fn set_sso_policy(
        &self,
        org: &Org,
        jit_enabled: bool,
        default_role: DefaultRole,
        provisioning: ProvisioningMode,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        set_policy(&mut tx, org, jit_enabled, default_role, provisioning).await?;
        tx.commit().await
    }

    // ---- an owner's guarded changes ----------------------------------------------------------

    /// Sets the JIT policy and, when `turn_on`, turns SSO on (otherwise the switch stays as it
    /// is: an owner never turns it off, see `membership::update_sso_settings`),
    /// while `owner_id` is still the org's active owner. False when the org has no connection
    /// or the guard no longer holds.
    pub async fn update_sso_settings(
        &self,
        org_id: &OrgId,
        owner_id: &MemberId,
        turn_on: bool,
        jit_enabled: bool,
        default_role: DefaultRole,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
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
        .bind(self.now_ms())
        .bind(org_id)
        .bind(owner_id)
        .execute(tx.conn())
        .await?;
        tx.commit_audited(done.rows_affected(), audit).await
    }

    /// Replaces the sealed client secret `old_sealed` by `new_sealed`, while `owner_id` is
    /// still the org's active owner. False when the secret changed meanwhile.
    pub async fn replace_client_secret(
        &self,
        org_id: &OrgId,
        owner_id: &MemberId,
        old_sealed: &str,
        new_sealed: &str,
        audit: &NewAudit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE sso_connections SET client_secret_enc = $1, updated_at = $2
             WHERE org_id = $3 AND client_secret_enc = $4
               AND EXISTS (SELECT 1 FROM members a
                           WHERE a.org_id = $3 AND a.id = $5 AND a.role = 'owner' AND a.status = 'active')",
        )
        .bind(new_sealed)
        .bind(self.now_ms())
        .bind(org_id)
        .bind(old_sealed)
        .bind(owner_id)
        .execute(tx.conn())
        .await?;
        tx.commit_audited(done.rows_affected(), audit).await
    }
}

/// `sso_connections.default_role` as stored: `admin` or `member`. Anything else (`owner`
/// included) is a store error, never a silent default.
fn default_role_from_db(role: &str) -> Result<DefaultRole, StoreError> {
    DefaultRole::parse(role)
        .map_err(|_| super::corrupt(format!("unknown default role {role:?} in store")))
}
