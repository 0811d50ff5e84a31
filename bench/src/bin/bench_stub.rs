//! Benchmark 2: sign-in throughput of one Tessera node against a stub OpenID provider that
//! answers at once: `/sso/initiate` -> stub `/authorize` (straight back with a code) ->
//! `/sso/callback` (token exchange, ID-token verification with the cached JWKS, /userinfo,
//! member upsert, login attempt, session) for returning members, at concurrency
//! `BENCH_STUB_CONCURRENCY` (8), on SQLite and PostgreSQL. Reports logins/s, callback p50/p99,
//! Tessera's CPU per login and peak RSS.
//!
//! The sign-ins run in the two phases of [`bench::stub`] (initiates; the stub signs the ID
//! tokens, unmeasured; callbacks): logins/s = logins / (time A + time B).
//!
//! Environment: `TESSERA_BIN`, `BENCH_DATABASES` (sqlite,postgres), `BENCH_POSTGRES_URL`,
//! `BENCH_STUB_LOGINS` (3000), `BENCH_STUB_USERS` (500), `BENCH_STUB_CONCURRENCY` (8),
//! `BENCH_TESSERA_WRAPPER` (e.g. valgrind, for profiles).

use bench::db::{self, TestDb};
use bench::proc_stats::Cpu;
use bench::report::{at_least, at_most, exactly, md, md_row, md_table, peak_rss_marker, summary};
use bench::stub::{Ctx, sign_in_batch, start_stub, start_tessera};
use bench::tessera::Tessera;
use bench::{env_num, ms};
use testkit::op::FakeOp;

/// Sign-ins per second one node must sustain, by database (issue #14).
fn target_logins_per_s(kind: &str) -> f64 {
    if kind == "postgres" { 1500.0 } else { 2000.0 }
}
/// Callback p99 at concurrency 8 (issue #14).
const TARGET_P99_MS: f64 = 10.0;

/// A fresh `kind` database with Tessera serving org `slug` on it; when either cannot be had,
/// says so on stdout and in the report and gives `None`.
async fn open_and_start(kind: &str, stub: &FakeOp, slug: &str) -> Option<(TestDb, Tessera)> {
    let db = match db::open(kind).await {
        Ok(db) => db,
        Err(e) => {
            println!("!! skipping {kind}: {e}");
            md(format!("**{kind}: not run** — {e}"));
            md("");
            return None;
        }
    };
    match start_tessera(&db.url, stub, slug).await {
        Ok(t) => Some((db, t)),
        Err(e) => {
            let label = db.label();
            println!("!! {label}: {e}");
            md(format!("**{label}: not run** — {e}"));
            md("");
            None
        }
    }
}

async fn throughput(
    kind: &str,
    stub: &FakeOp,
    logins: usize,
    pool: usize,
    concurrency: usize,
    cores: usize,
) {
    let Some((db, mut t)) = open_and_start(kind, stub, "bench").await else {
        return;
    };
    let label = db.label();
    let target = target_logins_per_s(kind);
    let cx = Ctx::new(&[&t], stub);
    // Warm-up, not measured: every member of the pool signs in once (JIT creates them; the
    // discovery document and JWKS get cached; connections open).
    let warm = sign_in_batch(
        &cx,
        stub,
        &[Cpu::Pid(t.pid)],
        (0..pool).map(|i| format!("user{i}")).collect(),
        concurrency,
    )
    .await;
    println!(
        "[{label}] warm-up: {} first sign-ins, {} errors {}",
        warm.ok,
        warm.errors.len(),
        warm.error_summary()
    );
    let users: Vec<String> = (0..logins).map(|i| format!("user{}", i % pool)).collect();
    bench::callgrind_control(t.pid, "--zero");
    // PostgreSQL's own CPU too (every `postgres` process on the machine, whoever it serves).
    let mut cpus = vec![Cpu::Pid(t.pid)];
    if kind == "postgres" {
        cpus.push(Cpu::Command("postgres"));
    }
    let b = sign_in_batch(&cx, stub, &cpus, users, concurrency).await;
    bench::callgrind_control(t.pid, &format!("--dump=logins-{kind}-{}", b.ok));
    let rate = b.rate();
    let cpu_ms = 1000.0 * b.cpu[0] / b.ok.max(1) as f64;
    let pg_ms = b.cpu.get(1).map(|pg| 1000.0 * pg / b.ok.max(1) as f64);
    // What the cores could do if nothing but Tessera (and its database server) ran on them.
    let capacity = cores as f64 * 1000.0 / (cpu_ms + pg_ms.unwrap_or(0.0));
    let rss = t.peak_rss_mib();
    println!(
        "[{label}] {} sign-ins ({} errors) in {:.2}s + {:.2}s (stub signing, not counted: {:.2}s): {rate:.0} logins/s; \
         callback p50 {} ms p99 {} ms max {} ms; initiate p50 {} ms p99 {} ms; Tessera CPU {cpu_ms:.3} ms/login; peak RSS {rss:.1} MiB",
        b.ok,
        b.errors.len(),
        b.phase_a.as_secs_f64(),
        b.phase_b.as_secs_f64(),
        b.sign.as_secs_f64(),
        ms(b.callback.p50),
        ms(b.callback.p99),
        ms(b.callback.max),
        ms(b.initiate.p50),
        ms(b.initiate.p99),
    );
    if !b.errors.is_empty() {
        println!("[{label}] errors: {}", b.error_summary());
    }
    summary(
        "2. stub provider",
        &format!("logins/s, {label}"),
        &format!("{rate:.0}"),
        &format!("≥ {target:.0}"),
        &at_least(rate, target),
    );
    summary(
        "2. stub provider",
        &format!("callback p99 at concurrency {concurrency}, {label}"),
        &format!("{} ms", ms(b.callback.p99)),
        &format!("≤ {TARGET_P99_MS} ms"),
        &at_most(b.callback.p99.as_secs_f64() * 1000.0, TARGET_P99_MS),
    );
    md(format!(
        "**{label}** — {} sign-ins of {pool} returning members, concurrency {concurrency}:",
        b.ok
    ));
    md("");
    md_table(&["figure", "value", "target", "verdict"]);
    md_row(&[
        "logins/s (initiate + callback)".into(),
        format!("{rate:.0}"),
        format!("≥ {target:.0}"),
        at_least(rate, target),
    ]);
    md_row(&[
        "callback p99 (ms)".into(),
        ms(b.callback.p99),
        format!("≤ {TARGET_P99_MS}"),
        at_most(b.callback.p99.as_secs_f64() * 1000.0, TARGET_P99_MS),
    ]);
    md_row(&[
        "callback p50 (ms)".into(),
        ms(b.callback.p50),
        "—".into(),
        "".into(),
    ]);
    md_row(&[
        "initiate p50 / p99 (ms)".into(),
        format!("{} / {}", ms(b.initiate.p50), ms(b.initiate.p99)),
        "—".into(),
        "".into(),
    ]);
    md_row(&[
        "errors".into(),
        b.errors.len().to_string(),
        "0".into(),
        exactly(b.errors.len() as i64, 0),
    ]);
    md_row(&[
        "Tessera CPU per login (ms, initiate + callback; of which in the kernel)".into(),
        format!(
            "{cpu_ms:.3} ({:.3})",
            1000.0 * b.cpu_system[0] / b.ok.max(1) as f64
        ),
        "—".into(),
        "".into(),
    ]);
    if let Some(pg) = pg_ms {
        md_row(&[
            "PostgreSQL server CPU per login (ms, all its processes on the machine)".into(),
            format!("{pg:.3}"),
            "—".into(),
            "".into(),
        ]);
    }
    md_row(&[
        format!("CPU-bound capacity on {cores} cores (logins/s)"),
        format!("{capacity:.0}"),
        "—".into(),
        if pg_ms.is_some() {
            "if Tessera and PostgreSQL had the cores to themselves".into()
        } else {
            "if Tessera had the cores to itself".into()
        },
    ]);
    md_row(&[
        "Tessera peak RSS (MiB)".into(),
        format!("{rss:.1}"),
        "—".into(),
        "in the memory target (7)".into(),
    ]);
    md("");
    peak_rss_marker(&format!("bench-stub, {label}"), rss);
    t.stop().await;
    drop(db);
}

#[tokio::main]
async fn main() {
    let logins: usize = env_num("BENCH_STUB_LOGINS", 3000);
    let pool: usize = env_num("BENCH_STUB_USERS", 500);
    let concurrency: usize = env_num("BENCH_STUB_CONCURRENCY", 8);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tessera binary: {}", bench::tessera::binary().display());
    let stub = start_stub().await;
    println!("stub provider at {}", stub.issuer);

    md("## 2. Sign-in throughput against a stub provider (`bench-stub`)");
    md("");
    md(format!(
        "A release `tessera serve` child process; an in-process stub provider (RS256, 2048-bit key). \
         Per login: `GET /sso/initiate` → stub `/authorize` (redirects back at once) → `GET /sso/callback` \
         (token exchange, ID-token signature and claims, `/userinfo`, member upsert, login attempt, session). \
         {logins} sign-ins of {pool} members (each signed in once before, unmeasured), concurrency {concurrency}. \
         The stub signs every ID token with the nonce it saw *between* the initiate phase and the callback \
         phase, while Tessera is idle, so its RSA signing (≈1 ms CPU each) does not eat the {cores} cores; \
         logins/s = logins ÷ (initiate phase + callback phase). The load generator and stub share the machine \
         with Tessera. Targets (issue #14): ≥ 2,000 sign-ins/s per node on SQLite and ≥ 1,500 on PostgreSQL, \
         callback p99 ≤ {TARGET_P99_MS} ms at concurrency 8."
    ));
    md("");
    for kind in bench::databases() {
        throughput(&kind, &stub, logins, pool, concurrency, cores).await;
    }
    println!(
        "signed on the spot (not pre-signed): {}",
        stub.signed_on_the_spot()
    );
}
