//! The bounds every request meets, shared by the router's guards (`http`) and the SCIM
//! endpoint's own (`scim`): request target, headers, body size and how long a body and a head
//! may take to arrive.

use axum::body::{Body, Bytes};
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
