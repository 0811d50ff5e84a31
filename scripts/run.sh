#!/usr/bin/env bash
# `make run`: bootstrap, build, migrate and serve on http://127.0.0.1:3000 with the embedded
# SQLite database data/tessera.db (created on first run). Flags and TESSERA_* variables apply.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
say "building (cargo leptos build)"
cargo leptos build
export TESSERA_SITE_ROOT="${TESSERA_SITE_ROOT:-$ROOT/target/site}"
say "serving: tessera serve $*"
exec "$CARGO_TARGET_DIR/debug/tessera" serve "$@"
