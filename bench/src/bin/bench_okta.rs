//! Benchmark 1: complete sign-ins through the local Okta (end2end/okta-dev), Tessera side by
//! side with a peer relying party in Node (end2end/bench/peer-rp.mjs: express 5,
//! express-session, openid-client 6 with ID-token signature checks on, better-sqlite3).
//!
//! Both relying parties are child processes registered as two clients of the same okta-dev.
//! The same load generator drives both: per sign-in a fresh cookie jar, manual redirects,
//! okta-dev's sign-in form filled as `user<N>` / `password` (okta-dev creates `user<N>` on
//! first use), through to the relying party's callback, which must answer a redirect to `/`.
//! Reported per relying party: CPU seconds per sign-in (utime+stime from /proc/<pid>/stat,
//! before and after each measured round) and peak RSS (VmHWM), for first sign-ins and for
//! returning ones (the same people again), at concurrency 8 and serially. Then Tessera's
//! system calls per sign-in, from a short extra run under `strace` ([`bench::syscalls`]).
//!
//! Environment: `TESSERA_BIN`, `BENCH_OKTA_LOGINS` (1000 first sign-ins, then the same people
//! returning, at `BENCH_OKTA_CONCURRENCY`, 8), `BENCH_OKTA_SERIAL` (300, serially, the same
//! two ways), `BENCH_OKTA_TRACED` (40 serial first sign-ins, then the same people returning,
//! under strace; 0: none), `BENCH_STRACE` (the strace binary), `BENCH_OKTA_WARMUP` (30),
//! `BENCH_OKTA_ROUNDS` (4: each series is split into rounds that alternate between the two
//! relying parties).

use bench::proc_stats::{CpuMeter, peak_rss_mib};
use bench::report::{at_most, md, md_row, md_table, peak_rss_marker, summary};
use bench::syscalls::{Counts, Tracer};
use bench::tessera::Tessera;
use bench::{Latency, env_num, free_port, ms, repo_root, run_pool};
use reqwest::cookie::{CookieStore, Jar};
use std::process::Stdio;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use testkit::okta::ready_line;
use testkit::{OktaDev, okta_client};

/// A cookie jar emptied before each sign-in, so each one starts like a new browser.
#[derive(Default)]
struct FreshJar(RwLock<Arc<Jar>>);

impl FreshJar {
    fn reset(&self) {
        if let Ok(mut j) = self.0.write() {
            *j = Arc::new(Jar::default());
        }
    }

    fn current(&self) -> Arc<Jar> {
        self.0.read().map(|j| j.clone()).unwrap_or_default()
    }
}

impl CookieStore for FreshJar {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        url: &url::Url,
    ) {
        self.current().set_cookies(headers, url);
    }

    fn cookies(&self, url: &url::Url) -> Option<reqwest::header::HeaderValue> {
        self.current().cookies(url)
    }
}

/// One virtual user: a client with its own cookie jar (and connections).
struct Vu {
    http: reqwest::Client,
    jar: Arc<FreshJar>,
}

impl Vu {
    fn new() -> Vu {
        let jar = Arc::new(FreshJar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Vu { http, jar }
    }
}

fn location(r: &reqwest::Response) -> Option<url::Url> {
    let l = r.headers().get("location")?.to_str().ok()?;
    r.url().join(l).ok()
}

/// One whole sign-in from `start` (the relying party's login URL) to the relying party's
/// callback answer; `Ok` with the duration when the callback redirects to `/`.
async fn sign_in(
    vu: &Vu,
    start: &str,
    callback_prefix: &str,
    user: &str,
) -> Result<Duration, String> {
    vu.jar.reset();
    let t = Instant::now();
    let mut r = vu
        .http
        .get(start)
        .send()
        .await
        .map_err(|e| format!("start: {e}"))?;
    let mut posted = false;
    for _ in 0..20 {
        let status = r.status().as_u16();
        if let Some(to) = location(&r).filter(|_| r.status().is_redirection()) {
            let _ = r.bytes().await;
            if to.as_str().starts_with(callback_prefix) {
                let cb = vu
                    .http
                    .get(to.as_str())
                    .send()
                    .await
                    .map_err(|e| format!("callback: {e}"))?;
                let status = cb.status().as_u16();
                let landed =
                    cb.status().is_redirection() && location(&cb).is_some_and(|l| l.path() == "/");
                let body = cb.text().await.unwrap_or_default();
                return if landed {
                    Ok(t.elapsed())
                } else {
                    let reason = body
                        .split("data-reason=\"")
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .unwrap_or(body.get(..80).unwrap_or(&body));
                    Err(format!("callback answered {status}: {reason}"))
                };
            }
            r = vu
                .http
                .get(to.as_str())
                .send()
                .await
                .map_err(|e| format!("GET {to}: {e}"))?;
            continue;
        }
        let url = r.url().clone();
        let body = r.text().await.unwrap_or_default();
        let action = body
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .filter(|a| a.starts_with("/interaction/"));
        match action {
            Some(action) if status == 200 && !posted => {
                posted = true;
                let to = url.join(action).map_err(|e| e.to_string())?;
                let origin = url.origin().ascii_serialization();
                r = vu
                    .http
                    .post(to)
                    .header("origin", origin)
                    .form(&[("username", user), ("password", "password")])
                    .send()
                    .await
                    .map_err(|e| format!("sign-in form: {e}"))?;
            }
            _ => return Err(format!("stuck at {status} {}", url.path())),
        }
    }
    Err("too many hops".into())
}

#[derive(Default)]
struct Run {
    ok: usize,
    errors: Vec<String>,
    wall: Duration,
    samples: Vec<Duration>,
    cpu: f64,
    /// The part of `cpu` spent in the kernel (stime).
    cpu_system: f64,
    okta_cpu: f64,
}

impl Run {
    /// Adds another measured batch of the same relying party.
    fn add(&mut self, r: Run) {
        self.ok += r.ok;
        self.errors.extend(r.errors);
        self.wall += r.wall;
        self.samples.extend(r.samples);
        self.cpu += r.cpu;
        self.cpu_system += r.cpu_system;
        self.okta_cpu += r.okta_cpu;
    }

    fn latency(&self) -> Latency {
        Latency::of(&self.samples)
    }
}

async fn drive(
    vus: &Arc<Mutex<Vec<Vu>>>,
    start: &str,
    callback_prefix: &str,
    users: Vec<String>,
    concurrency: usize,
    pid: u32,
    okta_pid: u32,
) -> Run {
    let users = Arc::new(users);
    let (start, prefix) = (
        Arc::new(start.to_string()),
        Arc::new(callback_prefix.to_string()),
    );
    let cpu = CpuMeter::start(pid);
    let okta = CpuMeter::start(okta_pid);
    let t = Instant::now();
    let (v, u) = (vus.clone(), users.clone());
    let results = run_pool(users.len(), concurrency, move |i| {
        let (v, u, start, prefix) = (v.clone(), u.clone(), start.clone(), prefix.clone());
        async move {
            let vu = v.lock().expect("vus").pop().unwrap_or_else(Vu::new);
            let r = sign_in(&vu, &start, &prefix, &u[i]).await;
            v.lock().expect("vus").push(vu);
            r
        }
    })
    .await;
    let wall = t.elapsed();
    let ((user, cpu_system), okta_cpu) = (cpu.elapsed_times(), okta.elapsed());
    let mut lat = vec![];
    let mut errors = vec![];
    for r in results {
        match r {
            Ok(d) => lat.push(d),
            Err(e) => errors.push(e),
        }
    }
    Run {
        ok: lat.len(),
        errors,
        wall,
        samples: lat,
        cpu: user + cpu_system,
        cpu_system,
        okta_cpu,
    }
}

/// One measured series: the same kind of sign-in by both relying parties, in alternating
/// rounds so that load from elsewhere on the shared machine falls on both alike.
struct Series {
    name: &'static str,
    /// Sign-in numbers, offset per relying party (`user<base + n>`).
    users: std::ops::Range<usize>,
    concurrency: usize,
    rounds: usize,
}

/// A relying party under test.
struct Side {
    name: &'static str,
    start: String,
    callback: String,
    pid: u32,
    /// Its people are `user<base + n>`: each relying party has its own, so that a first
    /// sign-in is a first one at okta-dev too, for both.
    base: usize,
}

const TARGET_RATIO: f64 = 0.15;

async fn run() -> Result<(), String> {
    let logins: usize = env_num("BENCH_OKTA_LOGINS", 1000);
    let concurrency: usize = env_num("BENCH_OKTA_CONCURRENCY", 8);
    let serial: usize = env_num("BENCH_OKTA_SERIAL", 300);
    let traced: usize = env_num("BENCH_OKTA_TRACED", 40);
    let warmup: usize = env_num("BENCH_OKTA_WARMUP", 30);
    let rounds: usize = env_num::<usize>("BENCH_OKTA_ROUNDS", 4).max(1);
    let e2e = repo_root().join("end2end");
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = testkit::sqlite();
    let mut tessera = Tessera::new(&db.url);
    let peer_port = free_port();
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let clients = serde_json::json!([
        okta_client(
            &tessera.url,
            "tessera-bench",
            "tessera-bench-secret-0123456789",
            "Tessera (bench)"
        ),
        {"client_id": "peer-bench", "client_secret": "peer-bench-secret-0123456789",
         "redirect_uris": [format!("{peer_url}/callback")], "name": "Peer RP (bench)"},
    ]);
    let mut okta = OktaDev::try_start(free_port(), clients, &[], Stdio::null()).await?;
    let issuer = okta.issuer.clone();
    let okta_pid = okta.pid();
    println!("okta-dev at {issuer} (pid {okta_pid})");

    tessera.register_org(
        "acme",
        &issuer,
        "tessera-bench",
        "tessera-bench-secret-0123456789",
    )?;
    tessera.start().await?;
    println!("tessera at {} (pid {})", tessera.url, tessera.pid);

    let mut peer = tokio::process::Command::new("node")
        .arg(e2e.join("bench/peer-rp.mjs"))
        .env("PEER_PORT", peer_port.to_string())
        .env("PEER_ISSUER", &issuer)
        .env("PEER_CLIENT_ID", "peer-bench")
        .env("PEER_CLIENT_SECRET", "peer-bench-secret-0123456789")
        .env("PEER_DB", work.path().join("peer.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start node end2end/bench/peer-rp.mjs: {e}"))?;
    ready_line(&mut peer, "peer-rp ready ").await?;
    let peer_pid = peer.id().unwrap_or_default();
    println!("peer-rp at {peer_url} (pid {peer_pid})");

    let issuer_q: String = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
    let sides = [
        Side {
            name: "Tessera (Rust)",
            start: format!("{}/sso/initiate?iss={issuer_q}", tessera.url),
            callback: format!("{}/sso/callback", tessera.url),
            pid: tessera.pid,
            base: 0,
        },
        Side {
            name: "peer RP (Node: express 5, openid-client 6, better-sqlite3)",
            start: format!("{peer_url}/login"),
            callback: format!("{peer_url}/callback"),
            pid: peer_pid,
            base: 500_000,
        },
    ];
    let vus = Arc::new(Mutex::new(
        (0..concurrency).map(|_| Vu::new()).collect::<Vec<_>>(),
    ));
    // Warm-up (not measured): discovery and JWKS fetched, JIT compiled, connections open.
    for side in &sides {
        let users = (0..warmup)
            .map(|i| format!("user{}", 900_000 + side.base / 10 + i))
            .collect();
        let w = drive(
            &vus,
            &side.start,
            &side.callback,
            users,
            concurrency,
            side.pid,
            okta_pid,
        )
        .await;
        println!(
            "[{}] warm-up: {} sign-ins, {} errors {:?}",
            side.name,
            w.ok,
            w.errors.len(),
            w.errors.first()
        );
    }
    // First sign-ins create the member (JIT); returning ones are the same people again.
    let series = [
        Series {
            name: "first sign-ins",
            users: 0..logins,
            concurrency,
            rounds,
        },
        Series {
            name: "returning sign-ins",
            users: 0..logins,
            concurrency,
            rounds,
        },
        Series {
            name: "first sign-ins",
            users: logins..logins + serial,
            concurrency: 1,
            rounds,
        },
        Series {
            name: "returning sign-ins",
            users: logins..logins + serial,
            concurrency: 1,
            rounds,
        },
    ];
    let mut results: Vec<(String, Vec<Run>)> = vec![];
    for s in &series {
        let label = match s.concurrency {
            1 => format!("{}, serial (concurrency 1)", s.name),
            c => format!("{}, concurrency {c}", s.name),
        };
        let mut totals: Vec<Run> = sides.iter().map(|_| Run::default()).collect();
        let n = s.users.len();
        for round in 0..s.rounds {
            let (from, to) = (
                s.users.start + n * round / s.rounds,
                s.users.start + n * (round + 1) / s.rounds,
            );
            for (side, total) in sides.iter().zip(totals.iter_mut()) {
                let users = (from..to)
                    .map(|i| format!("user{}", side.base + i))
                    .collect();
                let r = drive(
                    &vus,
                    &side.start,
                    &side.callback,
                    users,
                    s.concurrency,
                    side.pid,
                    okta_pid,
                )
                .await;
                println!(
                    "[{}] {label}, round {}: {} sign-ins ({} errors) in {:.2}s, CPU {:.3} ms/sign-in",
                    side.name,
                    round + 1,
                    r.ok,
                    r.errors.len(),
                    r.wall.as_secs_f64(),
                    per(&r)
                );
                total.add(r);
            }
        }
        for (side, r) in sides.iter().zip(&totals) {
            let l = r.latency();
            println!(
                "[{}] {label}: {} sign-ins ({} errors) in {:.2}s: CPU {:.3} ms/sign-in ({:.2} s total); \
                 sign-in p50 {} ms p99 {} ms; okta-dev CPU {:.2} ms/sign-in",
                side.name,
                r.ok,
                r.errors.len(),
                r.wall.as_secs_f64(),
                per(r),
                r.cpu,
                ms(l.p50),
                ms(l.p99),
                1000.0 * r.okta_cpu / r.ok.max(1) as f64,
            );
            if let Some(e) = r.errors.first() {
                println!("[{}] first error: {e}", side.name);
            }
        }
        println!(
            "{label}: Tessera CPU per sign-in / peer CPU per sign-in = {:.3} (target ≤ {TARGET_RATIO})",
            per(&totals[0]) / per(&totals[1])
        );
        results.push((label, totals));
    }
    let rss: Vec<f64> = sides.iter().map(|s| peak_rss_mib(s.pid)).collect();

    // System calls: Tessera alone, serial first sign-ins under strace (after the CPU figures,
    // which tracing would disturb).
    let mut syscalls = vec![];
    for what in ["first", "returning"] {
        let counted = if traced == 0 {
            Err("not run (BENCH_OKTA_TRACED=0)".to_string())
        } else {
            let t = &sides[0];
            let users = (0..traced)
                .map(|i| format!("user{}", 800_000 + i))
                .collect();
            traced_run(&vus, t, users, okta_pid, work.path()).await
        };
        if let Ok((n, c)) = &counted {
            println!(
                "[Tessera] traced: {n} serial {what} sign-ins, {} system calls in {:.1}s",
                c.total(),
                c.seconds
            );
        }
        syscalls.push((what, counted));
    }

    md("## 1. Complete sign-ins through the local Okta, Tessera beside a Node peer (`bench-okta`)");
    md("");
    md(format!(
        "okta-dev (`end2end/okta-dev`, oidc-provider) with two clients; Tessera (release, SQLite) and \
         `end2end/bench/peer-rp.mjs` (express 5 + express-session, openid-client 6 with ID-token signature \
         verification on, PKCE + state + nonce, `/userinfo`, better-sqlite3 upsert keyed by (iss, sub)) as child \
         processes. The same Rust load generator (reqwest, a fresh cookie jar per sign-in, manual redirects) signs \
         people in through initiate → authorize → okta-dev's sign-in form → callback → token exchange → JWKS \
         (cached) → userinfo → upsert → session, after {warmup} unmeasured warm-up sign-ins each. Each relying \
         party has its own people (`user<N>`), so a first sign-in is a first one at okta-dev too. Four series, in \
         this order: {logins} **first** sign-ins (JIT creates the member) at concurrency {concurrency}; the same \
         {logins} people **returning** (the member exists); then {serial} first and the same {serial} returning \
         sign-ins **serially** (concurrency 1). Each series runs in alternating rounds (Tessera, peer, Tessera, \
         …; {rounds} rounds each), summed. CPU = utime+stime of the relying \
         party's process (all threads) over the measured rounds, ÷ sign-ins; the kernel's part is stime. Target (issue #14): Tessera's CPU \
         per sign-in ≤ {TARGET_RATIO} of the Node peer's."
    ));
    md("");
    md_table(&[
        "series",
        "relying party",
        "sign-ins",
        "errors",
        "CPU per sign-in (ms)",
        "of which in the kernel (ms)",
        "sign-in p50 / p99 (ms, whole flow)",
        "okta-dev CPU per sign-in (ms)",
    ]);
    for (label, runs) in &results {
        for (side, r) in sides.iter().zip(runs) {
            md_row(&[
                label.clone(),
                side.name.to_string(),
                r.ok.to_string(),
                r.errors.len().to_string(),
                format!("{:.3}", per(r)),
                format!("{:.3}", 1000.0 * r.cpu_system / r.ok.max(1) as f64),
                format!("{} / {}", ms(r.latency().p50), ms(r.latency().p99)),
                format!("{:.2}", 1000.0 * r.okta_cpu / r.ok.max(1) as f64),
            ]);
        }
    }
    md("");
    md(format!(
        "Peak RSS over all series: Tessera {:.1} MiB, peer {:.1} MiB.",
        rss[0], rss[1]
    ));
    md("");
    md_table(&[
        "series",
        "Tessera CPU per sign-in ÷ peer's",
        "target",
        "verdict",
    ]);
    for (label, runs) in &results {
        let (tess, peer_run) = (&runs[0], &runs[1]);
        let ratio = per(tess) / per(peer_run);
        let value = format!(
            "{ratio:.3} ({:.3} ms vs {:.3} ms)",
            per(tess),
            per(peer_run)
        );
        md_row(&[
            label.clone(),
            value.clone(),
            format!("≤ {TARGET_RATIO:.2}"),
            at_most(ratio, TARGET_RATIO),
        ]);
        summary(
            "1. sign-ins via local Okta",
            &format!("Tessera CPU per sign-in ÷ Node peer's, {label}"),
            &value,
            &format!("≤ {TARGET_RATIO:.2}"),
            &at_most(ratio, TARGET_RATIO),
        );
    }
    md("");
    syscall_report(&syscalls, traced);
    peak_rss_marker("bench-okta, Tessera (SQLite)", rss[0]);
    md("");
    let _ = peer.start_kill();
    tessera.stop().await;
    let _ = peer.wait().await;
    okta.stop().await;
    Ok(())
}

/// A traced run: the sign-ins completed and the system calls counted, or why there are none.
type Traced = Result<(usize, Counts), String>;

/// Signs `users` in through `side` one at a time with `strace` attached to it: the sign-ins
/// completed and the system calls counted.
async fn traced_run(
    vus: &Arc<Mutex<Vec<Vu>>>,
    side: &Side,
    users: Vec<String>,
    okta_pid: u32,
    dir: &std::path::Path,
) -> Traced {
    let tracer = Tracer::attach(side.pid, dir).await?;
    let r = drive(
        vus,
        &side.start,
        &side.callback,
        users,
        1,
        side.pid,
        okta_pid,
    )
    .await;
    let counts = tracer.finish().await?;
    if let Some(e) = r.errors.first() {
        println!(
            "[Tessera] traced run: {} errors, first: {e}",
            r.errors.len()
        );
    }
    Ok((r.ok, counts))
}

/// CPU milliseconds per completed sign-in.
fn per(r: &Run) -> f64 {
    1000.0 * r.cpu / r.ok.max(1) as f64
}

/// The system calls of Tessera's traced sign-ins, per sign-in, with how each is counted.
fn syscall_report(traced: &[(&str, Traced)], asked: usize) {
    md(format!(
        "**System calls per sign-in** (Tessera alone, after the series above: {asked} more people signing in for \
         the first time, serially, then the same {asked} returning; `strace -f -y -s 0 -ttt -p <pid>` attached for \
         these two runs only, so the CPU figures above are undisturbed; every thread counted, from the first \
         request of a run to its last answer):"
    ));
    md("");
    let mut runs = vec![];
    for (what, r) in traced {
        match r {
            Ok((n, c)) if *n > 0 => runs.push((*what, *n as f64, c)),
            Ok(_) => md(format!("{what} sign-ins: not measured, none completed.")),
            Err(e) => {
                println!("system calls of {what} sign-ins not measured: {e}");
                md(format!("{what} sign-ins: not measured: {e}"));
            }
        }
    }
    if runs.is_empty() {
        md("");
        return;
    }
    // One cell per traced run: `f(sign-ins, counts)`.
    let cell = |f: &dyn Fn(f64, &Counts) -> String| -> Vec<String> {
        runs.iter().map(|(_, n, c)| f(*n, c)).collect()
    };
    let each = |v: u64, n: f64| format!("{:.1}", v as f64 / n);
    let mut head = vec!["system call".to_string()];
    head.extend(runs.iter().map(|(w, _, _)| format!("per {w} sign-in")));
    head.push("how it is counted".into());
    md_table(&head.iter().map(String::as_str).collect::<Vec<_>>());
    let row = |name: &str, values: Vec<String>, how: &str| {
        let mut cells = vec![name.to_string()];
        cells.extend(values);
        cells.push(how.to_string());
        md_row(&cells);
    };
    row(
        "all",
        cell(&|n, c| {
            format!(
                "{} (most: {})",
                each(c.total(), n),
                c.top(5)
                    .iter()
                    .map(|(k, v)| format!("`{k}` {}", each(*v, n)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
        "every call entered by any thread of Tessera during the run",
    );
    row(
        "`futex`",
        cell(&|n, c| each(c.of("futex"), n)),
        "waits and wake-ups between threads (the async runtime's workers, the SQLite driver's thread per connection, the pool)",
    );
    row(
        "`pwrite64` (page writes)",
        cell(&|n, c| {
            format!(
                "{} ({} whole pages: {} to the WAL, {} to the database file)",
                each(c.of("pwrite64"), n),
                each(c.io(true, "WAL", true) + c.io(true, "database", true), n),
                each(c.io(true, "WAL", true), n),
                each(c.io(true, "database", true), n),
            )
        }),
        "SQLite's writes; one that moved 512 bytes or more is a whole page (a page appended to the WAL, or a checkpoint copying one into the database file), a smaller one a header (each WAL frame's 24 bytes)",
    );
    row(
        "`pread64` (page reads)",
        cell(&|n, c| {
            format!(
                "{} ({} whole pages: {} from the WAL, {} from the database file)",
                each(c.of("pread64"), n),
                each(c.io(false, "WAL", true) + c.io(false, "database", true), n),
                each(c.io(false, "WAL", true), n),
                each(c.io(false, "database", true), n),
            )
        }),
        "SQLite's reads of pages not in the connection's page cache; split by size and file as above",
    );
    row(
        "`fcntl` (file locks)",
        cell(&|n, c| {
            format!(
                "{} ({} locks on SQLite's files)",
                each(c.of("fcntl"), n),
                each(c.locks, n)
            )
        }),
        "`F_SETLK` calls, which SQLite in WAL mode makes on the WAL index (`-shm`) to take and release its read and write locks",
    );
    row(
        "`fsync`",
        cell(&|n, c| each(c.of("fsync") + c.of("fdatasync"), n)),
        "`fsync` and `fdatasync` (with `synchronous = NORMAL` SQLite syncs at checkpoints)",
    );
    md("");
    if let Some((what, n, c)) = runs.first() {
        summary(
            "1. sign-ins via local Okta",
            &format!(
                "system calls per {what} sign-in (Tessera, serial, strace): all / futex / pwrite64 / pread64 / fcntl"
            ),
            &format!(
                "{} / {} / {} / {} / {}",
                each(c.total(), *n),
                each(c.of("futex"), *n),
                each(c.of("pwrite64"), *n),
                each(c.of("pread64"), *n),
                each(c.of("fcntl"), *n)
            ),
            "—",
            "reported (no target)",
        );
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-okta: {e}");
            md("## 1. Complete sign-ins through the local Okta (`bench-okta`)");
            md("");
            md(format!("**Not run:** {e}"));
            md("");
            std::process::ExitCode::FAILURE
        }
    }
}
