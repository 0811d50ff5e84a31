//! Sign-ins against the test kit's stub OpenID provider, in two measured phases around one
//! unmeasured step (used by `bench-stub` and `bench-storm`):
//!
//! (A) every `/sso/initiate` plus the stub's redirect back with a code; (sign) the stub signs
//! each flow's ID token with the nonce it saw, while Tessera is idle; (B) every
//! `/sso/callback` (token exchange, ID-token verification, `/userinfo`, member upsert, login
//! attempt, session). The stub thus costs the machine a map lookup per token request instead
//! of an RSA signature (about 1 ms of CPU), which would otherwise be charged to Tessera.
//!
//! Or pipelined ([`sign_in_pipelined`]): each worker takes a sign-in through initiate, the
//! stub's redirect and the callback before its next one, and the stub signs each ID token when
//! Tessera asks for it (its RSA signing then shares the machine with Tessera).
//!
//! With several nodes, sign-in `i` is started and finished on node `i % nodes`.

use crate::proc_stats::{Cpu, CpuMeter};
use crate::tessera::Tessera;
use crate::{Latency, run_pool};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::op::{FakeOp, People};

/// The stub provider as the benchmarks run it: each `login_hint` is a person, requests are
/// not recorded, and ID tokens live long enough to be signed ahead of the callbacks.
pub async fn start_stub() -> FakeOp {
    FakeOp::start(|b| {
        b.people = People::FromLoginHint;
        b.record = false;
        b.id_token_lifetime = 600;
    })
    .await
}

/// Where the load goes: the Tessera nodes (`http://127.0.0.1:<port>`) and the stub's issuer.
pub struct Ctx {
    http: reqwest::Client,
    nodes: Vec<String>,
    issuer_q: String,
}

impl Ctx {
    /// Sign-ins spread over `nodes` (round robin) for the stub's issuer.
    pub fn new(nodes: &[&Tessera], stub: &FakeOp) -> Arc<Ctx> {
        Arc::new(Ctx {
            http: http_client(),
            nodes: nodes.iter().map(|t| t.url.clone()).collect(),
            issuer_q: url::form_urlencoded::byte_serialize(stub.issuer.as_bytes()).collect(),
        })
    }
}

/// One sign-in between the phases: the callback URL the stub redirected to, and the
/// `tessera_flow` cookie that binds the flow to the browser that started it.
struct Started {
    callback: String,
    flow_cookie: String,
}

/// Phase A of sign-in `i`: Tessera's initiate (timed) and the stub's redirect back.
async fn initiate(cx: &Ctx, i: usize, user: &str) -> Result<(Duration, Started), String> {
    let node = &cx.nodes[i % cx.nodes.len()];
    let url = format!("{node}/sso/initiate?iss={}&login_hint={user}", cx.issuer_q);
    let t = Instant::now();
    let r = cx
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("initiate: {}", error_chain(&e)))?;
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
        .map_err(|e| format!("stub authorize: {}", error_chain(&e)))?;
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
        .map_err(|e| format!("callback: {}", error_chain(&e)))?;
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

/// A request error with its causes (e.g. "connection refused", "too many open files").
fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

fn location(r: &reqwest::Response) -> Option<String> {
    let l = r.headers().get("location")?.to_str().ok()?;
    r.url().join(l).ok().map(|u| u.to_string())
}

/// What one batch of sign-ins did.
pub struct Batch {
    /// Sign-ins completed.
    pub ok: usize,
    /// Failed requests, each with what failed.
    pub errors: Vec<String>,
    /// Wall time of phase A (initiates) and of phase B (callbacks).
    pub phase_a: Duration,
    pub phase_b: Duration,
    /// The stub's signing between the phases (not counted anywhere).
    pub sign: Duration,
    pub initiate: Latency,
    pub callback: Latency,
    /// Whole sign-ins (initiate, the stub's redirect, callback), when pipelined.
    pub whole: Option<Latency>,
    /// CPU seconds of each watched process (`cpus` of [`sign_in_batch`]) over phase A + B.
    pub cpu: Vec<f64>,
    /// The part of `cpu` spent in the kernel (stime).
    pub cpu_system: Vec<f64>,
}

impl Batch {
    /// Wall time of the measured phases (A + B).
    pub fn wall(&self) -> Duration {
        self.phase_a + self.phase_b
    }

    /// Completed sign-ins per second of the measured phases.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.wall().as_secs_f64()
    }

    /// The errors counted by kind, e.g. `3× callback answered 503 (reason busy)`.
    pub fn error_summary(&self) -> String {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for e in &self.errors {
            *counts.entry(e.as_str()).or_default() += 1;
        }
        counts
            .iter()
            .map(|(e, n)| format!("{n}× {e}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Signs in `users` (one sign-in each, `users[i]` through node `i % nodes`) at `concurrency`,
/// in the phases described above, measuring the CPU time of `cpus`.
pub async fn sign_in_batch(
    cx: &Arc<Ctx>,
    stub: &FakeOp,
    cpus: &[Cpu],
    users: Vec<String>,
    concurrency: usize,
) -> Batch {
    let users = Arc::new(users);
    let n = users.len();
    let meters: Vec<CpuMeter> = cpus.iter().map(|c| CpuMeter::of(*c)).collect();
    let t = Instant::now();
    let (c, u) = (cx.clone(), users.clone());
    let a = run_pool(n, concurrency, move |i| {
        let (c, u) = (c.clone(), u.clone());
        async move { initiate(&c, i, &u[i]).await }
    })
    .await;
    let phase_a = t.elapsed();
    let cpu_a: Vec<(f64, f64)> = meters.iter().map(CpuMeter::elapsed_times).collect();
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
    let meters: Vec<CpuMeter> = cpus.iter().map(|c| CpuMeter::of(*c)).collect();
    let t = Instant::now();
    let (c, cb) = (cx.clone(), callbacks.clone());
    let b = run_pool(callbacks.len(), concurrency, move |i| {
        let (c, cb) = (c.clone(), cb.clone());
        async move { callback(&c, &cb[i]).await }
    })
    .await;
    let phase_b = t.elapsed();
    let times: Vec<(f64, f64)> = meters
        .iter()
        .zip(cpu_a)
        .map(|(m, (user, system))| {
            let (u, s) = m.elapsed_times();
            (user + u, system + s)
        })
        .collect();
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
        whole: None,
        cpu: times.iter().map(|(u, s)| u + s).collect(),
        cpu_system: times.iter().map(|(_, s)| *s).collect(),
    }
}

/// Signs in `users` (`users[i]` through node `i % nodes`) at `concurrency`, each sign-in from
/// initiate to callback before the worker's next, the stub signing each ID token on the spot;
/// measures the CPU time of `cpus`. The whole run is phase A of the result.
pub async fn sign_in_pipelined(
    cx: &Arc<Ctx>,
    cpus: &[Cpu],
    users: Vec<String>,
    concurrency: usize,
) -> Batch {
    let users = Arc::new(users);
    let meters: Vec<CpuMeter> = cpus.iter().map(|c| CpuMeter::of(*c)).collect();
    let t = Instant::now();
    let (c, u) = (cx.clone(), users.clone());
    let results = run_pool(users.len(), concurrency, move |i| {
        let (c, u) = (c.clone(), u.clone());
        async move {
            let t = Instant::now();
            let (init, started) = initiate(&c, i, &u[i]).await?;
            let back = callback(&c, &started).await?;
            Ok::<_, String>((init, back, t.elapsed()))
        }
    })
    .await;
    let wall = t.elapsed();
    let times: Vec<(f64, f64)> = meters.iter().map(CpuMeter::elapsed_times).collect();
    let (mut init, mut back, mut whole, mut errors) = (vec![], vec![], vec![], vec![]);
    for r in results {
        match r {
            Ok((i, b, w)) => {
                init.push(i);
                back.push(b);
                whole.push(w);
            }
            Err(e) => errors.push(e),
        }
    }
    Batch {
        ok: whole.len(),
        errors,
        phase_a: wall,
        phase_b: Duration::ZERO,
        sign: Duration::ZERO,
        initiate: Latency::of(&init),
        callback: Latency::of(&back),
        whole: Some(Latency::of(&whole)),
        cpu: times.iter().map(|(u, s)| u + s).collect(),
        cpu_system: times.iter().map(|(_, s)| *s).collect(),
    }
}

/// The HTTP client of the load generator: no redirects followed, no cookies kept.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

/// A Tessera on `db_url` with org `slug` connected to the stub, serving.
pub async fn start_tessera(db_url: &str, stub: &FakeOp, slug: &str) -> Result<Tessera, String> {
    let mut t = Tessera::new(db_url);
    t.register_org(
        slug,
        &stub.issuer,
        testkit::op::CLIENT_ID,
        testkit::op::CLIENT_SECRET,
    )?;
    t.start().await?;
    Ok(t)
}

/// Members, owners and failed sign-ins recorded of org `slug`, read from the database.
pub async fn org_outcome(pool: &sqlx::AnyPool, slug: &str) -> (i64, i64, i64) {
    let org = "(SELECT id FROM orgs WHERE slug = $1)";
    let members = crate::db::count(
        pool,
        &format!("SELECT COUNT(*) AS n FROM members WHERE org_id = {org}"),
        slug,
    )
    .await;
    let owners = crate::db::count(
        pool,
        &format!("SELECT COUNT(*) AS n FROM members WHERE org_id = {org} AND role = 'owner'"),
        slug,
    )
    .await;
    let failures = crate::db::count(
        pool,
        &format!(
            "SELECT COUNT(*) AS n FROM login_attempts WHERE org_id = {org} AND outcome = 'failure'"
        ),
        slug,
    )
    .await;
    (members, owners, failures)
}
