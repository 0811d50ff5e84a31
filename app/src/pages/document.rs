//! The HTML document of the pages the server renders on its own, outside the app's router: the
//! setup-link page and the problem pages. They load no WASM, so they work with JavaScript off
//! and in any browser state, and they share the app's document shell: language, viewport,
//! stylesheet (in [`HeadBasics`]) and a title of the form `… · Tessera`.

use super::head::HeadBasics;
use leptos::prelude::*;

/// The `<main>` class of a single card: problem pages, "Okta is connected".
pub const NARROW: &str = "page narrow";
/// The `<main>` class of the setup page (wider, for the steps and the form).
pub const SETUP: &str = "page setup";

/// A whole HTML document (`<!DOCTYPE html>` included) titled `{title} · Tessera`, with the
/// brand line and `body` in `<main class="{main_class}">`. Text is escaped by Leptos.
pub fn render(title: &str, main_class: &'static str, body: impl IntoView + 'static) -> String {
    let title = format!("{title} · Tessera");
    // A fresh reactive owner: these pages render outside the app, without a request's owner.
    Owner::new().with(move || {
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head>
                    <HeadBasics />
                    // Set whole: a text child would carry Leptos' `<!>` marker into the tab's title.
                    <title inner_html=escape_text(&title)></title>
                </head>
                <body>
                    <main class=main_class>
                        <p class="brand">"Tessera"</p>
                        {body}
                    </main>
                </body>
            </html>
        }
        .to_html()
    })
}

/// `text` with `&`, `<` and `>` as entities (a `<title>`'s content is text, entities decoded).
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
