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

/// `resource`'s value for a page's `<Suspense>` body, or `None` when the page is gone first.
///
/// A navigation can dispose a page while its `Suspend` still waits for data. Awaiting the
/// page's arena [`Resource`] then panics ("you tried to access a reactive value … already
/// disposed"), which stops the hydrated app; so does building a view that reads the page's
/// disposed signals. This takes the resource's reference-counted future at once, while the
/// page is alive, and after it resolves yields the value only if the resource (owned by the
/// page) still exists; the body then renders nothing.
///
/// Pages use it through [`when_loaded`].
fn loaded<T, Ser>(resource: Resource<T, Ser>) -> impl Future<Output = Option<T>> + Send + 'static
where
    T: Clone + Send + Sync + 'static,
    Ser: Send + Sync + 'static,
{
    let pending = (!resource.is_disposed()).then(|| resource.into_future());
    async move {
        let value = pending?.await;
        (!resource.is_disposed()).then_some(value)
    }
}

/// A `<Suspense>` body that renders `body(value)` once `resource` has loaded, and nothing when
/// the page was left first ([`loaded`]): `{when_loaded(data, move |result| match result { … })}`.
/// `body` runs only after the data arrived, so every signal it reads is read while the page
/// lives, and is tracked (the body runs again when the resource reloads or they change).
pub fn when_loaded<T, Ser>(
    resource: Resource<T, Ser>,
    body: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl Fn() -> Suspend<AnyView> + Send + Sync + 'static
where
    T: Clone + Send + Sync + 'static,
    Ser: Send + Sync + 'static,
{
    move || {
        let load = loaded(resource);
        let body = body.clone();
        Suspend::new(async move {
            match load.await {
                Some(value) => body(value),
                None => ().into_any(),
            }
        })
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

    /// A `Suspend` body whose page was disposed (a navigation) before its data arrived: the
    /// data taken while the page lived, and data asked for afterwards, both give `None`.
    /// Awaiting the page's arena resource itself, as the bodies did before, panics.
    #[cfg(feature = "ssr")]
    #[tokio::test]
    async fn data_for_a_page_that_is_gone_is_none_not_a_panic() {
        let _ = any_spawner::Executor::init_tokio();
        let page = Owner::new();
        let (resource, taken_while_alive, read_alive) = page.with(|| {
            let r = Resource::new(|| (), |_| async { 7_u32 });
            (r, loaded(r), loaded(r))
        });
        assert_eq!(read_alive.await, Some(7), "the page lives: its data");

        page.cleanup();
        assert!(resource.is_disposed());
        assert_eq!(taken_while_alive.await, None);
        assert_eq!(loaded(resource).await, None);
        let awaited_directly = tokio::spawn(async move { resource.await }).await;
        assert!(
            awaited_directly.is_err_and(|e| e.is_panic()),
            "awaiting a disposed resource panics (what `loaded` avoids)"
        );
    }
}
