//! Benchmark 1: complete sign-ins through the local Okta (end2end/okta-dev), Tessera side by
//! side with a peer relying party in Node (end2end/bench/peer-rp.mjs: express 5,
//! express-session, openid-client 6 with ID-token signature checks on, better-sqlite3).
//!
//! Both relying parties are child processes registered as two clients of the same okta-dev.
//! The same load generator drives both: per sign-in a fresh cookie jar, manual redirects,
//! okta-dev's sign-in form filled as `user<N>` / `password` (okta-dev creates `user<N>` on
//! first use), through to the relying party's callback, which must answer a redirect to `/`.
//! Reported per relying party: CPU seconds per sign-in (utime+stime from /proc/<pid>/stat,
//! before and after the measured batch) and peak RSS (VmHWM).
//!
//! Environment: `TESSERA_BIN`, `BENCH_OKTA_LOGINS` (500), `BENCH_OKTA_CONCURRENCY` (8),
//! `BENCH_OKTA_WARMUP` (30), `BENCH_OKTA_ROUNDS` (4: the batch is split into rounds that
//! alternate between the two relying parties).

use bench::proc_stats::{CpuMeter, peak_rss_mib};
use bench::report::{at_most, md, md_row, md_table, summary};
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
    let (cpu, okta_cpu) = (cpu.elapsed(), okta.elapsed());
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
        cpu,
        okta_cpu,
    }
}

async fn run() -> Result<(), String> {
    let logins: usize = env_num("BENCH_OKTA_LOGINS", 500);
    let concurrency: usize = env_num("BENCH_OKTA_CONCURRENCY", 8);
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
        (
            "Tessera (Rust)",
            format!("{}/sso/initiate?iss={issuer_q}", tessera.url),
            format!("{}/sso/callback", tessera.url),
            tessera.pid,
        ),
        (
            "peer RP (Node: express 5, openid-client 6, better-sqlite3)",
            format!("{peer_url}/login"),
            format!("{peer_url}/callback"),
            peer_pid,
        ),
    ];
    let vus = Arc::new(Mutex::new(
        (0..concurrency).map(|_| Vu::new()).collect::<Vec<_>>(),
    ));
    // Warm-up (not measured): discovery and JWKS fetched, JIT compiled, connections open.
    for (name, start, callback, pid) in &sides {
        let users = (0..warmup)
            .map(|i| format!("user{}", 900_000 + i))
            .collect();
        let w = drive(&vus, start, callback, users, concurrency, *pid, okta_pid).await;
        println!(
            "[{name}] warm-up: {} sign-ins, {} errors {:?}",
            w.ok,
            w.errors.len(),
            w.errors.first()
        );
    }
    // Measured in alternating rounds, so that load from elsewhere on the shared machine falls on
    // both relying parties alike.
    let mut totals: Vec<Run> = sides.iter().map(|_| Run::default()).collect();
    for round in 0..rounds {
        let (from, to) = (logins * round / rounds, logins * (round + 1) / rounds);
        for ((name, start, callback, pid), total) in sides.iter().zip(totals.iter_mut()) {
            let users = (from..to).map(|i| format!("user{i}")).collect();
            let r = drive(&vus, start, callback, users, concurrency, *pid, okta_pid).await;
            println!(
                "[{name}] round {}: {} sign-ins ({} errors) in {:.2}s, CPU {:.3} ms/sign-in",
                round + 1,
                r.ok,
                r.errors.len(),
                r.wall.as_secs_f64(),
                1000.0 * r.cpu / r.ok.max(1) as f64
            );
            total.add(r);
        }
    }
    let mut runs = vec![];
    for ((name, _, _, pid), r) in sides.iter().zip(totals) {
        let rss = peak_rss_mib(*pid);
        let l = r.latency();
        println!(
            "[{name}] {} sign-ins ({} errors) in {:.2}s: CPU {:.3} ms/sign-in ({:.2} s total), peak RSS {rss:.1} MiB; \
             sign-in p50 {} ms p99 {} ms; okta-dev CPU {:.2} ms/sign-in",
            r.ok,
            r.errors.len(),
            r.wall.as_secs_f64(),
            1000.0 * r.cpu / r.ok.max(1) as f64,
            r.cpu,
            ms(l.p50),
            ms(l.p99),
            1000.0 * r.okta_cpu / r.ok.max(1) as f64,
        );
        if let Some(e) = r.errors.first() {
            println!("[{name}] first error: {e}");
        }
        runs.push((name, r, rss));
    }

    let per = |r: &Run| 1000.0 * r.cpu / r.ok.max(1) as f64;
    let (tess, peer_run) = (&runs[0].1, &runs[1].1);
    let ratio = per(tess) / per(peer_run);
    println!("Tessera CPU per sign-in / peer CPU per sign-in = {ratio:.3} (target ≤ 0.1)");

    md("## 1. Complete sign-ins through the local Okta, Tessera beside a Node peer (`bench-okta`)");
    md("");
    md(format!(
        "okta-dev (`end2end/okta-dev`, oidc-provider) with two clients; Tessera (release, SQLite) and \
         `end2end/bench/peer-rp.mjs` (express 5 + express-session, openid-client 6 with ID-token signature \
         verification on, PKCE + state + nonce, `/userinfo`, better-sqlite3 upsert keyed by (iss, sub)) as child \
         processes. The same Rust load generator (reqwest, a fresh cookie jar per sign-in, manual redirects) signs \
         in {logins} distinct `user<N>` (first sign-in each: JIT creates the member) through initiate → authorize → \
         okta-dev's sign-in form → callback → token exchange → JWKS (cached) → userinfo → upsert → session, at \
         concurrency {concurrency}, after {warmup} unmeasured warm-up sign-ins each, in {rounds} alternating rounds \
         (Tessera, peer, Tessera, …) summed. CPU = utime+stime of the relying \
         party's process over the measured rounds, ÷ sign-ins."
    ));
    md("");
    md_table(&[
        "relying party",
        "sign-ins",
        "errors",
        "CPU per sign-in (ms)",
        "peak RSS (MiB)",
        "sign-in p50 / p99 (ms, whole flow)",
        "okta-dev CPU per sign-in (ms)",
    ]);
    for (name, r, rss) in &runs {
        md_row(&[
            name.to_string(),
            r.ok.to_string(),
            r.errors.len().to_string(),
            format!("{:.3}", per(r)),
            format!("{rss:.1}"),
            format!("{} / {}", ms(r.latency().p50), ms(r.latency().p99)),
            format!("{:.2}", 1000.0 * r.okta_cpu / r.ok.max(1) as f64),
        ]);
    }
    md("");
    summary(
        "1. sign-ins via local Okta",
        "Tessera CPU per sign-in ÷ Node peer's",
        &format!(
            "{ratio:.3} ({:.3} ms vs {:.3} ms)",
            per(tess),
            per(peer_run)
        ),
        "≤ 0.100",
        &at_most(ratio, 0.1),
    );
    md_table(&["figure", "value", "target", "verdict"]);
    md_row(&[
        "Tessera CPU per sign-in ÷ peer CPU per sign-in".into(),
        format!("{ratio:.3} (peer uses {:.1}× Tessera's CPU)", 1.0 / ratio),
        "≤ 0.100".into(),
        at_most(ratio, 0.1),
    ]);
    md("");
    let _ = peer.start_kill();
    tessera.stop().await;
    let _ = peer.wait().await;
    okta.stop().await;
    Ok(())
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
