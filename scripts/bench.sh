#!/usr/bin/env bash
# `make bench`: builds Tessera and the benchmark programs in release, runs every benchmark
# (bench/, see BENCHMARKS.md), measures the hydrate bundle, profiles Tessera with callgrind and
# writes BENCHMARKS.md from what the programs printed. Traffic stays on 127.0.0.1.
#
#   BENCH_ONLY=okta|stub|storm|members|wasm|scim|profile   only these sections (comma-separated
#                          list allowed; `make bench-<name>` sets one), each rewritten in
#                          BENCHMARKS.md with its rows of the targets table; the rest is kept
#   BENCH_SKIP_PROFILE=1   no callgrind profiles (they take about two minutes)
#   BENCH_SKIP_BUNDLE=1    no WASM bundle build nor first-load measurement (section 5 is kept)
#   BENCH_POSTGRES_URL     where fresh databases are created (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_DATABASES        sqlite,postgres (default; PostgreSQL is dropped with a warning when unreachable)
#   The programs read more BENCH_* variables (sizes, concurrency): see bench/src/bin/*.rs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

SECTIONS="okta stub storm members wasm scim profile"
ONLY="$(echo "${BENCH_ONLY:-}" | tr ', ' '  ' | xargs)"
for s in $ONLY; do
  case " $SECTIONS " in *" $s "*) ;; *) echo "BENCH_ONLY: unknown section '$s' (one of: $SECTIONS)" >&2; exit 2 ;; esac
done
case "$ONLY" in
  "") COMMAND="make bench" ;;
  okta|stub|storm|members|wasm|scim) COMMAND="make bench-$ONLY" ;;
  *) COMMAND="BENCH_ONLY=${ONLY// /,} make bench" ;;
esac
for v in BENCH_SKIP_BUNDLE BENCH_SKIP_PROFILE; do
  [ "${!v:-}" = 1 ] && COMMAND="$v=1 $COMMAND"
done
# The sections this run measures; the others keep what BENCHMARKS.md says.
RUN=""
for s in ${ONLY:-$SECTIONS}; do
  [ "$s" = wasm ] && [ "${BENCH_SKIP_BUNDLE:-}" = 1 ] && continue
  [ "$s" = profile ] && [ "${BENCH_SKIP_PROFILE:-}" = 1 ] && continue
  RUN="$RUN $s"
done
want() { case "$RUN " in *" $1 "*) true ;; *) false ;; esac; }

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")"
OUT="$ROOT/BENCHMARKS.md"
BIN="$CARGO_TARGET_DIR/release"
export TESSERA_BIN="$BIN/tessera"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

say "building Tessera in release (cargo build --release -p server)"
cargo build --release -p server
say "building the benchmark programs in release (cargo build --release -p bench)"
cargo build --release -p bench

# The peer's better-sqlite3 is an optional dependency that `make test` leaves out.
if want okta && { [ ! -d end2end/node_modules/oidc-provider ] || [ ! -d end2end/node_modules/better-sqlite3 ]; }; then
  say "installing end2end npm packages (the local Okta and the peer relying party, with better-sqlite3)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

PG_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export BENCH_POSTGRES_URL="$PG_URL"
pg_up() { psql "$PG_URL" -qtAc 'SELECT 1' >/dev/null 2>&1; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -z "${BENCH_DATABASES:-}" ]; then
  say "PostgreSQL is not answering: trying to start the local cluster"
  for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  sleep 2
fi
PG_VERSION="-"
if pg_up; then
  PG_VERSION="$(psql "$PG_URL" -qtAc 'SHOW server_version' 2>/dev/null || echo '?')"
elif [ -z "${BENCH_DATABASES:-}" ]; then
  printf '\033[1;31m!! PostgreSQL at %s is unreachable: PostgreSQL figures are skipped\033[0m\n' "$PG_URL"
  export BENCH_DATABASES=sqlite
fi

# The closing lines of a section: when, by which command, on what load.
measured() { # measured LOAD_BEFORE
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`$COMMAND\` on $(nproc) cores; load average before: $1, after: $(loadavg)."
}
# write_section NAME MD LOAD_BEFORE [OUTPUTS...]: the section's text between its markers, and
# its rows of the targets table (the `SUM ` lines of OUTPUTS).
write_section() {
  local name="$1" md="$2" before="$3"; shift 3
  {
    if [ "$name" = profile ]; then
      echo "<!-- bench-profile: written by \`make bench\` or \`BENCH_ONLY=profile make bench\` -->"
    else
      echo "<!-- bench-$name: written by \`make bench-$name\` or \`make bench\` -->"
    fi
    cat "$md"
    echo ""
    measured "$before"
    echo "<!-- /bench-$name -->"
  } > "$LOGS/section-$name.md"
  : > "$LOGS/sum-$name.md"
  if [ $# -gt 0 ]; then
    grep -h '^SUM ' "$@" 2>/dev/null | sed 's/^SUM //' > "$LOGS/sum-$name.md" || true
  fi
}
run() { # run NAME PROGRAM: runs a benchmark program, keeps its output, writes its section
  want "$1" || return 0
  local before; before="$(loadavg)"
  say "benchmark: $2"
  "$BIN/$2" 2>&1 | tee "$LOGS/$2.txt" | grep -vE '^(MD|SUM) ' || true
  grep '^MD ' "$LOGS/$2.txt" | sed 's/^MD //' > "$LOGS/$2.md" || true
  write_section "$1" "$LOGS/$2.md" "$before" "$LOGS/$2.txt"
}
run okta bench-okta
run stub bench-stub
run storm bench-storm
run members bench-members
run scim bench-scim

# ---- 5. hydrate bundle -------------------------------------------------------------------------
gz() { gzip -9 -c "$1" | wc -c; }
bundle() {
  local md="$LOGS/bundle.md" pkg how raw opt=0
  : > "$md"
  if [ "${BENCH_SKIP_BUNDLE:-}" = 1 ]; then echo "Not run (BENCH_SKIP_BUNDLE=1)." >> "$md"; return; fi
  if command -v wasm-opt >/dev/null 2>&1; then
    opt=1
    # Its own site root: a concurrent site build (make test, make run) rewrites target/site.
    say "bundle: scripts/site.sh --release --frontend-only (wasm-opt applied), site root target/site-bench"
    rm -rf "$ROOT/target/site-bench"
    SITE_ROOT="$ROOT/target/site-bench" bash "$ROOT/scripts/site.sh" --release --frontend-only
    pkg="$ROOT/target/site-bench/pkg"
    raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"
    how="\`scripts/site.sh --release --frontend-only\` (site root \`target/site-bench\`; profile \`wasm-release\`: opt-level z, LTO, one codegen unit, panic=abort; \`--cfg erase_components\`; wasm-bindgen with the name and producers sections removed; wasm-opt $(wasm-opt --version 2>/dev/null | awk '{print $3}') ($(command -v wasm-opt | sed "s|^$ROOT/||")) \`-Oz --skip-pass=inlining-optimizing\`; files fingerprinted)"
  else
    say "bundle: no wasm-opt: cargo build -p frontend --profile wasm-release + wasm-bindgen"
    # Type-erased views, as scripts/site.sh --release builds them.
    RUSTFLAGS="--cfg erase_components" cargo build -p frontend --lib --profile wasm-release --target wasm32-unknown-unknown
    pkg="$LOGS/pkg"
    raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"
    # Debug-free: no name or producers section (wasm-opt would drop them too).
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
      --out-dir "$pkg" --out-name tessera "$raw"
    how="\`cargo build -p frontend --profile wasm-release --target wasm32-unknown-unknown\` + \`wasm-bindgen --target web --remove-name-section\` (opt-level z, LTO, one codegen unit, panic=abort, \`--cfg erase_components\`). **wasm-opt was not applied** (not installed)"
  fi
  local wasm js raw_wasm raw_js gz_wasm gz_js total verdict="**met**"
  wasm="$(ls "$pkg"/*.wasm 2>/dev/null | head -n1)"; js="$(ls "$pkg"/*.js 2>/dev/null | head -n1)"
  if [ -z "$wasm" ] || [ -z "$js" ]; then
    echo "**Not measured: the build above failed** (no WASM in \`$pkg\`)." >> "$md"
    printf '\033[1;31m!! bundle: the build failed, nothing measured\033[0m\n'
    return
  fi
  raw_wasm=$(wc -c < "$wasm"); raw_js=$(wc -c < "$js")
  gz_wasm=$(gz "$wasm"); gz_js=$(gz "$js")
  total=$((gz_wasm + gz_js))
  if [ "$gz_wasm" -gt 204800 ]; then
    verdict="**missed** by $(( (gz_wasm - 204800) / 1024 )) KiB ($(awk -v a="$gz_wasm" 'BEGIN{printf "%.2f", a/204800}')× the target)"
  fi
  {
    echo "Hydrate bundle (every page: \`/\`, sign-in, the admin pages), built with $how."
    echo ""
    echo "| file | raw (bytes) | \`gzip -9\` (bytes) | target | verdict |"
    echo "| --- | --- | --- | --- | --- |"
    echo "| $(basename "$wasm") | $raw_wasm | $gz_wasm ($((gz_wasm / 1024)) KiB) | ≤ 200 KiB | $verdict |"
    echo "| $(basename "$js") | $raw_js | $gz_js ($((gz_js / 1024)) KiB) | — | |"
    echo "| wasm + js | $((raw_wasm + raw_js)) | $total ($((total / 1024)) KiB) | — | |"
  } >> "$md"
  printf 'bundle: %s %s bytes gzipped, %s %s bytes gzipped\n' "$(basename "$wasm")" "$gz_wasm" "$(basename "$js")" "$gz_js"
  echo "SUM | 5. hydrate bundle | $(basename "$wasm"), gzip -9 | $gz_wasm bytes ($((gz_wasm / 1024)) KiB) | ≤ 200 KiB | $verdict |"
  [ -f "$raw" ] || return 0
  if [ "$opt" = 1 ]; then
    # The same compiler output without wasm-opt, for comparison.
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
      --out-dir "$LOGS/pkg-noopt" --out-name tessera "$raw"
    local n; n="$(gz "$LOGS/pkg-noopt/tessera_bg.wasm")"
    echo "| same build, wasm-bindgen only (no wasm-opt, name section removed): tessera_bg.wasm | $(wc -c < "$LOGS/pkg-noopt/tessera_bg.wasm") | $n ($((n / 1024)) KiB) | — | |" >> "$md"
  fi
  echo "" >> "$md"
  # What the bytes are: the compiler's output through wasm-bindgen with its (demangled) names
  # kept, split by crate.
  wasm-bindgen --target web --no-typescript --out-dir "$LOGS/pkg-names" --out-name tessera "$raw"
  "$BIN/bench-wasm" "$LOGS/pkg-names/tessera_bg.wasm" > "$LOGS/bench-wasm.txt" 2>&1 || true
  grep -v '^MD ' "$LOGS/bench-wasm.txt" || true
  grep '^MD ' "$LOGS/bench-wasm.txt" | sed 's/^MD //' >> "$md" || true
}
# What `make run`'s first page transfers, with the release front end (as `make run` builds
# it) and the debug one (as `make test` builds it), both served by the release server.
first_load() {
  if [ "${BENCH_SKIP_BUNDLE:-}" = 1 ] || [ ! -f "$ROOT/target/site-bench/hash.txt" ]; then
    echo "First load: not measured (BENCH_SKIP_BUNDLE=1, or no release site: wasm-opt missing)."; return
  fi
  say "first load: scripts/site.sh (debug), site root target/site-bench-debug"
  rm -rf "$ROOT/target/site-bench-debug"
  SITE_ROOT="$ROOT/target/site-bench-debug" bash "$ROOT/scripts/site.sh"
  local label site port pids=() urls=()
  for label in debug release; do
    site="$ROOT/target/site-bench"; [ "$label" = debug ] && site="$ROOT/target/site-bench-debug"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$TESSERA_BIN" --database-url "sqlite://$LOGS/first-load-$label.db?mode=rwc" \
      --secret-key-file "$LOGS/first-load-$label.key" --bind "127.0.0.1:$port" \
      --public-url "http://127.0.0.1:$port" --site-root "$site" serve > "$LOGS/first-load-$label.log" 2>&1 &
    pids+=("$!"); urls+=("$label front end=http://127.0.0.1:$port/")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  done
  "$BIN/bench-wasm" --first-load "${urls[@]}" || true
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}

if want wasm; then
  WASM_BEFORE="$(loadavg)"
  bundle 2>&1 | tee "$LOGS/bundle.txt" | grep -vE '^(MD|SUM) ' || true
  first_load 2>&1 | tee "$LOGS/first-load.txt" | grep -vE '^(MD|SUM) ' || true
  {
    echo "## 5. Hydrate bundle size and first load"
    echo ""
    cat "$LOGS/bundle.md"
    grep '^MD ' "$LOGS/first-load.txt" | sed 's/^MD //' || true
    grep '^First load: not' "$LOGS/first-load.txt" || true
  } > "$LOGS/wasm.md"
  write_section wasm "$LOGS/wasm.md" "$WASM_BEFORE" "$LOGS/bundle.txt" "$LOGS/first-load.txt"
fi

# ---- profiles -------------------------------------------------------------------------------------
# Tessera under callgrind (instruction counts are repeatable where wall time is not), counting
# only the measured stretches (the programs run callgrind_control --zero before, --dump after).
# Listed: the functions with the largest inclusive cost, less the async/HTTP plumbing that
# encloses everything (tokio, hyper, axum, tower, futures).
PLUMBING='tokio::|core::ops::function|std::sys|clone\.S|pthread_create|start_thread|axum|tower|hyper|futures_util|futures_core|Instrumented|PollFn|Pin<P>|async_stream|sqlx_core::pool|sqlx_core::ext|ServerFnTraitObj|reactive_graph|TryCollect|TryFilterMap|with_observer|Fuse<|Handler<|MapFuture|Oneshot|serve::handle_connection'
profile() {
  local md="$LOGS/profile.md"
  : > "$md"
  if [ "${BENCH_SKIP_PROFILE:-}" = 1 ] || ! command -v valgrind >/dev/null 2>&1; then
    echo "Not run (BENCH_SKIP_PROFILE=1 or no valgrind)." >> "$md"; return
  fi
  local cg="$LOGS/callgrind"
  mkdir -p "$cg"
  export BENCH_CALLGRIND=1 BENCH_DATABASES=sqlite
  export BENCH_TESSERA_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$cg/tessera.%p"
  say "profile: sign-ins (bench-stub under callgrind, SQLite)"
  BENCH_STUB_LOGINS=200 BENCH_STUB_USERS=50 BENCH_STUB_CONCURRENCY=4 \
    "$BIN/bench-stub" > "$LOGS/profile-stub.txt" 2>&1 || true
  say "profile: members API (bench-members under callgrind, SQLite)"
  BENCH_MEMBERS_REQUESTS=20 BENCH_MEMBERS_SECONDS=300 BENCH_MEMBERS_CONCURRENCY=2 BENCH_MEMBERS_WALK=0 \
    "$BIN/bench-members" > "$LOGS/profile-members.txt" 2>&1 || true
  unset BENCH_CALLGRIND BENCH_TESSERA_WRAPPER BENCH_DATABASES
  local f label n total
  for f in $(ls -tr "$cg"/tessera.*.* 2>/dev/null); do
    label="$(grep -m1 '^desc: Trigger:' "$f" | grep -oE '(logins|members)-[A-Za-z0-9-]+' | head -n1 || true)"
    [ -n "$label" ] || continue
    n="${label##*-}"
    total="$(grep -m1 -E '^(summary|totals):' "$f" | awk '{print $2}')"
    {
      echo "**${label%-*}** — ${n} operations: $(awk -v t="$total" -v n="$n" 'BEGIN { if (n > 0) printf "%.2f", t / n / 1e6; else print "?" }') million instructions per operation in Tessera's process (all threads)."
      echo ""
      echo '```'
      callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$f" 2>/dev/null \
        | grep -E '^ *[0-9,]+ \( *[0-9.]+%\)  ' | grep -v 'PROGRAM TOTALS' \
        | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://' > "$LOGS/annotate-${label%-*}.txt"
      grep -vE "$PLUMBING" "$LOGS/annotate-${label%-*}.txt" | head -n 14 | cut -c1-160
      echo '```'
      echo ""
    } >> "$md"
  done
}
# What bounds the missed targets: short, and only what the profiles and the sections measured.
share() { grep -m1 -E "  $2\$" "$LOGS/annotate-$1.txt" 2>/dev/null | sed -E 's/.*\( *([0-9.]+)%\).*/\1/' || true; }
per_op() { sed -n "s/^\*\*$1\*\* — [0-9]* operations: \([0-9.]*\) million.*/\1/p" "$LOGS/profile.md" | head -n1; }
analysis() {
  local rsa sql signin first deep keyset
  rsa="$(share logins-sqlite '.*FastJwk as .*verify_signature')"
  sql="$(share logins-sqlite 'sqlite3_step')"
  signin="$(per_op logins-sqlite)"
  first="$(per_op members-sqlite-firstpage)"
  keyset="$(per_op 'members-sqlite-deeppositionkeysetafterat75000')"
  deep="$(per_op 'members-sqlite-deeppositionoffsetpathpage1500')"
  cat <<EOT
## What bounds the missed targets

Only what the sections and the profiles above measured; the verdicts are in the table at the top.

**Sign-in CPU (benchmarks 1 and 2).** In the profile of benchmark 2's sign-ins on SQLite, a
sign-in costs Tessera ${signin:-?} million instructions; ID-token signature verification (\`ring\`,
\`FastJwk\` in \`server/src/oidc.rs\`) is ${rsa:-?}% of them and SQLite (\`sqlite3_step\`) ${sql:-?}%.
Section 1 counts the system calls and SQLite page I/O of a sign-in. By design the Node peer keeps
its sessions in memory (express-session's MemoryStore) and writes one row per sign-in, while
Tessera stores the flow, the member, the session and a login attempt in the database so that any
node can finish a sign-in.

**Throughput and callback p99 (benchmarks 2 and 3).** Section 2 gives Tessera's CPU per sign-in
and the rate that CPU would allow on $(nproc) cores if nothing else ran (on PostgreSQL, counting the
database server's CPU too); here the load generator, the stub, PostgreSQL and other work share the
same cores (see each section's load average). On PostgreSQL, sections 2, 3 and 4 give the database
server's own CPU beside Tessera's.

**Members API (benchmark 4).** In the profiles, a first page costs ${first:-?} million
instructions, the deep position ${keyset:-?} million through the keyset cursor and ${deep:-?} million
through \`page=1500\` (OFFSET); section 4 lists the store calls behind a request, each timed alone.

**Memory (7).** Each section records the peak RSS (VmHWM) of its Tessera processes; the row at the
top names the largest.

**Bundle (benchmark 5).** Section 5's breakdown gives the crates the hydrate WASM's code comes
from.
EOT
}

if want profile; then
  PROFILE_BEFORE="$(loadavg)"
  profile 2>&1 | tee "$LOGS/profile.txt" || true
  {
    echo "## Profiles: what bounds the figures"
    echo ""
    echo "Tessera under \`valgrind --tool=callgrind\` (SQLite), counting only the measured stretch of a small run"
    echo "of benchmarks 2 and 4. Instruction counts are repeatable on this shared machine where times are not."
    echo "Listed: the functions with the largest inclusive share (their callees included; inlined code counts in"
    echo "its caller), less the async and HTTP plumbing that encloses every request."
    echo ""
    cat "$LOGS/profile.md"
    analysis
  } > "$LOGS/profile-section.md"
  write_section profile "$LOGS/profile-section.md" "$PROFILE_BEFORE"
  rm -f "$LOGS/sum-profile.md"
fi

# ---- BENCHMARKS.md ----------------------------------------------------------------------------------
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
RAM="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
{
  echo "# Benchmarks"
  echo ""
  echo "Written by \`make bench\` (\`scripts/bench.sh\`) from what the benchmark programs printed; do not edit"
  echo "by hand, run it again. \`make bench-okta\`, \`bench-stub\`, \`bench-storm\`, \`bench-members\`, \`bench-wasm\`"
  echo "and \`bench-scim\` rewrite one section and its rows of the targets table, keeping the rest; each section"
  echo "says when and by which command it was measured. The programs are in \`bench/\` (Rust) and"
  echo "\`end2end/bench/\` (the Node peer)."
  echo ""
  echo "| | |"
  echo "| --- | --- |"
  echo "| last written | $(date -u '+%Y-%m-%d %H:%M UTC') by \`$COMMAND\` |"
  echo "| machine | $(nproc) cores, $CPU_MODEL, $RAM RAM, $(uname -sr) (shared: figures move with its load) |"
  echo "| toolchain | $(rustc --version), node $(node --version), PostgreSQL $PG_VERSION, SQLite via sqlx (bundled) |"
  echo "| Tessera | \`cargo build --release -p server\` (\`$TESSERA_BIN\`), child processes, logs at \`info\` as in production |"
} > "$LOGS/header.md"
python3 "$ROOT/scripts/bench_md.py" "$OUT" "$LOGS"
say "wrote $OUT (raw outputs in $LOGS)"
