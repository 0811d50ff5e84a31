//! Benchmark 4: the members API of an org with 100,000 members.
//!
//! A release `tessera serve` on a fresh database; 100,000 members inserted with SQL in batches
//! of 10,000 into a fresh org (names `User N`, emails `userN@bulk.test`, every tenth
//! deactivated, as in server/tests/admin_api.rs), plus its owner, signed in through a session
//! row as the sign-in stores it. Then, per query, `GET /api/v1/members...` at concurrency
//! `BENCH_MEMBERS_CONCURRENCY` (16) for `BENCH_MEMBERS_REQUESTS` (6000) requests or
//! `BENCH_MEMBERS_SECONDS` (10) seconds, whichever comes first, after 20 unmeasured requests.
//!
//! The queries: the first page, a search, a deep position through the keyset cursor (the
//! `next` cursors followed from the first page to position 75,000 once, unmeasured; then that
//! `after=` measured) and, for comparison, the same position through the offset path
//! (`page=1500`). Targets (issue #14): p99 ≤ 10 ms at concurrency 16 and ≥ 3,000 requests/s
//! for each.
//!
//! Environment: `TESSERA_BIN`, `BENCH_DATABASES`, `BENCH_POSTGRES_URL`, the three above,
//! `BENCH_MEMBERS_WALK` (0: take page 1500's `next` instead of walking to it),
//! `BENCH_TESSERA_WRAPPER`.

use bench::proc_stats::{Cpu, CpuMeter};
use bench::report::{at_least, at_most, exactly, md, md_row, md_table, peak_rss_marker, summary};
use bench::tessera::Tessera;
use bench::{Latency, env_num, ms, run_pool};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MEMBERS: i64 = 100_000;
const BATCH: i64 = 10_000;
const TARGET_P99_MS: f64 = 10.0;
const TARGET_RPS: f64 = 3000.0;
/// Members per page of the API.
const PER_PAGE: i64 = 50;
/// The deep position: pages walked with `next` before the measured `after=` request.
const DEEP_PAGES: i64 = 1500;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Fills org `org_id` with 100,000 members and an owner; returns the owner's session id.
async fn populate(pool: &sqlx::AnyPool, org_id: &str, postgres: bool) -> Result<String, String> {
    let t = Instant::now();
    let mut first = 1;
    while first <= MEMBERS {
        let last = (first + BATCH - 1).min(MEMBERS);
        let sql = format!(
            "WITH RECURSIVE seq(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM seq WHERE n < {last})
             INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at)
             SELECT 'bulk-' || n, $1, 'https://big.okta.test', 'sub-' || n, 'user' || n || '@bulk.test',
                    'User ' || n, 'member', CASE WHEN n % 10 = 0 THEN 'deactivated' ELSE 'active' END, 0
             FROM seq"
        );
        sqlx::query(&sql)
            .bind(org_id)
            .execute(pool)
            .await
            .map_err(|e| format!("bulk insert: {e}"))?;
        first = last + 1;
    }
    sqlx::query(
        "INSERT INTO members (id, org_id, issuer, subject, email, name, role, status, created_at)
         VALUES ('owner-1', $1, 'https://big.okta.test', 'sub-owner', 'owner@bulk.test', 'Olivia Owner', 'owner', 'active', 0)",
    )
    .bind(org_id)
    .execute(pool)
    .await
    .map_err(|e| format!("owner insert: {e}"))?;
    if postgres {
        sqlx::query("ANALYZE members")
            .execute(pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    println!(
        "inserted {} members in {:.1}s",
        MEMBERS + 1,
        t.elapsed().as_secs_f64()
    );
    let sid = tower_sessions::session::Id::default().to_string();
    let data = serde_json::json!({"member_id": "owner-1", "org_id": org_id, "absolute_expiry": now_ms() + 3_600_000});
    sqlx::query("INSERT INTO sessions (id, data, expiry_date, member_id) VALUES ($1, $2, $3, $4)")
        .bind(&sid)
        .bind(data.to_string())
        .bind(now_ms() + 3_600_000)
        .bind("owner-1")
        .execute(pool)
        .await
        .map_err(|e| format!("session insert: {e}"))?;
    Ok(sid)
}

/// Median time of the store calls one `GET /api/v1/members` makes, each run alone on
/// Tessera's own store code (`app::ssr`), to show which of them bounds a request.
async fn store_calls(url: &str, org_id: &str, label: &str) -> Result<(), String> {
    let store = app::ssr::store::Store::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let org_id = &app::model::OrgId::from_stored(org_id);
    let mut rows = vec![];
    for (name, pattern, offset) in [
        ("members_page (first page: rows and stats)", None, 0),
        (
            "members_page (page 1500, OFFSET 74,950: rows and stats)",
            None,
            1499 * 50,
        ),
        (
            "members_page (q=user12345: rows, stats and total)",
            Some("user12345"),
            0,
        ),
    ] {
        let mut times = vec![];
        for _ in 0..10 {
            let t = Instant::now();
            store
                .members_page(org_id, pattern, Default::default(), 50, offset)
                .await
                .map_err(|e| e.to_string())?;
            times.push(t.elapsed());
        }
        rows.push((name, Latency::of(&times).p50));
    }
    // The member at position 75,000, as the keyset cursor names it.
    let at = store
        .members_page(
            org_id,
            None,
            Default::default(),
            1,
            DEEP_PAGES * PER_PAGE - 1,
        )
        .await
        .map_err(|e| e.to_string())?;
    let key = at
        .members
        .first()
        .map(app::ssr::store::MemberKey::of)
        .ok_or("no member at position 75,000")?;
    let mut times = vec![];
    for _ in 0..10 {
        let t = Instant::now();
        store
            .members_after(org_id, None, Default::default(), PER_PAGE + 1, &key)
            .await
            .map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    rows.push((
        "members_after (keyset after position 75,000: rows and stats)",
        Latency::of(&times).p50,
    ));
    let mut times = vec![];
    for _ in 0..10 {
        let t = Instant::now();
        store
            .member_stats(org_id)
            .await
            .map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    rows.push((
        "member_stats (alone: what every page reads with its rows)",
        Latency::of(&times).p50,
    ));
    store.close().await;
    md(format!(
        "{label}: the store calls behind one request, each run alone on Tessera's store code (median of 10, ms):"
    ));
    md("");
    md_table(&["store call", "median (ms)"]);
    for (name, d) in rows {
        println!("[{label}] {name}: {} ms", ms(d));
        md_row(&[format!("`{name}`"), ms(d)]);
    }
    md("");
    Ok(())
}

struct Measured {
    latency: Latency,
    rps: f64,
    errors: usize,
    cpu_ms: f64,
    /// PostgreSQL's CPU per request (all its processes on the machine), on PostgreSQL.
    pg_cpu_ms: Option<f64>,
}

async fn measure(
    http: &reqwest::Client,
    url: &str,
    pid: u32,
    postgres: bool,
    requests: usize,
    seconds: u64,
    concurrency: usize,
) -> Measured {
    for _ in 0..20 {
        if let Ok(r) = http.get(url).send().await {
            let _ = r.bytes().await;
        }
    }
    let (http, url) = (http.clone(), Arc::new(url.to_string()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    bench::callgrind_control(pid, "--zero");
    let cpu = CpuMeter::start(pid);
    let pg = postgres.then(|| CpuMeter::of(Cpu::Command("postgres")));
    let t = Instant::now();
    let results = run_pool(requests, concurrency, move |_| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            if Instant::now() > deadline {
                return None;
            }
            let t = Instant::now();
            let ok = match http.get(url.as_str()).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            Some((t.elapsed(), ok))
        }
    })
    .await;
    let wall = t.elapsed();
    let cpu_s = cpu.elapsed();
    let done: Vec<(Duration, bool)> = results.into_iter().flatten().collect();
    let lat: Vec<Duration> = done.iter().map(|(d, _)| *d).collect();
    Measured {
        latency: Latency::of(&lat),
        rps: done.len() as f64 / wall.as_secs_f64(),
        errors: done.iter().filter(|(_, ok)| !ok).count(),
        cpu_ms: 1000.0 * cpu_s / done.len().max(1) as f64,
        pg_cpu_ms: pg.map(|m| 1000.0 * m.elapsed() / done.len().max(1) as f64),
    }
}

async fn bench_db(
    kind: &str,
    requests: usize,
    seconds: u64,
    concurrency: usize,
) -> Result<(), String> {
    let db = bench::db::open(kind).await?;
    let label = db.label();
    let mut t = Tessera::new(&db.url);
    let result = async {
        t.cli(&["org", "create", "big", "--name", "Big Inc"])?;
        t.start().await?;
        let pool = db.pool().await?;
        let org_id: String = {
            use sqlx::Row as _;
            sqlx::query("SELECT id FROM orgs WHERE slug = 'big'")
                .fetch_one(&pool)
                .await
                .and_then(|r| r.try_get("id"))
                .map_err(|e| e.to_string())?
        };
        let sid = populate(&pool, &org_id, kind == "postgres").await?;
        pool.close().await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::COOKIE,
            format!("tessera_session={sid}").parse().map_err(|_| "cookie header")?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        // The keyset cursor at position 75,000: the `next` of every page followed from the
        // first (unmeasured), as a client paging through the list would; with
        // `BENCH_MEMBERS_WALK=0` (the profiles, under valgrind) page 1500's `next` instead.
        let walk = Instant::now();
        let walked = env_num("BENCH_MEMBERS_WALK", 1) != 0;
        let mut deep_cursor = String::new();
        let pages = if walked { 1..=DEEP_PAGES } else { DEEP_PAGES..=DEEP_PAGES };
        for page in pages {
            let path = match (walked, page) {
                (true, 1) => "/api/v1/members".to_string(),
                (true, _) => format!("/api/v1/members?after={deep_cursor}"),
                (false, _) => format!("/api/v1/members?page={page}"),
            };
            let r = http.get(format!("{}{path}", t.url)).send().await.map_err(|e| e.to_string())?;
            let body: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            deep_cursor = body["next"]
                .as_str()
                .ok_or_else(|| format!("page {page} has no next cursor"))?
                .to_string();
        }
        println!(
            "[{label}] the cursor at position {} found in {:.1}s ({})",
            DEEP_PAGES * PER_PAGE,
            walk.elapsed().as_secs_f64(),
            if walked { "every page's next followed" } else { "page 1500's next" }
        );
        // The same position through the offset path: its first row must be the keyset's.
        let first_id = |v: &serde_json::Value| v["members"][0]["id"].as_str().map(str::to_string);
        let offset_first = {
            let r = http
                .get(format!("{}/api/v1/members?page={}", t.url, DEEP_PAGES + 1))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            first_id(&r.json().await.map_err(|e| e.to_string())?)
        };
        let queries = [
            ("first page", "/api/v1/members".to_string(), MEMBERS + 1, 50, None),
            ("search (q=user12345)", "/api/v1/members?q=user12345".to_string(), 1, 1, None),
            (
                "deep position, keyset (after= at 75,000)",
                format!("/api/v1/members?after={deep_cursor}"),
                MEMBERS + 1,
                50,
                offset_first.clone(),
            ),
            ("deep position, offset path (page=1500)", "/api/v1/members?page=1500".to_string(), MEMBERS + 1, 50, None),
        ];
        md(format!(
            "**{label}** — {} members, concurrency {concurrency}, up to {requests} requests or {seconds} s per query:",
            MEMBERS + 1
        ));
        md("");
        md_table(&["query", "check", "p50 (ms)", "p99 (ms)", "target p99 ≤ 10 ms", "requests/s", "target ≥ 3,000/s", "errors", "CPU per request (ms): Tessera / PostgreSQL"]);
        for (name, path, want_total, want_len, want_first) in queries {
            let url = format!("{}{path}", t.url);
            let r = http.get(&url).send().await.map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            let total = body["total"].as_i64().unwrap_or(-1);
            let len = body["members"].as_array().map_or(-1, |a| a.len() as i64);
            let first_ok = want_first.is_none() || first_id(&body) == want_first;
            let check = if status == 200 && total == want_total && len == want_len && first_ok {
                match want_first {
                    Some(_) => format!("total {total}, {len} rows, the first = page 1501's first"),
                    None => format!("total {total}, {len} rows"),
                }
            } else if !first_ok {
                format!("**unexpected**: first row {:?}, page 1501 starts with {want_first:?}", first_id(&body))
            } else {
                format!("**unexpected**: {status}, total {total}, {len} rows (want {want_total}, {want_len})")
            };
            let m = measure(&http, &url, t.pid, kind == "postgres", requests, seconds, concurrency).await;
            let tag: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
            bench::callgrind_control(t.pid, &format!("--dump=members-{kind}-{tag}-{}", m.latency.count));
            println!(
                "[{label}] {name}: {} requests, p50 {} ms, p90 {} ms, p99 {} ms, {:.0} req/s, {} errors, Tessera CPU {:.3} ms/request{} ({check})",
                m.latency.count,
                ms(m.latency.p50),
                ms(m.latency.p90),
                ms(m.latency.p99),
                m.rps,
                m.errors,
                m.cpu_ms,
                m.pg_cpu_ms.map_or(String::new(), |c| format!(", PostgreSQL CPU {c:.3} ms/request")),
            );
            let p99 = m.latency.p99.as_secs_f64() * 1000.0;
            summary(
                "4. members API",
                &format!("p99, {name}, {label}"),
                &format!("{} ms", ms(m.latency.p99)),
                &format!("≤ {TARGET_P99_MS} ms"),
                &at_most(p99, TARGET_P99_MS),
            );
            summary(
                "4. members API",
                &format!("requests/s, {name}, {label}"),
                &format!("{:.0}", m.rps),
                &format!("≥ {TARGET_RPS:.0}"),
                &at_least(m.rps, TARGET_RPS),
            );
            md_row(&[
                name.to_string(),
                check,
                ms(m.latency.p50),
                ms(m.latency.p99),
                at_most(m.latency.p99.as_secs_f64() * 1000.0, TARGET_P99_MS),
                format!("{:.0}", m.rps),
                at_least(m.rps, TARGET_RPS),
                format!("{} ({})", m.errors, exactly(m.errors as i64, 0)),
                format!("{:.3} / {}", m.cpu_ms, m.pg_cpu_ms.map_or("—".into(), |c| format!("{c:.3}"))),
            ]);
        }
        md("");
        let rss = t.peak_rss_mib();
        md(format!("Tessera peak RSS: {rss:.1} MiB."));
        md("");
        peak_rss_marker(&format!("bench-members, {label}"), rss);
        if bench::wrapper().is_none() {
            store_calls(&db.url, &org_id, label).await?;
        }
        Ok::<(), String>(())
    }
    .await;
    t.stop().await;
    drop(db);
    result
}

#[tokio::main]
async fn main() {
    let requests: usize = env_num("BENCH_MEMBERS_REQUESTS", 6000);
    let seconds: u64 = env_num("BENCH_MEMBERS_SECONDS", 10);
    let concurrency: usize = env_num("BENCH_MEMBERS_CONCURRENCY", 16);
    println!("tessera binary: {}", bench::tessera::binary().display());
    md("## 4. Members API with 100,000 members (`bench-members`)");
    md("");
    md(
        "A release `tessera serve` on a fresh database; 100,000 members inserted with SQL (batches of 10,000) into a \
         fresh org, plus its owner, signed in with a session row. `GET /api/v1/members` with the owner's cookie \
         (each answer also carries the org-wide counts), after 20 unmeasured requests. The deep position is \
         reached two ways: with the keyset cursor (`after=`; the cursor was found once, unmeasured, by following \
         each page's `next` from the first page to position 75,000, so it answers rows 75,001–75,050) and, for \
         comparison, with the offset path (`page=1500`, rows 74,951–75,000). Targets (issue #14): p99 ≤ 10 ms at concurrency 16 and ≥ 3,000 requests/s \
         for each query. PostgreSQL's CPU is that of all its processes on the machine, whoever they serve.",
    );
    md("");
    for kind in bench::databases() {
        if let Err(e) = bench_db(&kind, requests, seconds, concurrency).await {
            println!("!! {kind}: {e}");
            md(format!("**{kind}: not run** — {e}"));
            md("");
        }
    }
}
