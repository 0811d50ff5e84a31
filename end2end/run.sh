#!/usr/bin/env bash
# End-to-end browser tests for Tessera against a local Okta (okta-dev).
#
#   TESSERA_BIN=target/release/tessera LEPTOS_SITE_ROOT=target/site end2end/run.sh [playwright args...]
#
# Environment:
#   TESSERA_BIN       path to the built `tessera` binary (required)
#   LEPTOS_SITE_ROOT  site directory holding pkg/ (passed through to tessera)
#   OKTA_PORT         port for okta-dev (default: a free port)
#   TESSERA_PORT      port for tessera (default: a free port)
#   CHROMIUM_PATH     browser binary (default /usr/bin/chromium, see playwright.config.mjs)
#   KEEP_TMP=1        keep the temporary directory (database, logs) afterwards
#   STARTUP_TIMEOUT   seconds to wait for tessera's /healthz (default 60)
#
# Extra arguments go to `npx playwright test`, e.g. `end2end/run.sh tests/login.spec.mjs`.
# Logs of both servers are copied to end2end/test-results/ and printed on failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "run.sh: $*" >&2
  exit 1
}

[ -n "${TESSERA_BIN:-}" ] || die "TESSERA_BIN must point at the built tessera binary"
case "$TESSERA_BIN" in
  /*) ;;
  */*) TESSERA_BIN="$PWD/$TESSERA_BIN" ;; # relative to the caller's directory
  *) TESSERA_BIN="$(command -v "$TESSERA_BIN" || echo "$TESSERA_BIN")" ;;
esac
[ -x "$TESSERA_BIN" ] || die "TESSERA_BIN is not an executable file: ${TESSERA_BIN:-<not found>}"
if [ -n "${LEPTOS_SITE_ROOT:-}" ]; then
  [ -d "$LEPTOS_SITE_ROOT" ] || die "LEPTOS_SITE_ROOT is not a directory: $LEPTOS_SITE_ROOT"
  LEPTOS_SITE_ROOT="$(cd "$LEPTOS_SITE_ROOT" && pwd)"
  export LEPTOS_SITE_ROOT
fi
command -v node >/dev/null || die "node is required"
command -v npm >/dev/null || die "npm is required"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-60}"

# tessera runs in the caller's directory (e.g. the project root for `make test`).
CALLER_DIR="$PWD"
cd "$HERE"

# --- node modules ------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "run.sh: installing node modules (npm ci)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --omit=optional
fi

# --- temp dir, process bookkeeping, cleanup -------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/tessera-e2e.XXXXXX")"
OKTA_PID=""
GLOBEX_OKTA_PID=""
TESSERA_PID=""
SHOW_LOGS=1 # cleared only when the tests pass

stop_pid() {
  local pid="$1"
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

print_log() {
  local name="$1" file="$2"
  [ -f "$file" ] || return 0
  echo "----- $name log ($file) -----" >&2
  tail -n 200 "$file" >&2 || true
  echo "----- end of $name log -----" >&2
}

cleanup() {
  local status=$?
  set +e
  stop_pid "$TESSERA_PID"
  stop_pid "$OKTA_PID"
  stop_pid "$GLOBEX_OKTA_PID"
  mkdir -p "$HERE/test-results"
  cp -f "$TMP/okta-dev.log" "$HERE/test-results/okta-dev.log" 2>/dev/null
  cp -f "$TMP/okta-dev-globex.log" "$HERE/test-results/okta-dev-globex.log" 2>/dev/null
  cp -f "$TMP/tessera.log" "$HERE/test-results/tessera.log" 2>/dev/null
  cp -f "$TMP/tessera-cli.log" "$HERE/test-results/tessera-cli.log" 2>/dev/null
  if [ "$status" -ne 0 ] && [ "$SHOW_LOGS" = 1 ]; then
    print_log "tessera CLI" "$TMP/tessera-cli.log"
    print_log "okta-dev" "$TMP/okta-dev.log"
    print_log "okta-dev (Globex)" "$TMP/okta-dev-globex.log"
    print_log "tessera" "$TMP/tessera.log"
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "run.sh: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  node -e '
    const s = require("node:net").createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => console.log(port)); });'
}

http_ok() { # URL -> exit 0 when it answers 200
  if command -v curl >/dev/null; then
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null)" = 200 ]
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "$1"
  fi
}

OPORT="${OKTA_PORT:-$(free_port)}"
TPORT="${TESSERA_PORT:-$(free_port)}"
while [ "$TPORT" = "$OPORT" ]; do TPORT="$(free_port)"; done
# Globex (zz-setup.spec.mjs) has an Okta org of its own: one Okta issuer belongs to one org.
GPORT="$(free_port)"
while [ "$GPORT" = "$OPORT" ] || [ "$GPORT" = "$TPORT" ]; do GPORT="$(free_port)"; done
GLOBEX_OKTA_URL="http://127.0.0.1:$GPORT"
GLOBEX_CLIENT_ID="tessera-globex"
GLOBEX_CLIENT_SECRET="globex-secret-$(node -e 'console.log(require("node:crypto").randomBytes(12).toString("hex"))')"
OKTA_URL="http://127.0.0.1:$OPORT"
TESSERA_URL="http://127.0.0.1:$TPORT"
CLIENT_ID="tessera-acme"
CLIENT_SECRET="acme-secret-$(node -e 'console.log(require("node:crypto").randomBytes(12).toString("hex"))')"
echo "run.sh: okta-dev $OKTA_URL, tessera $TESSERA_URL, tmp $TMP"

# --- okta-dev ----------------------------------------------------------------
# okta_dev NAME CLIENT_ID CLIENT_SECRET PORT ISSUER LOG: starts an okta-dev with one client for
# Tessera (app tile NAME) in the background; its pid goes to $OKTA_DEV_PID.
okta_dev() {
  local clients
  clients="$(node -e '
    const [name, id, secret, base] = process.argv.slice(1);
    console.log(JSON.stringify([{
      client_id: id,
      client_secret: secret,
      redirect_uris: [`${base}/sso/callback`],
      initiate_login_uri: `${base}/sso/initiate`,
      post_logout_redirect_uris: [`${base}/`],
      name,
    }]));' "$1" "$2" "$3" "$TESSERA_URL")"
  PORT="$4" OKTA_DEV_ISSUER="$5" OKTA_DEV_CLIENTS="$clients" \
    node "$HERE/okta-dev/server.mjs" >"$6" 2>&1 &
  OKTA_DEV_PID=$!
}
okta_dev "Tessera (Acme)" "$CLIENT_ID" "$CLIENT_SECRET" "$OPORT" "$OKTA_URL" "$TMP/okta-dev.log"
OKTA_PID=$OKTA_DEV_PID
okta_dev "Tessera (Globex)" "$GLOBEX_CLIENT_ID" "$GLOBEX_CLIENT_SECRET" "$GPORT" "$GLOBEX_OKTA_URL" \
  "$TMP/okta-dev-globex.log"
GLOBEX_OKTA_PID=$OKTA_DEV_PID

for i in $(seq 1 150); do
  if grep -q '^okta-dev ready ' "$TMP/okta-dev.log" 2>/dev/null \
    && grep -q '^okta-dev ready ' "$TMP/okta-dev-globex.log" 2>/dev/null; then break; fi
  kill -0 "$OKTA_PID" 2>/dev/null || die "okta-dev exited during startup"
  kill -0 "$GLOBEX_OKTA_PID" 2>/dev/null || die "okta-dev (Globex) exited during startup"
  [ "$i" -lt 150 ] || die "okta-dev not ready after 30 s"
  sleep 0.2
done
echo "run.sh: $(grep -m1 '^okta-dev ready ' "$TMP/okta-dev.log")"
echo "run.sh: Globex: $(grep -m1 '^okta-dev ready ' "$TMP/okta-dev-globex.log")"

# --- tessera: register the org, then serve --------------------------------------
T=("$TESSERA_BIN"
  --database-url "sqlite://$TMP/tessera.db"
  --secret-key-file "$TMP/secret.key"
  --public-url "$TESSERA_URL"
  --allow-http-issuers)

run_cli() { # args... ; stdin passes through
  echo "+ tessera ${*}" >>"$TMP/tessera-cli.log"
  if ! (cd "$CALLER_DIR" && exec "${T[@]}" "$@") >>"$TMP/tessera-cli.log" 2>&1; then
    die "tessera CLI failed: tessera $*"
  fi
}

run_cli org create acme --name Acme
printf '%s' "$CLIENT_SECRET" | run_cli sso set acme --issuer "$OKTA_URL" --client-id "$CLIENT_ID" --client-secret-file -
run_cli sso enable acme
# Globex: no SSO yet; its Okta administrator connects it with a one-time setup link.
run_cli org create globex --name Globex
echo "+ tessera org setup-link globex" >>"$TMP/tessera-cli.log"
SETUP_OUT="$(cd "$CALLER_DIR" && exec "${T[@]}" org setup-link globex 2>>"$TMP/tessera-cli.log")" \
  || die "tessera CLI failed: tessera org setup-link globex"
SETUP_URL="${SETUP_OUT%%$'\n'*}" # the link is the first line
echo "$SETUP_OUT" >>"$TMP/tessera-cli.log"
case "$SETUP_URL" in "$TESSERA_URL/setup/"*) ;; *) die "unexpected setup link: $SETUP_URL" ;; esac

export LEPTOS_SITE_ADDR="127.0.0.1:$TPORT"
(cd "$CALLER_DIR" && exec "${T[@]}" serve --bind "127.0.0.1:$TPORT") >"$TMP/tessera.log" 2>&1 &
TESSERA_PID=$!

deadline=$((SECONDS + STARTUP_TIMEOUT))
until http_ok "$TESSERA_URL/healthz"; do
  kill -0 "$TESSERA_PID" 2>/dev/null || die "tessera exited during startup"
  [ "$SECONDS" -lt "$deadline" ] || die "tessera did not answer 200 on /healthz within ${STARTUP_TIMEOUT} s"
  sleep 0.25
done
echo "run.sh: tessera is up"

# --- playwright -----------------------------------------------------------------
set +e
TESSERA_URL="$TESSERA_URL" OKTA_URL="$OKTA_URL" OKTA_CLIENT_ID="$CLIENT_ID" \
  SETUP_URL="$SETUP_URL" GLOBEX_OKTA_URL="$GLOBEX_OKTA_URL" \
  GLOBEX_CLIENT_ID="$GLOBEX_CLIENT_ID" GLOBEX_CLIENT_SECRET="$GLOBEX_CLIENT_SECRET" \
  npx --no-install playwright test "$@"
status=$?
set -e
if [ "$status" -eq 0 ]; then
  SHOW_LOGS=0
else
  echo "run.sh: playwright failed (exit $status)" >&2
fi
exit "$status"
