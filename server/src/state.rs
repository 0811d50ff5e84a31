//! The state every request handler shares ([`AppState`]) and how it is built. Imports no
//! handler module: handlers depend on this, and the router (`http`) sits on top of both.

use crate::assets::{OUTPUT_NAME, SiteAssets};
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
    /// The site's files under `/pkg/`, fingerprinted or plain.
    pub assets: Arc<SiteAssets>,
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

/// Whether `<site_root>/pkg/` has fingerprinted files (`tessera.<hash>.js`) but no plain
/// `tessera.js`.
fn fingerprinted_only(site_root: &str) -> bool {
    let pkg = crate::assets::pkg_dir(std::path::Path::new(site_root));
    let Ok(entries) = std::fs::read_dir(&pkg) else {
        return false;
    };
    !pkg.join(format!("{OUTPUT_NAME}.js")).is_file()
        && entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{OUTPUT_NAME}.")) && name.ends_with(".js")
        })
}

/// Builds the state for `config`.
pub fn state(config: Config, store: Store, key: SecretKey) -> AppState {
    let assets = SiteAssets::find(std::path::Path::new(&config.site_root));
    // Leptos' `HydrationScripts` reads the fingerprints from `hash_file` (joined to the
    // binary's directory: an absolute path stays as it is).
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_root.clone())
        .site_pkg_dir(crate::assets::PKG_DIR)
        .site_addr(config.bind)
        .hash_files(assets.hash_file.is_some())
        .hash_file(
            assets
                .hash_file
                .as_ref()
                .map_or("hash.txt".into(), |f| f.display().to_string().into()),
        )
        .build();
    if let Some(href) = assets.stylesheet() {
        app::pages::head::set_stylesheet(href);
    }
    match &assets.hash_file {
        Some(f) => {
            tracing::info!(hash_file = %f.display(), "site files fingerprinted: /pkg/ cached immutably")
        }
        None if fingerprinted_only(&config.site_root) => tracing::warn!(
            site_root = %config.site_root,
            "the site's files are fingerprinted but no hash.txt names them (looked in the site root and beside the binary): pages will not hydrate; copy the build's hash.txt into the site root"
        ),
        None => {}
    }
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
        assets: Arc::new(assets),
    }
}
