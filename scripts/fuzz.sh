#!/usr/bin/env bash
# `make fuzz`: runs each cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 60) on the
# nightly toolchain. A crash leaves its input under fuzz/artifacts/<target>/: add it as a
# regression test (see server/src/sso.rs tests) and fix the cause.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# Its own target dir: sanitizer flags would otherwise contend with the main build.
export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
for target in initiate_params callback_params id_token; do
  say "fuzzing $target for ${SECONDS_EACH}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -max_len=4096
done
say "no crashes"
