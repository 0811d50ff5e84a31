//! The tower-sessions store, kept in Tessera's own database so any node can serve any session.

use app::ssr::auth::MEMBER_KEY;
use app::ssr::store::Store;
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> Result<(String, i64, Option<String>), session_store::Error> {
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let expiry = (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64;
    let member = record
        .data
        .get(MEMBER_KEY)
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok((data, expiry, member))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (data, expiry, member) = encode(record)?;
        // Ids are random 128-bit values; on the rare collision draw a new one.
        while !self
            .store
            .session_insert(&record.id.to_string(), &data, expiry, member.as_deref())
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, expiry, member) = encode(record)?;
        self.store
            .session_upsert(&record.id.to_string(), &data, expiry, member.as_deref())
            .await
            .map_err(backend)
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
        let expiry_date =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(expiry_ms) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
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
    tracing::warn!("the session could not be saved: database unavailable");
    if api {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"error": "unavailable", "message": "Tessera is temporarily unavailable: try again shortly."})),
        )
            .into_response()
    } else {
        crate::pages::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Tessera is temporarily unavailable",
            "Tessera cannot reach its database right now.",
            "Wait a moment and try again. If this persists, contact the service operator.",
            Some("/login"),
        )
    }
}
