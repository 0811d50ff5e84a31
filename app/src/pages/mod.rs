//! The pages: each renders on the server (readable with JavaScript off) and hydrates for
//! interactions. The setup-link page and the problem pages are rendered by the server alone,
//! as whole documents without WASM ([`document`]), so they exist only with `ssr`.

pub mod activity;
pub mod audit;
#[cfg(feature = "ssr")]
pub mod document;
pub mod head;
pub mod layout;
pub mod members;
#[cfg(feature = "ssr")]
pub mod problem;
pub mod provisioning;
pub mod provisioning_log;
#[cfg(feature = "ssr")]
pub mod setup;
pub mod signals;
pub mod sso;

use leptos::prelude::*;

/// Whether the page has hydrated (its event handlers are attached), provided by the app.
#[derive(Clone, Copy, Debug)]
pub struct Hydrated(pub ReadSignal<bool>);

/// `false` in the server's HTML and until the WASM has hydrated the page, then `true`. Controls
/// that need JavaScript render `disabled=move || !hydrated.get() || …`, so a page read before
/// (or without) the WASM never offers a button that does nothing.
pub fn hydrated() -> Signal<bool> {
    match use_context::<Hydrated>() {
        Some(Hydrated(h)) => h.into(),
        None => Signal::stored(false),
    }
}

/// `"1 admin"`, `"2 admins"`, `"0 admins"`.
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Sets the document's `<title>` to `{page} · Tessera`.
#[component]
pub fn PageTitle(page: &'static str) -> impl IntoView {
    view! { <leptos_meta::Title text=format!("{page} · Tessera") /> }
}

pub use crate::time_text::{format_ms, relative_ms};
use crate::time_text::{format_ms_exact, rfc3339};

/// A moment as people read it: relative to `now` ([`relative_ms`]), the exact UTC time on
/// hover (`title`, to the second) and for machines (`datetime`, RFC 3339).
#[component]
pub fn Moment(ms: i64, now: i64) -> impl IntoView {
    view! { <time datetime=rfc3339(ms) title=format_ms_exact(ms)>{relative_ms(ms, now)}</time> }
}

/// Percent-encodes a query value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(plural(1, "admin", "admins"), "1 admin");
        assert_eq!(plural(0, "admin", "admins"), "0 admins");
        assert_eq!(plural(2, "member", "members"), "2 members");
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(encode_query("a b&c=%"), "a%20b%26c%3D%25");
    }
}
