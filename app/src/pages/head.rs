//! What every HTML document Tessera serves has in its `<head>`: the app's (hydrated) and the
//! server-rendered setup and problem pages' alike.

use leptos::prelude::*;

use std::sync::RwLock;

/// The app's stylesheet, copied by `scripts/site.sh` from `style/main.css`, under its plain name.
pub const STYLESHEET: &str = "/pkg/tessera.css";

/// The stylesheet's address when the site's files are fingerprinted (`tessera.<hash>.css`),
/// set by the server at start-up ([`set_stylesheet`]); [`STYLESHEET`] until then.
static FINGERPRINTED: RwLock<Option<String>> = RwLock::new(None);

/// Where every document links its stylesheet: the fingerprinted name the server found in the
/// site, else [`STYLESHEET`].
pub fn stylesheet() -> String {
    FINGERPRINTED
        .read()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_else(|| STYLESHEET.to_string())
}

/// Makes [`stylesheet`] answer `href` (the server calls it when the site it serves is
/// fingerprinted; one process serves one site).
pub fn set_stylesheet(href: String) {
    if let Ok(mut s) = FINGERPRINTED.write() {
        *s = Some(href);
    }
}

/// What every document's `<head>` starts with, the app's and the server-rendered pages' alike:
/// charset, viewport, an empty icon (no `/favicon.ico` request) and the stylesheet ([`stylesheet`]).
/// Rendered on the server only (the app hydrates `<body>`), so the client never needs the
/// stylesheet's fingerprint.
#[component]
pub fn HeadBasics() -> impl IntoView {
    view! {
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href=stylesheet() />
    }
}
