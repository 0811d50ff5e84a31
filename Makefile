# Tessera's commands. See README.md.
.PHONY: run test demo bootstrap fmt fuzz bench bench-scim bench-wasm

run:        ## bootstrap, build, migrate and serve on http://127.0.0.1:3000 (SQLite in data/)
	@bash scripts/run.sh

test:       ## fmt, clippy, tests on SQLite and PostgreSQL, end2end in Chromium
	@bash scripts/test.sh

demo:       ## local Okta + Tessera with an org registered; prints the Okta dashboard URL
	@bash scripts/demo.sh

bench:      ## release build, every benchmark, profiles; writes BENCHMARKS.md (about 10 minutes)
	@bash scripts/bench.sh

bench-scim: ## release build, the SCIM benchmark only; rewrites its section of BENCHMARKS.md
	@BENCH_ONLY=scim bash scripts/bench.sh

bench-wasm: ## release build, the hydrate bundle and first-load transfer only; rewrites section 5 of BENCHMARKS.md
	@BENCH_ONLY=wasm bash scripts/bench.sh

bootstrap:  ## install the pinned build and test tools
	@bash scripts/bootstrap.sh --test

fmt:
	@cargo fmt --all

fuzz:       ## run the cargo-fuzz targets for a bounded time (FUZZ_SECONDS each, default 60)
	@bash scripts/fuzz.sh
