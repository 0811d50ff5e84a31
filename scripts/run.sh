#!/usr/bin/env bash
# `make run`: bootstrap, build, migrate and serve on http://127.0.0.1:3000 with the embedded
# SQLite database data/tessera.db (created on first run). Flags and TESSERA_* variables apply.
# A release build (server and front end: the hydrate WASM through wasm-opt, files
# fingerprinted), so the first page is what production serves; the first build takes longer
# than a debug one (about 10 minutes on 2 cores), later ones only rebuild what changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/bootstrap.sh" --release
cd "$ROOT"
say "building (scripts/site.sh --release: the front end and the server)"
SITE_ROOT="$ROOT/target/site" bash "$ROOT/scripts/site.sh" --release
export TESSERA_SITE_ROOT="${TESSERA_SITE_ROOT:-$ROOT/target/site}"
say "serving: tessera serve $*"
exec "$CARGO_TARGET_DIR/release/tessera" serve "$@"
