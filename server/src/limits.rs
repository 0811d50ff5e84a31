//! The bounds every request meets, shared by the router's guards (`http`) and the SCIM
//! endpoint's own (`scim`): request target, headers, body size and how long a body and a head
//! may take to arrive.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use std::time::Duration;

/// Largest request body accepted on any route, in bytes (forms, server functions, the JSON
/// API, Okta's form posts); larger answers 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest request target (path and query) accepted, in bytes; longer answers 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest total size of the request headers (names and values), in bytes; larger answers 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// How long a request body may take to arrive whole; slower answers 408 and frees the
/// connection (a client trickling a body byte by byte must not hold it forever).
pub const BODY_WITHIN: Duration = Duration::from_secs(15);

/// How long a client may take to send a request's head (request line and headers), and how
/// long a kept-alive connection may sit idle before its next request; then the connection is
/// closed. Longer than the idle timeout of common balancers (60 s), which reuse kept-alive
/// connections to the nodes; they bound slow clients themselves (docs/deployment.md).
pub const HEAD_WITHIN: Duration = Duration::from_secs(75);

/// The whole body if it has at most `limit` bytes, `None` when it has more.
pub async fn read_bounded(mut body: Body, limit: usize) -> Result<Option<Bytes>, axum::Error> {
    use axum::body::HttpBody as _;
    let mut buf = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame?.into_data() {
            if buf.len() + data.len() > limit {
                return Ok(None);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Some(Bytes::from(buf)))
}

/// Why a request for a server-to-server endpoint (SCIM, Universal Logout, Shared Signals) is
/// refused before its body is read: a target over [`MAX_URI_BYTES`] (414), headers over
/// [`MAX_HEADER_BYTES`] (431), or an announced body over `max_body` bytes (413). The status and
/// a sentence; each endpoint answers them in its own error format.
pub fn refused_head(req: &Request, max_body: usize) -> Option<(u16, &'static str)> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Some((414, "The request target is too long."));
    }
    if header_bytes(req) > MAX_HEADER_BYTES {
        return Some((431, "The request headers are too large."));
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > max_body as u64) {
        return Some((413, "The request body is too large."));
    }
    None
}

/// What reading a bounded body gave.
pub enum BodyRead {
    Whole(Bytes),
    /// More than the limit.
    TooLarge,
    /// Not whole within [`BODY_WITHIN`].
    TooSlow,
    /// The connection failed.
    Broken,
}

/// The whole body of `body` if it has at most `limit` bytes and arrives within
/// [`BODY_WITHIN`].
pub async fn read_body(body: Body, limit: usize) -> BodyRead {
    match tokio::time::timeout(BODY_WITHIN, read_bounded(body, limit)).await {
        Err(_) => BodyRead::TooSlow,
        Ok(Ok(Some(bytes))) => BodyRead::Whole(bytes),
        Ok(Ok(None)) => BodyRead::TooLarge,
        Ok(Err(_)) => BodyRead::Broken,
    }
}

/// The total size of a request's headers (names and values), in bytes.
pub fn header_bytes(req: &Request) -> usize {
    req.headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum()
}

/// The media type of a `Content-Type` header, lowercased, without parameters.
pub fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}
