//! The bounds every request meets, shared by the router's guards (`http`) and the SCIM
//! endpoint's own (`scim`): request target, headers, body size and how long a body and a head
//! may take to arrive.

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Asks the client to close the connection (`Connection: close`, RFC 9112 §9.6) whenever a
/// request's body was not read to its end: a 413, 414, 431 or 415 refused before the body,
/// or a handler that ignored it. The server cannot answer another request on that connection
/// (the unread rest of the body is in the way, and hyper closes it), so a client that pooled
/// it would fail its next request; with the header it opens a new one instead.
pub async fn close_when_body_unread(req: Request, next: axum::middleware::Next) -> Response {
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if !has_body {
        return next.run(req).await;
    }
    let read_to_end = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let tracked = Tracked {
        inner: body,
        read_to_end: read_to_end.clone(),
    };
    let mut response = next
        .run(Request::from_parts(parts, Body::new(tracked)))
        .await;
    if !read_to_end.load(Ordering::Acquire) {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// A request body that records whether it was read to its end.
struct Tracked {
    inner: Body,
    read_to_end: Arc<AtomicBool>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read_to_end.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
