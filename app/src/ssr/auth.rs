//! Who is signed in: the session keys and the lookup every page and API call goes through.

use super::store::{Store, StoreError};
use crate::model::{Member, MemberStatus, Org, SessionInfo, SessionMember, SessionOrg};
use tower_sessions::Session;

/// Session key holding the signed-in member's id.
pub const MEMBER_KEY: &str = "member_id";
/// Session key holding the signed-in member's org id.
pub const ORG_KEY: &str = "org_id";
/// Session key holding the absolute end of the session (unix ms), however active it is.
pub const ABSOLUTE_EXPIRY_KEY: &str = "absolute_expiry";

/// The signed-in member and org, or `None`. A member who has been deactivated (or removed)
/// since signing in, or whose org's SSO the operator turned off, is signed out here, on their
/// very next request.
pub async fn current(session: &Session, store: &Store) -> Result<Option<SessionInfo>, StoreError> {
    Ok(signed_in_member(session, store)
        .await?
        .map(|(member, org)| SessionInfo {
            member: SessionMember {
                id: member.id,
                email: member.email,
                name: member.name,
                role: member.role,
            },
            org: SessionOrg {
                slug: org.slug,
                name: org.name,
            },
        }))
}

/// Like [`current`], with the whole active member and org as stored.
pub async fn signed_in_member(
    session: &Session,
    store: &Store,
) -> Result<Option<(Member, Org)>, StoreError> {
    let member_id: Option<String> = get(session, MEMBER_KEY).await?;
    let org_id: Option<String> = get(session, ORG_KEY).await?;
    let deadline: Option<i64> = get(session, ABSOLUTE_EXPIRY_KEY).await?;
    let (Some(member_id), Some(org_id)) = (member_id, org_id) else {
        return Ok(None);
    };
    if deadline.is_none_or(|d| d <= store.now_ms()) {
        let _ = session.flush().await;
        return Ok(None);
    }
    let member = store.member_by_id(&org_id, &member_id).await?;
    let org = store.org_with_sso(&org_id).await?;
    match (member, org) {
        // SSO turned off by the operator ends the org's sessions (they are deleted with the
        // switch; this also ends one that was being written back at that moment).
        (Some(member), Some((org, sso)))
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
