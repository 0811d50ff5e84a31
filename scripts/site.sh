#!/usr/bin/env bash
# Builds the site the server serves from its site root (default target/site): the hydrate WASM
# front end, its JavaScript loader and the stylesheet in <site root>/pkg/, fingerprinted
# (tessera.<hash>.js, .wasm, .css), with the fingerprints in <site root>/hash.txt, where the
# server reads them (server/src/assets.rs) and serves /pkg/ as immutable.
#
#   scripts/site.sh             debug front end; views as `cargo build` and `cargo test` compile
#                               them, so it hydrates against the server those build
#                               (make test, make demo)
#   scripts/site.sh --release   release front end (profile wasm-release, then wasm-opt; each file
#                               also as .br and .gz, served as they are) AND the
#                               release server, both with `--cfg erase_components` (type-erased
#                               views: a quarter smaller WASM; server and WASM must agree, since
#                               erased views render other hydration markers) (make run)
#   --frontend-only              with --release: the front end only (the benchmarks)
#
# SITE_ROOT overrides the site root. The steps are cargo-leptos's (`[workspace.metadata.leptos]`
# in Cargo.toml keeps it usable for `cargo leptos watch`), without the 580-crate tool to
# compile on a fresh machine: cargo, wasm-bindgen-cli (pinned to Cargo.lock's wasm-bindgen) and
# wasm-opt (npm `binaryen`, a packaged build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

release=0 server=1
for arg in "$@"; do
  case "$arg" in
    --release) release=1 ;;
    --frontend-only) server=0 ;;
    *) echo "usage: scripts/site.sh [--release [--frontend-only]]" >&2; exit 2 ;;
  esac
done
SITE_ROOT="${SITE_ROOT:-$ROOT/target/site}"
NAME=tessera

if [ "$release" = 1 ]; then
  export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components"
  say "front end: cargo build -p frontend --profile wasm-release --target wasm32-unknown-unknown (erased views)"
  cargo build -p frontend --lib --profile wasm-release --target wasm32-unknown-unknown
  wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"
else
  say "front end: cargo build -p frontend --target wasm32-unknown-unknown"
  cargo build -p frontend --lib --target wasm32-unknown-unknown
  wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/debug/frontend.wasm"
fi

# Build in a staging directory beside the site: a failed step leaves the previous site as it was.
mkdir -p "$SITE_ROOT"
stage="$(mktemp -d "$SITE_ROOT/.pkg.XXXXXX")"
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
bindgen_flags=(--target web --no-typescript --out-dir "$stage" --out-name "$NAME")
[ "$release" = 1 ] && bindgen_flags+=(--remove-name-section --remove-producers-section)
wasm-bindgen "${bindgen_flags[@]}" "$wasm"
mv "$stage/${NAME}_bg.wasm" "$stage/$NAME.wasm"
if [ "$release" = 1 ]; then
  # wasm-opt reads the WASM's features from the file itself. Plain `-Oz` inlines into code that
  # gzips 7% larger than without that pass (README, "Front-end size").
  say "wasm-opt -Oz --skip-pass=inlining-optimizing ($(command -v wasm-opt))"
  wasm-opt -Oz --skip-pass=inlining-optimizing -o "$stage/$NAME.opt.wasm" "$stage/$NAME.wasm"
  mv "$stage/$NAME.opt.wasm" "$stage/$NAME.wasm"
fi
cp style/main.css "$stage/$NAME.css"

# Fingerprints: the first 16 hex digits of each file's SHA-256.
hashes=""
for ext in js wasm css; do
  hash="$(sha256sum "$stage/$NAME.$ext" | cut -c1-16)"
  mv "$stage/$NAME.$ext" "$stage/$NAME.$hash.$ext"
  hashes+="$ext: $hash"$'\n'
done
printf '%s' "$hashes" > "$stage/hash.txt"

if [ "$release" = 1 ]; then
  # Compressed twins, sent as they are to browsers that accept them: brotli 11 (Node's zlib)
  # and gzip 9, once per build. Without them the server compresses each request itself, at a
  # level cheap enough for that (server/src/http.rs, `compression`).
  say "compressing the site's files (brotli 11, gzip 9)"
  for f in "$stage/$NAME".*.js "$stage/$NAME".*.wasm "$stage/$NAME".*.css; do
    gzip -9 -n -k "$f"
    node -e 'const fs = require("fs"), zlib = require("zlib"); const f = process.argv[1];
      const q = { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: fs.statSync(f).size };
      fs.writeFileSync(f + ".br", zlib.brotliCompressSync(fs.readFileSync(f), { params: q }));' "$f"
  done
fi

rm -rf "$SITE_ROOT/pkg.old"
[ -d "$SITE_ROOT/pkg" ] && mv "$SITE_ROOT/pkg" "$SITE_ROOT/pkg.old"
mv "$stage/hash.txt" "$SITE_ROOT/hash.txt.new"
mv "$stage" "$SITE_ROOT/pkg"
mv "$SITE_ROOT/hash.txt.new" "$SITE_ROOT/hash.txt"
rm -rf "$SITE_ROOT/pkg.old"
trap - EXIT
say "site: $SITE_ROOT/pkg ($(ls "$SITE_ROOT/pkg" | tr '\n' ' '))"

if [ "$release" = 1 ] && [ "$server" = 1 ]; then
  say "server: cargo build -p server --bin tessera --release (erased views, as the front end)"
  cargo build -p server --bin tessera --release
fi
