//! Benchmark 3: a sign-in storm. `BENCH_STORM_LOGINS` (10,000) distinct people sign in for the
//! first time, at concurrency `BENCH_STORM_CONCURRENCY` (200), into a fresh org on a fresh
//! PostgreSQL database served by `BENCH_STORM_NODES` (2) `tessera serve` processes: the same
//! database URL and secret key file, each on its own port; sign-in `i` starts and finishes on
//! node `i % nodes`. Checked: exactly that many members, exactly one owner, no failed request
//! and no failed login attempt recorded. Reported: wall time, p50/p99 of whole sign-ins and of
//! callbacks, each node's peak RSS and CPU, PostgreSQL's CPU, the load generator's (with the
//! stub's) CPU and the open files of every process.
//!
//! A smaller row on SQLite, one node: `BENCH_STORM_SQLITE_LOGINS` (1,000) at
//! `BENCH_STORM_SQLITE_CONCURRENCY` (50).
//!
//! The sign-ins are pipelined ([`bench::stub::sign_in_pipelined`]): each of the `concurrency`
//! workers takes one person through initiate, the stub's redirect and the callback before the
//! next, so at most that many flows are pending; the stub signs each ID token when Tessera
//! redeems the code, on the same cores (its CPU is reported with the load generator's).
//!
//! Environment: `TESSERA_BIN`, `BENCH_DATABASES` (sqlite,postgres), `BENCH_POSTGRES_URL`, the
//! variables above.

use bench::proc_stats::Cpu;
use bench::report::{exactly, md, md_row, md_table, peak_rss_marker, summary};
use bench::stub::{Ctx, org_outcome, sign_in_pipelined, start_stub, start_tessera};
use bench::tessera::Tessera;
use bench::{env_num, ms, raise_open_files_limit};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use testkit::op::FakeOp;

/// One storm's shape.
struct Storm {
    kind: &'static str,
    nodes: usize,
    logins: usize,
    concurrency: usize,
}

/// Open files of a process (entries of `/proc/<pid>/fd`; 0 when unreadable).
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The most open files each of `pids` had, sampled every 200 ms until `stop`.
fn watch_open_files(pids: Vec<u32>, stop: Arc<AtomicBool>) -> Arc<Vec<AtomicUsize>> {
    let peaks: Arc<Vec<AtomicUsize>> = Arc::new(pids.iter().map(|_| AtomicUsize::new(0)).collect());
    let out = peaks.clone();
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            for (pid, peak) in pids.iter().zip(peaks.iter()) {
                peak.fetch_max(open_files(*pid), Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    out
}

/// `SHOW max_connections` of the PostgreSQL server (empty when not PostgreSQL or unknown).
async fn max_connections(pool: &sqlx::AnyPool, kind: &str) -> String {
    use sqlx::Row as _;
    if kind != "postgres" {
        return String::new();
    }
    sqlx::query("SHOW max_connections")
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<String, _>(0))
        .unwrap_or_default()
}

/// What one storm printed for the report, written after its table.
struct Outcome {
    row: Vec<String>,
    /// One row per process: name, CPU per sign-in (ms), most open files.
    processes: Vec<[String; 3]>,
    peak_rss: Vec<(String, f64)>,
    errors: Option<String>,
    max_connections: String,
}

async fn storm(s: &Storm, stub: &FakeOp, fd_limit: u64) -> Result<Outcome, String> {
    let db = bench::db::open(s.kind).await?;
    let first = start_tessera(&db.url, stub, "storm").await?;
    let mut nodes = vec![first];
    let mut started = Ok(());
    while nodes.len() < s.nodes && started.is_ok() {
        let mut sibling = nodes[0].sibling();
        started = sibling.start().await;
        nodes.push(sibling);
    }
    let result = match started {
        Ok(()) => run_storm(s, stub, &db, &nodes, fd_limit).await,
        Err(e) => Err(e),
    };
    for t in &mut nodes {
        t.stop().await;
    }
    drop(db);
    result
}

async fn run_storm(
    s: &Storm,
    stub: &FakeOp,
    db: &bench::db::TestDb,
    nodes: &[Tessera],
    fd_limit: u64,
) -> Result<Outcome, String> {
    let label = db.label();
    for t in nodes {
        println!("[{label}] tessera at {} (pid {})", t.url, t.pid);
    }
    let me = std::process::id();
    let node_refs: Vec<&Tessera> = nodes.iter().collect();
    let cx = Ctx::new(&node_refs, stub);
    let mut pids: Vec<u32> = nodes.iter().map(|t| t.pid).collect();
    pids.push(me);
    let mut cpus: Vec<Cpu> = pids.iter().map(|p| Cpu::Pid(*p)).collect();
    if s.kind == "postgres" {
        cpus.push(Cpu::Command("postgres"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let fds = watch_open_files(pids.clone(), stop.clone());
    let users: Vec<String> = (0..s.logins).map(|i| format!("storm{i}")).collect();
    let b = sign_in_pipelined(&cx, &cpus, users, s.concurrency).await;
    stop.store(true, Ordering::Relaxed);
    let pool = db.pool().await?;
    let (members, owners, failures) = org_outcome(&pool, "storm").await;
    let max_connections = max_connections(&pool, s.kind).await;
    pool.close().await;
    let errors = b.errors.len() as i64 + failures.max(0);
    let rss: Vec<f64> = nodes.iter().map(Tessera::peak_rss_mib).collect();
    let fds: Vec<usize> = fds.iter().map(|f| f.load(Ordering::Relaxed)).collect();
    let per_ms = |cpu: f64| 1000.0 * cpu / b.ok.max(1) as f64;
    // A node's CPU per sign-in it was sent (sign-in `i` goes to node `i % nodes`).
    let node_ms = |node: usize| {
        let sent = (node..s.logins).step_by(s.nodes).count();
        1000.0 * b.cpu[node] / sent.max(1) as f64
    };
    let shape = format!(
        "{} node{}, {} first sign-ins at concurrency {}",
        s.nodes,
        if s.nodes == 1 { "" } else { "s" },
        s.logins,
        s.concurrency
    );
    let whole = b.whole.unwrap_or(b.callback);
    println!(
        "[{label}] storm, {shape}: {members} members, {owners} owner(s), {} request errors, {failures} failed attempts \
         recorded; {:.2}s = {:.0} sign-ins/s; sign-in p50 {} ms p99 {} ms; initiate p50 {} ms p99 {} ms; \
         callback p50 {} ms p99 {} ms max {} ms",
        b.errors.len(),
        b.wall().as_secs_f64(),
        b.rate(),
        ms(whole.p50),
        ms(whole.p99),
        ms(b.initiate.p50),
        ms(b.initiate.p99),
        ms(b.callback.p50),
        ms(b.callback.p99),
        ms(b.callback.max),
    );
    let mut processes = vec![];
    for (i, t) in nodes.iter().enumerate() {
        println!(
            "[{label}] node {} (pid {}): peak RSS {:.1} MiB, CPU {:.3} ms per sign-in sent to it, most open files {}",
            i + 1,
            t.pid,
            rss[i],
            node_ms(i),
            fds[i]
        );
        processes.push([
            format!("{label}: Tessera node {}", i + 1),
            format!("{:.2}", node_ms(i)),
            fds[i].to_string(),
        ]);
    }
    let n = nodes.len();
    println!(
        "[{label}] load generator + stub (pid {me}): CPU {:.3} ms/sign-in, most open files {} (limit {fd_limit})",
        per_ms(b.cpu[n]),
        fds[n]
    );
    processes.push([
        format!("{label}: load generator + stub provider (signing each ID token)"),
        format!("{:.2}", per_ms(b.cpu[n])),
        format!("{} (limit {fd_limit})", fds[n]),
    ]);
    if let Some(pg) = b.cpu.get(n + 1) {
        println!(
            "[{label}] PostgreSQL (all its processes): CPU {:.3} ms/sign-in",
            per_ms(*pg)
        );
        processes.push([
            format!("{label}: PostgreSQL server (all its processes on the machine)"),
            format!("{:.2}", per_ms(*pg)),
            "—".into(),
        ]);
    }
    if !b.errors.is_empty() {
        println!("[{label}] errors: {}", b.error_summary());
    }
    let all = members == s.logins as i64 && owners == 1 && errors == 0;
    summary(
        "3. sign-in storm",
        &format!("members / owners / errors, {label}, {shape}"),
        &format!("{members} / {owners} / {errors}"),
        &format!("{} / 1 / 0", s.logins),
        if all { "**met**" } else { "**missed**" },
    );
    summary(
        "3. sign-in storm",
        &format!("wall time; sign-in p50 / p99, {label}, {shape}"),
        &format!(
            "{:.1} s; {} / {} ms",
            b.wall().as_secs_f64(),
            ms(whole.p50),
            ms(whole.p99)
        ),
        "—",
        "reported (no target)",
    );
    let row = vec![
        label.to_string(),
        shape.clone(),
        format!("{members} ({})", exactly(members, s.logins as i64)),
        format!("{owners} ({})", exactly(owners, 1)),
        format!("{errors} ({})", exactly(errors, 0)),
        format!("{:.1}", b.wall().as_secs_f64()),
        format!("{:.0}", b.rate()),
        format!("{} / {}", ms(whole.p50), ms(whole.p99)),
        format!("{} / {}", ms(b.initiate.p50), ms(b.initiate.p99)),
        format!("{} / {}", ms(b.callback.p50), ms(b.callback.p99)),
        rss.iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(" / "),
    ];
    Ok(Outcome {
        row,
        processes,
        peak_rss: rss
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("bench-storm, {label}, node {}", i + 1), *r))
            .collect(),
        errors: (!b.errors.is_empty()).then(|| format!("{label}, {shape}: {}", b.error_summary())),
        max_connections,
    })
}

#[tokio::main]
async fn main() {
    let fd_limit = raise_open_files_limit();
    let storms: Vec<Storm> = ["postgres", "sqlite"]
        .into_iter()
        .filter(|k| bench::databases().iter().any(|d| d == k))
        .map(|kind| match kind {
            "postgres" => Storm {
                kind,
                nodes: env_num("BENCH_STORM_NODES", 2),
                logins: env_num("BENCH_STORM_LOGINS", 10_000),
                concurrency: env_num("BENCH_STORM_CONCURRENCY", 200),
            },
            _ => Storm {
                kind,
                nodes: 1,
                logins: env_num("BENCH_STORM_SQLITE_LOGINS", 1000),
                concurrency: env_num("BENCH_STORM_SQLITE_CONCURRENCY", 50),
            },
        })
        .collect();
    println!("tessera binary: {}", bench::tessera::binary().display());
    let stub = start_stub().await;
    println!(
        "stub provider at {} (open files limit {fd_limit})",
        stub.issuer
    );
    md("## 3. Sign-in storm (`bench-storm`)");
    md("");
    md(
        "Distinct people sign in for the first time into a fresh org on a fresh database. On PostgreSQL through \
         two `tessera serve` processes (same database URL and secret key file, each its own port, pool of 16 \
         connections); the load generator sends sign-in *i* to node *i* mod 2, start to finish. On SQLite one node, a \
         smaller run. Same stub provider as benchmark 2, but pipelined: each of the concurrent workers takes one \
         person through `/sso/initiate`, the stub's `/authorize` and `/sso/callback` before the next, so at most \
         that many sign-ins are pending, and the stub signs each ID token (RS256, 2048-bit) when Tessera redeems \
         the code. A sign-in's time is from the initiate request to the callback's answer. Targets: exactly as many \
         members as people, exactly 1 owner, 0 errors (failed requests + failed login attempts recorded). The load \
         generator and the stub are one process on the same 2 cores as Tessera and PostgreSQL; every process's CPU \
         and open files are shown so that their own limits can be judged.",
    );
    md("");
    md_table(&[
        "database",
        "storm",
        "members",
        "owners",
        "errors",
        "wall time (s)",
        "sign-ins/s",
        "sign-in p50 / p99 (ms)",
        "initiate p50 / p99 (ms)",
        "callback p50 / p99 (ms)",
        "peak RSS per node (MiB)",
    ]);
    let mut outcomes = vec![];
    for s in &storms {
        match storm(s, &stub, fd_limit).await {
            Ok(o) => {
                md_row(&o.row);
                outcomes.push(o);
            }
            Err(e) => {
                println!("!! {}: {e}", s.kind);
                let mut row = vec![s.kind.to_string(), format!("**not run**: {e}")];
                row.resize(11, String::new());
                md_row(&row);
            }
        }
    }
    md("");
    if !outcomes.is_empty() {
        md(
            "The processes during the storm: CPU per sign-in (a node's divided by the sign-ins sent to it, the others' \
             by all), most open files (sampled every 200 ms):",
        );
        md("");
        md_table(&["process", "CPU per sign-in (ms)", "most open files"]);
        for o in &outcomes {
            for p in &o.processes {
                md_row(p);
            }
        }
        md("");
    }
    for o in &outcomes {
        if !o.max_connections.is_empty() {
            md(format!(
                "PostgreSQL `max_connections` is {}; the nodes' pools hold at most 16 connections each.",
                o.max_connections
            ));
            md("");
        }
        if let Some(e) = &o.errors {
            md(format!("Errors: {e}."));
            md("");
        }
        for (what, mib) in &o.peak_rss {
            peak_rss_marker(what, *mib);
        }
    }
    println!(
        "signed on the spot (not pre-signed): {}",
        stub.signed_on_the_spot()
    );
}
