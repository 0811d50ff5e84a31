# Tessera's commands. See README.md.
.PHONY: run test demo bootstrap fmt fuzz bench bench-okta bench-stub bench-storm bench-members bench-scim bench-wasm

run:        ## bootstrap, build, migrate and serve on http://127.0.0.1:3000 (SQLite in data/)
	@bash scripts/run.sh

test:       ## fmt, clippy, tests on SQLite and PostgreSQL, end2end in Chromium
	@bash scripts/test.sh

demo:       ## local Okta + Tessera with an org registered; prints the Okta dashboard URL
	@bash scripts/demo.sh

bench:      ## release build, every benchmark, profiles; writes BENCHMARKS.md (about 20 minutes)
	@bash scripts/bench.sh

bench-okta: ## release build, benchmark 1 only (sign-ins via the local Okta beside the Node peer); rewrites its section
	@BENCH_ONLY=okta bash scripts/bench.sh

bench-stub: ## release build, benchmark 2 only (sign-in throughput against the stub provider); rewrites its section
	@BENCH_ONLY=stub bash scripts/bench.sh

bench-storm: ## release build, benchmark 3 only (10,000 first sign-ins through two nodes on PostgreSQL); rewrites its section
	@BENCH_ONLY=storm bash scripts/bench.sh

bench-members: ## release build, benchmark 4 only (members API with 100,000 members); rewrites its section
	@BENCH_ONLY=members bash scripts/bench.sh

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
