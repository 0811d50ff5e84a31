#!/usr/bin/env bash
# Installs what building and testing Tessera needs, from crates.io, npm and Debian only.
# Idempotent: on a ready machine it checks versions and returns in seconds.
#   scripts/bootstrap.sh          build tools (the wasm32 target, the wasm-bindgen CLI)
#   scripts/bootstrap.sh --test   also Debian chromium, the end2end npm packages and the SCIM
#                                 compliance suite (PyPI, pinned, in a virtual environment)
#   scripts/bootstrap.sh --release  also the end2end npm packages, among them wasm-opt (the npm
#                                 `binaryen` package, a packaged build) for `scripts/site.sh --release`
#   scripts/bootstrap.sh --npm    only the end2end npm packages (the Rust tests start the local
#                                 Okta from them; `make test` installs the rest beside its build)
# Tools compile in their own target directory ($TOOLS_TARGET_DIR), so an install never waits on
# the lock of a workspace build running beside it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
TOOLS_TARGET_DIR="${TOOLS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/tools-target}"

npm_packages() {
  command -v node >/dev/null 2>&1 || { echo "Node.js (with npm) is required for end2end tests and release builds: apt-get install nodejs npm" >&2; exit 1; }
  (
    cd "$ROOT/end2end"
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      # Without the optional better-sqlite3 (only the benchmarks' Node peer uses it): with no
      # prebuilt binary reachable it compiles SQLite from C for minutes. `make bench` adds it.
      say "installing end2end npm packages (npm ci)"
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --omit=optional
    fi
  )
}

# Build tools compile for a fast install, not for peak speed (they run for seconds per build).
# Profile settings from the environment override the package's (cargo's config precedence).
tool_profile() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false "$@"
}

if [ "${1:-}" = "--npm" ]; then
  npm_packages
  exit 0
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (matches Cargo.lock)"
  # Not --locked: that release's lockfile names a crate version the registry no longer has.
  tool_profile cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force --target-dir "$TOOLS_TARGET_DIR"
fi

if [ "${1:-}" = "--test" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    say "installing Debian's chromium for the end2end tests"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    fi
  fi
  # The SCIM compliance suite: reinstalled only when its pins change (the venv keeps a copy).
  SCIM_REQ="$ROOT/scripts/scim-compliance/requirements.txt"
  if ! cmp -s "$SCIM_REQ" "$SCIM_VENV/requirements.txt" || ! "$SCIM_VENV/bin/python" -c '' 2>/dev/null; then
    say "installing the SCIM compliance suite into $SCIM_VENV"
    python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
      || { echo "Python 3.11 or newer is required for the SCIM compliance suite" >&2; exit 1; }
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
      if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      fi
    fi
    python3 -m venv --clear "$SCIM_VENV"
    "$SCIM_VENV/bin/pip" install -q --disable-pip-version-check --require-hashes --only-binary=:all: \
      -r "$SCIM_REQ"
    cp "$SCIM_REQ" "$SCIM_VENV/requirements.txt"
  fi
fi

# The end2end npm packages (end2end/package-lock.json): Playwright and the local Okta for the
# tests; wasm-opt (npm `binaryen`, binaryen 116: Debian's 108 produces a WASM that fails to
# hydrate) for release builds, found on PATH (scripts/env.sh).
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--release" ]; then
  npm_packages
fi
