//! Security signals from the org's Okta (Universal Logout, Shared Signals): the per-org
//! switches, the record of each verified request or SET (whose `jti` is unique per org, so a
//! replay is refused on every node), and ending a member's sessions with its audit entry.
//!
//! The rules (what is verified, what each event does) are the domain's (`ssr::signals`).

use super::dialect::is_unique_violation;
use super::{NewAudit, Store, StoreError, audit, new_id, sessions};
use crate::model::{MemberId, OrgId};
use sqlx::Row;

/// Deletes security events recorded before `$1`, at most `$2` a statement (retention).
pub(super) const EVENTS_OLDER_THAN: &str = "DELETE FROM security_events WHERE id IN (SELECT id FROM security_events WHERE at < $1 LIMIT $2)";

/// Signals are kept at least this long (ms), whatever the retention: longer than any token
/// they record is accepted (`ssr::signals`: 15 minutes plus skew), so a `jti` cannot be
/// replayed after its record went.
pub const KEEP_AT_LEAST_MS: i64 = 3_600_000;

/// Where a signal came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `POST /oauth/global-token-revocation`.
    UniversalLogout,
    /// `POST /ssf/events`.
    SharedSignals,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::UniversalLogout => "universal_logout",
            Channel::SharedSignals => "shared_signals",
        }
    }
}

/// A verified request or SET, as first recorded (claiming its `jti`).
#[derive(Clone, Debug)]
pub struct NewSecurityEvent<'a> {
    pub org_id: &'a OrgId,
    pub channel: Channel,
    /// At most 255 characters (checked by the domain).
    pub jti: &'a str,
    pub event_type: &'a str,
    /// The subject as shown (bounded by the domain).
    pub subject: &'a str,
}

/// A recorded signal, as the activity view lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityEventRow {
    pub channel: String,
    pub event_type: String,
    pub subject: String,
    pub member_id: Option<MemberId>,
    pub member_email: String,
    pub outcome: String,
    pub sessions_ended: i64,
    /// Unix ms.
    pub at: i64,
}

impl Store {
    /// Sets the org's Universal Logout and Shared Signals switches, with `entry`; no
    /// connection is [`StoreError::NotFound`].
    pub async fn set_signal_switches(
        &self,
        org_id: &OrgId,
        universal_logout: bool,
        shared_signals: bool,
        entry: &NewAudit,
    ) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE sso_connections SET universal_logout = $1, shared_signals = $2, updated_at = $3 WHERE org_id = $4",
        )
        .bind(i64::from(universal_logout))
        .bind(i64::from(shared_signals))
        .bind(self.now_ms())
        .bind(org_id);
        self.update_connection_audited(update, entry).await
    }

    /// Records a verified signal, claiming its `jti` in the org. `None` when the org already
    /// has a signal with that `jti` (a replay, from any node); else the new record's id, whose
    /// outcome [`Store::finish_security_event`] sets.
    pub async fn claim_security_event(
        &self,
        e: &NewSecurityEvent<'_>,
    ) -> Result<Option<String>, StoreError> {
        let id = new_id();
        let inserted = sqlx::query(
            "INSERT INTO security_events (id, org_id, channel, jti, event_type, subject, outcome, at)
             VALUES ($1, $2, $3, $4, $5, $6, 'received', $7)",
        )
        .bind(&id)
        .bind(e.org_id)
        .bind(e.channel.as_str())
        .bind(e.jti)
        .bind(e.event_type)
        .bind(e.subject)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(Some(id)),
            Err(err) if is_unique_violation(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Withdraws the claim `id` of a signal whose effect failed for the database (the sender is
    /// told 503 and retries): without it the retry would be refused as a replay. Only a claim
    /// still `received` (nothing recorded as done) is withdrawn.
    pub async fn unclaim_security_event(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM security_events WHERE id = $1 AND outcome = 'received'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets what was done about the signal `id`: the member concerned (if any), the outcome
    /// code and how many sessions ended.
    pub async fn finish_security_event(
        &self,
        id: &str,
        member: Option<(&MemberId, &str)>,
        outcome: &str,
        sessions_ended: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE security_events SET member_id = $1, member_email = $2, outcome = $3, sessions_ended = $4 WHERE id = $5",
        )
        .bind(member.map(|(id, _)| id.as_str().to_string()))
        .bind(member.map_or("", |(_, email)| email))
        .bind(outcome)
        .bind(i64::try_from(sessions_ended).unwrap_or(i64::MAX))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The org's latest signals, newest first, at most `limit`.
    pub async fn security_events(
        &self,
        org_id: &OrgId,
        limit: i64,
    ) -> Result<Vec<SecurityEventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, event_type, subject, member_id, member_email, outcome, sessions_ended, at
             FROM security_events WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(org_id)
        .bind(limit)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SecurityEventRow {
                    channel: r.try_get("channel")?,
                    event_type: r.try_get("event_type")?,
                    subject: r.try_get("subject")?,
                    member_id: r
                        .try_get::<Option<String>, _>("member_id")?
                        .map(MemberId::from_stored),
                    member_email: r.try_get("member_email")?,
                    outcome: r.try_get("outcome")?,
                    sessions_ended: r.try_get("sessions_ended")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// Ends every session of the members `ids` of `org_id` at once, writing `entries` in the
    /// same transaction; returns how many sessions ended. A member of another org is skipped.
    pub async fn end_sessions(
        &self,
        org_id: &OrgId,
        ids: &[&MemberId],
        entries: &[NewAudit],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let mut ended = 0;
        for id in ids {
            let of_org = sqlx::query("SELECT 1 AS one FROM members WHERE id = $1 AND org_id = $2")
                .bind(*id)
                .bind(org_id)
                .fetch_optional(tx.conn())
                .await?;
            if of_org.is_some() {
                ended += sessions::delete_of_member(&mut tx, id).await?;
            }
        }
        audit::insert_many(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(ended)
    }
}
