#!/usr/bin/env bash
# `make test`: formatting, lints, unit and integration tests on SQLite AND PostgreSQL, the SCIM
# 2.0 compliance suite against `tessera serve` on both, then end2end tests in Debian Chromium
# against the real server and the local Okta.
#
# PostgreSQL comes from TESSERA_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test
# when it answers); each test creates its own database there. Without a reachable server the
# PostgreSQL leg is skipped with a loud warning, except under CI=true, where it is an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

# The Rust tests need only the end2end npm packages (they start the local Okta). The other tools
# (the wasm32 target, wasm-bindgen-cli, chromium, the SCIM suite) install in the background while
# the workspace compiles and its tests run. Tools build in their own target directory, so neither
# waits on the other's lock. The log is shown when the tools are needed.
"$ROOT/scripts/bootstrap.sh" --npm
BOOT_LOG="$(mktemp -t tessera-bootstrap.XXXXXX)"
setsid "$ROOT/scripts/bootstrap.sh" --test >"$BOOT_LOG" 2>&1 &
BOOT_PID=$!
# Never leave the installer (its own process group) running if a step below fails.
trap 'kill -- "-$BOOT_PID" 2>/dev/null || true' EXIT
tools_ready() {
  say "waiting for the tools installed in the background (scripts/bootstrap.sh --test)"
  if ! wait "$BOOT_PID"; then
    cat "$BOOT_LOG" >&2
    echo "error: scripts/bootstrap.sh --test failed (its output is above)" >&2
    exit 1
  fi
  cat "$BOOT_LOG"
  trap - EXIT
}

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

PG_URL="${TESSERA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_up() { psql "$PG_URL" -qtAc 'SELECT 1' >/dev/null 2>&1; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -z "${TESSERA_TEST_POSTGRES_URL:-}" ]; then
  say "PostgreSQL is not answering: trying to start the local cluster"
  for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  sleep 2
fi
if pg_up; then
  export TESSERA_TEST_POSTGRES_URL="$PG_URL" TESSERA_REQUIRE_POSTGRES=1
  say "PostgreSQL leg: ON ($PG_URL)"
elif [ "${CI:-}" = "true" ]; then
  echo "error: CI=true but PostgreSQL at $PG_URL is unreachable" >&2
  exit 1
else
  printf '\n\033[1;31m%s\n%s\n%s\033[0m\n\n' \
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" \
    "!!  PostgreSQL at $PG_URL is unreachable: SKIPPING the PostgreSQL leg.  !!" \
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  export TESSERA_TEST_POSTGRES_URL="$PG_URL" TESSERA_REQUIRE_POSTGRES=0
fi

say "unit and integration tests (SQLite and PostgreSQL)"
cargo test --workspace

tools_ready

say "SCIM 2.0 compliance suite against tessera serve (scripts/scim-compliance.sh)"
TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera" bash "$ROOT/scripts/scim-compliance.sh"

say "the local Okta's SCIM client and signal sender (node --test end2end/okta-dev/{scim,signals}.test.mjs)"
(cd "$ROOT/end2end" && node --test okta-dev/scim.test.mjs okta-dev/signals.test.mjs)

# The debug front end, whose views match the server `cargo test` built (no second server build).
say "building the site (scripts/site.sh)"
bash "$ROOT/scripts/site.sh"

say "end2end tests in Chromium"
TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera" LEPTOS_SITE_ROOT="$ROOT/target/site" \
  bash "$ROOT/end2end/run.sh"

say "all tests passed"
