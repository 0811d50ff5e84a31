#!/usr/bin/env bash
# SCIM 2.0 compliance: python-scim's scim2-tester, an independent suite (pinned in
# scripts/scim-compliance/requirements.txt, installed by `scripts/bootstrap.sh --test`), run
# against a live `tessera serve` at /scim/v2 on a temp SQLite database and, when
# TESSERA_TEST_POSTGRES_URL is set, again on a fresh PostgreSQL database. A failed check fails
# the run unless scripts/scim-compliance/allowed.txt names it (with the reason).
#
#   scripts/scim-compliance.sh
#
# Environment:
#   TESSERA_BIN                 the built binary (default $CARGO_TARGET_DIR/debug/tessera)
#   TESSERA_TEST_POSTGRES_URL   PostgreSQL server to create the second leg's database on; when
#                               it is unreachable the leg is skipped loudly, unless
#   TESSERA_REQUIRE_POSTGRES=1  which makes that an error (as for the Rust tests)
#   STARTUP_TIMEOUT             seconds to wait for /healthz (default 60)
# Each leg's HTTP transcript, server log and CLI log go to target/scim-compliance/<leg>/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
HERE="$ROOT/scripts/scim-compliance"
OUT="$ROOT/target/scim-compliance"
PY="$SCIM_VENV/bin/python"

die() {
  echo "scim-compliance: $*" >&2
  exit 1
}

TESSERA_BIN="${TESSERA_BIN:-$CARGO_TARGET_DIR/debug/tessera}"
[ -x "$TESSERA_BIN" ] || die "no tessera binary at $TESSERA_BIN (cargo build -p server, or set TESSERA_BIN)"
"$PY" -c 'import scim2_tester' 2>/dev/null || die "the suite is not installed: run scripts/bootstrap.sh --test"
command -v curl >/dev/null || die "curl is required"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-60}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/tessera-scim.XXXXXX")"
SERVER_PID=""
SUITE_PID=""
PG_DB=""

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

drop_pg_db() {
  [ -n "$PG_DB" ] || return 0
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  PG_DB=""
}

cleanup() {
  local status=$?
  set +e
  [ -z "$SUITE_PID" ] || kill -TERM "$SUITE_PID" 2>/dev/null
  stop_server
  drop_pg_db
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tessera without the caller's TESSERA_* variables: the flags below are its whole configuration.
CLEAN_ENV=(env)
for v in $(compgen -e | grep '^TESSERA_' || true); do CLEAN_ENV+=(-u "$v"); done

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_leg LABEL DATABASE_URL: Tessera on that database, one org, one SCIM token, the suite;
# failed checks set `failed`, anything else going wrong ends the script.
run_leg() {
  local label="$1" db="$2" dir="$OUT/${1,,}" port url token
  rm -rf "$dir" && mkdir -p "$dir"
  port="$(free_port)" || die "no free port"
  url="http://127.0.0.1:$port"
  local T=("${CLEAN_ENV[@]}" "$TESSERA_BIN" --database-url "$db"
    --secret-key-file "$TMP/$label.key" --public-url "$url")

  say "SCIM compliance on $label: tessera at $url"
  cli() { # args...: the operator CLI, its output to cli.log
    echo "+ tessera $*" >>"$dir/cli.log"
    "${T[@]}" "$@" >>"$dir/cli.log" 2>&1 || { cat "$dir/cli.log" >&2; die "tessera $* failed on $label"; }
  }
  # A SCIM token needs the org's Okta connection (nothing reaches that Okta: nobody signs in
  # here); creating it turns the provisioning mode from jit to both.
  cli org create acme --name Acme
  cli sso set acme --okta-domain acme.okta.com --client-id tessera-scim --client-secret-file - \
    < <(printf 'not-used')
  # The token is printed once; it stays out of the log.
  token="$("${T[@]}" scim token create acme --json 2>>"$dir/cli.log" \
    | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["token"])')" \
    || { cat "$dir/cli.log" >&2; die "tessera scim token create failed on $label"; }

  "${T[@]}" serve --bind "127.0.0.1:$port" >"$dir/tessera.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/healthz")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 50 "$dir/tessera.log" >&2; die "tessera exited during startup"; }
    [ "$SECONDS" -lt "$deadline" ] || die "tessera did not answer /healthz within $STARTUP_TIMEOUT s"
    sleep 0.25
  done

  # In the background, so that a signal to this script stops it at once (see cleanup).
  local status=0
  SCIM_TOKEN="$token" "$PY" "$HERE/suite.py" "$url/scim/v2" "$label" "$HERE/allowed.txt" \
    "$dir/http.log" &
  SUITE_PID=$!
  wait "$SUITE_PID" || status=$?
  SUITE_PID=""
  stop_server
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "----- last lines of the tessera log ($dir/tessera.log) -----" >&2
    tail -n 40 "$dir/tessera.log" >&2
  fi
}

# The PostgreSQL leg, decided first: a required but absent server fails before anything runs.
PG_ADMIN="${TESSERA_TEST_POSTGRES_URL:-}"
if [ -n "$PG_ADMIN" ] && ! psql "$PG_ADMIN" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  [ "${TESSERA_REQUIRE_POSTGRES:-}" != 1 ] \
    || die "TESSERA_REQUIRE_POSTGRES=1 but PostgreSQL at $PG_ADMIN is unreachable"
  printf '\033[1;31m!!!!! SKIPPING the PostgreSQL leg of SCIM compliance: %s is unreachable !!!!!\033[0m\n' "$PG_ADMIN"
  PG_ADMIN=""
fi

failed=0
run_leg SQLite "sqlite://$TMP/tessera.db"

if [ -n "$PG_ADMIN" ]; then
  # A fresh database, named like the Rust tests' ones (testkit/src/db.rs), dropped afterwards.
  PG_DB="tessera_scim_$("$PY" -c 'import uuid; print(uuid.uuid4().hex)')"
  psql "$PG_ADMIN" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
  pg_url="$("$PY" -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1])._replace(path="/" + sys.argv[2]).geturl())' "$PG_ADMIN" "$PG_DB")"
  run_leg PostgreSQL "$pg_url"
  drop_pg_db
fi

[ "$failed" = 0 ] || die "failed checks above (transcripts in $OUT/)"
say "SCIM compliance passed"
