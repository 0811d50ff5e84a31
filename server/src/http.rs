//! The HTTP server: router, security headers, health probes, sessions and graceful shutdown.

use crate::config::Config;
use crate::sessions::DbSessionStore;
use crate::state::{AppState, state};
use app::ssr::crypto::SecretKey;
use app::ssr::store::{Store, redact_url};
use app::{App, shell};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, ResponseOptions, generate_route_list};
use std::sync::OnceLock;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tessera_session";

/// The CSP for responses without inline scripts (API, error pages, assets).
const CSP_STRICT: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn csp_with_nonce(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The app's page routes, generated once per process.
///
/// `generate_route_list` renders the app with resource loading suppressed by a process-wide
/// flag (leptos_server's `SuppressResourceLoad`): a resource that first polls meanwhile, in a
/// page rendered for a request anywhere in the process, never loads, and that response hangs
/// until the client gives up (leptos issue #4773). A router built while another one serves
/// (several servers in one process, as the tests run them) must therefore not generate again.
fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = app_routes();
    let context = {
        let store = state.store.clone();
        let key = state.key.clone();
        let public_url = app::ssr::PublicUrl(state.config.public_url.clone());
        let outbound = state.outbound.clone();
        move || {
            provide_context(store.clone());
            provide_context(key.clone());
            provide_context(public_url.clone());
            provide_context(outbound.clone());
            // Leptos pages carry inline hydration scripts: allow exactly those, by nonce.
            leptos::nonce::provide_nonce();
            if let (Some(nonce), Some(resp)) =
                (leptos::nonce::use_nonce(), use_context::<ResponseOptions>())
                && let Ok(v) = HeaderValue::from_str(&csp_with_nonce(&nonce.to_string()))
            {
                resp.insert_header(header::CONTENT_SECURITY_POLICY, v);
            }
        }
    };
    let session_layer = SessionManagerLayer::new(DbSessionStore::new(state.store.clone()))
        .with_name(SESSION_COOKIE)
        .with_secure(state.config.secure_cookies())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.config.session_idle_timeout.as_secs() as i64,
        )));

    let mut router = Router::new();
    if state.config.metrics {
        router = router.route("/metrics", get(crate::metrics::handler));
    }
    let pages = router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::sso::routes())
        .merge(crate::setup::routes())
        .merge(crate::audit_export::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(leptos_options.clone())
        })
        // Unknown paths get the app's own 404 page (its layout, hydrated): the same context, so
        // its hydration scripts carry the nonce the CSP allows.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Refuses cross-site state changes; inside the header layers, so the 403 carries them.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::csrf::same_origin_only,
        ))
        .layer(session_layer)
        // tower-sessions answers a bare 500 when its store fails after the handler: make that
        // the same clean 503 as every other database outage.
        .layer(axum::middleware::from_fn(
            crate::sessions::unavailable_when_store_fails,
        ))
        // Oversized requests are answered before any session or handler sees them.
        .layer(axum::middleware::from_fn(limit_request))
        .layer(axum::middleware::from_fn(api_refusals_as_json));
    // SCIM, Universal Logout and Shared Signals (Okta, server to server) have their own
    // guards: no session, no CSRF check, their own body bounds; the headers below apply to
    // them as to everything.
    Router::new()
        .nest_service(
            "/pkg",
            crate::assets::service(std::path::Path::new(&state.config.site_root)),
        )
        .merge(crate::scim::routes(state.clone()))
        .merge(crate::signals::routes())
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache_control,
        ))
        // br or gzip, as the browser accepts, for everything but what carries a secret (marked
        // inside, so the compression sees the mark).
        .layer(axum::middleware::from_fn(mark_secret_bearing))
        .layer(compression())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP_STRICT),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::count_responses,
        ))
        // A body left unread closes its connection, so clients do not reuse a dead one.
        .layer(axum::middleware::from_fn(
            crate::limits::close_when_body_unread,
        ))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, Json(serde_json::json!({"status": "ok"})))
}

/// Ready when the database can take a write within 2 s ([`Store::check_writable`]): a
/// database that is down, read-only, or (SQLite) locked by another process answers 503.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let reason = match tokio::time::timeout(READY_WITHIN, state.store.check_writable()).await {
        Ok(Ok(())) => return (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database cannot take a write");
            "database cannot take a write"
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within 2 s");
            "database does not answer"
        }
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({"status": "unavailable", "reason": reason})),
    )
}

/// How long `/readyz` waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(2);

use crate::limits::read_bounded;
pub use crate::limits::{
    BODY_WITHIN, HEAD_WITHIN, MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_URI_BYTES,
};

/// Whether an answer is JSON (the API and server functions, all under `/api/`) or a page.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// An error answer for a request refused before any handler: JSON under `/api/`, else a page.
fn refuse(api: bool, status: StatusCode, code: &str, title: &str, message: &str) -> Response {
    if api {
        app::ssr::api_support::refusal(status, code, message)
    } else {
        crate::pages::problem(
            status,
            code,
            title,
            message,
            "Go back, correct what was sent and try again. If this persists, contact the service operator.",
            None,
        )
    }
}

/// Bounds every request: target at most [`MAX_URI_BYTES`] (414), headers at most
/// [`MAX_HEADER_BYTES`] (431), body at most [`MAX_BODY_BYTES`] (413, whether announced by
/// `Content-Length` or streamed) arriving within [`BODY_WITHIN`] (408). A NUL character in the query or in a JSON or form body
/// answers 400 (`invalid` under `/api/`, a `bad_request` page elsewhere), the same on both
/// databases; `/sso/` and `/setup/` check their values themselves.
async fn limit_request(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    if let Some(refused) = oversized_head(&req, api) {
        return refused;
    }
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(BODY_WITHIN, read_bounded(body, MAX_BODY_BYTES)).await;
    let Ok(read) = read else {
        return refuse(
            api,
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request took too long",
            &format!(
                "Tessera waits at most {} s for a request body.",
                BODY_WITHIN.as_secs()
            ),
        );
    };
    let bytes = match read {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return body_too_large(api),
        Err(e) => {
            tracing::debug!(error = %e, "the request body could not be read");
            return refuse(
                api,
                StatusCode::BAD_REQUEST,
                if api { "invalid" } else { "bad_request" },
                "The request could not be read",
                "The request body was cut off or malformed.",
            );
        }
    };
    // The sign-in and setup routes answer bad values with their own pages and reason codes.
    let own_pages = ["/sso/", "/setup/"]
        .iter()
        .any(|p| parts.uri.path().starts_with(p));
    if !own_pages && (query_has_nul(parts.uri.query()) || body_has_nul(&parts.headers, &bytes)) {
        return refuse(
            api,
            StatusCode::BAD_REQUEST,
            if api { "invalid" } else { "bad_request" },
            "Invalid request",
            "The request contains a NUL character, which no value may contain.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The refusal for a request whose target, headers or announced body length is over its
/// limit, before any of the body is read.
fn oversized_head(req: &Request, api: bool) -> Option<Response> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(refuse(
            api,
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "The address is too long",
            &format!(
                "Tessera accepts addresses of at most {} KiB.",
                MAX_URI_BYTES / 1024
            ),
        ));
    }
    if crate::limits::header_bytes(req) > MAX_HEADER_BYTES {
        return Some(refuse(
            api,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "The request headers are too large",
            &format!(
                "Tessera accepts at most {} KiB of request headers.",
                MAX_HEADER_BYTES / 1024
            ),
        ));
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    announced
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        .then(|| body_too_large(api))
}

fn body_too_large(api: bool) -> Response {
    refuse(
        api,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "The request is too large",
        &format!(
            "Tessera accepts request bodies of at most {} KiB.",
            MAX_BODY_BYTES / 1024
        ),
    )
}

fn query_has_nul(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k.contains('\0') || v.contains('\0'))
    })
}

/// A NUL in a JSON body's strings (`\u0000`), in a form body's values, or raw in any body.
fn body_has_nul(headers: &axum::http::HeaderMap, body: &[u8]) -> bool {
    if body.is_empty() {
        return false;
    }
    if body.contains(&0) {
        return true;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return url::form_urlencoded::parse(body)
            .any(|(k, v)| k.contains('\0') || v.contains('\0'));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => json_has_nul(&v),
        Err(_) => false,
    }
}

fn json_has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(json_has_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// Under `/api/`, the router's own refusals in the API's error form: an unknown endpoint
/// (the app's 404 page) answers 404 `not_found`, a method the endpoint does not take (axum's
/// empty 405) answers 405 `method_not_allowed` with its `Allow` header. An answer that is JSON
/// already (every server function's) passes unchanged.
async fn api_refusals_as_json(req: Request, next: Next) -> Response {
    if !is_api(req.uri().path()) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let resp = next.run(req).await;
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    match resp.status() {
        _ if json => resp,
        StatusCode::NOT_FOUND => app::ssr::api_support::refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such API endpoint: see the admin JSON API in Tessera's README.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = resp.headers().get(header::ALLOW).cloned();
            let takes = allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(": it takes {v}"))
                .unwrap_or_default();
            let mut refused = app::ssr::api_support::refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &format!("This API endpoint does not take {method}{takes}."),
            );
            if let Some(allow) = allow {
                refused.headers_mut().insert(header::ALLOW, allow);
            }
            refused
        }
        _ => resp,
    }
}

/// `Cache-Control` on every answer: `no-store` except for the static site under `/pkg/` (and
/// the favicon), so that a signed-in page or API answer never comes back from the browser's
/// cache, e.g. with Back after signing out. The fingerprinted site files (`tessera.<hash>.js`,
/// `.wasm`, `.css`: a new build has new names) are cached for a year without revalidation;
/// plain ones get no header (the browser revalidates them).
async fn cache_control(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let cacheable = path.starts_with("/pkg/") || path == "/favicon.ico";
    let immutable = state.assets.is_fingerprinted(path);
    let mut resp = next.run(req).await;
    if !cacheable {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        if immutable && resp.status() == StatusCode::OK {
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        }
        // A file sent as its compressed twin varies with `Accept-Encoding` like one compressed
        // on the fly (which says so itself): a shared cache must not hand the brotli bytes to
        // a browser that asked for gzip.
        if !resp.headers().contains_key(header::VARY) {
            resp.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    resp
}

/// How fingerprinted site files are cached: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Responses that may hold a secret next to text an attacker can make the browser send (a
/// setup link's page and flash, a new SCIM token, a new setup link's URL): never compressed,
/// so their length cannot be used to guess the secret (BREACH).
#[derive(Clone, Copy, Debug)]
struct SecretBearing;

fn is_secret_bearing(path: &str) -> bool {
    path.starts_with("/setup/")
        || path == "/api/v1/provisioning/tokens"
        || path == "/api/v1/sso/setup-link"
}

async fn mark_secret_bearing(req: Request, next: Next) -> Response {
    let secret = is_secret_bearing(req.uri().path());
    let mut resp = next.run(req).await;
    if secret {
        resp.extensions_mut().insert(SecretBearing);
    }
    resp
}

/// Brotli or gzip (tower-http) for compressible answers over 256 bytes, as `Accept-Encoding`
/// allows; not for [`SecretBearing`] answers. Level 4 of both: answers are compressed as they
/// are sent, and brotli's default (11) took about a second of CPU per megabyte, for every
/// request of a large file. The site's files come compressed at the highest level from the
/// build instead ([`crate::assets::service`]).
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use axum::http::{Extensions, HeaderMap, Version};
    use tower_http::compression::{
        CompressionLayer, CompressionLevel, DefaultPredicate, Predicate, predicate::SizeAbove,
    };
    let not_secret = |_: StatusCode, _: Version, _: &HeaderMap, ext: &Extensions| {
        ext.get::<SecretBearing>().is_none()
    };
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .quality(CompressionLevel::Precise(4))
        .compress_when(
            DefaultPredicate::new()
                .and(SizeAbove::new(256))
                .and(not_secret),
        )
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn serve(config: Config, store: Store, key: SecretKey) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    serve_on(listener, config, store, key, shutdown_signal()).await
}

/// Serves on an already bound listener until `shutdown` completes (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: Config,
    store: Store,
    key: SecretKey,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(
        database = %redact_url(&config.database_url),
        database_max_connections = config.database_max_connections.map_or_else(|| "default".to_string(), |n| n.to_string()),
        bind = %config.bind,
        public_url = %config.public_url,
        secret_key_file = %config.secret_key_file.display(),
        allow_http_issuers = config.allow_http_issuers,
        session_idle_timeout_s = config.session_idle_timeout.as_secs(),
        session_absolute_timeout_s = config.session_absolute_timeout.as_secs(),
        idp_timeout_s = config.idp_timeout.as_secs(),
        attempt_retention_s = config.attempt_retention.as_secs(),
        audit_retention_s = config.audit_retention.as_secs(),
        metrics = config.metrics,
        site_root = %config.site_root,
        "starting tessera"
    );
    if !crate::assets::pkg_dir(std::path::Path::new(&config.site_root)).is_dir() {
        tracing::warn!(site_root = %config.site_root, "no built site (pkg/) here: pages will not hydrate; build it with `scripts/site.sh` or set --site-root");
    }
    let purge_store = store.clone();
    let (attempt_retention, audit_retention) = (config.attempt_retention, config.audit_retention);
    let purger = tokio::spawn(async move {
        // The first tick is immediate: the purge also runs at start-up.
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = purge_store.purge_expired().await {
                tracing::warn!(error = %e, "purging expired flows and sessions failed");
            }
            purge_retention(&purge_store, attempt_retention, audit_retention).await;
        }
    });
    let app = router(state(config, store, key));
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let result = serve_router(listener, app, HEAD_WITHIN, shutdown).await;
    purger.abort();
    result
}

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting
/// and waits for the connections in flight to finish their requests.
///
/// `axum::serve` cannot bound how long a client takes to send a request's head, so a client
/// trickling headers a byte at a time (or connecting and sending nothing) would hold its
/// connection for good. Here hyper's HTTP/1 server closes every connection whose request head
/// has not arrived whole within `head_within`, idle kept-alive ones included. HTTP/2 is not
/// spoken: browsers reach Tessera through the balancer, and hyper's protocol detection would
/// wait for a silent client without any bound.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    head_within: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    // Dropped when shutdown begins: every connection then finishes gracefully.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    // Each connection holds a clone; `closed()` completes when the last one ends.
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // E.g. out of file descriptors: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Each write goes out at once: with Nagle's algorithm a response written as head, then
        // body, waited for the client's delayed acknowledgement (40 ms on Linux) in between.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            tower::ServiceExt::oneshot(app.clone(), req.map(Body::new))
        });
        let (mut stop, done) = (stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(head_within);
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Rows deleted per statement by the retention purge.
const RETENTION_BATCH: i64 = 1000;

/// Deletes login attempts older than `attempts` and audit entries older than `audit`.
pub async fn purge_retention(store: &Store, attempts: Duration, audit: Duration) {
    let before = |keep: Duration| {
        store
            .now_ms()
            .saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
    };
    match store
        .purge_retention(before(attempts), before(audit), RETENTION_BATCH)
        .await
    {
        Ok((0, 0)) => {}
        Ok((attempts, audit)) => {
            tracing::info!(
                attempts,
                audit,
                "deleted login attempts and audit entries past their retention"
            );
        }
        Err(e) => tracing::warn!(error = %e, "purging old login attempts and audit entries failed"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
