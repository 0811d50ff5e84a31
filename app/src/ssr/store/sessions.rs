//! Session records: what the server's session layer (tower-sessions, in the server crate)
//! loads and saves, keyed by session id and linked to the member signed in, so that a
//! deactivation, a removal or SSO being turned off ends the member's sessions at once.

use super::{Store, StoreError, Tx, count};
use crate::model::{MemberId, OrgId};
use sqlx::Row;

/// Inside `tx`: ends every session of a member (deactivation, removal); returns how many.
pub async fn delete_of_member(tx: &mut Tx, member_id: &MemberId) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM sessions WHERE member_id = $1")
        .bind(member_id)
        .execute(tx.conn())
        .await?
        .rows_affected())
}

/// Inside `tx`: ends every session of every member of an org (SSO turned off); returns how
/// many.
pub async fn delete_of_org(tx: &mut Tx, org_id: &OrgId) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM sessions WHERE member_id IN (SELECT id FROM members WHERE org_id = $1)",
    )
    .bind(org_id)
    .execute(tx.conn())
    .await?
    .rows_affected())
}

/// Deletes the sessions expired at `now`; returns how many.
pub(super) async fn delete_expired(pool: &sqlx::AnyPool, now: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expiry_date <= $1")
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}

impl Store {
    /// Unexpired sessions in the database (all nodes): one indexed `COUNT`, for the metrics.
    pub async fn active_sessions(&self) -> Result<i64, StoreError> {
        let query = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE expiry_date > $1");
        count(&self.readers, query.bind(self.now_ms())).await
    }

    /// The data and expiry (unix ms) of a live session record.
    pub async fn session_load(&self, id: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2",
        )
        .bind(id)
        .bind(self.now_ms())
        .fetch_optional(&self.readers)
        .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("data")?, r.try_get("expiry_date")?)))
            .transpose()?)
    }

    /// Inserts a session record; false when the id is taken.
    pub async fn session_insert(
        &self,
        id: &str,
        data: &str,
        expiry: i64,
        member_id: Option<&MemberId>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date, member_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expiry)
        .bind(member_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Updates a live session record; false when there is none (deleted by a sign-out, a
    /// deactivation or a removal, or expired): a session that is gone is never written back.
    pub async fn session_update(
        &self,
        id: &str,
        data: &str,
        expiry: i64,
        member_id: Option<&MemberId>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET data = $1, expiry_date = $2, member_id = $3
             WHERE id = $4 AND expiry_date > $5",
        )
        .bind(data)
        .bind(expiry)
        .bind(member_id)
        .bind(id)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn session_delete(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many unexpired sessions a member has (`tessera member show`).
    pub async fn live_sessions_of(&self, member_id: &MemberId) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM sessions WHERE member_id = $1 AND expiry_date > $2",
        )
        .bind(member_id)
        .bind(self.now_ms())
        .fetch_one(&self.readers)
        .await?
        .try_get("n")?)
    }

    /// Ends every session of a member at once (deactivation, removal).
    pub async fn delete_member_sessions(&self, member_id: &MemberId) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE member_id = $1")
            .bind(member_id)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
