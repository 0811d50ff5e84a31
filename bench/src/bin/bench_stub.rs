//! Benchmarks 2 and 3: Tessera alone against a stub OpenID provider that answers at once.
//!
//! 2. Sign-in throughput: `/sso/initiate` -> stub `/authorize` (straight back with a code) ->
//!    `/sso/callback` (token exchange, ID-token verification with the cached JWKS, /userinfo,
//!    member upsert, session) for returning members, at concurrency `BENCH_STUB_CONCURRENCY`
//!    (8). Reports logins/s, callback p50/p99, Tessera's CPU per login and peak RSS.
//! 3. JIT burst: `BENCH_JIT_LOGINS` (1,000) distinct first sign-ins at concurrency 50 into a
//!    fresh org: members created, owners, errors.
//!
//! Each run is two measured phases around one unmeasured step: (A) every initiate plus the
//! stub's redirect, (sign) the stub signs each flow's ID token with the nonce it saw, while
//! Tessera is idle, (B) every callback. The stub thus costs the 2-core machine a map lookup per
//! token request instead of an RSA signature (~1 ms of CPU), which would otherwise be charged
//! to Tessera's throughput. logins/s = logins / (time A + time B).
//!
//! Environment: `TESSERA_BIN`, `BENCH_DATABASES` (sqlite,postgres), `BENCH_POSTGRES_URL`,
//! `BENCH_STUB_LOGINS` (3000), `BENCH_STUB_USERS` (500), `BENCH_STUB_CONCURRENCY` (8),
//! `BENCH_JIT_LOGINS` (1000), `BENCH_JIT_CONCURRENCY` (50), `BENCH_SKIP_JIT`,
//! `BENCH_TESSERA_WRAPPER` (e.g. valgrind, for profiles).

use bench::db::{self, TestDb};
use bench::report::{at_least, at_most, exactly, md, md_row, md_table, summary};
use bench::tessera::Tessera;
use bench::{Latency, env_num, ms, run_pool};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::op::{CLIENT_ID, CLIENT_SECRET, FakeOp, People};

const TARGET_LOGINS_PER_S: f64 = 2000.0;
const TARGET_P99_MS: f64 = 5.0;

struct Ctx {
    http: reqwest::Client,
    tessera: String,
    issuer_q: String,
}

/// One sign-in between the phases: the callback URL the stub redirected to, and the
/// `tessera_flow` cookie that binds the flow to the browser that started it.
struct Started {
    callback: String,
    flow_cookie: String,
}

/// Phase A of one sign-in: Tessera's initiate (timed) and the stub's redirect back.
async fn initiate(cx: &Ctx, user: &str) -> Result<(Duration, Started), String> {
    let url = format!(
        "{}/sso/initiate?iss={}&login_hint={user}",
        cx.tessera, cx.issuer_q
    );
    let t = Instant::now();
    let r = cx
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("initiate: {e}"))?;
    let took = t.elapsed();
    let status = r.status().as_u16();
    let to = location(&r);
    let flow_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tessera_flow="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let _ = r.bytes().await;
    let Some(flow_cookie) = flow_cookie else {
        return Err(format!("initiate answered {status} without a flow cookie"));
    };
    let to = match (status, to) {
        (303, Some(to)) => to,
        (s, _) => return Err(format!("initiate answered {s}")),
    };
    let r = cx
        .http
        .get(&to)
        .send()
        .await
        .map_err(|e| format!("stub authorize: {e}"))?;
    let back = location(&r).ok_or_else(|| format!("stub authorize answered {}", r.status()))?;
    let _ = r.bytes().await;
    Ok((
        took,
        Started {
            callback: back,
            flow_cookie,
        },
    ))
}

/// Phase B: the callback; a sign-in is complete when it answers 303 with a session cookie.
async fn callback(cx: &Ctx, started: &Started) -> Result<Duration, String> {
    let t = Instant::now();
    let r = cx
        .http
        .get(&started.callback)
        .header("cookie", &started.flow_cookie)
        .send()
        .await
        .map_err(|e| format!("callback: {e}"))?;
    let status = r.status().as_u16();
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("tessera_session=")));
    let body = r.text().await.unwrap_or_default();
    let took = t.elapsed();
    if status == 303 && session {
        Ok(took)
    } else {
        let reason = body
            .split("data-reason=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("-");
        Err(format!("callback answered {status} (reason {reason})"))
    }
}

fn location(r: &reqwest::Response) -> Option<String> {
    let l = r.headers().get("location")?.to_str().ok()?;
    r.url().join(l).ok().map(|u| u.to_string())
}

/// What one batch of sign-ins did.
struct Batch {
    ok: usize,
    errors: Vec<String>,
    phase_a: Duration,
    phase_b: Duration,
    sign: Duration,
    initiate: Latency,
    callback: Latency,
    cpu_a: f64,
    cpu_b: f64,
}

/// Signs in `users` (one sign-in each) at `concurrency`, in the phases described above.
async fn sign_in_batch(
    cx: &Arc<Ctx>,
    stub: &FakeOp,
    pid: u32,
    users: Vec<String>,
    concurrency: usize,
) -> Batch {
    let users = Arc::new(users);
    let n = users.len();
    let cpu = bench::proc_stats::CpuMeter::start(pid);
    let t = Instant::now();
    let (c, u) = (cx.clone(), users.clone());
    let a = run_pool(n, concurrency, move |i| {
        let (c, u) = (c.clone(), u.clone());
        async move { initiate(&c, &u[i]).await }
    })
    .await;
    let phase_a = t.elapsed();
    let cpu_a = cpu.elapsed();
    let t = Instant::now();
    stub.presign().await;
    let sign = t.elapsed();
    let mut errors = vec![];
    let mut initiate_lat = vec![];
    let mut callbacks = vec![];
    for r in a {
        match r {
            Ok((lat, started)) => {
                initiate_lat.push(lat);
                callbacks.push(started);
            }
            Err(e) => errors.push(e),
        }
    }
    let callbacks = Arc::new(callbacks);
    let cpu = bench::proc_stats::CpuMeter::start(pid);
    let t = Instant::now();
    let (c, cb) = (cx.clone(), callbacks.clone());
    let b = run_pool(callbacks.len(), concurrency, move |i| {
        let (c, cb) = (c.clone(), cb.clone());
        async move { callback(&c, &cb[i]).await }
    })
    .await;
    let phase_b = t.elapsed();
    let cpu_b = cpu.elapsed();
    let mut callback_lat = vec![];
    for r in b {
        match r {
            Ok(lat) => callback_lat.push(lat),
            Err(e) => errors.push(e),
        }
    }
    Batch {
        ok: callback_lat.len(),
        errors,
        phase_a,
        phase_b,
        sign,
        initiate: Latency::of(&initiate_lat),
        callback: Latency::of(&callback_lat),
        cpu_a,
        cpu_b,
    }
}

fn error_summary(errors: &[String]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in errors {
        *counts.entry(e.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(e, n)| format!("{n}× {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

async fn start_tessera(db: &TestDb, stub: &FakeOp, slug: &str) -> Result<Tessera, String> {
    let mut t = Tessera::new(&db.url);
    t.register_org(slug, &stub.issuer, CLIENT_ID, CLIENT_SECRET)?;
    t.start().await?;
    Ok(t)
}

fn ctx(t: &Tessera, stub: &FakeOp) -> Arc<Ctx> {
    Arc::new(Ctx {
        http: http_client(),
        tessera: t.url.clone(),
        issuer_q: url::form_urlencoded::byte_serialize(stub.issuer.as_bytes()).collect(),
    })
}

/// A fresh `kind` database with Tessera serving org `slug` on it; when either cannot be had,
/// says so on stdout and in the report (`not_run(what, why)`) and gives `None`.
async fn open_and_start(
    kind: &str,
    stub: &FakeOp,
    slug: &str,
    not_run: impl Fn(&str, &str),
) -> Option<(TestDb, Tessera)> {
    let db = match db::open(kind).await {
        Ok(db) => db,
        Err(e) => {
            println!("!! skipping {kind}: {e}");
            not_run(kind, &e.to_string());
            return None;
        }
    };
    match start_tessera(&db, stub, slug).await {
        Ok(t) => Some((db, t)),
        Err(e) => {
            let label = db.label();
            println!("!! {label}: {e}");
            not_run(label, &e);
            drop(db);
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
    let Some((db, mut t)) = open_and_start(kind, stub, "bench", |what, e| {
        md(format!("**{what}: not run** — {e}"));
        md("");
    })
    .await
    else {
        return;
    };
    let label = db.label();
    let cx = ctx(&t, stub);
    // Warm-up, not measured: every member of the pool signs in once (JIT creates them; the
    // discovery document and JWKS get cached; connections open).
    let warm = sign_in_batch(
        &cx,
        stub,
        t.pid,
        (0..pool).map(|i| format!("user{i}")).collect(),
        concurrency,
    )
    .await;
    println!(
        "[{label}] warm-up: {} first sign-ins, {} errors {}",
        warm.ok,
        warm.errors.len(),
        error_summary(&warm.errors)
    );
    let users: Vec<String> = (0..logins).map(|i| format!("user{}", i % pool)).collect();
    bench::callgrind_control(t.pid, "--zero");
    let b = sign_in_batch(&cx, stub, t.pid, users, concurrency).await;
    bench::callgrind_control(t.pid, &format!("--dump=logins-{kind}-{}", b.ok));
    let wall = b.phase_a + b.phase_b;
    let rate = b.ok as f64 / wall.as_secs_f64();
    let cpu_ms = 1000.0 * (b.cpu_a + b.cpu_b) / b.ok.max(1) as f64;
    let capacity = cores as f64 * 1000.0 / cpu_ms;
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
        println!("[{label}] errors: {}", error_summary(&b.errors));
    }
    summary(
        "2. stub provider",
        &format!("logins/s, {label}"),
        &format!("{rate:.0}"),
        &format!("≥ {TARGET_LOGINS_PER_S:.0}"),
        &at_least(rate, TARGET_LOGINS_PER_S),
    );
    summary(
        "2. stub provider",
        &format!("callback p99, {label}"),
        &format!("{} ms", ms(b.callback.p99)),
        &format!("< {TARGET_P99_MS} ms"),
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
        format!("≥ {TARGET_LOGINS_PER_S:.0}"),
        at_least(rate, TARGET_LOGINS_PER_S),
    ]);
    md_row(&[
        "callback p99 (ms)".into(),
        ms(b.callback.p99),
        format!("< {TARGET_P99_MS}"),
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
        "Tessera CPU per login (ms, initiate + callback)".into(),
        format!("{cpu_ms:.3}"),
        "—".into(),
        "".into(),
    ]);
    md_row(&[
        format!("CPU-bound capacity on {cores} cores (logins/s)"),
        format!("{capacity:.0}"),
        "—".into(),
        "if Tessera had the cores to itself".into(),
    ]);
    md_row(&[
        "Tessera peak RSS (MiB)".into(),
        format!("{rss:.1}"),
        "—".into(),
        "".into(),
    ]);
    md("");
    t.stop().await;
    drop(db);
}

async fn jit_burst(kind: &str, stub: &FakeOp, logins: usize, concurrency: usize) {
    let Some((db, mut t)) = open_and_start(kind, stub, "burst", |what, e| {
        md(format!("| {what} | not run: {e} | | | |"));
    })
    .await
    else {
        return;
    };
    let label = db.label();
    let cx = ctx(&t, stub);
    let users: Vec<String> = (0..logins).map(|i| format!("burst{i}")).collect();
    let b = sign_in_batch(&cx, stub, t.pid, users, concurrency).await;
    let pool = db.pool().await.expect("connect to the benchmark database");
    let org = "(SELECT id FROM orgs WHERE slug = $1)";
    let members = db::count(
        &pool,
        &format!("SELECT COUNT(*) AS n FROM members WHERE org_id = {org}"),
        "burst",
    )
    .await;
    let owners = db::count(
        &pool,
        &format!("SELECT COUNT(*) AS n FROM members WHERE org_id = {org} AND role = 'owner'"),
        "burst",
    )
    .await;
    let failures = db::count(
        &pool,
        &format!(
            "SELECT COUNT(*) AS n FROM login_attempts WHERE org_id = {org} AND outcome = 'failure'"
        ),
        "burst",
    )
    .await;
    pool.close().await;
    let errors = b.errors.len() as i64 + failures.max(0);
    println!(
        "[{label}] JIT burst: {} first sign-ins at concurrency {concurrency}: {members} members, {owners} owner(s), \
         {} request errors, {failures} failed attempts recorded; callbacks took {:.2}s (p50 {} ms, p99 {} ms)",
        b.ok,
        b.errors.len(),
        b.phase_b.as_secs_f64(),
        ms(b.callback.p50),
        ms(b.callback.p99),
    );
    if !b.errors.is_empty() {
        println!("[{label}] errors: {}", error_summary(&b.errors));
    }
    let all = members == logins as i64 && owners == 1 && errors == 0;
    summary(
        "3. JIT burst",
        &format!("members / owners / errors, {label}"),
        &format!("{members} / {owners} / {errors}"),
        &format!("{logins} / 1 / 0"),
        if all { "**met**" } else { "**missed**" },
    );
    md_row(&[
        label.to_string(),
        format!("{members} ({})", exactly(members, logins as i64)),
        format!("{owners} ({})", exactly(owners, 1)),
        format!("{errors} ({})", exactly(errors, 0)),
        format!(
            "{:.2} s, p50 {} ms, p99 {} ms",
            b.phase_b.as_secs_f64(),
            ms(b.callback.p50),
            ms(b.callback.p99)
        ),
    ]);
    t.stop().await;
    drop(db);
}

#[tokio::main]
async fn main() {
    let logins: usize = env_num("BENCH_STUB_LOGINS", 3000);
    let pool: usize = env_num("BENCH_STUB_USERS", 500);
    let concurrency: usize = env_num("BENCH_STUB_CONCURRENCY", 8);
    let jit_logins: usize = env_num("BENCH_JIT_LOGINS", 1000);
    let jit_concurrency: usize = env_num("BENCH_JIT_CONCURRENCY", 50);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tessera binary: {}", bench::tessera::binary().display());
    // The test kit's fake provider, cheap per request: each `login_hint` is a person, requests
    // are not recorded, and ID tokens live long enough to be signed ahead of the callbacks.
    let stub = FakeOp::start(|b| {
        b.people = People::FromLoginHint;
        b.record = false;
        b.id_token_lifetime = 600;
    })
    .await;
    println!("stub provider at {}", stub.issuer);

    md("## 2. Sign-in throughput against a stub provider (`bench-stub`)");
    md("");
    md(format!(
        "A release `tessera serve` child process; an in-process stub provider (RS256, 2048-bit key). \
         Per login: `GET /sso/initiate` → stub `/authorize` (redirects back at once) → `GET /sso/callback` \
         (token exchange, ID-token signature and claims, `/userinfo`, member upsert, login attempt, session). \
         {logins} sign-ins of {pool} members (each signed in once before, unmeasured), concurrency {concurrency}. \
         The stub signs every ID token with the nonce it saw *between* the initiate phase and the callback \
         phase, while Tessera is idle, so its RSA signing (≈1 ms CPU each) does not eat the 2 cores; \
         logins/s = logins ÷ (initiate phase + callback phase). The load generator and stub share the machine \
         with Tessera."
    ));
    md("");
    for kind in bench::databases() {
        throughput(&kind, &stub, logins, pool, concurrency, cores).await;
    }
    if std::env::var("BENCH_SKIP_JIT").is_ok_and(|v| v == "1") {
        return;
    }
    md("## 3. JIT burst (`bench-stub`)");
    md("");
    md(format!(
        "{jit_logins} distinct people sign in for the first time at concurrency {jit_concurrency} into a fresh org \
         on a fresh database (same stub, same phases). Targets: {jit_logins} members, 1 owner, 0 errors \
         (errors = failed requests + failed login attempts recorded)."
    ));
    md("");
    md_table(&[
        "database",
        "members created",
        "owners",
        "errors",
        "callback phase",
    ]);
    for kind in bench::databases() {
        jit_burst(&kind, &stub, jit_logins, jit_concurrency).await;
    }
    md("");
    println!(
        "signed on the spot (not pre-signed): {}",
        stub.signed_on_the_spot()
    );
}
