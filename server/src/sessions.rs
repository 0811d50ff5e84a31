//! The tower-sessions store, kept in Tessera's own database so any node can serve any session.
//!
//! `create` inserts and `save` only updates a live row: a session deleted while a request that
//! loaded it was still running (sign-out, deactivation, removal) stays deleted.
//!
//! tower-sessions computes the idle expiry on the system time; the rows keep it on the store's
//! clock ([`app::ssr::store::Clock`]), so that the expiry checks of the store (and a test moving
//! its clock forward) see one time.

use app::model::MemberId;
use app::ssr::auth::MEMBER_KEY;
use app::ssr::store::Store;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// The idle expiry slides with every signed-in request (`auth::signed_in_member` marks the
/// session for saving), but the row is rewritten only when the expiry moved by more than a tenth of the idle timeout,
/// at most [`MAX_EXPIRY_SLACK_MS`], or the data changed: reads stay reads.
const MAX_EXPIRY_SLACK_MS: i64 = 60_000;
/// Sessions remembered for that comparison; the memory is dropped when it grows past this.
const MAX_REMEMBERED: usize = 100_000;

/// A session as this node last read or wrote it.
#[derive(Debug)]
struct Stored {
    data: HashMap<String, serde_json::Value>,
    expiry_ms: i64,
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    store: Store,
    recent: Arc<Recent>,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            recent: Arc::default(),
        }
    }
}

/// What this node last read or wrote per session, to skip rewriting what the database has.
#[derive(Debug, Default)]
struct Recent(Mutex<HashMap<Id, Stored>>);

impl Recent {
    fn remember(&self, record: &Record, expiry_ms: i64) {
        let mut stored = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if stored.len() >= MAX_REMEMBERED {
            stored.clear();
        }
        stored.insert(
            record.id,
            Stored {
                data: record.data.clone(),
                expiry_ms,
            },
        );
    }

    fn forget(&self, id: &Id) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// True when the database already holds this data with an expiry close enough to
    /// `expiry_ms` (within a tenth of the time left, at most [`MAX_EXPIRY_SLACK_MS`]).
    fn unchanged(&self, record: &Record, expiry_ms: i64, now_ms: i64) -> bool {
        let slack = ((expiry_ms - now_ms) / 10).clamp(0, MAX_EXPIRY_SLACK_MS);
        let stored = self.0.lock().unwrap_or_else(|e| e.into_inner());
        stored
            .get(&record.id)
            .is_some_and(|s| s.data == record.data && expiry_ms - s.expiry_ms < slack)
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The record's expiry (system time) in unix ms.
fn system_expiry_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

fn encode(record: &Record) -> Result<(String, Option<MemberId>), session_store::Error> {
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let member = record
        .data
        .get(MEMBER_KEY)
        .and_then(|v| v.as_str())
        .map(MemberId::from_stored);
    Ok((data, member))
}

impl DbSessionStore {
    /// The record's expiry in unix ms on the store's clock, as the `sessions` table keeps it.
    fn expiry_ms(&self, record: &Record) -> i64 {
        self.store.clock().from_system_ms(system_expiry_ms(record))
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (data, member) = encode(record)?;
        let expiry = self.expiry_ms(record);
        // Ids are random 128-bit values; on the rare collision draw a new one.
        while !self
            .store
            .session_insert(&record.id.to_string(), &data, expiry, member.as_ref())
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        self.recent.remember(record, expiry);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Most saves only slide the expiry a little: decide before encoding anything.
        let expiry = self.expiry_ms(record);
        if self.recent.unchanged(record, expiry, self.store.now_ms()) {
            return Ok(());
        }
        let (data, member) = encode(record)?;
        // Update only: `create` is the one insert. A request that loaded the session before a
        // sign-out (or a deactivation) deleted it must not write the row back when it ends,
        // or the old cookie would work again.
        let live = self
            .store
            .session_update(&record.id.to_string(), &data, expiry, member.as_ref())
            .await
            .map_err(backend)?;
        if live {
            self.recent.remember(record, expiry);
        } else {
            self.recent.forget(&record.id);
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some((data, expiry_ms)) = self
            .store
            .session_load(&id.to_string())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let system_ms = self.store.clock().to_system_ms(expiry_ms);
        let expiry_date =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(system_ms) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let record = Record {
            id: *id,
            data,
            expiry_date,
        };
        self.recent.remember(&record, expiry_ms);
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.recent.forget(id);
        self.store
            .session_delete(&id.to_string())
            .await
            .map_err(backend)
    }
}

/// tower-sessions saves a modified session after the handler and, when its store fails then,
/// answers a bare `500` with no body. That only happens when the database went away during the
/// request, so answer it like every other outage: `503` with reason `service_unavailable` (a
/// problem page, or the API's JSON error under `/api/`).
pub async fn unavailable_when_store_fails(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use app::api::ApiError;
    use app::ssr::store::StoreError;
    use axum::body::HttpBody as _;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let bare_500 = resp.status() == StatusCode::INTERNAL_SERVER_ERROR
        && resp.headers().get(header::CONTENT_TYPE).is_none()
        && resp.body().size_hint().exact() == Some(0);
    if !bare_500 {
        return resp;
    }
    let e = StoreError::Unavailable("the session could not be saved".into());
    if api {
        ApiError::from(e).into_response()
    } else {
        crate::pages::store_failure_page(&e, crate::pages::Reader::SignIn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: Id, member: &str) -> Record {
        Record {
            id,
            data: HashMap::from([(MEMBER_KEY.to_string(), serde_json::json!(member))]),
            expiry_date: time::OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn rewrites_only_changed_data_or_an_expiry_that_moved_enough() {
        let recent = Recent::default();
        let now = 1_000_000_000;
        let hour = 3_600_000;
        let r = record(Id::default(), "m1");
        // Never seen: write.
        assert!(!recent.unchanged(&r, now + hour, now));
        recent.remember(&r, now + hour);
        // The same data, the expiry moved by under a minute: skip.
        assert!(recent.unchanged(&r, now + hour + 59_000, now + 59_000));
        // Moved by a minute or more: write.
        assert!(!recent.unchanged(&r, now + hour + 60_000, now + 60_000));
        // Changed data: write, however recent.
        let mut changed = r.clone();
        changed.data.insert("x".into(), serde_json::json!(1));
        assert!(!recent.unchanged(&changed, now + hour, now));
        // A short idle timeout: the slack is a tenth of it (3 s -> 300 ms).
        let short = record(Id::default(), "m2");
        recent.remember(&short, now + 3_000);
        assert!(recent.unchanged(&short, now + 3_200, now + 200));
        assert!(!recent.unchanged(&short, now + 3_400, now + 400));
        // Forgotten (deleted): write again.
        recent.forget(&r.id);
        assert!(!recent.unchanged(&r, now + hour, now));
    }
}
