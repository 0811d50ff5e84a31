//! What every HTML document Tessera serves has in its `<head>`: the app's (hydrated) and the
//! server-rendered setup and problem pages' alike.

use leptos::prelude::*;

/// The app's stylesheet, built by cargo-leptos from `style/main.css`.
pub const STYLESHEET: &str = "/pkg/tessera.css";

/// What every document's `<head>` starts with, the app's and the server-rendered pages' alike:
/// charset, viewport and an empty icon (no `/favicon.ico` request).
#[component]
pub fn HeadBasics() -> impl IntoView {
    view! {
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
    }
}
