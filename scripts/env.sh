# Shared settings for the project scripts (sourced, not run).
# Builds go to a target directory outside the clone so fresh clones (CI) start warm.
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/target}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# wasm-opt from the npm `binaryen` package (end2end/package.json, installed by `npm ci`), for
# `scripts/site.sh --release`.
export PATH="$ROOT/end2end/node_modules/binaryen/bin:$PATH"
# The virtual environment of the SCIM compliance suite (scripts/scim-compliance.sh), kept beside
# the build cache like the target directory.
SCIM_VENV="${SCIM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/scim-venv}"
export SCIM_VENV
# Pinned tool versions (see README: they are the newest that build on rustc 1.95).
# The wasm-bindgen CLI must equal the wasm-bindgen crate pinned in Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$ROOT/Cargo.lock")"
export WASM_BINDGEN_VERSION
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
