//! The state every request handler shares ([`AppState`]) and how it is built. Imports no
//! handler module: handlers depend on this, and the router (`http`) sits on top of both.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::oidc::OidcCache;
use app::ssr::crypto::SecretKey;
use app::ssr::outbound::Outbound;
use app::ssr::store::Store;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub store: Store,
    pub key: SecretKey,
    pub oidc: Arc<OidcCache>,
    pub metrics: Arc<Metrics>,
    /// The client for connection checks (`--idp-timeout`; private destinations only with
    /// `--allow-http-issuers`), built once per node.
    pub outbound: Outbound,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
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
    let metrics = Arc::new(Metrics::new());
    // One client for every request to an IdP: sign-in (through the cache) and connection tests.
    let outbound = Outbound::new(config.idp_timeout, config.allow_http_issuers);
    let oidc = Arc::new(
        OidcCache::new(outbound.clone())
            .with_metrics(metrics.clone())
            .with_clock(store.clock().clone()),
    );
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
