//! Invitations: an org's pre-approved people, by email and role. Created and revoked by the
//! domain (`ssr::membership::invite`, `revoke_invitation`); consumed in the same transaction as
//! the member insert they admit ([`accept`], from `Store::insert_member_audited`).

use super::{AuditActor, NewAudit, Store, StoreError, Tx, audit, count};
use crate::model::{DefaultRole, InvitationId, MemberId, OrgId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Open invitations an org may have at once; more are refused until some are accepted,
/// revoked or expire.
pub const MAX_OPEN_PER_ORG: i64 = 10_000;

/// A stored invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    /// As typed (trimmed).
    pub email: String,
    pub role: DefaultRole,
    /// The inviting member, `None` for the operator.
    pub invited_by_id: Option<MemberId>,
    /// The audit label of who invited.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_member_id: Option<MemberId>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "SELECT id, org_id, email, role, invited_by_id, invited_by, created_at, expires_at, accepted_at, accepted_member_id, revoked_at FROM invitations";

/// SQL: the invitation is still open at `$now` (given as the placeholder `now`).
fn open_at(now: &str) -> String {
    format!("accepted_at IS NULL AND revoked_at IS NULL AND expires_at > {now}")
}

fn from_row(r: &AnyRow) -> Result<Invitation, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(Invitation {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        email: r.try_get("email")?,
        role: DefaultRole::parse(&role)
            .map_err(|_| super::corrupt(format!("unknown invitation role {role:?}")))?,
        invited_by_id: r.try_get("invited_by_id")?,
        invited_by: r.try_get("invited_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        accepted_at: r.try_get("accepted_at")?,
        accepted_member_id: r.try_get("accepted_member_id")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

/// The key an email is matched by: trimmed and lowercased.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Inside `tx` (a member insert's): marks invitation `id` accepted by `member` when it is still
/// open; false when it closed meanwhile (revoked, expired, accepted by someone else).
pub async fn accept(tx: &mut Tx, id: &InvitationId, member: &MemberId) -> Result<bool, StoreError> {
    let now = tx.now_ms();
    let sql = format!(
        "UPDATE invitations SET accepted_at = $1, accepted_member_id = $2 WHERE id = $3 AND {}",
        open_at("$1")
    );
    let done = sqlx::query(&sql)
        .bind(now)
        .bind(member)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Invites `email` into `org_id` with `role` until `expires_at`, replacing an open
    /// invitation of the same address (revoked, audited), with its `invitation_created` entry
    /// (`audit`, after filled here) in the same transaction. Refused with
    /// [`StoreError::Conflict`] when the org has [`MAX_OPEN_PER_ORG`] open invitations.
    pub async fn create_invitation(
        &self,
        org_id: &OrgId,
        email: &str,
        role: DefaultRole,
        expires_at: i64,
        by: &AuditActor,
        audit_entry: NewAudit,
    ) -> Result<Invitation, StoreError> {
        let now = self.now_ms();
        let key = email_key(email);
        let mut tx = self.begin().await?;
        // One org's invitations are created one after the other (a no-op write locks the org's
        // row; foreign-key checks take a weaker lock that does not wait for it), so the count
        // below cannot miss a concurrent insert: on PostgreSQL two creations would otherwise
        // both read a count under the cap and both insert.
        sqlx::query("UPDATE orgs SET name = name WHERE id = $1")
            .bind(org_id)
            .execute(tx.conn())
            .await?;
        let replaced = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND email_key = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(org_id)
        .bind(&key)
        .execute(tx.conn())
        .await?
        .rows_affected();
        let open = count(
            tx.conn(),
            sqlx::query(&format!(
                "SELECT COUNT(*) AS n FROM invitations WHERE org_id = $1 AND {}",
                open_at("$2")
            ))
            .bind(org_id)
            .bind(now),
        )
        .await?;
        if open >= MAX_OPEN_PER_ORG {
            return Err(StoreError::Conflict(format!(
                "This organization has {MAX_OPEN_PER_ORG} open invitations: revoke some, or wait until they are accepted or expire."
            )));
        }
        let invitation = Invitation {
            id: InvitationId::generate(),
            org_id: org_id.clone(),
            email: super::stored_text(email.trim()),
            role,
            invited_by_id: by.id.clone(),
            invited_by: by.label.clone(),
            created_at: now,
            expires_at,
            accepted_at: None,
            accepted_member_id: None,
            revoked_at: None,
        };
        let inserted = sqlx::query(
            "INSERT INTO invitations (id, org_id, email, email_key, role, invited_by_id, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&invitation.id)
        .bind(org_id)
        .bind(&invitation.email)
        .bind(&key)
        .bind(role.as_str())
        .bind(invitation.invited_by_id.as_ref().map(MemberId::as_str))
        .bind(&invitation.invited_by)
        .bind(now)
        .bind(expires_at)
        .execute(tx.conn())
        .await;
        match inserted {
            Ok(_) => {}
            // A concurrent invitation of the same address won.
            Err(e) if super::dialect::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(
                    "That address was just invited by someone else: reload the list.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let mut entry = audit_entry;
        entry.after = serde_json::json!({
            "email": invitation.email,
            "role": role,
            "expires_at": expires_at,
            "replaced": replaced > 0,
        })
        .to_string();
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// The open invitation of `email` (matched lowercased) in `org_id`, if any.
    pub async fn open_invitation_for(
        &self,
        org_id: &OrgId,
        email: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        let sql = format!(
            "{COLUMNS} WHERE org_id = $1 AND email_key = $2 AND {}",
            open_at("$3")
        );
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(email_key(email))
            .bind(self.now_ms())
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| from_row(&r)).transpose()
    }

    /// The org's open invitations, newest first (at most `limit`).
    pub async fn open_invitations(
        &self,
        org_id: &OrgId,
        limit: i64,
    ) -> Result<Vec<Invitation>, StoreError> {
        let sql = format!(
            "{COLUMNS} WHERE org_id = $1 AND {} ORDER BY created_at DESC, id LIMIT $3",
            open_at("$2")
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(self.now_ms())
            .bind(limit)
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Revokes the open invitation `id` of `org_id`, with `audit_entry` in the same
    /// transaction; `None` when there is no such open invitation (nothing written).
    pub async fn revoke_invitation(
        &self,
        org_id: &OrgId,
        id: &InvitationId,
        audit_entry: NewAudit,
    ) -> Result<Option<Invitation>, StoreError> {
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let sql = format!(
            "{COLUMNS} WHERE id = $1 AND org_id = $2 AND {}",
            open_at("$3")
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id)
            .bind(org_id)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?
        else {
            return Ok(None);
        };
        let invitation = from_row(&row)?;
        // Still open when the row is written: a sign-in may have accepted it since the read
        // (PostgreSQL re-checks the condition once that sign-in commits).
        let revoked = sqlx::query(&format!(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND {}",
            open_at("$1")
        ))
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if revoked != 1 {
            return Ok(None);
        }
        let mut entry = audit_entry;
        entry.after =
            serde_json::json!({"email": invitation.email, "role": invitation.role}).to_string();
        audit::insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(invitation))
    }
}
