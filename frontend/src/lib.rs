//! The WASM entry point: hydrates the server-rendered page with [`app::App`].
//! (Empty on the host: see Cargo.toml.)

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
