//! The HTTP server: router, security headers, health probes, sessions and graceful shutdown.

use crate::config::Config;
use crate::sessions::DbSessionStore;
use app::ssr::crypto::SecretKey;
use app::ssr::store::{Store, redact_url};
use app::{App, shell};
use axum::extract::{FromRef, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, ResponseOptions, generate_route_list};
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub store: Store,
    pub key: SecretKey,
    pub oidc: Arc<crate::oidc::OidcCache>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The client for connection checks (`--idp-timeout`; private destinations only with
    /// `--allow-http-issuers`), built once per node.
    pub outbound: app::ssr::outbound::Outbound,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tessera_session";

/// The CSP for responses without inline scripts (API, error pages, assets).
const CSP_STRICT: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn csp_with_nonce(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);
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
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::sso::routes())
        .merge(crate::setup::routes())
        .leptos_routes_with_context(&state, routes, context, move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
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
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, Json(serde_json::json!({"status": "ok"})))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let ok = tokio::time::timeout(Duration::from_secs(2), state.store.ping())
        .await
        .unwrap_or(false);
    if ok {
        (StatusCode::OK, Json(serde_json::json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({"status": "unavailable", "reason": "database does not answer"}),
            ),
        )
    }
}

/// Builds the state for `config`.
pub fn state(config: Config, store: Store, key: SecretKey) -> AppState {
    let leptos_options = LeptosOptions::builder()
        .output_name("tessera")
        .site_root(config.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(config.bind)
        .build();
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let oidc =
        Arc::new(crate::oidc::OidcCache::new(config.idp_timeout).with_metrics(metrics.clone()));
    let outbound = app::ssr::outbound::Outbound::new(config.idp_timeout, config.allow_http_issuers);
    AppState {
        leptos_options,
        config: Arc::new(config),
        store,
        key,
        oidc,
        metrics,
        outbound,
    }
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
        metrics = config.metrics,
        site_root = %config.site_root,
        "starting tessera"
    );
    if !std::path::Path::new(&config.site_root).join("pkg").is_dir() {
        tracing::warn!(site_root = %config.site_root, "no built site (pkg/) here: pages will not hydrate; build with `cargo leptos build` or set --site-root");
    }
    let purge_store = store.clone();
    let purger = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = purge_store.purge_expired().await {
                tracing::warn!(error = %e, "purging expired flows and sessions failed");
            }
        }
    });
    let app = router(state(config, store, key));
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    purger.abort();
    result
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
