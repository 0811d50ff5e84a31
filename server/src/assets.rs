//! The built site's files under `/pkg/`: fingerprinted (`tessera.<hash>.js`, `.wasm`, `.css`,
//! with `hash-files = true` in Cargo.toml) or plain (`tessera.js`, …).
//!
//! `scripts/site.sh` writes the fingerprints to `hash.txt` in the site root, and cargo-leptos
//! (if you build with it) to `hash.txt` (lines `js: <hash>`, `wasm: <hash>`,
//! `css: <hash>`) next to the server binary it builds (`$CARGO_TARGET_DIR/debug/hash.txt`,
//! `…/release/hash.txt`), where Leptos' `HydrationScripts` looks for it by default. Tessera
//! looks first in the site root (where a deployment keeps it with the files it describes),
//! then next to its binary (`LEPTOS_HASH_FILE_NAME`, default `hash.txt`), and uses the first
//! whose files are all in `<site root>/pkg/`: a hash file left by another build never names
//! missing files.

use std::path::{Path, PathBuf};

/// The name of the site's files (`scripts/site.sh`, and cargo-leptos's `output-name`).
pub const OUTPUT_NAME: &str = "tessera";

/// What the server serves under `/pkg/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteAssets {
    /// The hash file whose fingerprints are in the site, absolute; `None`: plain names.
    pub hash_file: Option<PathBuf>,
    /// The fingerprinted file names (`tessera.<hash>.js`, …), cached immutably.
    pub fingerprinted: Vec<String>,
}

impl SiteAssets {
    /// The assets of the site at `site_root` (its `pkg/` directory).
    pub fn find(site_root: &Path) -> SiteAssets {
        let name = std::env::var("LEPTOS_HASH_FILE_NAME").unwrap_or_else(|_| "hash.txt".into());
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(&name)));
        let candidates = std::iter::once(site_root.join("hash.txt")).chain(beside_binary);
        Self::find_among(site_root, candidates)
    }

    /// The first of `hash_files` whose fingerprinted files are all in `<site_root>/pkg/`.
    pub fn find_among(
        site_root: &Path,
        hash_files: impl IntoIterator<Item = PathBuf>,
    ) -> SiteAssets {
        let pkg = pkg_dir(site_root);
        for file in hash_files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Some(names) = fingerprinted_names(&text) else {
                tracing::warn!(hash_file = %file.display(), "not a site hash file: ignored");
                continue;
            };
            if names.iter().all(|n| pkg.join(n).is_file()) {
                let hash_file = std::path::absolute(&file).unwrap_or(file);
                return SiteAssets {
                    hash_file: Some(hash_file),
                    fingerprinted: names,
                };
            }
            tracing::debug!(hash_file = %file.display(), "its files are not in the site: ignored");
        }
        SiteAssets::default()
    }

    /// The stylesheet's address when fingerprinted.
    pub fn stylesheet(&self) -> Option<String> {
        self.fingerprinted
            .iter()
            .find(|n| n.ends_with(".css"))
            .map(|n| format!("/pkg/{n}"))
    }

    /// Whether `path` (a request's) is one of the fingerprinted files.
    pub fn is_fingerprinted(&self, path: &str) -> bool {
        path.strip_prefix("/pkg/")
            .is_some_and(|name| self.fingerprinted.iter().any(|n| n == name))
    }
}

/// The name of the site's directory of files, served under `/pkg/`.
pub const PKG_DIR: &str = "pkg";

/// The site's `pkg/` directory, whose files are served under `/pkg/`.
pub fn pkg_dir(site_root: &Path) -> PathBuf {
    site_root.join(PKG_DIR)
}

/// The service answering `/pkg/…` from `<site root>/pkg/`: each file as its `.br` or `.gz` twin
/// where the build wrote one (`scripts/site.sh --release`: brotli 11 and gzip 9, once per
/// build) and the browser accepts it; otherwise as it is, for the server's compression layer.
/// Directories are not served (no redirect of `/pkg/x` to `/x/`): the site has only files.
pub fn service(site_root: &Path) -> tower_http::services::ServeDir {
    tower_http::services::ServeDir::new(pkg_dir(site_root))
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
}

/// `tessera.<hash>.js`, `.wasm` and `.css` from a hash file's `js:`, `wasm:` and `css:` lines;
/// `None` unless all three are there and every hash is a plain file-name part.
fn fingerprinted_names(text: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for ext in ["js", "wasm", "css"] {
        let hash = text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == ext).then(|| value.trim())
        })?;
        let plain = !hash.is_empty()
            && hash
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return None;
        }
        names.push(format!("{OUTPUT_NAME}.{hash}.{ext}"));
    }
    Some(names)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn site(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        for f in files {
            std::fs::write(dir.path().join("pkg").join(f), "x").unwrap();
        }
        dir
    }

    const HASHES: &str = "js: aB1-_\nwasm: w2\ncss: c3\n";

    #[test]
    fn the_first_hash_file_whose_files_are_in_the_site_wins() {
        let dir = site(&["tessera.aB1-_.js", "tessera.w2.wasm", "tessera.c3.css"]);
        let stale = dir.path().join("stale.txt");
        std::fs::write(&stale, "js: old\nwasm: old\ncss: old\n").unwrap();
        let good = dir.path().join("hash.txt");
        std::fs::write(&good, HASHES).unwrap();
        let missing = dir.path().join("missing.txt");
        let assets = SiteAssets::find_among(dir.path(), [missing, stale, good.clone()]);
        assert_eq!(assets.hash_file.as_deref(), Some(good.as_path()));
        assert_eq!(
            assets.fingerprinted,
            ["tessera.aB1-_.js", "tessera.w2.wasm", "tessera.c3.css"]
        );
        assert_eq!(assets.stylesheet().as_deref(), Some("/pkg/tessera.c3.css"));
        assert!(assets.is_fingerprinted("/pkg/tessera.w2.wasm"));
        assert!(!assets.is_fingerprinted("/pkg/tessera.wasm"));
        assert!(!assets.is_fingerprinted("/tessera.w2.wasm"));
    }

    #[test]
    fn without_a_matching_hash_file_the_names_are_plain() {
        let dir = site(&["tessera.js", "tessera.wasm", "tessera.css"]);
        let partial = dir.path().join("hash.txt");
        std::fs::write(&partial, "js: a\nwasm: b\n").unwrap();
        let odd = dir.path().join("odd.txt");
        std::fs::write(&odd, "js: ../x\nwasm: b\ncss: c\n").unwrap();
        let assets = SiteAssets::find_among(dir.path(), [partial, odd]);
        assert_eq!(assets, SiteAssets::default());
        assert_eq!(assets.stylesheet(), None);
    }
}
