//! Who is signed in: the session keys, the start of a session at sign-in, and the lookup every
//! page and API call goes through.

use super::store::{Store, StoreError};
use crate::model::{Member, MemberStatus, Org};
use crate::model::{MemberId, OrgId};
use tower_sessions::Session;

/// Session key holding the signed-in member's id.
pub const MEMBER_KEY: &str = "member_id";
/// Session key holding the signed-in member's org id.
pub const ORG_KEY: &str = "org_id";
/// Session key holding the absolute end of the session (unix ms), however active it is.
pub const ABSOLUTE_EXPIRY_KEY: &str = "absolute_expiry";

/// The signed-in, active member and their org as stored, or `None`. A member who has been
/// deactivated (or removed) since signing in, or whose org's SSO the operator turned off, or
/// whose session passed its absolute deadline, is signed out here, on their very next request.
/// The one "who am I" of pages and API alike (`GET /api/v1/me`, the layout's `whoami`).
pub async fn signed_in_member(
    session: &Session,
    store: &Store,
) -> Result<Option<(Member, Org)>, StoreError> {
    let member_id: Option<MemberId> = get(session, MEMBER_KEY).await?;
    let org_id: Option<OrgId> = get(session, ORG_KEY).await?;
    let deadline: Option<i64> = get(session, ABSOLUTE_EXPIRY_KEY).await?;
    let (Some(member_id), Some(org_id)) = (member_id, org_id) else {
        return Ok(None);
    };
    if deadline.is_none_or(|d| d <= store.now_ms()) {
        let _ = session.flush().await;
        return Ok(None);
    }
    match store.member_with_org(&org_id, &member_id).await? {
        // SSO turned off by the operator ends the org's sessions (they are deleted with the
        // switch; this also ends one that was being written back at that moment).
        Some((member, (org, sso)))
            if member.status == MemberStatus::Active
                && sso.as_ref().is_none_or(|(c, _)| c.enabled) =>
        {
            // In use: the idle expiry slides (the session is saved after the response; the
            // store skips the write while only seconds of expiry would change).
            session.set_expiry(session.expiry());
            Ok(Some((member, org)))
        }
        _ => {
            let _ = session.flush().await;
            Ok(None)
        }
    }
}

/// Signs `member_id` of `org_id` in on `session`: a fresh session id (a session id planted
/// before sign-in is worthless) carrying the member, the org and the absolute `deadline` (unix
/// ms). A session store failure is [`StoreError::Unavailable`].
pub async fn start_session(
    session: &Session,
    member_id: &MemberId,
    org_id: &OrgId,
    deadline: i64,
) -> Result<(), StoreError> {
    let stored = async {
        // Always a new id, even for a session this request began: after a flush tower-sessions
        // keeps the old id in the record while `Session::id` says none, so "no id, nothing to
        // replace" cannot be told from "flushed, the planted id would be reused".
        session.cycle_id().await?;
        session.insert(MEMBER_KEY, member_id).await?;
        session.insert(ORG_KEY, org_id).await?;
        session.insert(ABSOLUTE_EXPIRY_KEY, deadline).await?;
        session.save().await
    }
    .await;
    stored.map_err(|e| {
        tracing::error!(error = %e, "could not store the session");
        StoreError::Unavailable(e.to_string())
    })
}

/// A session value. The session store failing (the database is unreachable) is an error, not
/// "signed out": a signed-in person must see "temporarily unavailable", never "sign in first".
async fn get<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, StoreError> {
    use tower_sessions::session::Error;
    use tower_sessions::session_store::Error as StoreFailure;
    match session.get(key).await {
        Ok(v) => Ok(v),
        Err(Error::Store(StoreFailure::Backend(e))) => {
            Err(StoreError::Unavailable(format!("session store: {e}")))
        }
        Err(_) => Ok(None),
    }
}
